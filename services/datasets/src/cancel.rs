//! [`Cancel`]: how synchronous work learns that its caller has gone away.
//!
//! The state raises a flag when an operation's future is dropped (tarpc drops a handler at
//! its deadline); the blocking work checks it between units of work: every
//! [`ROWS_PER_CHECK`] rows of a CSV pass, every block written, every read of a download,
//! and once more just before the commit.

use crate::error::DatasetsError;
use std::sync::atomic::{AtomicBool, Ordering};

/// Rows read between two checks in a CSV pass: a check is one relaxed load, and 1,024 rows
/// take well under a millisecond.
pub(crate) const ROWS_PER_CHECK: u64 = 1024;

/// Never raised: for work that completes once started (a delete) and for tests.
static NEVER: AtomicBool = AtomicBool::new(false);

/// A caller's cancellation, seen from blocking work.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cancel<'a> {
    flag: &'a AtomicBool,
    operation: &'static str,
}

impl<'a> Cancel<'a> {
    /// Cancellation of `operation`, raised with `flag`.
    pub(crate) fn new(flag: &'a AtomicBool, operation: &'static str) -> Self {
        Cancel { flag, operation }
    }

    /// A cancellation that is never raised.
    pub(crate) fn never(operation: &'static str) -> Cancel<'static> {
        Cancel {
            flag: &NEVER,
            operation,
        }
    }

    /// Whether the caller has gone away.
    pub(crate) fn raised(self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Stops the work if the caller has gone away.
    ///
    /// # Errors
    /// [`DatasetsError::Cancelled`] once the flag is raised.
    pub(crate) fn check(self) -> Result<(), DatasetsError> {
        if self.raised() {
            return Err(DatasetsError::Cancelled {
                operation: self.operation,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_flag_stops_the_work_naming_the_operation() {
        let flag = AtomicBool::new(false);
        let cancel = Cancel::new(&flag, "import");
        assert!(cancel.check().is_ok());
        flag.store(true, Ordering::Relaxed);
        let error = cancel.check().unwrap_err();
        assert_eq!(
            error.to_string(),
            "`import` was cancelled; nothing was stored"
        );
        assert!(Cancel::never("delete").check().is_ok());
    }
}
