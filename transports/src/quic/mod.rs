//! tarpc over QUIC with quinn (cargo feature `quic`).
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | [`QuicServerConfig`], [`QuicEndpoint`]; [`QuicConfigError`] |
//! | [`server`] | [`QuicServer`]: one UDP socket serving a [`ServiceTable`](crate::remote::ServiceTable) |
//! | [`dial`] | [`QuicDialer`]: QUIC handshake, one bi-stream, hello — the [`Dial`](crate::remote::Dial) a [`RemoteClient`](crate::remote::RemoteClient) redials with |
//!
//! TLS 1.3 always, with certificates from PEM files or a self-signed pair whose fingerprint
//! clients pin, as for TLS over TCP (mutual TLS when the server names a client CA), and ALPN `mltools/1` on both ends: a peer speaking another
//! protocol is refused during the handshake. Keep-alive and the idle timeout come from the
//! configuration (5 s and 30 s by default), so an idle link stays open and a dead peer is
//! noticed.
//!
//! **How calls map onto streams.** A client link is one QUIC connection carrying one long
//! bidirectional stream, which is the tarpc channel: the same frames, hello, service table
//! and reconnecting client as over TCP, and calls multiplexed by tarpc on that stream. So
//! the number of concurrent calls is bounded by tarpc's and the service's limits, never by
//! QUIC's stream limit (`max_concurrent_bidi_streams`, 16 by default; no unidirectional
//! streams). A dropped stream is finished
//! and its connection kept open until the peer has acknowledged every byte, so no answer
//! written before a close is lost.
//!
//! ```no_run
//! use mltools_transport::quic::{QuicEndpoint, QuicServer, QuicServerConfig};
//! use mltools_transport::tcp::{TlsClientConfig, TlsServerConfig};
//! use mltools_transport::{Client, DatasetsClient, ServiceTable};
//! # async fn run(datasets: mltools_transport::Service<
//! #     mltools_core::datasets::DatasetsRequest, mltools_core::datasets::DatasetsResponse>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! // The node hosting datasets:
//! let tls = TlsServerConfig::files("node.pem", "node.key").with_client_ca("ca.pem");
//! let server =
//!     QuicServer::bind(QuicServerConfig::new("127.0.0.1:4433", tls), ServiceTable::new().with(datasets))
//!         .await?;
//! // Anywhere else:
//! let tls = TlsClientConfig::ca("ca.pem").with_client_cert("client.pem", "client.key");
//! let endpoint = QuicEndpoint::new(server.local_addr().to_string(), tls);
//! let client = DatasetsClient::from(Client::quic("datasets", endpoint)?);
//! # Ok(()) }
//! ```

pub mod config;
pub mod dial;
mod explain;
pub mod server;
mod stream;

pub use config::{
    DEFAULT_KEEP_ALIVE_INTERVAL_MS, DEFAULT_MAX_IDLE_TIMEOUT_MS, MAX_MAX_IDLE_TIMEOUT_MS,
    QuicConfigError, QuicEndpoint, QuicServerConfig,
};
pub use dial::QuicDialer;
pub use server::QuicServer;
