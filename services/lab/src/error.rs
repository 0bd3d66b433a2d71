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
    fn from(error: LabError) -> Self {
        match error {
            LabError::Service(error) => error,
            LabError::UnknownJob(_) => ServiceError::not_found(error.to_string()),
            LabError::Invalid(_) => ServiceError::invalid_input(error.to_string()),
            LabError::Database(_) => ServiceError::internal(error.to_string()),
            LabError::Busy { .. } => ServiceError::new(ErrorKind::Overloaded, error.to_string()),
        }
    }
}
