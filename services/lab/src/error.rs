//! The lab's errors.

use mltools_core::{ErrorKind, JobId, ServiceError};

/// Why a comparison could not be started or did not finish.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// Another service answered with an error (its kind is kept).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No comparison has this id (or its report was dropped to keep `keep_finished`).
    #[error("no comparison {0} is known to the lab")]
    UnknownJob(JobId),
    /// The request is unusable.
    #[error("{0}")]
    Invalid(String),
    /// The lab's database failed (the message names the file).
    #[error("the lab's database: {0}")]
    Database(String),
    /// Too many comparisons are running.
    #[error("{running} comparisons are already running (lab.max_running); retry later")]
    Busy {
        /// How many run.
        running: usize,
    },
}

impl From<LabError> for ServiceError {
    /// Maps onto the interface's kinds; a database failure becomes an incident.
    fn from(error: LabError) -> Self {
        match error {
            LabError::Service(error) => error,
            LabError::UnknownJob(_) => ServiceError::not_found(error.to_string()),
            LabError::Invalid(_) => ServiceError::invalid_input(error.to_string()),
            // Logged in full under an incident number; the caller gets the number alone
            // (the database's message names files and SQL).
            LabError::Database(_) => {
                let incident = mltools_core::error::next_incident();
                tracing::error!(incident, %error, "lab work failed");
                ServiceError::internal(format!(
                    "the lab's database failed (incident {incident}; see the lab service log)"
                ))
            }
            LabError::Busy { .. } => ServiceError::new(ErrorKind::Overloaded, error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_failure_reaches_the_caller_as_an_incident_only() {
        let error = ServiceError::from(LabError::Database(
            "/srv/lab/lab.db: database disk image is malformed".to_owned(),
        ));
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(
            error
                .message
                .starts_with("the lab's database failed (incident "),
            "{error}"
        );
        assert!(!error.message.contains("/srv"), "{error}");
        let busy = ServiceError::from(LabError::Busy { running: 4 });
        assert_eq!(busy.kind, ErrorKind::Overloaded);
        assert!(busy.message.starts_with("4 comparisons"), "{busy}");
    }
}
