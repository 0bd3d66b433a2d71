//! Cross-validation of many candidate models over given folds, into a leaderboard.
//!
//! Pure and synchronous: the folds come in as data (the utils service makes them in
//! production) and the preprocessing of each fold is the caller's [`Preprocess`], so a test
//! can run the whole comparison with a closure. Each (model, fold) fit is one job on the
//! caller's bounded rayon pool; results are gathered in job order, so the same seed and
//! folds give the same leaderboard whatever the scheduling. A model that errs or panics on
//! any fold is reported as failed with its first error (in fold order); the others go on.
//!
//! ```
//! use mltools_core::{Column, Frame};
//! use mltools_core::utils::{Fold, Matrix};
//! use mltools_models::algorithms::AlgorithmId;
//! use mltools_models::cv::{Candidate, CvControl, CvRequest, cross_validate, fit_pool};
//! use mltools_models::metrics::Metric;
//! use mltools_models::task::Targets;
//!
//! let xs: Vec<f64> = (0..12).map(f64::from).collect();
//! let features = Frame { columns: vec![Column::numeric("x", xs.clone())] };
//! let targets = Targets::Regression(xs.iter().map(|x| 2.0 * x + 1.0).collect());
//! let folds: Vec<Fold> = (0..3u32)
//!     .map(|k| Fold {
//!         test: (0..12).filter(|r| r % 3 == k).collect(),
//!         train: (0..12).filter(|r| r % 3 != k).collect(),
//!     })
//!     .collect();
//! let candidates = vec![Candidate::defaults(AlgorithmId::LinearRegression)];
//! // The preprocessing: here the numeric columns as they are.
//! let as_matrix = |_: &Candidate, train: &Frame, test: &Frame| {
//!     let matrix = |frame: &Frame| match &frame.columns[0].data {
//!         mltools_core::ColumnData::Numeric(values) => Matrix {
//!             rows: values.len(),
//!             columns: vec!["x".into()],
//!             values: values.clone(),
//!         },
//!         _ => unreachable!(),
//!     };
//!     Ok((matrix(train), matrix(test)))
//! };
//! let request = CvRequest {
//!     features: &features,
//!     targets: &targets,
//!     folds: &folds,
//!     candidates: &candidates,
//!     metric: Metric::R2,
//!     seed: 0,
//! };
//! let board = cross_validate(&request, &as_matrix, &CvControl::default(), &fit_pool(Some(2)).unwrap()).unwrap();
//! assert!((board.entries[0].metrics["r2"].mean - 1.0).abs() < 1e-9);
//! ```

use crate::algorithms::{AlgorithmId, Cancel, Estimator};
use crate::error::{ModelsError, panicked};
use crate::metrics::{Metric, check_defined, classification_scores, regression_scores};
use crate::prediction::Prediction;
use crate::task::Targets;
pub(crate) use board::{BoardPlan, assemble, best};
use mltools_core::ServiceError;
use mltools_core::frame::{Column, ColumnData, Frame};
use mltools_core::models::{Leaderboard, ModelSpec, UnitScores};
use mltools_core::utils::{AlgorithmFamily, Fold, Matrix, PipelineSpec};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// A model to evaluate: its spec as asked for, and its checked estimator.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The spec, as it appears on the leaderboard.
    pub spec: ModelSpec,
    /// The checked estimator.
    pub estimator: Estimator,
}

impl Candidate {
    /// The candidate a spec names.
    ///
    /// # Errors
    /// An unknown algorithm or parameter, or a bad value ([`Estimator::new`]).
    pub fn new(spec: ModelSpec) -> Result<Candidate, ModelsError> {
        let estimator = Estimator::from_spec(&spec)?;
        Ok(Candidate { spec, estimator })
    }

    /// The algorithm with its defaults and the family's default preprocessing.
    pub fn defaults(id: AlgorithmId) -> Candidate {
        Candidate {
            spec: ModelSpec {
                algorithm: id.as_str().to_owned(),
                params: BTreeMap::new(),
                pipeline: None,
            },
            estimator: Estimator::defaults(id),
        }
    }

    /// The family, which decides the default preprocessing.
    pub fn family(&self) -> AlgorithmFamily {
        self.estimator.id().family()
    }
}

