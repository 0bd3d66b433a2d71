//! The models service's interface: algorithms, cross-validated comparisons as jobs, the
//! registry of fitted models, prediction.
//!
//! A comparison can outlast any sensible RPC deadline, so it runs as a job: [`Models::submit`]
//! returns a [`JobId`] at once; [`Models::status`], [`Models::wait`] and [`Models::cancel`]
//! follow it.

use crate::ServiceError;
use crate::frame::Frame;
use crate::ids::{DatasetId, JobId, ModelId};
use crate::utils::{AlgorithmFamily, FittedPipeline, PipelineSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The models service.
#[tarpc::service]
pub trait Models {
    /// The algorithms this service offers, with their parameters and defaults.
    async fn algorithms() -> Result<Vec<AlgorithmInfo>, ServiceError>;
    /// Starts a cross-validated comparison; returns at once.
    async fn submit(request: CompareRequest) -> Result<JobId, ServiceError>;
    /// A job's state and progress.
    async fn status(job: JobId) -> Result<JobStatus, ServiceError>;
    /// Waits up to `timeout_ms` for a job to end; returns its status either way.
    async fn wait(job: JobId, timeout_ms: u64) -> Result<JobStatus, ServiceError>;
    /// Cancels a job.
    async fn cancel(job: JobId) -> Result<JobStatus, ServiceError>;
    /// Fits one model on all rows and stores it in the registry.
    async fn fit(request: FitRequest) -> Result<ModelInfo, ServiceError>;
    /// Predicts with a stored model.
    async fn predict(model: ModelId, rows: Frame) -> Result<Predictions, ServiceError>;
    /// Every stored model.
    async fn list() -> Result<Vec<ModelInfo>, ServiceError>;
    /// One stored model.
    async fn get(model: ModelId) -> Result<ModelInfo, ServiceError>;
    /// Deletes a stored model.
    async fn delete(model: ModelId) -> Result<ModelInfo, ServiceError>;
    /// A stored model as a self-contained file.
    async fn export(model: ModelId) -> Result<ModelFile, ServiceError>;
    /// Stores a model from an exported file.
    async fn import(file: ModelFile) -> Result<ModelInfo, ServiceError>;
    /// What the node is doing now: fits running, work waiting, memory reserved.
    async fn load() -> Result<ModelsLoad, ServiceError>;
    /// Checks a comparison and plans it for spreading over several nodes: the rows read,
    /// the candidates resolved, the folds made (seeded). Nothing is fitted.
    async fn plan(request: CompareRequest) -> Result<ComparePlan, ServiceError>;
    /// Fits and scores the candidates of one work unit (a group of a plan on one fold),
    /// the fold preprocessed once per distinct pipeline: a result per candidate, in the
    /// unit's order. A model's own failure is inside its result; an `Err` means this node
    /// could not do the work (retry the unit elsewhere).
    async fn evaluate(unit: WorkUnit) -> Result<Vec<UnitResult>, ServiceError>;
    /// The leaderboard of a plan from its units' results, in any order: the same as one
    /// node's comparison with the same request and seed.
    async fn assemble(
        plan: ComparePlan,
        results: Vec<UnitResult>,
    ) -> Result<Leaderboard, ServiceError>;
}

/// A models node's load, for operators and for callers choosing where to send work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelsLoad {
    /// Fits running now.
    pub fits_running: u64,
    /// The most fits seen running at once since the node started.
    pub fits_peak: u64,
    /// The fit threads: the cap on fits running at once.
    pub fit_threads: u64,
    /// Comparison jobs running.
    pub jobs_running: u64,
    /// Comparisons and fits waiting for memory.
    pub queued: u64,
    /// MiB of the memory budget reserved by admitted work, by its estimates.
    pub memory_reserved_mb: u64,
    /// The memory budget, in MiB.
    pub memory_budget_mb: u64,
}

/// Regression or classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Task {
    /// A numeric target.
    Regression,
    /// A categorical target.
    Classification,
}

impl Task {
    /// The lower-case name: `regression` or `classification`.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Classification => "classification",
        }
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Number(value) => write!(f, "{value}"),
            ParamValue::Integer(value) => write!(f, "{value}"),
            ParamValue::Bool(value) => write!(f, "{value}"),
            ParamValue::Text(value) => write!(f, "`{value}`"),
        }
    }
}

/// A hyperparameter value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ParamValue {
    /// A number.
    Number(f64),
    /// An integer.
    Integer(i64),
    /// A switch.
    Bool(bool),
    /// A name (a kernel, a weighting).
    Text(String),
}

