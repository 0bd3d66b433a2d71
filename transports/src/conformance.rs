//! A client of a service over any transport, for suites that run one set of test bodies
//! over every transport.
//!
//! [`loopback`] hosts a [`Service`] as the [`TransportKind`] says — directly, behind a
//! supervised channel server, behind a [`TcpServer`] on 127.0.0.1 (port 0), plain or TLS, or
//! (feature `quic`) behind a QUIC server on 127.0.0.1 — and returns a [`Loopback`] that owns
//! whatever it started and hands out clients. Direct and channel calls never serialize, so
//! only the remote kinds catch serde and frame-size faults.
//!
//! ```no_run
//! use mltools_transport::conformance::{loopback, LoopbackOptions, TransportKind};
//! use mltools_transport::test_probe::{probe, ProbeClient};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! for kind in [TransportKind::Direct, TransportKind::Channel, TransportKind::Tcp] {
//!     let harness = loopback(kind, probe(), &LoopbackOptions::default()).await?;
//!     let client = ProbeClient::from(harness.client());
//!     assert_eq!(client.double(tarpc::context::current(), 21).await?, 42);
//! }
//! # Ok(()) }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::time::Duration;
use tarpc::RequestName;

use crate::remote::LinkStatus;
use crate::tcp::{
    TcpConfigError, TcpEndpoint, TcpServer, TcpServerConfig, TlsClientConfig, TlsServerConfig,
};
use crate::{Client, RestartPolicy, Service, ServiceTable, Supervisor};

/// How long [`loopback`] waits for a TCP client's first connection.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// The transports a service can be reached over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// A direct in-process call.
    Direct,
    /// tarpc's in-process channel, behind a supervised server.
    Channel,
    /// tarpc over plain TCP on loopback.
    Tcp,
    /// tarpc over TLS over TCP on loopback (needs [`LoopbackOptions::tls`]).
    TlsTcp,
    /// tarpc over QUIC on loopback (needs [`LoopbackOptions::tls`]); feature `quic`.
    #[cfg(feature = "quic")]
    Quic,
}

impl TransportKind {
    /// Every kind.
    #[cfg(not(feature = "quic"))]
    pub const ALL: [TransportKind; 4] = [
        TransportKind::Direct,
        TransportKind::Channel,
        TransportKind::Tcp,
        TransportKind::TlsTcp,
    ];

    /// Every kind.
    #[cfg(feature = "quic")]
    pub const ALL: [TransportKind; 5] = [
        TransportKind::Direct,
        TransportKind::Channel,
        TransportKind::Tcp,
        TransportKind::TlsTcp,
        TransportKind::Quic,
    ];

    /// Whether calls cross a socket (and so serialize).
    pub fn is_remote(self) -> bool {
        match self {
            TransportKind::Tcp | TransportKind::TlsTcp => true,
            #[cfg(feature = "quic")]
            TransportKind::Quic => true,
            TransportKind::Direct | TransportKind::Channel => false,
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Direct => "direct",
            TransportKind::Channel => "channel",
            TransportKind::Tcp => "tcp",
            TransportKind::TlsTcp => "tls-tcp",
            #[cfg(feature = "quic")]
            TransportKind::Quic => "quic",
        })
    }
}

/// Certificates for [`TransportKind::TlsTcp`] (and `TransportKind::Quic`).
#[derive(Debug, Clone)]
pub struct LoopbackTls {
    /// The server's side.
    pub server: TlsServerConfig,
    /// The client's side.
    pub client: TlsClientConfig,
}

/// Settings of the loopback servers and clients; the addresses and TLS are filled in. The QUIC
/// kind takes the limits, timeouts, codec and token of the TCP settings.
#[derive(Debug, Clone)]
pub struct LoopbackOptions {
    /// The TCP server's settings (`listen` and `tls` are replaced).
    pub server: TcpServerConfig,
    /// The TCP client's settings (`address` and `tls` are replaced).
    pub endpoint: TcpEndpoint,
    /// Certificates, needed for [`TransportKind::TlsTcp`].
    pub tls: Option<LoopbackTls>,
}

impl Default for LoopbackOptions {
    /// Every default, except redials within 100 ms so tests that restart servers run fast.
    fn default() -> Self {
        let mut endpoint = TcpEndpoint::new("127.0.0.1:0");
        endpoint.backoff_max_ms = 100;
        LoopbackOptions {
            server: TcpServerConfig::new("127.0.0.1:0"),
            endpoint,
            tls: None,
        }
    }
}

