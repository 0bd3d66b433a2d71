//! [`Cancel`]: the cheap check a fit's loops make to learn that its job was cancelled or
//! its caller went away, so a cancel frees the fit thread, not just the future.

use crate::error::ModelsError;
use tokio_util::sync::CancellationToken;

/// Whether the work a fit belongs to was cancelled. A clone of the job's (or the call's)
/// token; [`Cancel::never`] for work nobody cancels. Checking it takes a lock-free-enough
/// read (an uncontended mutex), so loops check it every few hundred iterations.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Option<CancellationToken>);

impl Cancel {
    /// Work that is never cancelled.
    pub fn never() -> Cancel {
        Cancel(None)
    }

    /// Work cancelled with `token`.
    pub fn new(token: CancellationToken) -> Cancel {
        Cancel(Some(token))
    }

    /// Whether the work was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.as_ref().is_some_and(CancellationToken::is_cancelled)
    }

    /// Stops the work once cancelled.
    ///
    /// # Errors
    /// [`ModelsError::Cancelled`] once the work was cancelled.
    pub fn check(&self) -> Result<(), ModelsError> {
        if self.is_cancelled() {
            Err(ModelsError::Cancelled)
        } else {
            Ok(())
        }
    }
}

impl From<CancellationToken> for Cancel {
    fn from(token: CancellationToken) -> Self {
        Cancel::new(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_is_seen_by_every_clone() {
        let token = CancellationToken::new();
        let cancel = Cancel::new(token.clone());
        let clone = cancel.clone();
        assert!(cancel.check().is_ok());
        token.cancel();
        assert_eq!(clone.check(), Err(ModelsError::Cancelled));
        assert!(!Cancel::never().is_cancelled());
    }
}