/// An algorithm with hyperparameters and preprocessing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelSpec {
    /// The algorithm's id (`random_forest_classifier`, `svc`, ...).
    pub algorithm: String,
    /// Overrides of the documented defaults.
    pub params: BTreeMap<String, ParamValue>,
    /// The preprocessing; the algorithm family's default when `None`.
    pub pipeline: Option<PipelineSpec>,
}

/// One hyperparameter of an algorithm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParamInfo {
    /// Its name.
    pub name: String,
    /// Its default.
    pub default: ParamValue,
    /// The values it accepts, in words (`a number > 0`, `rbf, linear, poly or sigmoid`).
    pub accepts: String,
    /// What it does.
    pub doc: String,
}

/// An algorithm the service offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlgorithmInfo {
    /// The id used in [`ModelSpec::algorithm`].
    pub id: String,
    /// The task it solves.
    pub task: Task,
    /// Its family, which decides its default preprocessing
    /// ([`Utils::default_pipeline`](crate::utils::Utils::default_pipeline)).
    pub family: AlgorithmFamily,
    /// Whether it gives class probabilities (and so a log loss).
    pub probabilities: bool,
    /// What it is, in one line.
    pub doc: String,
    /// Its hyperparameters.
    pub params: Vec<ParamInfo>,
}

/// Training data with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrainingData {
    /// The dataset the rows come from.
    pub dataset: DatasetId,
    /// Its version.
    pub version: u32,
    /// The rows, target included: sent along, or read by the models service itself.
    pub rows: Rows,
    /// The target column.
    pub target: String,
    /// The task; inferred from the target when `None`.
    pub task: Option<Task>,
}

/// Where the rows of a [`TrainingData`] are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Rows {
    /// Sent with the request. Over a remote transport the whole request is one message,
    /// so it must fit the frame limit (64 MiB by default): for small data, or rows that are
    /// not a stored dataset.
    Inline(Frame),
    /// The dataset version the [`TrainingData`] names, read by the models service from the
    /// datasets service in pages that each fit a frame, however large the dataset: the rows
    /// cross the network once, from the datasets node to the models node, and the caller
    /// never holds them. The models node needs the datasets service placed in its config.
    Stored,
}

/// A cross-validated comparison of several models.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CompareRequest {
    /// The data.
    pub data: TrainingData,
    /// The candidates; every algorithm for the task with defaults when empty.
    pub models: Vec<ModelSpec>,
    /// Parameter overrides by algorithm id, applied to the candidates (listed or default);
    /// an override for an algorithm that is not a candidate is an error.
    pub overrides: BTreeMap<String, BTreeMap<String, ParamValue>>,
    /// Folds (stratified for classification).
    pub folds: usize,
    /// The seed of the folds and of randomised algorithms.
    pub seed: u64,
    /// The metric the leaderboard is sorted by; R² or accuracy when `None`.
    pub metric: Option<String>,
    /// Refit the best model on all rows and store it.
    pub keep_best: bool,
}

/// A request to fit one model on all rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FitRequest {
    /// The data.
    pub data: TrainingData,
    /// The model.
    pub model: ModelSpec,
    /// The seed of randomised algorithms.
    pub seed: u64,
}

/// A metric's mean and standard deviation over folds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricValue {
    /// Mean over folds.
    pub mean: f64,
    /// Standard deviation over folds.
    pub std: f64,
}

/// One row of a leaderboard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaderboardEntry {
    /// The model evaluated.
    pub model: ModelSpec,
    /// Metrics by name; empty when the model failed.
    pub metrics: BTreeMap<String, MetricValue>,
    /// Fit time per fold, milliseconds, mean.
    pub fit_ms: f64,
    /// Predict time per fold, milliseconds, mean.
    pub predict_ms: f64,
    /// Why the model failed, if it did.
    pub error: Option<ServiceError>,
    /// What a user should know about a model that did not fail: a solver that did not
    /// converge on some fold, say, naming the fold and what to change. Empty when there is
    /// nothing to say; JSON written without it reads back empty.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// The outcome of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Leaderboard {
    /// The task.
    pub task: Task,
    /// The metric the entries are sorted by.
    pub metric: String,
    /// Best first; failed models last.
    pub entries: Vec<LeaderboardEntry>,
    /// The best model refitted on all rows, when kept.
    pub best: Option<ModelId>,
    /// The best model's out-of-fold predictions: every row predicted by the model fitted
    /// on the folds that held it out (for the report's diagnostic plots).
    pub out_of_fold: Option<OutOfFold>,
    /// The best model's feature importances, `(feature, importance)`, where it has them.
    pub importances: Option<Vec<(String, f64)>>,
    /// What a user should know about the comparison as a whole (each entry keeps its own):
    /// a column left out of the features because it looks like an identifier or has no
    /// values, say. Empty when there is nothing to say; JSON written without it reads back
    /// empty.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Out-of-fold predictions, one per row in row order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutOfFold {
    /// The true values: numbers, or class codes into `classes`.
    #[serde(with = "crate::wire::f64_le")]
    pub actual: Vec<f64>,
    /// The predictions, in the same form.
    #[serde(with = "crate::wire::f64_le")]
    pub predicted: Vec<f64>,
    /// For a binary classifier with probabilities or decision scores: the score of class 1.
    #[serde(with = "crate::wire::opt_f64_le")]
    pub scores: Option<Vec<f64>>,
    /// The class labels, for classification.
    pub classes: Option<Vec<String>>,
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum JobState {
    /// Waiting for a slot.
    Queued,
    /// Fitting.
    Running,
    /// Done, with its result.
    Finished(Box<Leaderboard>),
    /// Failed as a whole.
    Failed(ServiceError),
    /// Cancelled by a caller.
    Cancelled,
}