/// A service hosted over one transport; dropping it stops what it started.
pub struct Loopback<Req, Resp> {
    kind: TransportKind,
    client: Client<Req, Resp>,
    server: Option<TcpServer>,
    #[cfg(feature = "quic")]
    quic_server: Option<crate::quic::QuicServer>,
    supervisor: Option<Supervisor>,
}

impl<Req, Resp> fmt::Debug for Loopback<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loopback")
            .field("kind", &self.kind)
            .field("server", &self.server.as_ref().map(TcpServer::local_addr))
            .finish_non_exhaustive()
    }
}

impl<Req, Resp> Loopback<Req, Resp> {
    /// The transport.
    pub fn kind(&self) -> TransportKind {
        self.kind
    }

    /// A client of the service (clones share the connection).
    pub fn client(&self) -> Client<Req, Resp> {
        self.client.clone()
    }

    /// The TCP server, for the TCP kinds.
    pub fn server(&self) -> Option<&TcpServer> {
        self.server.as_ref()
    }

    /// The QUIC server, for [`TransportKind::Quic`].
    #[cfg(feature = "quic")]
    pub fn quic_server(&self) -> Option<&crate::quic::QuicServer> {
        self.quic_server.as_ref()
    }
}

impl<Req, Resp> Drop for Loopback<Req, Resp> {
    fn drop(&mut self) {
        if let Some(supervisor) = &self.supervisor {
            supervisor.shutdown_token().cancel();
        }
    }
}

/// A loopback host that could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoopbackError {
    /// The TCP configuration was refused.
    #[error("{kind}: {source}")]
    Config {
        /// The transport.
        kind: TransportKind,
        /// Why.
        source: TcpConfigError,
    },
    /// The QUIC configuration was refused.
    #[cfg(feature = "quic")]
    #[error("quic: {source}")]
    QuicConfig {
        /// Why.
        source: crate::quic::QuicConfigError,
    },
    /// [`TransportKind::TlsTcp`] (or QUIC) without [`LoopbackOptions::tls`].
    #[error("tls-tcp and quic need certificates: set LoopbackOptions::tls")]
    NoCertificates,
    /// The client did not connect.
    #[error("{kind}: the client did not connect within {wait_ms} ms: {status:?}")]
    NotConnected {
        /// The transport.
        kind: TransportKind,
        /// How long it waited.
        wait_ms: u64,
        /// Where the client was.
        status: LinkStatus,
    },
}

/// Hosts `service` over `kind` and returns a handle giving clients of it; for the TCP kinds,
/// returns once the client is connected.
///
/// # Errors
/// A [`LoopbackError`]: a refused configuration, missing certificates, a client that did not
/// connect.
///
/// # Cancel safety
/// Cancel safe: whatever was started stops when the future is dropped.
pub async fn loopback<Req, Resp>(
    kind: TransportKind,
    service: Service<Req, Resp>,
    options: &LoopbackOptions,
) -> Result<Loopback<Req, Resp>, LoopbackError>
where
    Req: RequestName + Serialize + DeserializeOwned + Send + Sync + 'static,
    Resp: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    #[cfg(feature = "quic")]
    let mut quic_server = None;
    let (client, server, supervisor) = match kind {
        TransportKind::Direct => (Client::direct(service), None, None),
        TransportKind::Channel => {
            let supervisor = Supervisor::new();
            let (client, _child) =
                crate::channel::serve(&supervisor, RestartPolicy::default(), service);
            (client, None, Some(supervisor))
        }
        TransportKind::Tcp | TransportKind::TlsTcp => {
            let (client, server) = over_tcp(kind, service, options).await?;
            (client, Some(server), None)
        }
        #[cfg(feature = "quic")]
        TransportKind::Quic => {
            let (client, server) = over_quic(service, options).await?;
            quic_server = Some(server);
            (client, None, None)
        }
    };
    Ok(Loopback {
        kind,
        client,
        server,
        #[cfg(feature = "quic")]
        quic_server,
        supervisor,
    })
}

