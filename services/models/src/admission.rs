//! Admission control: what a models node takes on at once.
//!
//! Every comparison and every single fit asks, before it reads a row, for its estimated
//! peak memory out of the node's budget (`[models] memory_budget_mb`). Requests that do
//! not fit wait in a first-come-first-served queue of at most `max_queued` (holding no
//! rows of a stored dataset while they wait); one more is refused as
//! [`ModelsError::Overloaded`] with a retry-after hint drawn from how long admitted work
//! has recently held its memory. A request that could never fit (its estimate alone is
//! over the budget) is refused at once, saying so. Fits themselves run on the fit pool
//! (`fit_threads`), which is the cap on concurrent fits; [`FitGauge`] counts them.
//!
//! The estimate ([`estimate`]) is deliberately coarse and errs high: the rows as read, a
//! copy per fold, and per fit running at once its preprocessed matrices plus what its
//! algorithm builds (an SVM's kernel cache, a forest's nodes, boosting's bins, gradients
//! and leaf histograms, k-NN's distance blocks). Where that depends on the class count,
//! which is not known before the rows are read (logistic regression's and boosting's
//! per-class arrays), ten classes are assumed: a target of many more classes can take more
//! than estimated.

use crate::algorithms::{AlgorithmId, Estimator};
use crate::error::ModelsError;
use mltools_core::models::{ModelSpec, ParamValue};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// One mebibyte.
const MIB: u64 = 1 << 20;
/// The shortest and longest retry-after hint.
const RETRY_BOUNDS: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(60));
/// Categories a categorical column expands to, at most, in a default pipeline (the
/// category cap of 32 and "other").
const CATEGORY_COLUMNS: u64 = 33;

/// The shape of the data a request fits on, as known before its rows are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataShape {
    /// Rows.
    pub(crate) rows: u64,
    /// Numeric feature columns.
    pub(crate) numeric: u64,
    /// Categorical feature columns (each may expand to several after one-hot encoding).
    pub(crate) categorical: u64,
}

impl DataShape {
    /// The columns of the model matrix, at most.
    pub(crate) fn matrix_columns(self) -> u64 {
        self.numeric
            .saturating_add(self.categorical.saturating_mul(CATEGORY_COLUMNS))
            .max(1)
    }

    /// The bytes of the rows as a matrix of `f64`.
    pub(crate) fn matrix_bytes(self) -> u64 {
        self.rows
            .saturating_mul(self.matrix_columns())
            .saturating_mul(8)
    }
}

/// A request's estimated peak memory in bytes: the rows as read, a copy per fold (`folds`
/// is 1 for a single fit), and for each of the `concurrent` fits running at once its
/// matrices and the most any of `models` builds besides. `models` empty: every
/// algorithm with its defaults (a comparison of the default candidates).
pub(crate) fn estimate(shape: DataShape, models: &[ModelSpec], folds: u64, concurrent: u64) -> u64 {
    let data = shape.matrix_bytes();
    let extra = if models.is_empty() {
        AlgorithmId::ALL
            .iter()
            .map(|&id| Estimator::defaults(id).fitter().working_bytes(shape))
            .max()
            .unwrap_or(0)
    } else {
        models
            .iter()
            .map(|spec| algorithm_bytes(&spec.algorithm, &spec.params, shape))
            .max()
            .unwrap_or(0)
    };
    let base = data.saturating_mul(folds.saturating_add(1));
    let per_fit = data.saturating_add(extra);
    base.saturating_add(per_fit.saturating_mul(concurrent.max(1)))
}

/// What one fit of `algorithm` with `params` builds besides its matrices, in bytes (the
/// algorithm's own [`working_bytes`](crate::algorithms::fit::Fit::working_bytes)); for
/// parameters that do not read, which the fit will refuse, a copy of the design.
fn algorithm_bytes(
    algorithm: &str,
    params: &std::collections::BTreeMap<String, ParamValue>,
    shape: DataShape,
) -> u64 {
    Estimator::new(algorithm, params).map_or(shape.matrix_bytes(), |estimator| {
        estimator.fitter().working_bytes(shape)
    })
}

