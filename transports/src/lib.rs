//! Transports for mltools services: how a caller's client reaches a service.
//!
//! Every service is a `#[tarpc::service]` trait in `mltools-core`. A [`Service`] is one
//! hosted instance of such a trait, type-erased and guarded (a panic in a handler becomes an
//! error answer, a limit caps calls in flight, every call gets a tracing span). A [`Client`]
//! is a tarpc stub that reaches a service by one of the transports:
//!
//! | transport | what a call is | module |
//! |---|---|---|
//! | direct (the in-process default) | an async function call: no channel, no task, no serialization; the deadline, panic guard and limits still apply | [`service`](mod@service) |
//! | channel | tarpc's in-process channel transport, the same dispatch path remote calls take; its serving task is supervised and restarted | [`channel`] |
//! | tcp (feature `tcp`, TLS with feature `tls`) | tarpc over length-delimited frames on TCP, optionally TLS; one listener per node serves a [`ServiceTable`]; the client redials by itself | [`tcp`], [`remote`], [`codec`] |
//! | quic (feature `quic`) | the same frames over one long QUIC bi-stream per client link, TLS 1.3 and ALPN `mltools/1` always | `quic`, [`remote`], [`codec`] |
//!
//! What every remote transport shares (TCP now, QUIC later) lives in [`remote`] (frames with
//! a limit, the connection preamble with token auth, the service table, the reconnecting
//! client) and [`codec`] (the serialization formats). [`conformance`] gives a client of a
//! service over any [`TransportKind`](conformance::TransportKind), so one set of test bodies
//! runs over every transport.
//!
//! The [`Supervisor`] restarts a service's serving task when it dies, within a restart limit,
//! and stops everything it started on shutdown.
//!
//! ```
//! use mltools_transport::{Client, Limits, Service};
//! use tarpc::context;
//!
//! #[tarpc::service]
//! trait Echo {
//!     async fn echo(text: String) -> String;
//! }
//!
//! #[derive(Clone)]
//! struct EchoServer;
//!
//! impl Echo for EchoServer {
//!     async fn echo(self, _: context::Context, text: String) -> String {
//!         text
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let service = mltools_transport::service!("echo", Limits::default(), EchoServer.serve());
//! let client = EchoClient::from(Client::direct(service));
//! assert_eq!(client.echo(context::current(), "hi".into()).await.unwrap(), "hi");
//! # });
//! ```

#[cfg(feature = "certs")]
pub mod certs;
pub mod channel;
pub mod client;
#[cfg(feature = "remote")]
pub mod codec;
#[cfg(feature = "tcp")]
pub mod conformance;
pub mod paging;
#[cfg(feature = "pool")]
pub mod pool;
#[cfg(feature = "quic")]
pub mod quic;
#[cfg(feature = "remote")]
pub mod remote;
mod repoll;
pub mod service;
pub mod supervisor;
#[cfg(feature = "tcp")]
pub mod tcp;
pub mod test_probe;
#[cfg(feature = "tls")]
pub mod tls;
pub mod upload;

pub use client::Client;
#[cfg(feature = "remote")]
pub use codec::Codec;
#[cfg(feature = "remote")]
pub use remote::{LinkStatus, RemoteClient, ServiceTable, Token};
pub use service::{Gate, Limits, Service};
pub use supervisor::{ChildHandle, ChildState, RestartPolicy, Supervisor};

/// Re-exported for the [`service!`] macro and for callers naming tarpc types.
pub use tarpc;

use mltools_core::{datasets, lab, models, utils};

/// A client of the datasets service over any transport.
pub type DatasetsClient =
    datasets::DatasetsClient<Client<datasets::DatasetsRequest, datasets::DatasetsResponse>>;
/// A client of the utils service over any transport.
pub type UtilsClient = utils::UtilsClient<Client<utils::UtilsRequest, utils::UtilsResponse>>;
/// A client of the models service over any transport.
pub type ModelsClient = models::ModelsClient<Client<models::ModelsRequest, models::ModelsResponse>>;
/// A client of the lab over any transport.
pub type LabClient = lab::LabClient<Client<lab::LabRequest, lab::LabResponse>>;
