//! The lab's interface: the top-level API that compares every candidate model on a dataset
//! through the other services' interfaces, picks the best, and reports and plots it.
//!
//! A comparison outlasts any sensible RPC deadline, so [`Lab::compare`] starts a job and
//! returns its id at once; [`Lab::status`] reports progress and [`Lab::report`] waits for
//! the result.

use crate::ServiceError;
use crate::ids::{DatasetId, DatasetRef, JobId};
use crate::models::{Leaderboard, ModelSpec, ParamValue, Task};
use crate::utils::Plot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The lab service.
#[tarpc::service]
pub trait Lab {
    /// Starts a comparison; returns at once.
    async fn compare(request: LabCompareRequest) -> Result<JobId, ServiceError>;
    /// A comparison's state and progress.
    async fn status(job: JobId) -> Result<LabStatus, ServiceError>;
    /// Waits up to `timeout_ms` for a comparison's report; `None` if it is still running.
    /// A comparison that failed or was cancelled answers with its error.
    async fn report(job: JobId, timeout_ms: u64) -> Result<Option<Report>, ServiceError>;
    /// Cancels a comparison.
    async fn cancel(job: JobId) -> Result<LabStatus, ServiceError>;
}

/// What to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabCompareRequest {
    /// The dataset.
    pub dataset: DatasetRef,
    /// Its version; the latest when `None`.
    pub version: Option<u32>,
    /// The target column; the dataset's own when `None`.
    pub target: Option<String>,
    /// The task; inferred from the target when `None`.
    pub task: Option<Task>,
    /// The candidates; every algorithm for the task, with defaults, when empty.
    pub models: Vec<ModelSpec>,
    /// Parameter overrides by algorithm id, applied to the candidates (listed or default).
    pub overrides: BTreeMap<String, BTreeMap<String, ParamValue>>,
    /// Folds (stratified for classification).
    pub folds: usize,
    /// The seed of the folds and of randomised algorithms.
    pub seed: u64,
    /// The metric to rank by; R² or accuracy when `None`.
    pub metric: Option<String>,
}

impl LabCompareRequest {
    /// A comparison of every default model on a dataset: 5 folds, seed 0.
    pub fn new(dataset: impl Into<DatasetRef>) -> Self {
        LabCompareRequest {
            dataset: dataset.into(),
            version: None,
            target: None,
            task: None,
            models: Vec::new(),
            overrides: BTreeMap::new(),
            folds: 5,
            seed: 0,
            metric: None,
        }
    }
}

/// Where a comparison is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LabStage {
    /// Reading the dataset.
    Preparing,
    /// Fitting: `done` of `total` fits.
    Fitting {
        /// Fits done.
        done: u64,
        /// Fits in all.
        total: u64,
    },
    /// Rendering the report's plots.
    Reporting,
    /// Done: the report is ready.
    Finished,
    /// Failed as a whole.
    Failed(ServiceError),
    /// Cancelled by a caller.
    Cancelled,
}

/// A comparison's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabStatus {
    /// The comparison.
    pub job: JobId,
    /// Where it is.
    pub stage: LabStage,
}

impl LabStatus {
    /// Whether the comparison has ended (finished, failed or cancelled).
    pub fn is_done(&self) -> bool {
        matches!(
            self.stage,
            LabStage::Finished | LabStage::Failed(_) | LabStage::Cancelled
        )
    }
}

/// The dataset a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDataset {
    /// Its id.
    pub id: DatasetId,
    /// Its name.
    pub name: String,
    /// The version compared on.
    pub version: u32,
    /// Rows.
    pub rows: u64,
    /// The target column.
    pub target: String,
}

/// A finished comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The dataset compared on.
    pub dataset: ReportDataset,
    /// The leaderboard, best first; `leaderboard.best` is the best model refitted on all
    /// rows and stored in the models registry.
    pub leaderboard: Leaderboard,
    /// Folds used.
    pub folds: usize,
    /// Seed used.
    pub seed: u64,
    /// Wall time of the whole comparison, in milliseconds.
    pub elapsed_ms: u64,
    /// Plots, each as SVG: `(title, image)`.
    pub plots: Vec<(String, Plot)>,
    /// Plots that could not be drawn, with why (the report is kept without them).
    pub skipped_plots: Vec<(String, ServiceError)>,
}