async fn over_tcp<Req, Resp>(
    kind: TransportKind,
    service: Service<Req, Resp>,
    options: &LoopbackOptions,
) -> Result<(Client<Req, Resp>, TcpServer), LoopbackError>
where
    Req: RequestName + Serialize + DeserializeOwned + Send + Sync + 'static,
    Resp: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let config_error = |source| LoopbackError::Config { kind, source };
    let tls = match kind {
        TransportKind::TlsTcp => Some(options.tls.clone().ok_or(LoopbackError::NoCertificates)?),
        _ => None,
    };
    let mut server_config = options.server.clone();
    server_config.listen = "127.0.0.1:0".into();
    server_config.tls = tls.as_ref().map(|tls| tls.server.clone());
    let name = service.name();
    let server = TcpServer::bind(server_config, ServiceTable::new().with(service))
        .await
        .map_err(config_error)?;
    let mut endpoint = options.endpoint.clone();
    endpoint.address = server.local_addr().to_string();
    endpoint.tls = tls.map(|tls| tls.client);
    let client = Client::tcp(name, endpoint).map_err(config_error)?;
    wait_connected(kind, &client).await?;
    Ok((client, server))
}

/// Waits for a remote client's first connection.
async fn wait_connected<Req, Resp>(
    kind: TransportKind,
    client: &Client<Req, Resp>,
) -> Result<(), LoopbackError>
where
    Req: RequestName + Send + 'static,
    Resp: Send + 'static,
{
    if let Some(remote) = client.remote() {
        let connected = |status: &LinkStatus| *status == LinkStatus::Connected;
        if tokio::time::timeout(CONNECT_WAIT, remote.wait_for(connected))
            .await
            .is_err()
        {
            return Err(LoopbackError::NotConnected {
                kind,
                wait_ms: CONNECT_WAIT.as_millis() as u64,
                status: remote.status(),
            });
        }
    }
    Ok(())
}

#[cfg(feature = "quic")]
async fn over_quic<Req, Resp>(
    service: Service<Req, Resp>,
    options: &LoopbackOptions,
) -> Result<(Client<Req, Resp>, crate::quic::QuicServer), LoopbackError>
where
    Req: RequestName + Serialize + DeserializeOwned + Send + Sync + 'static,
    Resp: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    use crate::quic::{QuicEndpoint, QuicServer, QuicServerConfig};
    let config_error = |source| LoopbackError::QuicConfig { source };
    let tls = options.tls.clone().ok_or(LoopbackError::NoCertificates)?;
    let tcp = &options.server;
    let mut server_config = QuicServerConfig::new("127.0.0.1:0", tls.server);
    server_config.max_frame_bytes = tcp.max_frame_bytes;
    server_config.max_connections = tcp.max_connections;
    server_config.max_requests_per_connection = tcp.max_requests_per_connection;
    server_config.handshake_timeout_ms = tcp.handshake_timeout_ms;
    server_config.max_pending_handshakes = tcp.max_pending_handshakes;
    server_config.max_pending_per_ip = tcp.max_pending_per_ip;
    server_config.idle_timeout_ms = tcp.idle_timeout_ms;
    server_config.frame_timeout_ms = tcp.frame_timeout_ms;
    server_config.max_in_flight_request_bytes = tcp.max_in_flight_request_bytes;
    server_config.max_deadline_ms = tcp.max_deadline_ms;
    server_config.max_auth_failures = tcp.max_auth_failures;
    server_config.auth_backoff_ms = tcp.auth_backoff_ms;
    server_config.token.clone_from(&tcp.token);
    let name = service.name();
    let server = QuicServer::bind(server_config, ServiceTable::new().with(service))
        .await
        .map_err(config_error)?;
    let tcp = &options.endpoint;
    let mut endpoint = QuicEndpoint::new(server.local_addr().to_string(), tls.client);
    endpoint.codec = tcp.codec;
    endpoint.max_frame_bytes = tcp.max_frame_bytes;
    endpoint.token.clone_from(&tcp.token);
    endpoint.connect_timeout_ms = tcp.connect_timeout_ms;
    endpoint.handshake_timeout_ms = tcp.handshake_timeout_ms;
    endpoint.backoff_initial_ms = tcp.backoff_initial_ms;
    endpoint.backoff_max_ms = tcp.backoff_max_ms;
    let client = Client::quic(name, endpoint).map_err(config_error)?;
    wait_connected(TransportKind::Quic, &client).await?;
    Ok((client, server))
}