/// Turns one fold's feature frames into matrices: fitted on the training rows only, applied
/// to both (so the held-out rows never leak into their own preprocessing).
///
/// A closure returning `Result<(Matrix, Matrix), String>` is one: its error becomes
/// [`ModelsError::Preprocess`].
pub trait Preprocess: Sync {
    /// The training and test matrices for `candidate` (whose spec may name a pipeline).
    ///
    /// # Errors
    /// Whatever stops the preprocessing, typed so its kind survives: the candidate is then
    /// reported failed with it ([`ModelsError::Preprocess`] for a pipeline that does not
    /// suit the data, [`ModelsError::UtilsTimeout`] for a call past its deadline), or
    /// [`ModelsError::Cancelled`] when the comparison was cancelled meanwhile.
    fn prepare(
        &self,
        candidate: &Candidate,
        train: &Frame,
        test: &Frame,
    ) -> Result<(Matrix, Matrix), ModelsError>;

    /// The pipeline `candidate`'s rows go through, when candidates with an equal one may
    /// share each fold's matrices (one preparation per pipeline and fold, whatever the
    /// number of candidates); `None`, the default, prepares every candidate's own.
    fn shared_pipeline(&self, _candidate: &Candidate) -> Option<PipelineSpec> {
        None
    }
}

impl<F> Preprocess for F
where
    F: Fn(&Candidate, &Frame, &Frame) -> Result<(Matrix, Matrix), String> + Sync,
{
    fn prepare(
        &self,
        candidate: &Candidate,
        train: &Frame,
        test: &Frame,
    ) -> Result<(Matrix, Matrix), ModelsError> {
        self(candidate, train, test).map_err(|reason| ModelsError::Preprocess { reason })
    }
}

/// What to cross-validate.
#[derive(Debug, Clone, Copy)]
pub struct CvRequest<'a> {
    /// The feature columns (no target), all rows.
    pub features: &'a Frame,
    /// The targets, one per row.
    pub targets: &'a Targets,
    /// The folds (row indices into `features`).
    pub folds: &'a [Fold],
    /// The models.
    pub candidates: &'a [Candidate],
    /// The metric the leaderboard is sorted by.
    pub metric: Metric,
    /// The seed of every randomised algorithm.
    pub seed: u64,
}

/// Progress and cancellation of a running cross-validation, shared with its watchers.
#[derive(Debug, Default)]
pub struct CvControl {
    done: AtomicU64,
    total: AtomicU64,
    // A token rather than a flag: async waiters (a queued job, a utils call) can await it.
    cancelled: CancellationToken,
    /// Counts the fits running, when the node keeps a gauge.
    gauge: Option<Arc<crate::admission::FitGauge>>,
}

impl CvControl {
    /// A control expecting `total` fits (updated when the work starts).
    pub fn with_total(total: u64) -> CvControl {
        let control = CvControl::default();
        control.total.store(total, Ordering::Relaxed);
        control
    }

    /// This control with its fits counted by `gauge`.
    pub(crate) fn counted_by(mut self, gauge: Arc<crate::admission::FitGauge>) -> CvControl {
        self.gauge = Some(gauge);
        self
    }

    /// Asks the work to stop: fits not yet started are skipped (and not counted done) and
    /// the cross-validation ends with [`ModelsError::Cancelled`]. A fit already running
    /// stops at its next look at the cancel (see [`Estimator::fit_until`]).
    pub fn cancel(&self) {
        self.cancelled.cancel();
    }

    /// Whether [`CvControl::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// The token [`CvControl::cancel`] cancels, for async work to await.
    pub(crate) fn token(&self) -> &CancellationToken {
        &self.cancelled
    }

