//! Preprocessing: pipelines fitted on training rows and replayed on any rows, splits, and
//! the default pipeline of each algorithm family. Plain synchronous functions on plain data.
//!
//! | module | what it does |
//! |---|---|
//! | `pipeline` | [`fit`] and [`transform`]: runs the steps in order, checks the data and the memory each output takes against a budget ([`fit_within`], [`transform_within`]) |
//! | `impute` | fills missing values (scikit-learn's `SimpleImputer`) |
//! | `scale` | standard, min-max and robust scaling (scikit-learn's scalers) |
//! | `cap` | caps each categorical column at its most frequent labels, the rest one `(other)` label |
//! | `onehot` | one-hot encoding (scikit-learn's `OneHotEncoder`) |
//! | `drop_constant` | drops columns constant in the fitted rows |
//! | `split` | [`split`]: seeded train/test and k-fold indices, optionally stratified, within a budget ([`split_within`]) |
//! | `defaults` | [`default_pipeline`] per algorithm family |
//! | `stats`, `rng` | numpy-compatible statistics; the platform-stable SplitMix64 generator |
//!
//! ```
//! use mltools_core::Column;
//! use mltools_core::Frame;
//! use mltools_core::utils::{PipelineSpec, Scale, Step};
//! use mltools_utils::preprocessing::{fit, transform};
//!
//! let spec = PipelineSpec { steps: vec![Step::Scale(Scale::MinMax)] };
//! let train = Frame { columns: vec![Column::numeric("x", vec![0.0, 10.0])] };
//! let fitted = fit(&spec, train)?;
//! let test = Frame { columns: vec![Column::numeric("x", vec![5.0, 20.0])] };
//! // The test rows are scaled with the training rows' minimum and range.
//! assert_eq!(transform(&fitted, test)?.values, [0.5, 2.0]);
//! # Ok::<(), mltools_utils::UtilsError>(())
//! ```

mod cap;
mod defaults;
mod drop_constant;
mod impute;
mod onehot;
mod pipeline;
mod rng;
mod scale;
mod split;
mod stats;

pub use defaults::{DEFAULT_MAX_CATEGORIES, default_pipeline};
pub use pipeline::{fit, fit_transform_within, fit_within, transform, transform_within};
pub use split::{split, split_within};
