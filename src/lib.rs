//! mltools: load tabular datasets, preprocess them, fit many predictive models, compare them
//! with cross-validation, pick the best one and look at the results — as independent
//! services that talk through one set of interfaces over a transport chosen by
//! configuration.
//!
//! This facade re-exports what an embedding application needs:
//!
//! | re-export | crate | what for |
//! |---|---|---|
//! | [`core`] | `mltools-core` | the service interfaces, their request/response types, [`ServiceError`] |
//! | [`transport`] | `mltools-transport` | the client types ([`DatasetsClient`]), transports, supervision |
//! | [`node`] | `mltools-node` | [`Node`]: host services in this process and get clients |
//! | [`lab`] | `mltools-lab` | the lab's state and its HTML report ([`lab::html::render`]) |
//! | [`gateway`] | `mltools-gateway` | the HTTP/JSON gateway a node serves from `[gateway]` ([`NodeBuilder::gateway`]) |
//!
//! ```no_run
//! use mltools::prelude::*;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let node = Node::builder().data_dir("./.mltools").start().await?;
//! let datasets = node.datasets()?;
//! let info = datasets
//!     .import(context::current(), ImportRequest::new(Source::Builtin { name: Builtin::Iris }))
//!     .await
//!     .into_service("datasets")?;
//! let description = datasets
//!     .describe(context::current(), DatasetRef::Id(info.id), None)
//!     .await
//!     .into_service("datasets")?;
//! println!("{} columns described", description.columns.len());
//! node.shutdown().await;
//! # Ok(()) }
//! ```

pub use mltools_core as core;
pub use mltools_gateway as gateway;
pub use mltools_lab as lab;
pub use mltools_node as node;
pub use mltools_transport as transport;

pub use mltools_core::{DatasetId, DatasetRef, ErrorKind, RpcResultExt, ServiceError};
pub use mltools_node::{Node, NodeBuilder, NodeConfig};
pub use mltools_transport::{DatasetsClient, LabClient, ModelsClient, UtilsClient};

/// The names most embedding code needs, in one `use`.
pub mod prelude {
    pub use mltools_core::datasets::{
        Builtin, CsvOptions, GetRequest, ImportRequest, Source, UpdateMode, UpdateRequest,
    };
    pub use mltools_core::tarpc::context;
    pub use mltools_core::{DatasetId, DatasetRef, ErrorKind, RpcResultExt, ServiceError};
    pub use mltools_node::{Node, NodeBuilder, NodeConfig};
    pub use mltools_transport::DatasetsClient;
}
