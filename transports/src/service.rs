//! A hosted service: a type-erased, guarded tarpc `Serve`.
//!
//! tarpc's `Serve::serve` is an `async fn` in a trait, so code generic over `S: Serve`
//! cannot prove its future `Send` and cannot spawn it. [`service!`](crate::service!) erases
//! the concrete server where its type is known, boxing each call's future; everything else in
//! this crate is then generic over the request and response types only.
//!
//! Every call through a [`Service`] — direct or over a transport — runs under one guard:
//! - a tracing span naming the service and method, with the duration and outcome;
//! - a limit on calls in flight, answered with tarpc's own throttling error
//!   (`WouldBlock`, mapped to `Overloaded` by `mltools-core`);
//! - a panic in the handler is caught, logged with its message under an incident number,
//!   and answered as a server error (mapped to `Internal`) naming the number alone; the
//!   service keeps serving.

use futures::FutureExt;
use futures::future::BoxFuture;
use std::fmt;
use std::io;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;
use tarpc::client::RpcError;
use tarpc::{RequestName, ServerError, context};
use tokio::sync::Notify;
use tracing::Instrument;

/// Wraps a tarpc-generated server (`MyServer.serve()`) into a [`Service`].
///
/// `service!(name, limits, serve)` where `serve` is `Clone + Send + Sync + 'static`, e.g.
/// `DatasetsServer::new(state).serve()`.
#[macro_export]
macro_rules! service {
    ($name:expr, $limits:expr, $serve:expr) => {{
        let serve = $serve;
        $crate::Service::new($name, $limits, move |ctx, request| {
            let serve = ::core::clone::Clone::clone(&serve);
            ::std::boxed::Box::pin(async move {
                $crate::tarpc::server::Serve::serve(serve, ctx, request).await
            })
        })
    }};
}

/// Limits applied to every call of a service, whatever the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Calls allowed in flight at once; a call over the limit is refused at once as
    /// overloaded rather than queued. `None`: no limit.
    pub max_in_flight: Option<usize>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: Some(1024),
        }
    }
}

type Handler<Req, Resp> =
    dyn Fn(context::Context, Req) -> BoxFuture<'static, Result<Resp, ServerError>> + Send + Sync;

/// One hosted service: a cheap `Clone` handle to its guarded handler.
pub struct Service<Req, Resp> {
    inner: Arc<Inner<Req, Resp>>,
}

struct Inner<Req, Resp> {
    name: &'static str,
    handler: Box<Handler<Req, Resp>>,
    /// Calls allowed in flight; `usize::MAX` for no limit.
    limit: usize,
    gate: Gate,
}

/// The shutdown side of a [`Service`]: closing it refuses new calls as unavailable, and
/// [`Gate::wait`] ends when the calls already admitted have ended. Every call, direct or
/// through a transport, is counted here, and the same count is held against the service's
/// in-flight limit: one atomic counter (a call over the limit is refused, never queued, so
/// nothing more is needed; tokio's semaphore took a lock on every release).
#[derive(Debug, Clone)]
pub struct Gate {
    name: &'static str,
    state: Arc<GateState>,
}

#[derive(Debug, Default)]
struct GateState {
    closed: AtomicBool,
    calls: AtomicUsize,
    /// Notified when the gate closes and when its last call ends.
    changed: Notify,
}

/// Why the [`Gate`] refused a call.
enum Refused {
    Closed,
    Full,
}

/// A call counted in its [`Gate`] until dropped.
struct Admitted<'a>(&'a GateState);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        if self.0.calls.fetch_sub(1, Ordering::SeqCst) == 1 && self.0.closed.load(Ordering::SeqCst)
        {
            self.0.changed.notify_waiters();
        }
    }
}

impl Gate {
    fn new(name: &'static str) -> Self {
        Gate {
            name,
            state: Arc::default(),
        }
    }

