//! The mltools utils service: leak-free preprocessing pipelines, seeded splits, and plots.
//!
//! Callers reach it through the `Utils` tarpc interface in `mltools-core`
//! ([`mltools_core::utils::Utils`]); this crate is its implementation. The preprocessing and
//! visualization contexts are plain synchronous functions on plain data; the state runs
//! them on blocking threads under concurrency limits; the server maps them onto the
//! interface.
//!
//! | module | what it holds |
//! |---|---|
//! | [`preprocessing`] | pipelines (impute, scale, one-hot, drop constant) fitted on training rows and replayed on any rows, with scikit-learn's semantics; seeded, optionally stratified splits; default pipelines per algorithm family |
//! | [`visualization`] | plots rendered to SVG and PNG with plotters and a shipped font: histograms, correlation, leaderboard, regression, confusion matrix, ROC, feature importance |
//! | [`state`] | [`UtilsState`]: configuration, limits, the async methods |
//! | [`server`] | [`UtilsServer`]: the `Utils` trait over a state |
//! | [`config`] | [`UtilsConfig`]: the `[utils]` section of a node's configuration |
//! | [`error`] | [`UtilsError`] and its mapping onto `ServiceError` |
//!
//! A pipeline fitted on the training rows transforms the held-out rows with the training
//! rows' statistics:
//!
//! ```
//! use mltools_core::utils::{AlgorithmFamily, SplitKind, SplitRequest};
//! use mltools_core::{Column, Frame};
//! use mltools_utils::{UtilsConfig, UtilsState};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let state = UtilsState::new(UtilsConfig::default())?;
//! let frame = |values: Vec<f64>| Frame { columns: vec![Column::numeric("x", values)] };
//! let spec = state.default_pipeline(AlgorithmFamily::Svm); // impute, one-hot, drop constant, scale
//! let fitted = state.fit_pipeline(spec, frame(vec![1.0, 2.0, 3.0])).await?;
//! let held_out = state.transform(fitted, frame(vec![2.0, f64::NAN])).await?;
//! // Scaled by the training mean 2; the missing value imputed with the training median 2.
//! assert_eq!(held_out.values, [0.0, 0.0]);
//!
//! let request = SplitRequest { rows: 10, kind: SplitKind::KFold { k: 5 }, seed: 7, stratify: None };
//! assert_eq!(state.split(request).await?.len(), 5);
//! # Ok::<(), mltools_utils::UtilsError>(())
//! # }).unwrap();
//! ```
//!
//! A node hosts it as `mltools_transport::service!("utils", limits, UtilsServer::new(state).serve())`.

pub mod config;
pub mod error;
pub mod preprocessing;
pub mod server;
pub mod state;
pub mod visualization;

pub use config::UtilsConfig;
pub use error::UtilsError;
pub use server::UtilsServer;
pub use state::UtilsState;
