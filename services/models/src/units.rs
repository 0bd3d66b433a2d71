//! A comparison as independent work units, the pure part: a unit's rows out of the data,
//! its outcome sorted into "the model's own failure" and "this node could not do it", the
//! checked assembly of the units' results into a leaderboard, and the small cache of
//! frames read for units.
//!
//! The lab plans a comparison on one node ([`Models::plan`](mltools_core::models::Models::plan)),
//! sends each unit to whichever node it likes
//! ([`Models::evaluate`](mltools_core::models::Models::evaluate)), and assembles the
//! results ([`Models::assemble`](mltools_core::models::Models::assemble)). A unit is one
//! fold of the candidates that share a pipeline (the plan's groups), rather than a
//! candidate's folds: the fits spread over the nodes fold by fold, a node lost costs one
//! fold of one group, and the node prepares the fold once for the group, as the
//! single-node comparison ([`cross_validate`](crate::cv::cross_validate)) shares each
//! (pipeline, fold). Each of its fits is exactly one job of that comparison, run by the
//! same [`evaluate`](crate::cv::evaluate) and assembled by the same
//! [`assemble`](crate::cv::assemble).

use crate::admission::DataShape;
use crate::cv::{self, BoardPlan, FoldData, MAX_FOLDS, check_fold_rows};
use crate::error::ModelsError;
use crate::metrics::Metric;
use crate::task::{Targets, split_target};
use mltools_core::models::{
    ComparePlan, Leaderboard, TrainingData, UnitOutcome, UnitResult, UnitScores, fold_rows,
};
use mltools_core::utils::Fold;
use mltools_core::{ColumnData, DatasetId, ErrorKind, Frame, ServiceError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Frames a node keeps for work units: 2, so two comparisons can alternate on a node
/// without a reread, and a third evicts the least recently used.
pub(crate) const FRAME_CACHE_ENTRIES: usize = 2;

/// A cached frame unused this long is dropped (at the next unit or plan on the node).
pub(crate) const FRAME_CACHE_IDLE: Duration = Duration::from_secs(60);

/// One dataset version's frame, read once however many units ask for it at once.
pub(crate) type FrameSlot = Arc<OnceCell<Arc<Frame>>>;

/// The last few frames read for work units, by (dataset, version): a comparison's units
/// all read the same rows, and rereading them per unit would cost a full read per fit.
///
/// Bounded: at most `capacity` entries (the least recently used evicted first) and none
/// unused for longer than `idle` once the cache is next touched. A frame evicted while a
/// unit still uses it lives until that unit ends. Units arriving together for a frame
/// not yet read share one read (the slot is a [`OnceCell`]); a failed read leaves the slot
/// empty for the next unit to try.
#[derive(Debug)]
pub(crate) struct FrameCache {
    capacity: usize,
    idle: Duration,
    // A std mutex: held for a few comparisons of keys, never across an await.
    entries: Mutex<Vec<CacheEntry>>,
}

#[derive(Debug)]
struct CacheEntry {
    key: (DatasetId, u32),
    slot: FrameSlot,
    used: Instant,
}

impl FrameCache {
    /// A cache of at most `capacity` frames, each dropped after `idle` unused.
    pub(crate) fn new(capacity: usize, idle: Duration) -> Self {
        FrameCache {
            capacity: capacity.max(1),
            idle,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// The slot of `key`, marked used at `now`; a new empty one (evicting the least
    /// recently used entry when full) when absent. Entries idle past the limit go first.
    pub(crate) fn slot(&self, key: (DatasetId, u32), now: Instant) -> FrameSlot {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|entry| now.saturating_duration_since(entry.used) < self.idle);
        if let Some(entry) = entries.iter_mut().find(|entry| entry.key == key) {
            entry.used = now;
            return Arc::clone(&entry.slot);
        }
        if entries.len() >= self.capacity
            && let Some(oldest) = entries
                .iter()
                .enumerate()
                .min_by_key(|(_, entry)| entry.used)
                .map(|(index, _)| index)
        {
            entries.swap_remove(oldest);
        }
        let slot = FrameSlot::default();
        entries.push(CacheEntry {
            key,
            slot: Arc::clone(&slot),
            used: now,
        });
        slot
    }

    /// Forgets `key` if its frame was never read (its read failed), so that a failed read
    /// does not hold a place a read frame could have.
    pub(crate) fn forget_unread(&self, key: (DatasetId, u32)) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|entry| entry.key != key || entry.slot.initialized());
    }

    /// The frame of `key` when it is cached and read, without marking it used.
    pub(crate) fn peek(&self, key: (DatasetId, u32)) -> Option<Arc<Frame>> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .iter()
            .find(|entry| entry.key == key)
            .and_then(|entry| entry.slot.get().cloned())
    }

    /// The (dataset, version) of every frame held and read, least recently used first.
    pub(crate) fn keys(&self) -> Vec<(DatasetId, u32)> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let mut held: Vec<&CacheEntry> = entries
            .iter()
            .filter(|entry| entry.slot.initialized())
            .collect();
        held.sort_by_key(|entry| entry.used);
        held.iter().map(|entry| entry.key).collect()
    }
}