    /// Counts a call in, if the gate is open and fewer than `limit` are in flight.
    fn admit(&self, limit: usize) -> Result<Admitted<'_>, Refused> {
        let state = &*self.state;
        // Closed first: a service shutting down says so, even when it is also full.
        if state.closed.load(Ordering::SeqCst) {
            return Err(Refused::Closed);
        }
        state
            .calls
            .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |calls| {
                (calls < limit).then_some(calls + 1)
            })
            .map_err(|_| Refused::Full)?;
        let admitted = Admitted(state);
        // Checked after counting in: a `wait` that saw no calls after `close` cannot miss
        // this one, and this one sees the close.
        if state.closed.load(Ordering::SeqCst) {
            return Err(Refused::Closed);
        }
        Ok(admitted)
    }

    /// The service's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Refuses every call from now on; calls already admitted go on.
    pub fn close(&self) {
        self.state.closed.store(true, Ordering::SeqCst);
        self.state.changed.notify_waiters();
    }

    /// Whether the gate is closed.
    pub fn is_closed(&self) -> bool {
        self.state.closed.load(Ordering::SeqCst)
    }

    /// Waits until the gate is closed and every admitted call has ended.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait(&self) {
        loop {
            let changed = self.state.changed.notified();
            if self.is_closed() && self.state.calls.load(Ordering::SeqCst) == 0 {
                return;
            }
            changed.await;
        }
    }
}