/// A job's state and progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobStatus {
    /// The job.
    pub id: JobId,
    /// Where it is.
    pub state: JobState,
    /// Fits done.
    pub done: u64,
    /// Fits in all.
    pub total: u64,
}

/// A stored model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelInfo {
    /// Its id.
    pub id: ModelId,
    /// What it is.
    pub spec: ModelSpec,
    /// The task.
    pub task: Task,
    /// The dataset and version it was fitted on.
    pub dataset: DatasetId,
    /// The dataset version.
    pub version: u32,
    /// The target column.
    pub target: String,
    /// The class labels, in code order, for classification (a prediction's class code
    /// indexes them); `None` for regression.
    pub classes: Option<Vec<String>>,
    /// The fitted preprocessing.
    pub pipeline: FittedPipeline,
    /// Cross-validated metrics, when it came from a comparison.
    pub metrics: BTreeMap<String, MetricValue>,
    /// When it was stored, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

/// Predictions for the rows given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Predictions {
    /// The model used.
    pub model: ModelId,
    /// One value per row: a number, or a class code into `classes`.
    #[serde(with = "crate::wire::f64_le")]
    pub values: Vec<f64>,
    /// Class labels, for classification.
    pub classes: Option<Vec<String>>,
}

/// An exported model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ModelFile {
    /// The file's bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// A comparison planned for spreading over several models nodes ([`Models::plan`]): all a
/// work unit and the assembly of the leaderboard need, and nothing that depends on which
/// node runs a unit. The folds and the seed are fixed here, once, so the assembled
/// leaderboard is the one a single node's [`Models::submit`] gives for the same request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComparePlan {
    /// The data, pinned: the dataset version, the target, the task resolved (never
    /// `None`); the rows [`Rows::Stored`], or carried inline when the request's were.
    pub data: TrainingData,
    /// Rows in the data.
    pub rows: u64,
    /// The class labels in code order, for classification; `None` for regression.
    pub classes: Option<Vec<String>>,
    /// The feature columns kept, in the data's order (identifier-like and value-less
    /// columns left out, each named in `warnings`).
    pub features: Vec<String>,
    /// The candidates, defaults resolved and overrides merged, in leaderboard tie order.
    pub candidates: Vec<ModelSpec>,
    /// The candidates that share one preprocessing (their own pipeline or their family's
    /// default, the same spec), as positions in `candidates`: each group ascending, the
    /// groups in the order of their first candidate. A work unit is one group on one fold,
    /// so a node prepares each fold once per group, as one node's comparison does.
    pub groups: Vec<Vec<usize>>,
    /// The number of folds (2 to 100).
    pub folds: usize,
    /// The folds, compactly: each row's test fold, one byte a row. Fold `k` tests on the
    /// rows marked `k` and trains on all the others, both in row order ([`ComparePlan::fold`]).
    #[serde(with = "serde_bytes")]
    pub test_fold: Vec<u8>,
    /// The metric the leaderboard is sorted by.
    pub metric: String,
    /// Whether a higher `metric` ranks first (accuracy, R²) rather than a lower one (RMSE).
    pub higher_is_better: bool,
    /// The seed of every randomised algorithm.
    pub seed: u64,
    /// Whether the caller means to refit the best model on all rows ([`Models::fit`]).
    pub keep_best: bool,
    /// The comparison's own warnings, for its leaderboard.
    pub warnings: Vec<String>,
}

