//! The lab's interface: the top-level API that compares every candidate model on a dataset
//! through the other services' interfaces, picks the best, and reports and plots it.
//!
//! A comparison outlasts any sensible RPC deadline, so [`Lab::compare`] starts a job and
//! returns its id at once; [`Lab::status`] reports progress and [`Lab::report`] waits for
//! the result. A comparison outlives its caller too: any other client may follow, cancel or
//! collect it by id, and [`Lab::jobs`] lists them. Ended comparisons are kept in the lab
//! node's database, so their reports survive a restart; one that was running when its node
//! stopped ends as [`LabStage::Interrupted`].

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
    /// The comparisons the lab knows, running and kept, newest first.
    async fn jobs() -> Result<Vec<LabJob>, ServiceError>;
}

/// What to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The lab's node stopped while the comparison ran: it did not finish, and starting
    /// it again is the caller's choice.
    Interrupted,
}

/// A comparison's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabStatus {
    /// The comparison.
    pub job: JobId,
    /// Where it is.
    pub stage: LabStage,
}

impl LabStatus {
    /// Whether the comparison has ended (see [`LabStage::is_done`]).
    pub fn is_done(&self) -> bool {
        self.stage.is_done()
    }
}

impl LabStage {
    /// Whether the comparison has ended: finished, failed, cancelled or interrupted.
    pub fn is_done(&self) -> bool {
        matches!(
            self,
            LabStage::Finished | LabStage::Failed(_) | LabStage::Cancelled | LabStage::Interrupted
        )
    }
}

impl std::fmt::Display for LabStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LabStage::Preparing => f.write_str("preparing"),
            LabStage::Fitting { done, total } => write!(f, "fitting ({done}/{total} fits)"),
            LabStage::Reporting => f.write_str("reporting"),
            LabStage::Finished => f.write_str("finished"),
            LabStage::Failed(error) => write!(f, "failed: {error}"),
            LabStage::Cancelled => f.write_str("cancelled"),
            LabStage::Interrupted => f.write_str("interrupted (its node stopped while it ran)"),
        }
    }
}

/// A comparison as [`Lab::jobs`] lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabJob {
    /// The comparison.
    pub job: JobId,
    /// Where it is.
    pub stage: LabStage,
    /// The dataset it compares on, as the request named it.
    pub dataset: DatasetRef,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_at_ms: u64,
    /// When it ended, in milliseconds since the Unix epoch; `None` while it runs.
    pub ended_at_ms: Option<u64>,
}

/// The dataset a report is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