impl<Req, Resp> Clone for Service<Req, Resp> {
    fn clone(&self) -> Self {
        Service {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<Req, Resp> fmt::Debug for Service<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("name", &self.inner.name)
            .finish_non_exhaustive()
    }
}

impl<Req, Resp> Service<Req, Resp>
where
    Req: RequestName + Send + 'static,
    Resp: Send + 'static,
{
    /// A service from a handler returning boxed futures; [`service!`](crate::service!) writes
    /// the handler for a tarpc-generated server.
    pub fn new<F>(name: &'static str, limits: Limits, handler: F) -> Self
    where
        F: Fn(context::Context, Req) -> BoxFuture<'static, Result<Resp, ServerError>>
            + Send
            + Sync
            + 'static,
    {
        Service {
            inner: Arc::new(Inner {
                name,
                handler: Box::new(handler),
                limit: limits.max_in_flight.unwrap_or(usize::MAX),
                gate: Gate::new(name),
            }),
        }
    }

    /// The service's shutdown gate.
    pub fn gate(&self) -> Gate {
        self.inner.gate.clone()
    }

    /// The service's name, as in logs and errors.
    pub fn name(&self) -> &'static str {
        self.inner.name
    }

    /// Runs one call under the guard (gate, span, limit, panic catching), without a
    /// deadline: transports enforce deadlines themselves.
    ///
    /// # Errors
    /// A `ConnectionRefused` server error once the gate is closed; a `WouldBlock` server
    /// error when the service is at its in-flight limit; an `Other` server error when the
    /// handler panicked.
    pub async fn serve_guarded(
        &self,
        ctx: context::Context,
        request: Req,
    ) -> Result<Resp, ServerError> {
        // tarpc names requests `Trait.method`; logs and errors say `service.method`.
        let full_name = request.name();
        let method = full_name.rsplit('.').next().unwrap_or(full_name).to_owned();
        let span = tracing::info_span!("rpc", service = self.inner.name, method = %method);
        let _admitted = match self.inner.gate.admit(self.inner.limit) {
            Ok(admitted) => admitted,
            Err(Refused::Closed) => {
                return Err(ServerError::new(
                    io::ErrorKind::ConnectionRefused,
                    format!(
                        "{}.{method}: refused, the service is shutting down",
                        self.inner.name
                    ),
                ));
            }
            Err(Refused::Full) => {
                let limit = self.inner.limit;
                span.in_scope(|| tracing::warn!(limit, "refused: too many calls in flight"));
                return Err(ServerError::new(
                    io::ErrorKind::WouldBlock,
                    format!(
                        "{}.{method}: refused, {limit} calls already in flight",
                        self.inner.name
                    ),
                ));
            }
        };
        // The clock is read only for the debug line that reports it.
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let call = AssertUnwindSafe((self.inner.handler)(ctx, request)).catch_unwind();
        // A span no subscriber wants is not entered at every poll (tarpc turns on tracing's
        // `log` feature, which makes even a disabled span's enter and exit cost).
        let outcome = if span.is_disabled() {
            call.await
        } else {
            call.instrument(span.clone()).await
        };
        let elapsed_us = started.map(|started| started.elapsed().as_micros() as u64);
        let _entered = span.enter();
        match outcome {
            Ok(response) => {
                tracing::debug!(elapsed_us, "call done");
                response
            }
            Err(panic) => {
                // The panic's message stays in this log line; the caller gets its number.
                let cause = mltools_core::error::panic_message(panic.as_ref());
                let incident = mltools_core::error::next_incident();
                tracing::error!(
                    elapsed_us,
                    incident,
                    %cause,
                    "handler panicked; the service keeps serving"
                );
                Err(ServerError::new(
                    io::ErrorKind::Other,
                    format!(
                        "{}.{method} failed unexpectedly (incident {incident}; see the {} \
                         service log)",
                        self.inner.name, self.inner.name
                    ),
                ))
            }
        }
    }

    /// A direct in-process call: the guard plus the context's deadline, with a cooperative
    /// yield so a loop of ready calls cannot starve the runtime.
    ///
    /// # Errors
    /// `DeadlineExceeded` at the deadline (the handler future is dropped there, as a remote
    /// server's would be), `Server` for the guard's refusals.
    pub async fn call_direct(&self, ctx: context::Context, request: Req) -> Result<Resp, RpcError> {
        tokio::task::coop::consume_budget().await;
        let deadline = tokio::time::Instant::from_std(ctx.deadline);
        let mut call = std::pin::pin!(self.serve_guarded(ctx, request));
        // Most calls answer at their first poll: the deadline's timer is made only for one
        // that has to wait.
        if let std::task::Poll::Ready(result) = futures::poll!(call.as_mut()) {
            return result.map_err(RpcError::Server);
        }
        match tokio::time::timeout_at(deadline, call).await {
            Ok(result) => result.map_err(RpcError::Server),
            Err(_) => Err(RpcError::DeadlineExceeded),
        }
    }
}

impl<Req, Resp> tarpc::server::Serve for Service<Req, Resp>
where
    Req: RequestName + Send + 'static,
    Resp: Send + 'static,
{
    type Req = Req;
    type Resp = Resp;

    async fn serve(self, ctx: context::Context, request: Req) -> Result<Resp, ServerError> {
        self.serve_guarded(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;
    use crate::test_probe::{ProbeClient, ProbeServer, probe, probe_with};
    use mltools_core::{ErrorKind, RpcResultExt};
    use std::time::Duration;

    #[tokio::test]
    async fn a_direct_panic_is_internal_and_the_service_keeps_serving() {
        let client = ProbeClient::from(Client::direct(probe()));
        let error = client
            .fail(context::current(), "column 3 is cursed".into())
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(
            error
                .message
                .contains("probe.fail failed unexpectedly (incident "),
            "{error}"
        );
        assert!(!error.message.contains("column 3 is cursed"), "{error}");
        assert_eq!(client.double(context::current(), 4).await.unwrap(), 8);
    }

    #[tokio::test]
    async fn a_direct_call_honours_the_deadline() {
        let client = ProbeClient::from(Client::direct(probe()));
        let mut ctx = context::current();
        ctx.deadline = std::time::Instant::now() + Duration::from_millis(50);
        let result = tokio::time::timeout(Duration::from_secs(5), client.hold(ctx))
            .await
            .expect("the deadline ends the call");
        assert!(
            matches!(result, Err(RpcError::DeadlineExceeded)),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_closed_gate_refuses_new_calls_and_waits_for_admitted_ones() {
        let server = ProbeServer::default();
        let service = probe_with(server.clone(), Limits::default());
        let gate = service.gate();
        let client = ProbeClient::from(Client::direct(service));
        let holder = {
            let client = client.clone();
            tokio::spawn(async move { client.hold(context::current()).await })
        };
        tokio::time::timeout(Duration::from_secs(5), server.entered.notified())
            .await
            .expect("the first call is in flight");
        gate.close();
        let error = client
            .double(context::current(), 1)
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable);
        assert!(error.message.contains("shutting down"), "{error}");
        // The admitted call is still held, so the gate is not empty.
        assert!(gate.wait().now_or_never().is_none());
        server.release.notify_one();
        assert_eq!(holder.await.unwrap().unwrap(), 7);
        tokio::time::timeout(Duration::from_secs(5), gate.wait())
            .await
            .expect("the gate empties once the admitted call ends");
    }

    #[tokio::test]
    async fn calls_over_the_limit_are_overloaded() {
        let server = ProbeServer::default();
        let limits = Limits {
            max_in_flight: Some(1),
        };
        let client = ProbeClient::from(Client::direct(probe_with(server.clone(), limits)));
        let holder = {
            let client = client.clone();
            tokio::spawn(async move { client.hold(context::current()).await })
        };
        tokio::time::timeout(Duration::from_secs(5), server.entered.notified())
            .await
            .expect("the first call is in flight");
        let error = client
            .double(context::current(), 1)
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Overloaded);
        assert!(
            error.message.contains("1 calls already in flight"),
            "{error}"
        );
        server.release.notify_one();
        assert_eq!(holder.await.unwrap().unwrap(), 7);
        assert_eq!(client.double(context::current(), 2).await.unwrap(), 4);
    }
}
