//! tarpc over TCP, optionally TLS (cargo features `tcp`, `tls`).
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | [`TcpServerConfig`], [`TcpEndpoint`] and their TLS parts; [`TcpConfigError`] |
//! | [`server`] | [`TcpServer`]: one listener serving a [`ServiceTable`](crate::remote::ServiceTable) |
//! | [`dial`] | [`TcpDialer`]: connect, secure, hello — the [`Dial`](crate::remote::Dial) a [`RemoteClient`](crate::remote::RemoteClient) redials with |
//!
//! Plaintext is refused on any address that is not loopback unless the configuration says
//! `insecure = true`, both when listening and when dialling.
//!
//! ```no_run
//! use mltools_transport::tcp::{TcpEndpoint, TcpServer, TcpServerConfig};
//! use mltools_transport::{Client, DatasetsClient, ServiceTable};
//! # async fn run(datasets: mltools_transport::Service<
//! #     mltools_core::datasets::DatasetsRequest, mltools_core::datasets::DatasetsResponse>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! // The node hosting datasets:
//! let server = TcpServer::bind(
//!     TcpServerConfig::new("127.0.0.1:4100"),
//!     ServiceTable::new().with(datasets),
//! )
//! .await?;
//! // Anywhere else:
//! let endpoint = TcpEndpoint::new(server.local_addr().to_string());
//! let client = DatasetsClient::from(Client::tcp("datasets", endpoint)?);
//! # Ok(()) }
//! ```

pub mod config;
pub mod dial;
pub mod server;

pub use config::{
    DEFAULT_MAX_FRAME_BYTES, MIN_MAX_FRAME_BYTES, TcpConfigError, TcpEndpoint, TcpServerConfig,
    TlsClientConfig, TlsServerConfig, check_plaintext, check_token,
};
pub use dial::TcpDialer;
pub use server::TcpServer;
