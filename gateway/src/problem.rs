//! Every error the gateway answers, as `application/problem+json` (RFC 9457): a
//! [`ServiceError`] with its kind mapped to a status, an extractor's rejection (malformed
//! JSON, a wrong type, a missing field, a bad path or query), and the bare answers of the
//! routing and middleware layers (an unknown route, a wrong method, a body over its limit,
//! a timeout), rewritten on their way out by [`problem_for_bare_errors`].

use axum::extract::Request;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mltools_core::{ErrorKind, ServiceError};
use serde::{Deserialize, Serialize};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error answer: RFC 9457's members, and `code`, a stable machine-readable name of the
/// problem (`not_found`, `invalid_json`, ...), plus the retry hint of an overloaded service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the `code` member says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind_uri: String,
    /// The status's reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, naming the culprit (the dataset, the column, the field, the limit).
    pub detail: String,
    /// The problem's name: a service error's kind in snake case (`invalid_input`,
    /// `not_found`, `already_exists`, `overloaded`, `unavailable`, `timeout`, `cancelled`,
    /// `internal`) or one of the gateway's own (`invalid_json`, `malformed_json`,
    /// `unsupported_media_type`, `payload_too_large`, `unauthorized`, `too_many_requests`,
    /// `no_route`, `method_not_allowed`, `not_finished`).
    pub code: String,
    /// For `overloaded` (503) and `too_many_requests` (429): how long to wait before
    /// retrying, in milliseconds (also sent as `Retry-After`, in seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl Problem {
    /// A problem with `status`, `code` and `detail`.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind_uri: "about:blank".to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            retry_after_ms: None,
        }
    }

    /// 400 `invalid_input`.
    pub fn invalid_input(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_input", detail)
    }

    /// 503 `unavailable`: a service this gateway's node neither hosts nor reaches.
    pub(crate) fn service_missing(service: &str) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the gateway's node neither hosts nor reaches the {service} service"),
        )
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// The status a service error's kind maps to, and its code.
pub fn status_of(kind: ErrorKind) -> (StatusCode, &'static str) {
    match kind {
        ErrorKind::InvalidInput => (StatusCode::BAD_REQUEST, "invalid_input"),
        ErrorKind::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        ErrorKind::AlreadyExists => (StatusCode::CONFLICT, "already_exists"),
        ErrorKind::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
        ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ErrorKind::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
        ErrorKind::Cancelled => (StatusCode::CONFLICT, "cancelled"),
        ErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
    }
}

impl From<ServiceError> for Problem {
    fn from(error: ServiceError) -> Problem {
        let (status, code) = status_of(error.kind);
        Problem {
            retry_after_ms: error.retry_after_ms,
            ..Problem::new(status, code, error.message)
        }
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        let detail = rejection.body_text();
        match rejection {
            JsonRejection::JsonSyntaxError(_) => {
                Problem::new(StatusCode::BAD_REQUEST, "malformed_json", detail)
            }
            JsonRejection::JsonDataError(_) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_json", detail)
            }
            JsonRejection::MissingJsonContentType(_) => Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with `Content-Type: application/json`",
            ),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the body is larger than the gateway's max_body_bytes",
            ),
            other => Problem::new(other.status(), "invalid_input", detail),
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        Problem::invalid_input(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        Problem::invalid_input(rejection.body_text())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry = self.retry_after_ms;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(ms) = retry {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(ms.div_ceil(1000).max(1)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mltools\""),
            );
        }
        response
    }
}

/// Rewrites an error answer that is not yet problem+json (axum's 405, tower-http's 413 and
/// 408, a rejection this crate did not convert) into one, keeping its status and headers.
pub async fn problem_for_bare_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return response;
    }
    let problem = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response
                .headers()
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_owned();
            let detail = if allowed.trim().is_empty() {
                format!("{method} is not allowed on {path} (/v1/openapi.json lists its methods)")
            } else {
                format!("{method} is not allowed on {path}; allowed: {allowed}")
            };
            Problem::new(status, "method_not_allowed", detail)
        }
        StatusCode::PAYLOAD_TOO_LARGE => Problem::new(
            status,
            "payload_too_large",
            format!("the body sent to {method} {path} is larger than the gateway accepts"),
        ),
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "timeout",
            format!("{method} {path} did not finish within the gateway's time limit"),
        ),
        StatusCode::NOT_FOUND => {
            Problem::new(status, "no_route", format!("no route {method} {path}"))
        }
        other => Problem::new(
            other,
            "invalid_input",
            format!(
                "{method} {path}: {}",
                other.canonical_reason().unwrap_or("error")
            ),
        ),
    };
    let mut rewritten = problem.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// The answer to a route that does not exist.
pub async fn no_route(request: Request) -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no_route",
        format!("no route {} {}", request.method(), request.uri().path()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_fitting_status() {
        let cases = [
            (ErrorKind::InvalidInput, 400),
            (ErrorKind::NotFound, 404),
            (ErrorKind::AlreadyExists, 409),
            (ErrorKind::Overloaded, 503),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Timeout, 504),
            (ErrorKind::Cancelled, 409),
            (ErrorKind::Internal, 500),
        ];
        for (kind, status) in cases {
            assert_eq!(status_of(kind).0.as_u16(), status, "{kind:?}");
        }
    }

    #[test]
    fn an_overloaded_answer_carries_its_retry_hint_in_seconds() {
        let error =
            ServiceError::overloaded("4 fits running", Some(std::time::Duration::from_millis(1)));
        let response = Problem::from(error).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
    }
}