    /// Fits done (run to the end, whatever their outcome) and fits in all (models × folds).
    pub fn progress(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// A pool for fits: `threads` workers, or one per available core.
///
/// # Errors
/// [`ModelsError::Fit`] when the operating system refuses the threads.
pub fn fit_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, ModelsError> {
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(|index| format!("mltools-fit-{index}"))
        .build()
        .map_err(|error| ModelsError::Fit {
            algorithm: "pool",
            reason: format!("cannot start the fit threads: {error}"),
        })
}

/// The most folds a cross-validation may have: each fold is a fit of every model and a copy
/// of its rows, and beyond leave-a-percent-out more folds only cost time.
pub const MAX_FOLDS: usize = 100;

/// Refuses a k-fold split the data cannot fill, or too large: fewer than 2 folds, more
/// than [`MAX_FOLDS`], or fewer rows than folds.
///
/// # Errors
/// [`ModelsError::BadFolds`] naming the limit; [`ModelsError::TooFewRows`] naming the
/// numbers.
pub fn check_fold_count(rows: usize, folds: usize) -> Result<(), ModelsError> {
    if folds < 2 {
        return Err(ModelsError::BadFolds {
            reason: format!("{folds} folds; cross-validation needs at least 2"),
        });
    }
    if folds > MAX_FOLDS {
        return Err(ModelsError::BadFolds {
            reason: format!("{folds} folds; at most {MAX_FOLDS} are allowed"),
        });
    }
    if rows < folds {
        return Err(ModelsError::TooFewRows {
            reason: format!("{folds} folds need at least {folds} rows, the data has {rows}"),
        });
    }
    Ok(())
}

/// One fold's rows, sliced once for every candidate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FoldData {
    /// The fold's position among the folds, 0-based (as errors name folds).
    pub(crate) index: usize,
    /// The training rows' features.
    pub(crate) train: Frame,
    /// The test rows' features.
    pub(crate) test: Frame,
    /// The training rows' targets.
    pub(crate) train_targets: Targets,
    /// The test rows' targets.
    pub(crate) test_targets: Targets,
}

impl FoldData {
    /// The rows of fold `index` (`fold`) out of `features` and `targets`, whose rows the
    /// caller checked the fold's indices against ([`check_fold_rows`]).
    pub(crate) fn slice(features: &Frame, targets: &Targets, fold: &Fold, index: usize) -> Self {
        FoldData {
            index,
            train: select_rows(features, &fold.train),
            test: select_rows(features, &fold.test),
            train_targets: targets.select(&fold.train),
            test_targets: targets.select(&fold.test),
        }
    }
}

/// Cross-validates every candidate on every fold on `pool`, and ranks them by the
/// request's metric (best first; models without that metric, or with a non-finite mean,
/// next; failed models last, each group in candidate order).
///
/// Each (candidate, fold) is fitted and scored by the function a work unit sent to any
/// node runs, and the leaderboard is assembled by the function that assembles a spread
/// comparison's units, so one node and many give the same board.
///
/// # Errors
/// [`ModelsError::NoModels`], [`ModelsError::WrongTask`] for a candidate of the other
/// task,
/// [`ModelsError::BadFolds`] for more than [`MAX_FOLDS`] folds or folds that do not fit
/// the rows, [`ModelsError::Shape`] for targets that do not, [`ModelsError::Cancelled`] when `control` was cancelled. A model
/// failing is not an error: it is a failed entry.
pub fn cross_validate(
    request: &CvRequest<'_>,
    preprocess: &dyn Preprocess,
    control: &CvControl,
    pool: &rayon::ThreadPool,
) -> Result<Leaderboard, ModelsError> {
    check_request(request)?;
    let folds: Vec<FoldData> = request
        .folds
        .iter()
        .enumerate()
        .map(|(index, fold)| FoldData::slice(request.features, request.targets, fold, index))
        .collect();
    let shared = SharedFolds::new(preprocess, request.candidates, folds.len());
    let jobs = shared.jobs();
    control.total.store(jobs.len() as u64, Ordering::Relaxed);
    let outcomes: Vec<Result<UnitScores, ModelsError>> = pool.install(|| {
        // One (model, fold) fit per task: fits differ in cost by 100× (a forest against
        // naive Bayes), and rayon's default splitting would hand one thread a run of a slow
        // model's folds while the other idles. The results are put back in candidate
        // order, so the leaderboard does not depend on the scheduling.
        jobs.par_iter()
            .with_max_len(1)
            .map(|&(candidate, fold)| {
                if control.is_cancelled() {
                    return Err(ModelsError::Cancelled);
                }
                let _counted = control.gauge.as_ref().map(|gauge| gauge.enter());
                let cancel = Cancel::new(control.token().clone());
                let prepare = || shared.matrices(candidate, &folds[fold]);
                let outcome = evaluate(
                    request.seed,
                    &prepare,
                    &request.candidates[candidate],
                    &folds[fold],
                    &cancel,
                );
                // A fit skipped or interrupted by a cancel is not done.
                if !matches!(outcome, Err(ModelsError::Cancelled)) {
                    control.done.fetch_add(1, Ordering::Relaxed);
                }
                outcome
            })
            .collect()
    });
    if control.is_cancelled() {
        return Err(ModelsError::Cancelled);
    }
    // Candidate by candidate, each in fold order, as the board reads them.
    let mut ordered: Vec<Option<Result<UnitScores, ServiceError>>> =
        std::iter::repeat_with(|| None).take(jobs.len()).collect();
    for (&(candidate, fold), outcome) in jobs.iter().zip(outcomes) {
        ordered[candidate * folds.len() + fold] = Some(outcome.map_err(ServiceError::from));
    }
    let outcomes: Vec<Result<UnitScores, ServiceError>> = ordered
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| Err(ServiceError::internal("a (model, fold) never ran")))
        })
        .collect();
    let specs: Vec<ModelSpec> = request.candidates.iter().map(|c| c.spec.clone()).collect();
    let classes = match request.targets {
        Targets::Classification { classes, .. } => Some(classes.as_slice()),
        Targets::Regression(_) => None,
    };
    let plan = BoardPlan {
        task: request.targets.task(),
        metric: request.metric,
        candidates: &specs,
        folds: request.folds,
        rows: request.targets.len(),
        classes,
    };
    Ok(assemble(&plan, &outcomes))
}

