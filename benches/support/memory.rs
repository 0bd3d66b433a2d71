//! The process's memory as Linux reports it, for the benches that print peak memory:
//! `/proc/self/status` figures, and a reset of the peak mark between phases.
//! Off Linux the figures are `NaN` and the reset does nothing.

/// A `/proc/self/status` figure (`VmRSS:`, `VmHWM:`) in megabytes; `NaN` when unreadable.
pub(crate) fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The resident set now, megabytes.
pub(crate) fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// The peak resident set since the start or the last [`reset_peak`], megabytes.
pub(crate) fn peak_mb() -> f64 {
    status_mb("VmHWM:")
}

/// Resets the kernel's peak-RSS mark, so that each phase is measured on its own.
pub(crate) fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
