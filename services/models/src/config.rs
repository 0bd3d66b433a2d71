//! The models service's settings, embedded in the node's TOML file under `[models]`.

use crate::algorithms::FitLimits;
use crate::error::ModelsError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Settings of the models service.
///
/// ```toml
/// [models]
/// data_dir = "./.mltools"
/// fit_threads = 2
/// max_running_jobs = 1
/// max_kept_jobs = 100
/// max_running_fits = 2
/// utils_call_timeout_ms = 600000
/// datasets_page_bytes = 33554432
/// max_trees = 1000
/// max_leaf_nodes = 4096
/// max_iterations = 100000
/// max_kernel_cache_mb = 1024
/// max_models_per_comparison = 64
/// memory_budget_mb = 8192
/// max_queued = 32
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelsConfig {
    /// The directory holding the registry (`models.db`); created when missing. Default
    /// `./.mltools`.
    pub data_dir: PathBuf,
    /// Fits running at once, on a pool of this many threads; `None` (the default): one per
    /// available core.
    pub fit_threads: Option<usize>,
    /// Comparisons running at once; a submitted job waits (state `Queued`) for a slot.
    /// Default 1: one comparison already uses every fit thread.
    pub max_running_jobs: usize,
    /// Jobs remembered (running and ended); submitting beyond it forgets the oldest ended
    /// job, or is refused as overloaded when all are still running or queued. Default 100.
    pub max_kept_jobs: usize,
    /// Single-model fits (the `fit` call) running at once, each holding a copy of its
    /// data; a `fit` beyond it waits (within its deadline) for one to end. They share the
    /// fit threads with the comparisons. Default 2.
    pub max_running_fits: usize,
    /// The deadline of each call to the utils service (fit a fold's pipeline, transform a
    /// fold, split, refit on all rows), in milliseconds. Each call gets its own; one that
    /// passes fails the fold (or the fit) as timed out. Between 1 ms and one day; default
    /// 600000 (ten minutes), sized for preprocessing a large dataset.
    pub utils_call_timeout_ms: u64,
    /// The numeric data in one page when this node reads a stored dataset's rows from
    /// the datasets service, in bytes: keep it within the `max_frame_bytes` of the link to
    /// the datasets node (a third of a page's frame is left for its description). Between
    /// 64 KiB and 1 GiB; default 32 MiB, half the default frame.
    pub datasets_page_bytes: u64,
    /// The most trees a request may ask of a forest (`n_trees` of `random_forest_*`,
    /// `extra_trees_*`), and the most boosting iterations (`max_iter` of
    /// `hist_gradient_boosting_*`, a tree each, or one per class beyond two classes); more
    /// is refused as invalid input before fitting. Between 1 and 65535; default 1000.
    pub max_trees: usize,
    /// The most leaves a request may ask of one boosted tree (`max_leaf_nodes` of
    /// `hist_gradient_boosting_*`); more is refused as invalid input before fitting. Each
    /// growing leaf holds a histogram of every feature, so this sizes a fit's memory too.
    /// Between 2 and 65535; default 4096.
    pub max_leaf_nodes: usize,
    /// The most iterations a request may ask of an iterative solver (`max_iter` of
    /// `logistic_regression`, `lasso`, `elastic_net`); more is refused as invalid input
    /// before fitting. At least 1; default 100000.
    pub max_iterations: usize,
    /// The largest SVM kernel cache a request may ask for (`cache_size_mb` of `svc`,
    /// `svr`), in megabytes; more is refused as invalid input before fitting. At least 1;
    /// default 1024.
    pub max_kernel_cache_mb: u64,
    /// The most models one comparison may evaluate (each is fitted once per fold); more is
    /// refused as invalid input before the job starts. At least 1; default 64.
    pub max_models_per_comparison: usize,
    /// The memory, in MiB, that admitted comparisons and fits may take together, by their
    /// estimates (the rows, a copy per fold, and per fit running at once its matrices and
    /// what its algorithm builds). Work that does not fit waits in the queue; work whose
    /// estimate alone is larger is refused as invalid input. `None` (the default): half of
    /// the machine's memory.
    pub memory_budget_mb: Option<u64>,
    /// Comparisons and fits that may wait for memory at once; one more is refused as
    /// overloaded, with a retry-after hint. At least 1; default 32.
    pub max_queued: usize,
}