fn check_request(request: &CvRequest<'_>) -> Result<(), ModelsError> {
    let task = request.targets.task();
    if request.candidates.is_empty() {
        return Err(ModelsError::NoModels {
            reason: "the candidate list is empty".to_owned(),
        });
    }
    if let Some(candidate) = request
        .candidates
        .iter()
        .find(|c| c.estimator.id().task() != task)
    {
        let id = candidate.estimator.id();
        return Err(ModelsError::WrongTask {
            algorithm: id.as_str(),
            algorithm_task: id.task(),
            task,
        });
    }
    if request.metric.task() != task {
        return Err(Metric::unknown(request.metric.as_str(), task));
    }
    check_defined(request.metric, request.targets, "the target")?;
    let rows = request.features.rows();
    if request.targets.len() != rows {
        return Err(ModelsError::Shape {
            reason: format!("{rows} feature rows but {} targets", request.targets.len()),
        });
    }
    check_fold_count(rows, request.folds.len().max(2))?;
    for (index, fold) in request.folds.iter().enumerate() {
        check_fold_rows(index, fold, rows)?;
    }
    Ok(())
}

/// Refuses fold `index` when its training or test set is empty or names a row past the
/// last of `rows`.
///
/// # Errors
/// [`ModelsError::BadFolds`] naming the fold and the row.
pub(crate) fn check_fold_rows(index: usize, fold: &Fold, rows: usize) -> Result<(), ModelsError> {
    let bad = |reason: String| ModelsError::BadFolds {
        reason: format!("fold {index}: {reason}"),
    };
    if fold.train.is_empty() || fold.test.is_empty() {
        return Err(bad("an empty training or test set".to_owned()));
    }
    if let Some(row) = fold
        .train
        .iter()
        .chain(&fold.test)
        .find(|&&row| row as usize >= rows)
    {
        return Err(bad(format!("row {row} is past the last row ({rows} rows)")));
    }
    Ok(())
}

/// Fits `candidate` on `fold`'s training rows and scores it on its test rows, turning a
/// panic into [`ModelsError::Panicked`]: one work unit, as a comparison on one node and a
/// unit sent to any node both run it.
///
/// # Errors
/// The model's own failure (a fit, a prediction, a preprocessing that does not suit the
/// rows, a panic), or [`ModelsError::Cancelled`] when `cancel` fired.
pub(crate) fn evaluate(
    seed: u64,
    prepare: &dyn Fn() -> Prepared,
    candidate: &Candidate,
    fold: &FoldData,
    cancel: &Cancel,
) -> Result<UnitScores, ModelsError> {
    let run = || run_fold(seed, prepare, candidate, fold, cancel);
    catch_unwind(AssertUnwindSafe(run))
        .unwrap_or_else(|panic| Err(panicked(&candidate.spec.algorithm, panic.as_ref())))
}