/// The shape of `frame` without its `target`, for the admission of a unit.
pub(crate) fn shape_of(frame: &Frame, target: &str) -> DataShape {
    let (numeric, categorical) = frame
        .columns
        .iter()
        .filter(|column| column.name != target)
        .fold((0, 0), |(n, c), column| match column.data {
            ColumnData::Numeric(_) => (n + 1, c),
            ColumnData::Categorical { .. } => (n, c + 1),
        });
    DataShape {
        rows: frame.rows() as u64,
        numeric,
        categorical,
    }
}

/// The folds as a plan carries them: each row's test fold. `folds` must be a partition of
/// the rows into test sets, each fold training on all the other rows (as a k-fold split
/// is), so that [`fold_rows`] gives them back exactly.
///
/// # Errors
/// [`ModelsError::BadFolds`] naming the row or fold that breaks this, or for more than
/// [`MAX_FOLDS`] folds.
pub(crate) fn test_fold(folds: &[Fold], rows: usize) -> Result<Vec<u8>, ModelsError> {
    let bad = |reason: String| ModelsError::BadFolds { reason };
    if folds.len() > MAX_FOLDS {
        return Err(bad(format!(
            "{} folds; at most {MAX_FOLDS} are allowed",
            folds.len()
        )));
    }
    let mut marks = vec![u8::MAX; rows];
    for (index, fold) in (0u8..).zip(folds) {
        for &row in &fold.test {
            let slot = marks.get_mut(row as usize).ok_or_else(|| {
                bad(format!(
                    "fold {index}: row {row} is past the last row ({rows} rows)"
                ))
            })?;
            if *slot != u8::MAX {
                return Err(bad(format!(
                    "row {row} is in the test sets of folds {} and {index}",
                    *slot
                )));
            }
            *slot = index;
        }
    }
    if let Some(row) = marks.iter().position(|&mark| mark == u8::MAX) {
        return Err(bad(format!("row {row} is in no fold's test set")));
    }
    if let Some(index) = folds
        .iter()
        .enumerate()
        .position(|(index, fold)| fold_rows(&marks, index) != *fold)
    {
        return Err(bad(format!(
            "fold {index} does not train on exactly the rows the others test on"
        )));
    }
    Ok(marks)
}