impl ComparePlan {
    /// Every (group, fold) of the plan as a work unit, group by group.
    pub fn units(&self) -> Vec<WorkUnit> {
        (0..self.groups.len())
            .flat_map(|group| (0..self.folds).filter_map(move |fold| self.unit(group, fold)))
            .collect()
    }

    /// The work unit of group `group` on fold `fold`, or `None` when the plan has no such
    /// pair (or the group names no candidate of the plan).
    pub fn unit(&self, group: usize, fold: usize) -> Option<WorkUnit> {
        if fold >= self.folds {
            return None;
        }
        let candidates = self
            .groups
            .get(group)?
            .iter()
            .map(|&candidate| {
                Some(UnitCandidate {
                    candidate,
                    model: self.candidates.get(candidate)?.clone(),
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(WorkUnit {
            data: self.data.clone(),
            features: self.features.clone(),
            candidates,
            fold,
            test_fold: self.test_fold.clone(),
            seed: self.seed,
        })
    }

    /// The (candidate, fold) fits of the plan: candidates × folds.
    pub fn fits(&self) -> usize {
        self.candidates.len() * self.folds
    }

    /// Fold `fold`'s rows, from [`ComparePlan::test_fold`] (empty lists past the last
    /// fold).
    pub fn fold(&self, fold: usize) -> crate::utils::Fold {
        fold_rows(&self.test_fold, fold)
    }
}

/// The rows fold `fold` tests on (those `test_fold` marks with it) and trains on (all
/// others), each list in row order.
pub fn fold_rows(test_fold: &[u8], fold: usize) -> crate::utils::Fold {
    let mut split = crate::utils::Fold {
        train: Vec::with_capacity(test_fold.len()),
        test: Vec::new(),
    };
    for (row, &marked) in (0u32..).zip(test_fold) {
        if usize::from(marked) == fold {
            split.test.push(row);
        } else {
            split.train.push(row);
        }
    }
    split
}

/// One group of a [`ComparePlan`] on one fold: prepare the fold once per distinct
/// pipeline, fit each model on its training rows and score it on its test rows
/// ([`Models::evaluate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkUnit {
    /// The data, as the plan pinned it.
    pub data: TrainingData,
    /// The feature columns, as the plan kept them.
    pub features: Vec<String>,
    /// The candidates, in the plan's order (at least one).
    pub candidates: Vec<UnitCandidate>,
    /// The fold held out, 0-based.
    pub fold: usize,
    /// The plan's folds, compactly ([`ComparePlan::test_fold`]).
    #[serde(with = "serde_bytes")]
    pub test_fold: Vec<u8>,
    /// The seed of randomised algorithms.
    pub seed: u64,
}

/// A candidate of a [`WorkUnit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitCandidate {
    /// Its position in [`ComparePlan::candidates`].
    pub candidate: usize,
    /// The candidate.
    pub model: ModelSpec,
}

impl WorkUnit {
    /// The unit's fold: the rows it trains and tests on.
    pub fn split(&self) -> crate::utils::Fold {
        fold_rows(&self.test_fold, self.fold)
    }
}

/// What one work unit gave ([`Models::evaluate`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitResult {
    /// The candidate's position in [`ComparePlan::candidates`].
    pub candidate: usize,
    /// The fold held out, 0-based.
    pub fold: usize,
    /// The scores, or the model's own failure on this fold (as its leaderboard row shows
    /// it).
    pub outcome: UnitOutcome,
}

/// A work unit's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UnitOutcome {
    /// The model fitted and predicted.
    Scored(UnitScores),
    /// The model failed on this fold: bad parameters for this data, a solver error, a
    /// panic, a pipeline that does not suit the rows.
    Failed(ServiceError),
}

/// The scores of one model on one fold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnitScores {
    /// Every metric of the task that this fold gives, by name.
    pub metrics: BTreeMap<String, f64>,
    /// Fit time, milliseconds.
    pub fit_ms: f64,
    /// Predict time, milliseconds.
    pub predict_ms: f64,
    /// The true values of the fold's test rows, in the fold's order: numbers, or class
    /// codes.
    #[serde(with = "crate::wire::f64_le")]
    pub actual: Vec<f64>,
    /// The predictions of the test rows, in the same form.
    #[serde(with = "crate::wire::f64_le")]
    pub predicted: Vec<f64>,
    /// For a binary classifier with probabilities or decision scores: the score of class 1.
    #[serde(with = "crate::wire::opt_f64_le")]
    pub scores: Option<Vec<f64>>,
    /// The fitted model's warnings, each naming the fold.
    pub warnings: Vec<String>,
}