/// Fits and scores every one of `candidates` on one fold, one after another, as a work
/// unit of a spread comparison does: the candidates of one pipeline together, sharing one
/// preparation of the fold (made by the first to ask, dropped after the last), so one
/// preparation is held at a time. A result per candidate, in their order; or, at the
/// first error that is this node's rather than a model's (`stop`: a cancel, a utils call
/// past its deadline or unreachable), that error, the rest left unfitted.
///
/// # Errors
/// The first error for which `stop` holds.
pub(crate) fn evaluate_fold(
    seed: u64,
    preprocess: &dyn Preprocess,
    candidates: &[Candidate],
    fold: &FoldData,
    cancel: &Cancel,
    stop: impl Fn(&ModelsError) -> bool,
) -> Result<Vec<Result<UnitScores, ModelsError>>, ModelsError> {
    // Cells for folds up to this one: only this fold's are used.
    let shared = SharedFolds::new(preprocess, candidates, fold.index + 1);
    let mut outcomes: Vec<Option<Result<UnitScores, ModelsError>>> =
        candidates.iter().map(|_| None).collect();
    for index in shared.order() {
        let prepare = || shared.matrices(index, fold);
        match evaluate(seed, &prepare, &candidates[index], fold, cancel) {
            Err(error) if stop(&error) => return Err(error),
            outcome => outcomes[index] = Some(outcome),
        }
    }
    Ok(outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap_or(Err(ModelsError::Cancelled)))
        .collect())
}

fn run_fold(
    seed: u64,
    prepare: &dyn Fn() -> Prepared,
    candidate: &Candidate,
    fold: &FoldData,
    cancel: &Cancel,
) -> Result<UnitScores, ModelsError> {
    if cancel.is_cancelled() {
        return Err(ModelsError::Cancelled);
    }
    let matrices = prepare()?;
    let (train, test) = (&matrices.0, &matrices.1);
    let started = Instant::now();
    let model = candidate
        .estimator
        .fit_until(train, &fold.train_targets, seed, cancel)?;
    let fit_ms = started.elapsed().as_secs_f64() * 1000.0;
    let warnings = model
        .warnings()
        .into_iter()
        .map(|warning| format!("fold {}: {warning}", fold.index))
        .collect();
    let started = Instant::now();
    let prediction = model.predict_until(test, cancel)?;
    let predict_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (metrics, predicted, scores) = match (&prediction, &fold.test_targets) {
        (Prediction::Regression(values), Targets::Regression(truth)) => {
            (regression_scores(truth, values), values.clone(), None)
        }
        (
            Prediction::Classification(classes),
            Targets::Classification {
                codes,
                classes: labels,
            },
        ) => (
            classification_scores(codes, classes, labels.len()),
            classes.labels.iter().map(|&code| f64::from(code)).collect(),
            classes.positive_scores(labels.len()),
        ),
        _ => {
            return Err(ModelsError::WrongTask {
                algorithm: candidate.estimator.id().as_str(),
                algorithm_task: candidate.estimator.id().task(),
                task: fold.test_targets.task(),
            });
        }
    };
    let actual = match &fold.test_targets {
        Targets::Regression(values) => values.clone(),
        Targets::Classification { codes, .. } => {
            codes.iter().map(|&code| f64::from(code)).collect()
        }
    };
    Ok(UnitScores {
        metrics: metrics
            .into_iter()
            .map(|(metric, value)| (metric.as_str().to_owned(), value))
            .collect(),
        fit_ms,
        predict_ms,
        actual,
        predicted,
        scores,
        warnings,
    })
}

/// Each fold's matrices, prepared once per distinct pipeline and fold and shared by the
/// candidates whose rows go through that pipeline (a comparison's default candidates need
/// two or three preparations per fold, not one per candidate). A preparation is dropped
/// once its last candidate has taken it; the jobs run fold by fold, the candidates of one
/// pipeline next to each other, so few are held at once.
struct SharedFolds<'a> {
    preprocess: &'a dyn Preprocess,
    candidates: &'a [Candidate],
    /// Per candidate, the index of its pipeline among the distinct ones; `None` for a
    /// candidate prepared on its own.
    group: Vec<Option<usize>>,
    folds: usize,
    /// Per (pipeline, fold), `pipeline × folds + fold`.
    cells: Vec<FoldCell>,
}