/// The longest `utils_call_timeout_ms` accepted: one day.
const MAX_UTILS_CALL_TIMEOUT_MS: u64 = 24 * 60 * 60 * 1000;

impl Default for ModelsConfig {
    fn default() -> Self {
        ModelsConfig {
            data_dir: PathBuf::from("./.mltools"),
            fit_threads: None,
            max_running_jobs: 1,
            max_kept_jobs: 100,
            max_running_fits: 2,
            utils_call_timeout_ms: 600_000,
            datasets_page_bytes: mltools_transport::paging::DEFAULT_PAGE_BYTES,
            max_trees: 1000,
            max_leaf_nodes: 4096,
            max_iterations: 100_000,
            max_kernel_cache_mb: 1024,
            max_models_per_comparison: 64,
            memory_budget_mb: None,
            max_queued: 32,
        }
    }
}

impl ModelsConfig {
    /// A default configuration storing its registry in `data_dir`.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        ModelsConfig {
            data_dir: data_dir.into(),
            ..ModelsConfig::default()
        }
    }

    /// Checks the values that cannot be expressed in the types.
    ///
    /// # Errors
    /// [`ModelsError::BadConfig`] naming the field: a zero `fit_threads` (or above 1024),
    /// `max_running_jobs`, `max_kept_jobs` or `max_running_fits`; a `utils_call_timeout_ms`
    /// of 0 or above a day; a `datasets_page_bytes` outside 64 KiB..=1 GiB; a `max_trees`
    /// outside 1..=65535; a `max_leaf_nodes` outside 2..=65535; a zero `max_iterations`, `max_kernel_cache_mb`,
    /// `max_models_per_comparison` or `max_queued`; a `memory_budget_mb` of 0 or past
    /// 2³² − 1.
    pub fn validate(&self) -> Result<(), ModelsError> {
        let bad = |field: &'static str, reason: &str| {
            Err(ModelsError::BadConfig {
                field,
                reason: reason.to_owned(),
            })
        };
        if matches!(self.fit_threads, Some(threads) if threads == 0 || threads > 1024) {
            return bad("fit_threads", "must be between 1 and 1024");
        }
        if self.max_running_jobs == 0 {
            return bad("max_running_jobs", "must be at least 1");
        }
        if self.max_kept_jobs == 0 {
            return bad("max_kept_jobs", "must be at least 1");
        }
        if self.max_running_fits == 0 {
            return bad("max_running_fits", "must be at least 1");
        }
        if self.max_queued == 0 {
            return bad("max_queued", "must be at least 1");
        }
        if matches!(self.memory_budget_mb, Some(mib) if mib == 0 || mib > u64::from(u32::MAX)) {
            return bad("memory_budget_mb", "must be between 1 and 4294967295");
        }
        if self.utils_call_timeout_ms == 0 || self.utils_call_timeout_ms > MAX_UTILS_CALL_TIMEOUT_MS
        {
            return bad(
                "utils_call_timeout_ms",
                "must be between 1 and 86400000 (one day)",
            );
        }
        if !(64 << 10..=1 << 30).contains(&self.datasets_page_bytes) {
            return bad(
                "datasets_page_bytes",
                "must be between 65536 (64 KiB) and 1073741824 (1 GiB)",
            );
        }
        if !(1..=usize::from(u16::MAX)).contains(&self.max_trees) {
            return bad("max_trees", "must be between 1 and 65535");
        }
        if !(2..=usize::from(u16::MAX)).contains(&self.max_leaf_nodes) {
            return bad("max_leaf_nodes", "must be between 2 and 65535");
        }
        if self.max_iterations == 0 {
            return bad("max_iterations", "must be at least 1");
        }
        if self.max_kernel_cache_mb == 0 {
            return bad("max_kernel_cache_mb", "must be at least 1");
        }
        if self.max_models_per_comparison == 0 {
            return bad("max_models_per_comparison", "must be at least 1");
        }
        Ok(())
    }

    /// The caps on what a request may ask of one fit.
    pub fn fit_limits(&self) -> FitLimits {
        FitLimits {
            max_trees: self.max_trees,
            max_leaf_nodes: self.max_leaf_nodes,
            max_iterations: self.max_iterations,
            max_kernel_cache_mb: self.max_kernel_cache_mb,
        }
    }

    /// The memory budget in MiB: `memory_budget_mb`, or half the machine's memory.
    pub fn memory_budget_mib(&self) -> u32 {
        self.memory_budget_mb
            .map_or_else(crate::admission::default_budget_mib, |mib| {
                u32::try_from(mib).unwrap_or(u32::MAX)
            })
    }

    /// The deadline of each call to the utils service.
    pub fn utils_call_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.utils_call_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_zeroes_are_refused() {
        assert!(ModelsConfig::default().validate().is_ok());
        let config = ModelsConfig {
            fit_threads: Some(0),
            ..ModelsConfig::default()
        };
        let error = config.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "models config: `fit_threads`: must be between 1 and 1024"
        );
        let parsed: Result<ModelsConfig, _> = serde_json::from_str(r#"{"fit_thread": 2}"#);
        assert!(parsed.is_err(), "unknown keys are refused");
        let config = ModelsConfig {
            utils_call_timeout_ms: 0,
            ..ModelsConfig::default()
        };
        assert_eq!(
            config.validate().unwrap_err().to_string(),
            "models config: `utils_call_timeout_ms`: must be between 1 and 86400000 (one day)"
        );
        let config = ModelsConfig {
            max_running_fits: 0,
            ..ModelsConfig::default()
        };
        assert!(config.validate().is_err());
        for (config, field) in [
            (
                ModelsConfig {
                    max_trees: 0,
                    ..ModelsConfig::default()
                },
                "max_trees",
            ),
            (
                ModelsConfig {
                    max_trees: 70_000,
                    ..ModelsConfig::default()
                },
                "max_trees",
            ),
            (
                ModelsConfig {
                    max_leaf_nodes: 1,
                    ..ModelsConfig::default()
                },
                "max_leaf_nodes",
            ),
            (
                ModelsConfig {
                    max_leaf_nodes: 70_000,
                    ..ModelsConfig::default()
                },
                "max_leaf_nodes",
            ),
            (
                ModelsConfig {
                    max_iterations: 0,
                    ..ModelsConfig::default()
                },
                "max_iterations",
            ),
            (
                ModelsConfig {
                    max_kernel_cache_mb: 0,
                    ..ModelsConfig::default()
                },
                "max_kernel_cache_mb",
            ),
            (
                ModelsConfig {
                    max_models_per_comparison: 0,
                    ..ModelsConfig::default()
                },
                "max_models_per_comparison",
            ),
        ] {
            let error = config.validate().unwrap_err();
            assert!(
                matches!(error, ModelsError::BadConfig { field: f, .. } if f == field),
                "{error}"
            );
        }
        let parsed: ModelsConfig =
            serde_json::from_str(r#"{"max_trees": 50, "max_leaf_nodes": 63}"#).unwrap();
        assert_eq!(parsed.fit_limits().max_trees, 50);
        assert_eq!(parsed.fit_limits().max_leaf_nodes, 63);
        assert_eq!(parsed.fit_limits().max_iterations, 100_000);
    }
}