/// A unit's fold of `frame`: the target split off as the plan resolved it, the plan's
/// feature columns in its order, fold `index`'s rows by `test_fold`.
///
/// # Errors
/// The target errors of [`split_target`]; [`ModelsError::MissingColumns`] for a feature
/// the rows lack; [`ModelsError::BadFolds`] for folds that do not fit the rows.
pub(crate) fn fold_data(
    frame: &Frame,
    data: &TrainingData,
    features: &[String],
    test_fold: &[u8],
    index: usize,
) -> Result<FoldData, ModelsError> {
    if test_fold.len() != frame.rows() {
        return Err(ModelsError::BadFolds {
            reason: format!(
                "the folds mark {} rows, the data has {}",
                test_fold.len(),
                frame.rows()
            ),
        });
    }
    let split = fold_rows(test_fold, index);
    let (all, targets) = split_target(frame, &data.target, data.task)?;
    let mut columns = Vec::with_capacity(features.len());
    let mut missing = Vec::new();
    for name in features {
        match all.column(name) {
            Some(column) => columns.push(column.clone()),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(ModelsError::MissingColumns {
            missing: missing.join(", "),
            expected: features.join(", "),
        });
    }
    check_fold_rows(index, &split, targets.len())?;
    let kept = Frame { columns };
    Ok(FoldData::slice(&kept, &targets, &split, index))
}

/// The classes of `targets`, for a plan.
pub(crate) fn classes(targets: &Targets) -> Option<Vec<String>> {
    match targets {
        Targets::Classification { classes, .. } => Some(classes.clone()),
        Targets::Regression(_) => None,
    }
}

/// A unit's outcome as [`Models::evaluate`](mltools_core::models::Models::evaluate)
/// answers it: the scores, or the model's own failure (as its leaderboard row shows it);
/// but an error that says nothing of the model (cancelled, an unavailable or overloaded
/// utils, a utils call past its deadline) is this node's, and the caller retries the unit
/// elsewhere.
///
/// # Errors
/// The node's errors, as they are.
pub(crate) fn outcome(result: Result<UnitScores, ModelsError>) -> Result<UnitOutcome, ModelsError> {
    match result {
        Ok(scores) => Ok(UnitOutcome::Scored(scores)),
        Err(error) if is_node_trouble(&error) => Err(error),
        Err(error) => Ok(UnitOutcome::Failed(error.into())),
    }
}

/// Whether `error` is the node's (retry the unit elsewhere) rather than the model's.
pub(crate) fn is_node_trouble(error: &ModelsError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Cancelled | ErrorKind::Unavailable | ErrorKind::Overloaded | ErrorKind::Timeout
    )
}