/// Fits running on the fit pool now, and the most seen at once.
#[derive(Debug, Default)]
pub(crate) struct FitGauge {
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl FitGauge {
    /// Counts a fit from now until the guard drops.
    pub(crate) fn enter(self: &Arc<Self>) -> FitGuard {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        FitGuard(Arc::clone(self))
    }

    /// Fits running now.
    pub(crate) fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// The most fits seen running at once since the node started.
    pub(crate) fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// A fit counted by a [`FitGauge`] until dropped.
#[derive(Debug)]
pub(crate) struct FitGuard(Arc<FitGauge>);

impl Drop for FitGuard {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The node's memory budget and its queue.
#[derive(Debug)]
pub(crate) struct Admission {
    /// One permit per MiB of the budget.
    memory: Arc<Semaphore>,
    budget_mib: u32,
    /// One permit per place in the queue.
    queue: Arc<Semaphore>,
    max_queued: usize,
    /// Requests admitted and not yet done.
    admitted: AtomicUsize,
    /// A moving average of how long admitted work held its memory, in milliseconds.
    recent_hold_ms: Mutex<f64>,
}

impl Admission {
    /// A budget of `budget_mib` MiB and a queue of `max_queued` places.
    pub(crate) fn new(budget_mib: u32, max_queued: usize) -> Arc<Admission> {
        Arc::new(Admission {
            memory: Arc::new(Semaphore::new(budget_mib as usize)),
            budget_mib,
            queue: Arc::new(Semaphore::new(max_queued)),
            max_queued,
            admitted: AtomicUsize::new(0),
            recent_hold_ms: Mutex::new(1000.0),
        })
    }

    /// Takes a place in the queue for work needing `bytes`, at once or not at all.
    ///
    /// # Errors
    /// [`ModelsError::OverLimit`] when `bytes` alone is over the budget (`what` names the
    /// work); [`ModelsError::Overloaded`], with a retry-after hint, when the queue is full;
    /// [`ModelsError::Cancelled`] once the node is shutting down.
    pub(crate) fn enqueue(
        self: &Arc<Self>,
        what: &str,
        bytes: u64,
    ) -> Result<Waiting, ModelsError> {
        let mib = bytes.div_ceil(MIB).max(1);
        if mib > u64::from(self.budget_mib) {
            return Err(ModelsError::OverLimit {
                subject: format!("the estimated memory of {what}"),
                value: format!("{mib} MiB"),
                cap: format!("{} MiB", self.budget_mib),
                setting: "memory_budget_mb",
            });
        }
        let place = Arc::clone(&self.queue)
            .try_acquire_owned()
            .map_err(|error| match error {
                TryAcquireError::Closed => ModelsError::Cancelled,
                TryAcquireError::NoPermits => ModelsError::Overloaded {
                    reason: format!(
                        "{} requests are waiting for memory already (models setting \
                         `max_queued`); retry later",
                        self.max_queued
                    ),
                    retry_after: Some(self.retry_after()),
                },
            })?;
        Ok(Waiting {
            admission: Arc::clone(self),
            _place: place,
            mib: mib as u32,
        })
    }

    /// The wait to suggest to a refused caller: the recent hold time of admitted work,
    /// times the queue ahead of it per running request, within [`RETRY_BOUNDS`].
    pub(crate) fn retry_after(&self) -> Duration {
        let hold_ms = *self
            .recent_hold_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let running = self.admitted.load(Ordering::SeqCst).max(1) as f64;
        let queued = (self.max_queued - self.queue.available_permits()) as f64;
        let wait = Duration::from_secs_f64((hold_ms * (1.0 + queued / running)) / 1000.0);
        wait.clamp(RETRY_BOUNDS.0, RETRY_BOUNDS.1)
    }

    /// MiB of the budget taken by admitted work.
    pub(crate) fn reserved_mib(&self) -> u32 {
        self.budget_mib
            .saturating_sub(self.memory.available_permits() as u32)
    }

    /// The budget, in MiB.
    pub(crate) fn budget_mib(&self) -> u32 {
        self.budget_mib
    }

    /// Requests waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.max_queued - self.queue.available_permits()
    }

    /// Refuses every waiting and future request (at shutdown).
    pub(crate) fn close(&self) {
        self.memory.close();
        self.queue.close();
    }

    fn record_hold(&self, held: Duration) {
        let mut recent = self
            .recent_hold_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *recent = 0.8 * *recent + 0.2 * held.as_secs_f64() * 1000.0;
    }
}

/// A place in the queue, for work of a known size.
#[derive(Debug)]
pub(crate) struct Waiting {
    admission: Arc<Admission>,
    _place: OwnedSemaphorePermit,
    mib: u32,
}

impl Waiting {
    /// Waits, first come first served, until the work's memory is free; gives the queue
    /// place back either way.
    ///
    /// # Errors
    /// [`ModelsError::Cancelled`] once the node is shutting down.
    ///
    /// # Cancel safety
    /// Safe: dropped while waiting, it takes nothing and leaves the queue.
    pub(crate) async fn admitted(self) -> Result<Admitted, ModelsError> {
        let memory = Arc::clone(&self.admission.memory)
            .acquire_many_owned(self.mib)
            .await
            .map_err(|_| ModelsError::Cancelled)?;
        self.admission.admitted.fetch_add(1, Ordering::SeqCst);
        Ok(Admitted {
            admission: Arc::clone(&self.admission),
            _memory: memory,
            since: Instant::now(),
        })
    }
}

/// Admitted work: holds its memory until dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    admission: Arc<Admission>,
    _memory: OwnedSemaphorePermit,
    since: Instant,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.admission.admitted.fetch_sub(1, Ordering::SeqCst);
        self.admission.record_hold(self.since.elapsed());
    }
}

