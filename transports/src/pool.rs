//! A bounded pool of connections to one remote service (bb8): each call checks a
//! connection out for its duration, so the pool's `max_size` caps this client's concurrent
//! calls — the models node is reached this way, as poolboy's workers were in the original
//! design, so that many callers cannot pile fits onto it.
//!
//! A connection is a [`RemoteClient`] of its own (its own TCP connection and redialling);
//! one that is down is broken for the pool and replaced. A call waiting for a connection
//! that cannot be made (the peer is down) fails at once as unreachable, naming the address,
//! rather than at the pool's `connection_timeout_ms`.

use crate::remote::{LinkStatus, RemoteClient};
use crate::tcp::{TcpConfigError, TcpDialer, TcpEndpoint};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::time::Duration;

/// A pool's size and patience.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolConfig {
    /// Connections at most, and so calls in flight at most. Default 5.
    pub max_size: u32,
    /// How long a call waits for a free connection before it is refused as overloaded, in
    /// milliseconds. Default 3000.
    pub connection_timeout_ms: u64,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 5,
            connection_timeout_ms: 3_000,
        }
    }
}

/// Why a pooled connection could not be made.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct PoolError(pub String);

/// Makes and checks the connections of a pool.
pub(crate) struct Manager<Req, Resp> {
    service: &'static str,
    endpoint: TcpEndpoint,
    /// Why the last connect failed, until one succeeds: bb8 hands connect errors to its
    /// error sink, never to the waiting caller, who would otherwise only see a timeout.
    last_failure: LastFailure,
    types: PhantomData<fn(Req) -> Resp>,
}

/// The reason of the last failed connect, shared by the manager and the pool's error sink,
/// and a signal to the calls waiting for a connection that one could not be made.
#[derive(Debug, Clone, Default)]
pub(crate) struct LastFailure(std::sync::Arc<FailureSlot>);

#[derive(Debug, Default)]
pub(crate) struct FailureSlot {
    reason: std::sync::Mutex<Option<String>>,
    failed: tokio::sync::Notify,
}

impl LastFailure {
    fn set(&self, reason: Option<String>) {
        // The slot is a plain Option: a poisoned lock still holds a usable value.
        *self
            .0
            .reason
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = reason;
    }

    fn get(&self) -> Option<String> {
        self.0
            .reason
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Resolves at the next failed connect.
    fn failed(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.failed.notified()
    }
}

impl bb8::ErrorSink<PoolError> for LastFailure {
    fn sink(&self, error: PoolError) {
        tracing::warn!(%error, "a pooled connection could not be made");
        self.set(Some(error.0));
        // The calls waiting for a connection learn it now, not at the pool's timeout.
        self.0.failed.notify_waiters();
    }

    fn boxed_clone(&self) -> Box<dyn bb8::ErrorSink<PoolError>> {
        Box::new(self.clone())
    }
}

impl<Req, Resp> Manager<Req, Resp> {
    pub(crate) fn new(
        service: &'static str,
        endpoint: TcpEndpoint,
    ) -> Result<Self, TcpConfigError> {
        endpoint.check()?;
        Ok(Manager {
            service,
            endpoint,
            last_failure: LastFailure::default(),
            types: PhantomData,
        })
    }
}

impl<Req, Resp> bb8::ManageConnection for Manager<Req, Resp>
where
    Req: tarpc::RequestName + Serialize + Send + Sync + 'static,
    Resp: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    type Connection = RemoteClient<Req, Resp>;
    type Error = PoolError;

    async fn connect(&self) -> Result<Self::Connection, Self::Error> {
        let failed = |error: TcpConfigError| PoolError(error.to_string());
        let dialer = TcpDialer::new(self.service, self.endpoint.clone()).map_err(failed)?;
        let options = self.endpoint.link_options();
        let patience = options.first_dial_wait;
        let remote = RemoteClient::start(self.service, dialer, options)
            .map_err(|error| PoolError(error.to_string()))?;
        let first_dial = remote.wait_for(|status| !matches!(status, LinkStatus::Connecting));
        let _ = tokio::time::timeout(patience, first_dial).await;
        match remote.status() {
            LinkStatus::Connected => {
                self.last_failure.set(None);
                Ok(remote)
            }
            LinkStatus::Down { reason } => Err(PoolError(reason)),
            LinkStatus::Connecting => Err(PoolError(format!(
                "{} at {}: no answer within {} ms",
                self.service,
                self.endpoint.address,
                patience.as_millis()
            ))),
        }
    }

