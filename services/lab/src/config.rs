//! The lab's settings.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Settings of the lab.
///
/// ```toml
/// [lab]
/// data_dir = "./.mltools"
/// max_running = 2
/// keep_finished = 64
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabConfig {
    /// Where the lab keeps its database, `lab.db`: every comparison it started, and the
    /// report of each finished one, readable after a restart. Default: a node's
    /// `[models] data_dir` (`./.mltools` unless set).
    pub data_dir: Option<PathBuf>,
    /// Comparisons running at once; more are refused as overloaded. Default 2.
    pub max_running: usize,
    /// Ended comparisons kept in the database, with their reports, for
    /// [`report`](mltools_core::lab::Lab::report) and [`jobs`](mltools_core::lab::Lab::jobs);
    /// the oldest go first. Default 64.
    pub keep_finished: usize,
    /// How long one wait on the models job lasts before the lab checks for cancellation,
    /// in milliseconds. Default 1000.
    pub wait_slice_ms: u64,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            data_dir: None,
            max_running: 2,
            keep_finished: 64,
            wait_slice_ms: 1_000,
        }
    }
}
