//! The one error type every interface method returns.
//!
//! A [`ServiceError`] is plain serde data, so it crosses every transport unchanged. Its
//! [`ErrorKind`] tells the caller what it can do; its message names the culprit (the file,
//! the row, the column, the id, the address). A transport failure (`tarpc`'s `RpcError`) is
//! a different thing: [`RpcResultExt::into_service`] folds one into the other where a caller
//! does not care which layer failed.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// What went wrong, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request itself is wrong: bad data, an unknown column, a bad parameter. Retrying the
    /// same request fails the same way.
    InvalidInput,
    /// The named thing (dataset, version, model, job) does not exist.
    NotFound,
    /// The thing to create exists already (a dataset name, say).
    AlreadyExists,
    /// The service is at its concurrency limit; retrying later may succeed.
    Overloaded,
    /// The service, or a resource it needs (a remote URL, another node), cannot be reached.
    Unavailable,
    /// The work did not finish before its deadline.
    Timeout,
    /// The work was cancelled by the caller.
    Cancelled,
    /// A bug or an environment failure inside the service (a panic, a disk error); the
    /// message refers to the service's log line.
    Internal,
}

impl ErrorKind {
    /// A short lower-case label, used as the prefix of the error's display form.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Overloaded => "overloaded",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed, serializable error returned by every service method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{kind}: {message}")]
pub struct ServiceError {
    /// What the caller can do about it.
    pub kind: ErrorKind,
    /// What happened, naming the culprit.
    pub message: String,
    /// For an [`ErrorKind::Overloaded`] answer: how long the service expects to stay busy,
    /// in milliseconds; a caller that retries waits this long first. `None` otherwise.
    pub retry_after_ms: Option<u64>,
}

impl ServiceError {
    /// An error of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            retry_after_ms: None,
        }
    }

    /// [`ErrorKind::Overloaded`], with the service's estimate of when to retry.
    pub fn overloaded(
        message: impl Into<String>,
        retry_after: Option<std::time::Duration>,
    ) -> Self {
        ServiceError {
            retry_after_ms: retry_after.map(|wait| wait.as_millis() as u64),
            ..Self::new(ErrorKind::Overloaded, message)
        }
    }

    /// How long to wait before retrying, when the service said (see
    /// [`ServiceError::retry_after_ms`]).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        self.retry_after_ms.map(std::time::Duration::from_millis)
    }

    /// [`ErrorKind::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// [`ErrorKind::AlreadyExists`].
    pub fn already_exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// [`ErrorKind::Unavailable`].
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// [`ErrorKind::Timeout`].
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Maps a transport failure onto a service error, naming the service that was called.
    pub fn from_rpc(service: &str, error: tarpc::client::RpcError) -> Self {
        use tarpc::client::RpcError;
        match error {
            RpcError::DeadlineExceeded => {
                Self::timeout(format!("{service}: the call's deadline passed"))
            }
            RpcError::Shutdown => Self::unavailable(format!(
                "{service}: the connection to the service is shut down"
            )),
            RpcError::Send(cause) => {
                Self::unavailable(format!("{service}: could not send the request: {cause}"))
            }
            RpcError::Channel(cause) => {
                Self::unavailable(format!("{service}: the connection failed: {cause}"))
            }
            // tarpc's own throttle answers `WouldBlock`; so does our in-process limit.
            RpcError::Server(server) if server.kind == std::io::ErrorKind::WouldBlock => Self::new(
                ErrorKind::Overloaded,
                format!("{service}: {}", server.detail),
            ),
            // An answer the server could not send as asked (over the frame limit) is the
            // caller's request to change.
            RpcError::Server(server) if server.kind == std::io::ErrorKind::InvalidInput => {
                Self::invalid_input(format!("{service}: {}", server.detail))
            }
            // A closed service gate answers `ConnectionRefused`.
            RpcError::Server(server) if server.kind == std::io::ErrorKind::ConnectionRefused => {
                Self::unavailable(format!("{service}: {}", server.detail))
            }
            RpcError::Server(server) => Self::internal(format!("{service}: {}", server.detail)),
        }
    }
}

/// Folds the two layers of an RPC result (`Result<Result<T, ServiceError>, RpcError>`) into
/// one `Result<T, ServiceError>`.
pub trait RpcResultExt<T> {
    /// Maps the transport error with [`ServiceError::from_rpc`] and flattens.
    ///
    /// # Errors
    /// The service's own error, or the transport failure as a [`ServiceError`].
    fn into_service(self, service: &str) -> Result<T, ServiceError>;
}

impl<T> RpcResultExt<T> for Result<Result<T, ServiceError>, tarpc::client::RpcError> {
    fn into_service(self, service: &str) -> Result<T, ServiceError> {
        match self {
            Ok(result) => result,
            Err(error) => Err(ServiceError::from_rpc(service, error)),
        }
    }
}

/// A new incident number: every service logs an internal failure (a panic, a database or
/// disk error, damaged stored data) in full under one and answers its caller with the
/// number alone, so the log line can be found without handing internals (paths, SQL, a
/// panic's message) to a client. The numbers are one sequence per process, whatever service
/// logs them, so on a node serving several services a number names one log line.
pub fn next_incident() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An error and its sources, `: `-separated, for an incident's log line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror's `{0}` messages repeat their source; do not print it twice.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The text of a caught panic's payload (`panic!` with a literal or a formatted message),
/// for logs and `Internal` errors.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-text panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_payloads_become_text() {
        let literal = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
        assert_eq!(panic_message(literal.as_ref()), "plain");
        let formatted = std::panic::catch_unwind(|| panic!("row {}", 7)).unwrap_err();
        assert_eq!(panic_message(formatted.as_ref()), "row 7");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(42u8)).unwrap_err();
        assert_eq!(panic_message(other.as_ref()), "a non-text panic payload");
    }

    #[test]
    fn incidents_are_one_rising_sequence_and_chains_name_every_cause() {
        let first = next_incident();
        let second = next_incident();
        assert!(second > first && first >= 1, "{first} then {second}");
        #[derive(Debug, thiserror::Error)]
        #[error("opening the registry")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("disk full"));
        assert_eq!(error_chain(&error), "opening the registry: disk full");
    }

    #[test]
    fn display_names_kind_and_culprit() {
        let error = ServiceError::invalid_input("row 3: expected 4 fields, got 2");
        assert_eq!(
            error.to_string(),
            "invalid input: row 3: expected 4 fields, got 2"
        );
    }

    #[test]
    fn rpc_errors_map_to_kinds() {
        use tarpc::client::RpcError;
        let flat: Result<(), ServiceError> =
            Err::<Result<(), ServiceError>, _>(RpcError::Shutdown).into_service("datasets");
        let error = flat.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert!(error.message.starts_with("datasets:"));

        let flat: Result<(), ServiceError> =
            Err::<Result<(), ServiceError>, _>(RpcError::DeadlineExceeded).into_service("models");
        assert_eq!(flat.unwrap_err().kind, ErrorKind::Timeout);
    }
}
