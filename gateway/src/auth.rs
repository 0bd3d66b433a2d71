//! Bearer-token authentication, as the RPC listeners do it: the token compared by digest in
//! constant time, and an address that fails too often refused for a while (429) before its
//! token is even looked at.

use crate::problem::Problem;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mltools_transport::Token;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The peer of a request's connection, set by the server on every request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub(crate) SocketAddr);

/// Addresses tracked at most; past it, the oldest are forgotten (an attacker with many
/// addresses gains nothing over one that waits out its window).
const MAX_TRACKED: usize = 4096;

/// The token, and the recent failures by address.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    token: Option<Arc<Token>>,
    max_failures: u32,
    window: Duration,
    failures: Arc<Mutex<HashMap<IpAddr, Failures>>>,
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    last: Instant,
}

impl Auth {
    pub(crate) fn new(token: Option<Token>, max_failures: u32, window: Duration) -> Auth {
        Auth {
            token: token.map(Arc::new),
            max_failures,
            window,
            failures: Arc::default(),
        }
    }

    /// How long `ip` stays refused, when it is.
    fn refused_for(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let failures = self.failures.lock().ok()?;
        let entry = failures.get(&ip)?;
        let until = entry.last + self.window;
        (entry.count >= self.max_failures && until > now).then(|| until - now)
    }

    fn record_failure(&self, ip: IpAddr, now: Instant) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        if failures.len() >= MAX_TRACKED && !failures.contains_key(&ip) {
            let window = self.window;
            failures.retain(|_, entry| now.duration_since(entry.last) < window);
            if failures.len() >= MAX_TRACKED
                && let Some(oldest) = failures
                    .iter()
                    .min_by_key(|(_, entry)| entry.last)
                    .map(|(ip, _)| *ip)
            {
                failures.remove(&oldest);
            }
        }
        let entry = failures.entry(ip).or_insert(Failures {
            count: 0,
            first: now,
            last: now,
        });
        if now.duration_since(entry.first) > self.window && entry.count < self.max_failures {
            *entry = Failures {
                count: 0,
                first: now,
                last: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
    }
}

/// Lets a request through when the gateway has no token, or it carries the token;
/// answers 401 (naming what was wrong, never the token) or 429 otherwise.
pub(crate) async fn require_token(
    State(auth): State<Auth>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = auth.token.clone() else {
        return next.run(request).await;
    };
    let ip = request
        .extensions()
        .get::<Peer>()
        .map(|peer| peer.0.ip().to_canonical());
    let now = Instant::now();
    if let Some(ip) = ip
        && let Some(wait) = auth.refused_for(ip, now)
    {
        let mut problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            format!(
                "{ip} failed to authenticate {} times; refused for {} s more",
                auth.max_failures,
                wait.as_secs().max(1)
            ),
        );
        problem.retry_after_ms = Some(wait.as_millis() as u64);
        return problem.into_response();
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::trim);
    let detail = match presented {
        None => "this gateway needs `Authorization: Bearer TOKEN`",
        Some(value) => match value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
        {
            None => "the Authorization header is not `Bearer TOKEN`",
            Some(candidate) if token.matches(candidate.trim()) => {
                return next.run(request).await;
            }
            Some(_) => "the bearer token is wrong",
        },
    };
    if let Some(ip) = ip {
        auth.record_failure(ip, now);
        tracing::warn!(%ip, detail, "gateway: refused an unauthenticated request");
    }
    Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_for_the_window_after_the_last() {
        let auth = Auth::new(
            Some(Token::new("0123456789abcdef")),
            3,
            Duration::from_secs(60),
        );
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let start = Instant::now();
        for _ in 0..2 {
            auth.record_failure(ip, start);
        }
        assert_eq!(auth.refused_for(ip, start), None);
        auth.record_failure(ip, start + Duration::from_secs(1));
        let wait = auth
            .refused_for(ip, start + Duration::from_secs(2))
            .unwrap();
        assert_eq!(wait, Duration::from_secs(59));
        assert_eq!(auth.refused_for(other, start), None);
        assert_eq!(auth.refused_for(ip, start + Duration::from_secs(62)), None);
    }

    #[test]
    fn the_tracked_addresses_stay_bounded() {
        let auth = Auth::new(None, 5, Duration::from_secs(60));
        let now = Instant::now();
        for n in 0..(MAX_TRACKED as u32 + 100) {
            auth.record_failure(IpAddr::from(n.to_be_bytes()), now);
        }
        assert_eq!(auth.failures.lock().unwrap().len(), MAX_TRACKED);
    }
}
