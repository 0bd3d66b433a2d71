//! Incidents: internal failures and panics are logged in full under a number, and the
//! caller gets the number instead of the cause, so that the server's log line can be found
//! without handing internals (paths, SQL, a raw error chain) to a client.

use crate::error::DatasetsError;
use mltools_core::ErrorKind;
use mltools_core::error::{error_chain, next_incident};

/// Logs an internal failure of `operation` with its whole cause and answers with
/// [`DatasetsError::Internal`] naming its incident; other errors are the caller's to see
/// and pass unchanged.
pub(crate) fn reported(operation: &'static str, error: DatasetsError) -> DatasetsError {
    let already = matches!(
        error,
        DatasetsError::Internal { .. } | DatasetsError::Panicked { .. }
    );
    if already || error.kind() != ErrorKind::Internal {
        return error;
    }
    let incident = next_incident();
    tracing::error!(operation, incident, error = %error_chain(&error), "datasets work failed");
    DatasetsError::Internal {
        operation,
        incident,
    }
}

/// A task that did not finish: it panicked (logged as an incident), or the runtime is
/// shutting down.
pub(crate) fn join_failure(
    operation: &'static str,
    error: tokio::task::JoinError,
) -> DatasetsError {
    if !error.is_panic() {
        return DatasetsError::Cancelled { operation };
    }
    let incident = next_incident();
    let payload = error.into_panic();
    let message = mltools_core::error::panic_message(payload.as_ref());
    tracing::error!(operation, incident, panic = %message, "datasets work panicked");
    DatasetsError::Panicked {
        operation,
        incident,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_internal_error_with_an_incident() {
        let joined = tokio::task::spawn_blocking(|| panic!("boom")).await;
        let Err(error) = joined;
        let error = join_failure("get", error);
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(
            error
                .to_string()
                .starts_with("`get` failed unexpectedly (incident "),
            "{error}"
        );
    }

    #[test]
    fn an_internal_failure_is_answered_with_its_incident_only() {
        let cause = std::io::Error::other("disk on fire at /srv/secret");
        let error = reported(
            "import",
            DatasetsError::Io {
                path: "/srv/data/tmp".into(),
                operation: "write",
                cause,
            },
        );
        let message = error.to_string();
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(
            message.starts_with("`import` failed (incident "),
            "{message}"
        );
        assert!(!message.contains("/srv"), "{message}");
        let refused = reported(
            "get",
            DatasetsError::UnknownDataset {
                dataset: "dataset 3".into(),
            },
        );
        assert_eq!(refused.to_string(), "dataset 3 does not exist");
    }
}
