//! The QUIC transport over real UDP sockets on 127.0.0.1 (port 0): calls and their errors,
//! TLS and mutual TLS, ALPN, the peer going away and coming back, many concurrent calls on
//! one link.

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/guard_suite.rs"]
mod guard_suite;

mod alpn;
mod calls;
mod guards;
mod preamble;
mod reconnect;
mod tls;

use common::{Certs, within};
use mltools_transport::quic::{QuicEndpoint, QuicServer, QuicServerConfig};
use mltools_transport::tcp::TlsClientConfig;
use mltools_transport::test_probe::{
    ProbeClient, ProbeRequest, ProbeResponse, ProbeServer, probe_with,
};
use mltools_transport::{Client, Limits, ServiceTable};

/// A probe server with its handle, hosted on a QUIC listener.
pub struct QuicHost {
    /// The listener.
    pub server: QuicServer,
    /// The probe's handle, to release held calls.
    pub probe: ProbeServer,
}

/// A server config on 127.0.0.1 port 0 with `certs`; mutual TLS when `mutual`.
pub fn server_config(certs: &Certs, mutual: bool) -> QuicServerConfig {
    QuicServerConfig::new("127.0.0.1:0", certs.server(mutual))
}

/// Hosts the probe with `config`.
pub async fn host(config: QuicServerConfig) -> QuicHost {
    let probe = ProbeServer::default();
    let table = ServiceTable::new().with(probe_with(probe.clone(), Limits::default()));
    let server = within("the QUIC server to bind", QuicServer::bind(config, table))
        .await
        .expect("the server binds");
    QuicHost { server, probe }
}

/// Hosts the probe with `config`, retrying while the port is still held by a server that
/// just stopped (quinn releases its socket when its driver task ends).
pub async fn host_again(config: QuicServerConfig) -> QuicHost {
    within("the port to be free again", async {
        loop {
            let probe = ProbeServer::default();
            let table = ServiceTable::new().with(probe_with(probe.clone(), Limits::default()));
            match QuicServer::bind(config.clone(), table).await {
                Ok(server) => return QuicHost { server, probe },
                Err(mltools_transport::quic::QuicConfigError::Bind { source, .. })
                    if source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    tokio::task::yield_now().await;
                }
                Err(error) => panic!("the server binds: {error}"),
            }
        }
    })
    .await
}

/// An endpoint for `server` with `tls`, redialling quickly.
pub fn endpoint(server: &QuicServer, tls: TlsClientConfig) -> QuicEndpoint {
    let mut endpoint = QuicEndpoint::new(server.local_addr().to_string(), tls);
    endpoint.backoff_max_ms = 100;
    endpoint
}

/// A probe client over QUIC.
pub fn client(
    endpoint: QuicEndpoint,
) -> (
    ProbeClient<Client<ProbeRequest, ProbeResponse>>,
    Client<ProbeRequest, ProbeResponse>,
) {
    let raw = Client::quic("probe", endpoint).expect("a usable endpoint");
    (ProbeClient::from(raw.clone()), raw)
}
