//! The lab's settings.

use serde::{Deserialize, Serialize};

/// Settings of the lab.
///
/// ```toml
/// [lab]
/// max_running = 2
/// keep_finished = 64
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LabConfig {
    /// Comparisons running at once; more are refused as overloaded. Default 2.
    pub max_running: usize,
    /// Finished comparisons whose reports are kept for [`report`](mltools_core::lab::Lab::report);
    /// the oldest go first. Default 64.
    pub keep_finished: usize,
    /// How long one wait on the models job lasts before the lab checks for cancellation,
    /// in milliseconds. Default 1000.
    pub wait_slice_ms: u64,
}

impl Default for LabConfig {
    fn default() -> Self {
        LabConfig {
            max_running: 2,
            keep_finished: 64,
            wait_slice_ms: 1_000,
        }
    }
}
