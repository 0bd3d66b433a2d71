//! The mltools models service: algorithms, cross-validated comparisons as jobs, metrics, and
//! the registry of fitted models.
//!
//! | module | what it holds |
//! |---|---|
//! | [`ModelsState`] (`state`) | the state handle: async operations (submit, wait, fit, predict, registry; plan, evaluate, assemble for a comparison spread over nodes), usable without RPC |
//! | [`ModelsServer`] (`server`) | the [`Models`](mltools_core::models::Models) tarpc interface over the state |
//! | [`ModelsConfig`] (`config`) | the `[models]` settings |
//! | [`ModelsError`] (`error`) | every failure, naming its culprit, and its [`ServiceError`](mltools_core::ServiceError) kind |
//! | [`algorithms`] | the algorithm registry ([`AlgorithmId`](algorithms::AlgorithmId)), checked parameters ([`Estimator`](algorithms::Estimator)), owned serializable models ([`FittedModel`](algorithms::FittedModel)) |
//! | [`task`] | regression or classification, inferred from the target column; the target values |
//! | [`metrics`] | RMSE, MAE, R²; accuracy, balanced accuracy, macro F1 / precision / recall, ROC AUC (one-vs-rest for more than two classes), log loss |
//! | [`cv`] | cross-validation of many models over given folds, in parallel on a bounded pool, into a leaderboard |
//! | [`registry`] | the SQLite store of fitted models; export and import files |
//! | `jobs`, `compare` | the job table; a comparison's plan and its preprocessing through the utils service |
//! | `units` | a comparison as (pipeline group, fold) work units any node evaluates: the unit's rows, its outcome, the checked assembly, the bounded frame cache |
//! | `admission` | the memory budget and queue every comparison and fit passes before it reads a row; the gauge of fits running |
//!
//! The pure parts ([`algorithms`], [`task`], [`metrics`], [`cv`]) are synchronous and free
//! of any runtime; the state runs them on a bounded rayon pool (a comparison entered from
//! tokio's blocking pool, a single fit or a prediction sent to it behind a oneshot). Each
//! call to utils has its own deadline (`utils_call_timeout_ms`). The preprocessing of every fold goes through the utils service's interface (a
//! [`UtilsClient`](mltools_transport::UtilsClient)), never through its code.
//!
//! ```
//! use mltools_core::models::Task;
//! use mltools_models::algorithms::{AlgorithmId, algorithms};
//!
//! let classifiers: Vec<_> = AlgorithmId::of_task(Task::Classification).map(AlgorithmId::as_str).collect();
//! assert_eq!(classifiers, ["logistic_regression", "decision_tree_classifier",
//!     "random_forest_classifier", "hist_gradient_boosting_classifier", "svc",
//!     "knn_classifier", "gaussian_nb"]);
//! // And `extra_trees_classifier`, in the catalogue but not a default candidate.
//! assert_eq!(algorithms().len(), 18);
//! ```

mod admission;
pub mod algorithms;
mod compare;
pub mod config;
pub mod cv;
mod error;
mod jobs;
pub mod metrics;
pub mod prediction;
pub mod registry;
mod server;
mod state;
pub mod task;
mod units;

pub use config::ModelsConfig;
pub use error::ModelsError;
pub use server::ModelsServer;
pub use state::ModelsState;