/// A fold's training and test matrices, or why they could not be made.
type Prepared = Result<Arc<(Matrix, Matrix)>, ModelsError>;

/// One pipeline's preparation of one fold, and how many candidates have yet to take it.
struct FoldCell {
    prepared: Mutex<Option<Prepared>>,
    waiting: AtomicUsize,
}

impl<'a> SharedFolds<'a> {
    fn new(preprocess: &'a dyn Preprocess, candidates: &'a [Candidate], folds: usize) -> Self {
        let mut pipelines: Vec<(PipelineSpec, usize)> = Vec::new();
        let group = candidates
            .iter()
            .map(|candidate| {
                let pipeline = preprocess.shared_pipeline(candidate)?;
                let index = match pipelines.iter().position(|(known, _)| *known == pipeline) {
                    Some(index) => index,
                    None => {
                        pipelines.push((pipeline, 0));
                        pipelines.len() - 1
                    }
                };
                pipelines[index].1 += 1;
                Some(index)
            })
            .collect();
        let cells = pipelines
            .iter()
            .flat_map(|&(_, users)| {
                (0..folds).map(move |_| FoldCell {
                    prepared: Mutex::new(None),
                    waiting: AtomicUsize::new(users),
                })
            })
            .collect();
        SharedFolds {
            preprocess,
            candidates,
            group,
            folds,
            cells,
        }
    }

    /// Every (candidate, fold), fold by fold, each fold's candidates in [`Self::order`].
    fn jobs(&self) -> Vec<(usize, usize)> {
        let order = self.order();
        (0..self.folds)
            .flat_map(|fold| order.iter().map(move |&candidate| (candidate, fold)))
            .collect()
    }

    /// The candidates, those of one pipeline together (in candidate order otherwise).
    fn order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.candidates.len()).collect();
        order.sort_by_key(|&candidate| self.group[candidate].unwrap_or(usize::MAX));
        order
    }

    /// `candidate`'s matrices for `fold`: the shared preparation (made now by the first
    /// candidate to ask, the others waiting for it), or its own.
    fn matrices(&self, candidate: usize, fold: &FoldData) -> Prepared {
        let prepare = || {
            self.preprocess
                .prepare(&self.candidates[candidate], &fold.train, &fold.test)
                .map(Arc::new)
        };
        let Some(cell) =
            self.group[candidate].and_then(|group| self.cells.get(group * self.folds + fold.index))
        else {
            return prepare();
        };
        // A preparation that panicked poisoned the lock and left nothing: the next
        // candidate prepares again.
        let mut prepared = cell
            .prepared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Counted before preparing, so a preparation that panics still counts this
        // candidate, and the last one's preparation is never kept.
        let last = cell.waiting.fetch_sub(1, Ordering::AcqRel) == 1;
        let outcome = match prepared.as_ref() {
            Some(outcome) => outcome.clone(),
            None => {
                let outcome = prepare();
                if !last && shared_outcome(&outcome) {
                    *prepared = Some(outcome.clone());
                }
                outcome
            }
        };
        if last {
            *prepared = None;
        }
        outcome
    }
}

/// Whether the other candidates of a pipeline may take this preparation as theirs: its
/// matrices, or a refusal of the rows that a second try would meet again; not a timeout,
/// an unreachable utils or a panic, which the next candidate tries again.
fn shared_outcome(outcome: &Prepared) -> bool {
    matches!(outcome, Ok(_) | Err(ModelsError::Preprocess { .. }))
}

/// The given rows of every column, in that order.
fn select_rows(frame: &Frame, rows: &[u32]) -> Frame {
    let columns = frame
        .columns
        .iter()
        .map(|column| Column {
            name: column.name.clone(),
            data: match &column.data {
                ColumnData::Numeric(values) => {
                    ColumnData::Numeric(rows.iter().map(|&row| values[row as usize]).collect())
                }
                ColumnData::Categorical { codes, categories } => ColumnData::Categorical {
                    codes: rows.iter().map(|&row| codes[row as usize]).collect(),
                    categories: categories.clone(),
                },
            },
        })
        .collect();
    Frame { columns }
}

mod board;
#[cfg(test)]
mod parallel_tests;
#[cfg(test)]
mod tests;
