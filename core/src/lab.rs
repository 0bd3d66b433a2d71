//! The lab's interface: the top-level API that compares every candidate model on a dataset
//! through the other services' interfaces, picks the best, and reports and plots it.

use crate::ServiceError;
use crate::ids::{DatasetRef, JobId, ModelId};
use crate::models::{Leaderboard, ModelSpec, Task};
use crate::utils::Plot;
use serde::{Deserialize, Serialize};

/// The lab service.
#[tarpc::service]
pub trait Lab {
    /// Starts a comparison; returns at once.
    async fn compare(request: LabCompareRequest) -> Result<JobId, ServiceError>;
    /// A comparison's progress: fits done and in all, `None` once it ended.
    async fn progress(job: JobId) -> Result<Option<(u64, u64)>, ServiceError>;
    /// Waits up to `timeout_ms` for a comparison's report; `None` if it is still running.
    async fn report(job: JobId, timeout_ms: u64) -> Result<Option<Report>, ServiceError>;
    /// Cancels a comparison.
    async fn cancel(job: JobId) -> Result<(), ServiceError>;
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
    /// The task; inferred when `None`.
    pub task: Option<Task>,
    /// The candidates; every algorithm for the task when empty.
    pub models: Vec<ModelSpec>,
    /// Folds.
    pub folds: usize,
    /// Seed.
    pub seed: u64,
    /// The metric to rank by.
    pub metric: Option<String>,
}

/// A finished comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The leaderboard.
    pub leaderboard: Leaderboard,
    /// The best model, refitted on all rows and stored.
    pub best: Option<ModelId>,
    /// Plots: `(title, image)`.
    pub plots: Vec<(String, Plot)>,
}
