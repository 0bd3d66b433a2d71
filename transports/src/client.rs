//! [`Client`]: the one tarpc stub type every service client is built on.
//!
//! tarpc's generated clients are generic over a stub (`DatasetsClient<S>`), and its `Stub`
//! trait's `call` is an `async fn` without a `Send` bound, so code generic over stubs cannot
//! spawn calls. Callers therefore hold one concrete type, `XClient<Client<Req, Resp>>`, whose
//! variant says which transport a call takes: direct, the in-process channel, or a remote
//! connection that redials by itself ([`RemoteClient`], over TCP with [`Client::tcp`]).

use crate::Service;
#[cfg(feature = "remote")]
use crate::remote::RemoteClient;
use std::fmt;
use tarpc::RequestName;
use tarpc::client::RpcError;
use tarpc::client::stub::Stub;
use tarpc::context;
use tokio::sync::watch;

/// The current tarpc channel of a supervised in-process channel server. A restart publishes
/// a new one; after a shutdown, or once the supervisor gives up, the last one stays and its
/// calls fail as `Shutdown`.
pub(crate) type ChannelSlot<Req, Resp> = watch::Receiver<Option<tarpc::client::Channel<Req, Resp>>>;

/// A stub that reaches a service over one transport.
pub struct Client<Req, Resp> {
    service: &'static str,
    route: Route<Req, Resp>,
}

enum Route<Req, Resp> {
    Direct(Service<Req, Resp>),
    Channel(ChannelSlot<Req, Resp>),
    #[cfg(feature = "remote")]
    Remote(RemoteClient<Req, Resp>),
    #[cfg(feature = "pool")]
    Pooled(std::sync::Arc<dyn crate::pool::PooledCalls<Req, Resp>>),
}

impl<Req, Resp> Clone for Client<Req, Resp> {
    fn clone(&self) -> Self {
        let route = match &self.route {
            Route::Direct(service) => Route::Direct(service.clone()),
            Route::Channel(slot) => Route::Channel(slot.clone()),
            #[cfg(feature = "remote")]
            Route::Remote(remote) => Route::Remote(remote.clone()),
            #[cfg(feature = "pool")]
            Route::Pooled(pool) => Route::Pooled(std::sync::Arc::clone(pool)),
        };
        Client {
            service: self.service,
            route,
        }
    }
}

impl<Req, Resp> fmt::Debug for Client<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let transport = match &self.route {
            Route::Direct(_) => "direct",
            Route::Channel(_) => "channel",
            #[cfg(feature = "remote")]
            Route::Remote(remote) => remote.transport(),
            #[cfg(feature = "pool")]
            Route::Pooled(_) => "tcp (pooled)",
        };
        f.debug_struct("Client")
            .field("service", &self.service)
            .field("transport", &transport)
            .finish()
    }
}

impl<Req, Resp> Client<Req, Resp>
where
    Req: RequestName + Send + 'static,
    Resp: Send + 'static,
{
    /// A client that calls the service directly in this process.
    pub fn direct(service: Service<Req, Resp>) -> Self {
        Client {
            service: service.name(),
            route: Route::Direct(service),
        }
    }

    pub(crate) fn channel(service: &'static str, slot: ChannelSlot<Req, Resp>) -> Self {
        Client {
            service,
            route: Route::Channel(slot),
        }
    }

    /// A client that reaches a remote service through `remote`.
    #[cfg(feature = "remote")]
    pub fn from_remote(remote: RemoteClient<Req, Resp>) -> Self {
        Client {
            service: remote.service(),
            route: Route::Remote(remote),
        }
    }

    /// A client of `service` over TCP at `endpoint`. It connects in the background and
    /// redials by itself whenever the connection is lost; meanwhile calls fail at once as
    /// unavailable, naming the service and the address.
    ///
    /// # Errors
    /// A [`TcpConfigError`](crate::tcp::TcpConfigError) for a configuration that cannot be
    /// used (naming the field, the address or the TLS file), or outside a tokio runtime.
    #[cfg(feature = "tcp")]
    pub fn tcp(
        service: &'static str,
        endpoint: crate::tcp::TcpEndpoint,
    ) -> Result<Self, crate::tcp::TcpConfigError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let options = endpoint.link_options();
        let dialer = crate::tcp::TcpDialer::new(service, endpoint)?;
        Ok(Self::from_remote(RemoteClient::start(
            service, dialer, options,
        )?))
    }

    /// A client of `service` over QUIC at `endpoint` (TLS 1.3, ALPN `mltools/1`). It
    /// connects in the background and redials by itself whenever the connection is lost;
    /// meanwhile calls fail at once as unavailable, naming the service and the address.
    ///
    /// # Errors
    /// A [`QuicConfigError`](crate::quic::QuicConfigError) for a configuration that cannot be
    /// used (naming the field, the address or the TLS file), or outside a tokio runtime.
    #[cfg(feature = "quic")]
    pub fn quic(
        service: &'static str,
        endpoint: crate::quic::QuicEndpoint,
    ) -> Result<Self, crate::quic::QuicConfigError>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
    {
        let options = endpoint.link_options();
        let dialer = crate::quic::QuicDialer::new(service, endpoint)?;
        Ok(Self::from_remote(RemoteClient::start(
            service, dialer, options,
        )?))
    }

    /// A client of `service` over TCP at `endpoint` through a pool of at most
    /// `pool.max_size` connections: each call checks one out for its duration, so the pool
    /// caps this client's calls in flight; a call that waits past
    /// `pool.connection_timeout_ms` for a free one is refused as overloaded. Connections
    /// are made as calls need them; a broken one is replaced.
    ///
    /// # Errors
    /// A [`TcpConfigError`](crate::tcp::TcpConfigError) for an endpoint that cannot be used.
    #[cfg(feature = "pool")]
    pub fn tcp_pooled(
        service: &'static str,
        endpoint: crate::tcp::TcpEndpoint,
        pool: crate::pool::PoolConfig,
    ) -> Result<Self, crate::tcp::TcpConfigError>
    where
        Req: serde::Serialize + Sync,
        Resp: serde::de::DeserializeOwned + Sync,
    {
        let pool = crate::pool::build::<Req, Resp>(service, endpoint, pool)?;
        Ok(Client {
            service,
            route: Route::Pooled(std::sync::Arc::new(pool)),
        })
    }

    /// The name of the service this client reaches.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The remote connection behind this client, if it is remote: its status, and a way to
    /// wait for it to change.
    #[cfg(feature = "remote")]
    pub fn remote(&self) -> Option<&RemoteClient<Req, Resp>> {
        match &self.route {
            Route::Remote(remote) => Some(remote),
            _ => None,
        }
    }
}

impl<Req, Resp> Stub for Client<Req, Resp>
where
    Req: RequestName + Send + 'static,
    Resp: Send + 'static,
{
    type Req = Req;
    type Resp = Resp;

    async fn call(&self, ctx: context::Context, request: Req) -> Result<Resp, RpcError> {
        match &self.route {
            Route::Direct(service) => service.call_direct(ctx, request).await,
            Route::Channel(slot) => {
                // Clone the current channel out of the slot: a restarted server publishes a
                // new one, and the borrow must not be held across the call.
                let channel = slot.borrow().clone();
                match channel {
                    Some(channel) => channel.call(ctx, request).await,
                    None => Err(RpcError::Shutdown),
                }
            }
            #[cfg(feature = "remote")]
            Route::Remote(remote) => remote.call(ctx, request).await,
            #[cfg(feature = "pool")]
            Route::Pooled(pool) => pool.call(ctx, request).await,
        }
    }
}