/// The leaderboard of `plan` from its units' `results`, in any order: each (candidate,
/// fold) exactly once. The plan's warnings are the board's; no model is kept (the caller
/// refits the best with [`Models::fit`](mltools_core::models::Models::fit)).
///
/// # Errors
/// [`ModelsError::BadUnits`] naming the (candidate, fold) missing, given twice, not in the
/// plan, or whose predictions do not fit its fold; [`ModelsError::BadFolds`] or
/// [`ModelsError::NoModels`] for a plan without folds or candidates; the metric's error
/// for a metric not of the plan's task.
pub(crate) fn assemble(
    plan: &ComparePlan,
    results: Vec<UnitResult>,
) -> Result<Leaderboard, ModelsError> {
    let task = plan.data.task.ok_or_else(|| ModelsError::BadUnits {
        reason: "the plan has no resolved task".to_owned(),
    })?;
    let metric = Metric::parse(&plan.metric, task)?;
    let (candidates, folds) = (plan.candidates.len(), plan.folds);
    if candidates == 0 {
        return Err(ModelsError::NoModels {
            reason: "the plan has no candidates".to_owned(),
        });
    }
    if !(2..=MAX_FOLDS).contains(&folds) {
        return Err(ModelsError::BadFolds {
            reason: format!("the plan has {folds} folds; 2 to {MAX_FOLDS} are allowed"),
        });
    }
    let rows = plan.test_fold.len();
    if u64::try_from(rows).ok() != Some(plan.rows) {
        return Err(ModelsError::BadFolds {
            reason: format!("the folds mark {rows} rows, the plan has {}", plan.rows),
        });
    }
    if let Some(row) = plan
        .test_fold
        .iter()
        .position(|&fold| usize::from(fold) >= folds)
    {
        return Err(ModelsError::BadFolds {
            reason: format!(
                "row {row} is in fold {}, the plan has {folds}",
                plan.test_fold[row]
            ),
        });
    }
    let fold_list: Vec<Fold> = (0..folds).map(|fold| plan.fold(fold)).collect();
    for (index, fold) in fold_list.iter().enumerate() {
        check_fold_rows(index, fold, rows)?;
    }
    // Keyed by (candidate, fold) rather than a dense grid: the plan's counts come from the
    // caller, and a grid of candidates × folds could be far larger than the message.
    let mut given: HashMap<(usize, usize), Result<UnitScores, ServiceError>> =
        HashMap::with_capacity(results.len());
    for result in results {
        let unit = Unit::of(plan, result.candidate, result.fold);
        let test_rows = fold_list
            .get(result.fold)
            .map(|fold| fold.test.len())
            .filter(|_| result.candidate < candidates)
            .ok_or_else(|| ModelsError::BadUnits {
                reason: format!(
                    "{unit} is not in the plan ({candidates} candidates, {folds} folds)"
                ),
            })?;
        let outcome = match result.outcome {
            UnitOutcome::Scored(scores) => {
                check_lengths(&unit, &scores, test_rows)?;
                Ok(scores)
            }
            UnitOutcome::Failed(error) => Err(error),
        };
        if given
            .insert((result.candidate, result.fold), outcome)
            .is_some()
        {
            return Err(ModelsError::BadUnits {
                reason: format!("{unit} has two results"),
            });
        }
    }
    // Every unit given is in the plan and none twice: the first missing one, if any, comes
    // within `given.len() + 1` steps of this walk.
    let mut outcomes = Vec::with_capacity(given.len());
    for candidate in 0..candidates {
        for fold in 0..folds {
            let Some(outcome) = given.remove(&(candidate, fold)) else {
                let unit = Unit::of(plan, candidate, fold);
                return Err(ModelsError::BadUnits {
                    reason: format!("{unit} has no result"),
                });
            };
            outcomes.push(outcome);
        }
    }
    let board = BoardPlan {
        task,
        metric,
        candidates: &plan.candidates,
        folds: &fold_list,
        rows,
        classes: plan.classes.as_deref(),
    };
    let mut board = cv::assemble(&board, &outcomes);
    // The plan's own warnings first, then the board's (a metric left out, and why).
    board.warnings.splice(0..0, plan.warnings.iter().cloned());
    Ok(board)
}

/// A (candidate, fold) as errors name it: `candidate 2 (svc), fold 3`.
struct Unit {
    candidate: usize,
    algorithm: Option<String>,
    fold: usize,
}

impl Unit {
    fn of(plan: &ComparePlan, candidate: usize, fold: usize) -> Unit {
        Unit {
            candidate,
            algorithm: plan
                .candidates
                .get(candidate)
                .map(|spec| spec.algorithm.clone()),
            fold,
        }
    }
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.algorithm {
            Some(algorithm) => write!(
                f,
                "(candidate {} `{algorithm}`, fold {})",
                self.candidate, self.fold
            ),
            None => write!(f, "(candidate {}, fold {})", self.candidate, self.fold),
        }
    }
}

/// Refuses scores whose per-row vectors do not have one value per test row of the fold.
fn check_lengths(unit: &Unit, scores: &UnitScores, test_rows: usize) -> Result<(), ModelsError> {
    let lengths = [
        ("actual", Some(scores.actual.len())),
        ("predicted", Some(scores.predicted.len())),
        ("scores", scores.scores.as_ref().map(Vec::len)),
    ];
    for (name, length) in lengths {
        if let Some(length) = length
            && length != test_rows
        {
            return Err(ModelsError::BadUnits {
                reason: format!(
                    "{unit} has {length} {name} values for the fold's {test_rows} test rows"
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