    async fn is_valid(&self, connection: &mut Self::Connection) -> Result<(), Self::Error> {
        match connection.status() {
            LinkStatus::Connected => Ok(()),
            LinkStatus::Down { reason } => Err(PoolError(reason)),
            LinkStatus::Connecting => Err(PoolError("still connecting".to_owned())),
        }
    }

    fn has_broken(&self, connection: &mut Self::Connection) -> bool {
        matches!(connection.status(), LinkStatus::Down { .. })
    }
}

/// A pool that connects lazily, as calls need connections.
pub(crate) fn build<Req, Resp>(
    service: &'static str,
    endpoint: TcpEndpoint,
    config: PoolConfig,
) -> Result<PooledService<Req, Resp>, TcpConfigError>
where
    Req: tarpc::RequestName + Serialize + Send + Sync + 'static,
    Resp: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    let address = endpoint.address.clone();
    let manager = Manager::new(service, endpoint)?;
    let last_failure = manager.last_failure.clone();
    let max_size = config.max_size.max(1);
    let pool = bb8::Pool::builder()
        .error_sink(Box::new(last_failure.clone()))
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_millis(config.connection_timeout_ms))
        // A failed connect is reported (to the error sink, which wakes the waiting calls)
        // rather than retried in the background until the timeout: the peer is down, and
        // callers are told so at once; the next call dials again.
        .retry_connection(false)
        .build_unchecked(manager);
    Ok(PooledService {
        pool,
        service,
        address,
        max_size,
        last_failure,
    })
}

/// Calls through a pool, type-erased so that [`Client`](crate::Client) needs no serde bounds.
pub(crate) trait PooledCalls<Req, Resp>: Send + Sync {
    /// One call on a connection checked out for its duration.
    fn call(
        &self,
        ctx: tarpc::context::Context,
        request: Req,
    ) -> futures::future::BoxFuture<'_, Result<Resp, tarpc::client::RpcError>>;
}

/// A pool with the names its refusals need.
pub(crate) struct PooledService<Req, Resp>
where
    Req: tarpc::RequestName + Serialize + Send + Sync + 'static,
    Resp: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    pool: bb8::Pool<Manager<Req, Resp>>,
    service: &'static str,
    address: String,
    max_size: u32,
    last_failure: LastFailure,
}

impl<Req, Resp> PooledCalls<Req, Resp> for PooledService<Req, Resp>
where
    Req: tarpc::RequestName + Serialize + Send + Sync + 'static,
    Resp: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    fn call(
        &self,
        ctx: tarpc::context::Context,
        request: Req,
    ) -> futures::future::BoxFuture<'_, Result<Resp, tarpc::client::RpcError>> {
        Box::pin(async move {
            // Listening for a failed connect before asking for a connection, so that the
            // failure of the dial this call starts cannot slip by.
            let failed = self.last_failure.failed();
            tokio::pin!(failed);
            failed.as_mut().enable();
            let connection = tokio::select! {
                got = self.pool.get() => got.map_err(|error| self.refusal(error))?,
                () = &mut failed => {
                    let reason = self.last_failure.get().unwrap_or_default();
                    return Err(self.refusal(bb8::RunError::User(PoolError(reason))));
                }
            };
            connection.call(ctx, request).await
        })
    }
}

impl<Req, Resp> PooledService<Req, Resp>
where
    Req: tarpc::RequestName + Serialize + Send + Sync + 'static,
    Resp: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    /// What a caller learns when no pooled connection could be had.
    fn refusal(&self, error: bb8::RunError<PoolError>) -> tarpc::client::RpcError {
        let unreachable = |reason: String| {
            (
                std::io::ErrorKind::ConnectionRefused,
                format!(
                    "{} at {} is unreachable: {reason}",
                    self.service, self.address
                ),
            )
        };
        let (kind, detail) = match error {
            // No connection could be made: the peer is the problem, not the pool's size.
            bb8::RunError::TimedOut if self.last_failure.get().is_some() => {
                unreachable(self.last_failure.get().unwrap_or_default())
            }
            // The cap is the point of the pool: a caller past it is told to come back.
            bb8::RunError::TimedOut => (
                std::io::ErrorKind::WouldBlock,
                format!(
                    "{} at {}: all {} pooled connections stayed busy; retry later",
                    self.service, self.address, self.max_size
                ),
            ),
            bb8::RunError::User(PoolError(reason)) => (
                std::io::ErrorKind::ConnectionRefused,
                format!(
                    "{} at {} is unreachable: {reason}",
                    self.service, self.address
                ),
            ),
        };
        tarpc::client::RpcError::Server(tarpc::ServerError::new(kind, detail))
    }
}