/// Half the machine's memory in MiB (`MemTotal` of `/proc/meminfo`), or 4096 where it
/// cannot be read: the default `memory_budget_mb`.
pub(crate) fn default_budget_mib() -> u32 {
    let total_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
        });
    total_kib.map_or(4096, |kib| {
        u32::try_from(kib / 1024 / 2).unwrap_or(u32::MAX)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::ErrorKind;

    fn spec(algorithm: &str) -> ModelSpec {
        ModelSpec {
            algorithm: algorithm.into(),
            params: Default::default(),
            pipeline: None,
        }
    }

    #[test]
    fn estimates_grow_with_the_data_the_folds_and_the_algorithm() {
        let shape = DataShape {
            rows: 10_000,
            numeric: 10,
            categorical: 0,
        };
        let data = 10_000 * 10 * 8;
        // Naive Bayes: the rows, 5 fold copies, and per fit its matrices and a copy.
        assert_eq!(
            estimate(shape, &[spec("gaussian_nb")], 5, 1),
            data * 6 + data * 2
        );
        // A forest: 100 trees of up to two 40-byte nodes per row.
        let forest = estimate(shape, &[spec("random_forest_classifier")], 5, 2);
        assert_eq!(forest, data * 6 + 2 * (data + 100 * 10_000 * 80));
        // The default candidates count the hungriest (a forest or an SVM's cache).
        assert!(estimate(shape, &[], 5, 2) >= forest);
        // An SVM's kernel cache counts up to its size, or the whole kernel if smaller, with
        // its support vectors (up to a copy of the data).
        let small = DataShape {
            rows: 500,
            numeric: 10,
            categorical: 0,
        };
        let small_data = 500 * 10 * 8;
        assert_eq!(
            estimate(small, &[spec("svc")], 1, 1),
            small_data * 2 + small_data * 2 + 500 * 500 * 8
        );
        assert_eq!(
            estimate(shape, &[spec("svc")], 1, 1),
            data * 2 + data * 2 + 200 * MIB
        );
        // A categorical column counts as its capped one-hot columns.
        let wide = DataShape {
            categorical: 1,
            ..shape
        };
        assert_eq!(wide.matrix_columns(), 10 + 33);
    }

    #[test]
    fn boosting_counts_its_bins_gradients_histograms_and_trees() {
        let shape = DataShape {
            rows: 100_000,
            numeric: 20,
            categorical: 0,
        };
        let data = 100_000 * 20 * 8;
        let with = |params: &[(&str, i64)]| ModelSpec {
            params: params
                .iter()
                .map(|&(name, value)| (name.to_owned(), ParamValue::Integer(value)))
                .collect(),
            ..spec("hist_gradient_boosting_regressor")
        };
        // Per row: 20 bin bytes, 8 bytes each of raw, gradient, hessian and two more, 12 of
        // row order, 8 of row numbers, 16 of gathered gradients; 31 leaves of 20 × 257
        // cells of 24 bytes; 100 trees of 62 nodes.
        let working = 100_000 * (20 + 8 * 5 + 36) + 31 * 20 * 257 * 24 + 100 * 62 * 32;
        assert_eq!(
            estimate(shape, &[with(&[])], 1, 1),
            data * 2 + data + working
        );
        // A classifier: ten outputs assumed.
        let classifier = estimate(shape, &[spec("hist_gradient_boosting_classifier")], 1, 1);
        assert!(classifier > estimate(shape, &[with(&[])], 1, 1) + 100_000 * 8 * 27);
        // Leaves are bounded by the rows a leaf must hold: 4096 leaves asked of 100,000
        // rows of at least 50 each is 2001 at most.
        let many = estimate(
            shape,
            &[with(&[("max_leaf_nodes", 4096), ("min_samples_leaf", 50)])],
            1,
            1,
        );
        let leaves = 100_000 / 50 + 1;
        let working = 100_000 * (20 + 8 * 5 + 36) + leaves * 20 * 257 * 24 + 100 * leaves * 2 * 32;
        assert_eq!(many, data * 3 + working);
        // Parameters the fit would refuse count as a copy of the data.
        assert_eq!(
            estimate(shape, &[with(&[("max_bins", 1000)])], 1, 1),
            data * 4
        );
    }

    #[tokio::test]
    async fn work_waits_for_memory_in_order_and_the_queue_is_bounded() {
        let admission = Admission::new(100, 2);
        let first = admission
            .enqueue("a", 60 * MIB)
            .unwrap()
            .admitted()
            .await
            .unwrap();
        assert_eq!(admission.reserved_mib(), 60);
        // 60 + 60 is over the budget: the second waits, and the third takes the last place.
        let second = admission.enqueue("b", 60 * MIB).unwrap();
        let third = admission.enqueue("c", MIB).unwrap();
        assert_eq!(admission.queued(), 2);
        let refused = admission.enqueue("d", MIB).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Overloaded);
        let ModelsError::Overloaded { retry_after, .. } = &refused else {
            panic!("{refused}")
        };
        assert!(retry_after.is_some_and(|wait| wait >= RETRY_BOUNDS.0));
        let second = tokio::spawn(second.admitted());
        tokio::task::yield_now().await;
        assert!(!second.is_finished());
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(5), second)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(admission.reserved_mib(), 60);
        let third = third.admitted().await.unwrap();
        assert_eq!(admission.reserved_mib(), 61);
        assert_eq!(admission.queued(), 0);
        drop((second, third));
        assert_eq!(admission.reserved_mib(), 0);
    }

    #[test]
    fn work_over_the_whole_budget_is_refused_naming_the_setting() {
        let admission = Admission::new(100, 2);
        let error = admission.enqueue("this comparison", 101 * MIB).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let message = error.to_string();
        assert!(
            message.contains("101 MiB") && message.contains("memory_budget_mb"),
            "{message}"
        );
    }

    #[test]
    fn the_gauge_keeps_its_peak() {
        let gauge = Arc::new(FitGauge::default());
        let (a, b) = (gauge.enter(), gauge.enter());
        drop(a);
        let c = gauge.enter();
        assert_eq!((gauge.running(), gauge.peak()), (2, 2));
        drop((b, c));
        assert_eq!((gauge.running(), gauge.peak()), (0, 2));
    }
}
