//! The mltools datasets service: import, store, version, read and describe tabular
//! datasets.
//!
//! Datasets come from CSV files, CSV bytes, HTTP(S) downloads or the built-in sets; they
//! are stored column by column in one embedded, crash-safe SQLite database, and every
//! update makes a new version that shares the unchanged data with the old one.
//!
//! | module | what it holds |
//! |---|---|
//! | [`DatasetsState`] (`state`) | the state handle: async operations, usable without RPC |
//! | [`DatasetsServer`] (`server`) | the [`Datasets`](mltools_core::datasets::Datasets) tarpc interface over the state |
//! | [`DatasetsConfig`] (`config`) | the `[datasets]` settings |
//! | [`DatasetsError`] (`error`) | every failure, naming its culprit, and its [`ServiceError`](mltools_core::ServiceError) kind |
//! | `fetchers` | where rows come from: `csv` (two streaming passes), `http`, `builtin` |
//! | `store` | the database: `schema` (migrations), `catalog` (datasets, versions), `chunks` |
//! | `layout`, `stats` | pure rules: names, schema inference, append mapping; mergeable statistics |
//! | `operations` | the synchronous operations the state runs on blocking threads |
//!
//! # Built-in sets
//!
//! `builtin:NAME` imports one of smartcore's sets; its features keep smartcore's names
//! (digits, which ships wrong ones, gets `x0`..`x63`) and a last column is the target,
//! set in the schema:
//!
//! | set | rows × features | target column |
//! |---|---|---|
//! | `iris` | 150 × 4 | `species`: categorical `setosa`, `versicolor`, `virginica` |
//! | `breast_cancer` | 569 × 30 | `diagnosis`: categorical `malignant`, `benign` |
//! | `diabetes` | 442 × 10 | `progression`: numeric |
//! | `digits` | 1797 × 64 | `digit`: categorical `0`..`9` |
//! | `boston` | 506 × 13 | `price`: numeric |
//!
//! # Example
//!
//! ```no_run
//! use mltools_core::datasets::{Builtin, GetRequest, ImportRequest, Source};
//! use mltools_datasets::{DatasetsConfig, DatasetsState};
//!
//! # async fn demo() -> Result<(), mltools_datasets::DatasetsError> {
//! let state = DatasetsState::open(DatasetsConfig::with_data_dir("/tmp/mltools"))?;
//! let iris = state
//!     .import(ImportRequest::new(Source::Builtin { name: Builtin::Iris }))
//!     .await?;
//! assert_eq!((iris.rows, iris.schema.target.as_deref()), (150, Some("species")));
//! let page = state.get(GetRequest::all(iris.id)).await?;
//! assert_eq!(page.frame.columns.len(), 5);
//! # Ok(())
//! # }
//! ```

mod blocks;
mod config;
mod error;
mod fetchers;
mod layout;
mod operations;
mod server;
mod state;
mod stats;
mod store;

pub use config::DatasetsConfig;
pub use error::DatasetsError;
pub use server::DatasetsServer;
pub use state::DatasetsState;
