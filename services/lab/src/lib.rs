//! The mltools lab: "compare every candidate model on this dataset, pick the best, report
//! and plot it" — using the datasets, models and utils services only through their
//! interfaces (`mltools_transport::{DatasetsClient, ModelsClient, UtilsClient}`), so each
//! of them may run in this process or on another node.
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | [`LabConfig`] |
//! | [`compare`] | the comparison itself: read the rows, run the models job, wait |
//! | [`report`] | the report's plots, rendered by the utils service |
//! | [`html`] | the report as one self-contained HTML page |
//! | [`follow`] | [`compare_and_wait`]: start a comparison from a client and wait for it |
//! | [`state`] | [`LabState`]: the comparisons in flight and their results |
//! | `store` | the lab's database, `lab.db`: every comparison started, ended ones' reports |
//! | [`server`] | [`LabServer`]: the `Lab` interface over the state |
//! | [`refit`] | the winner's refit after a spread comparison, started early in its tail |
//! | [`spread`] | units of work over several nodes: least busy first, lost nodes set aside, their units retried |
//!
//! A comparison is a job of the lab's own: [`LabState::compare`] returns its id at once;
//! the work runs on a tracked task that survives the caller going away.

pub mod compare;
pub mod config;
pub mod error;
pub mod follow;
pub mod html;
pub mod refit;
pub mod report;
pub mod server;
pub mod spread;
pub mod state;
mod store;

pub use config::LabConfig;
pub use error::LabError;
pub use follow::compare_and_wait;
pub use server::LabServer;
pub use state::{LabClients, LabState};
