//! Domain types, errors, configuration and the service interfaces of mltools.
//!
//! Every mltools service publishes exactly one interface, a `#[tarpc::service]` trait defined
//! here, and callers hold a client of that trait. Where a service runs (in this process, on
//! another node) is configuration, never a code change.
//!
//! | module | what it holds |
//! |---|---|
//! | [`datasets`] | the [`datasets::Datasets`] interface: import, list, read, update, describe, delete |
//! | [`utils`] | the [`utils::Utils`] interface: preprocessing pipelines, splits, plots |
//! | [`models`] | the [`models::Models`] interface: algorithms, cross-validation jobs, the registry |
//! | [`lab`] | the [`lab::Lab`] interface: compare every candidate model on a dataset |
//! | [`frame`] | columnar tabular data ([`Frame`], [`Column`]) shared by every service |
//! | [`error`] | [`ServiceError`], the one error every interface method returns |
//! | [`report`] | a comparison's report as one HTML page, and a model's label |
//! | [`ids`] | typed identifiers: datasets, models, jobs |
//! | [`wire`] | serde adapters that move numeric columns as little-endian byte blocks |
//!
//! ```
//! use mltools_core::{ErrorKind, ServiceError};
//!
//! let error = ServiceError::not_found("dataset `houses`");
//! assert_eq!(error.kind, ErrorKind::NotFound);
//! assert_eq!(error.to_string(), "not found: dataset `houses`");
//! ```

pub mod datasets;
pub mod error;
pub mod frame;
pub mod ids;
pub mod lab;
pub mod models;
pub mod report;
pub mod utils;
pub mod wire;

pub use error::{ErrorKind, RpcResultExt, ServiceError};
pub use frame::{Column, ColumnData, Frame, MISSING_CODE};
pub use ids::{DatasetId, DatasetRef, JobId, ModelId};

/// Re-exported so that callers name the same `tarpc` the interfaces were generated with.
pub use tarpc;

/// The name of each service, as used in configuration, logs and errors.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ServiceName {
    /// The datasets service.
    Datasets,
    /// The utils service (preprocessing and plots).
    Utils,
    /// The models service.
    Models,
    /// The lab, the top-level API.
    Lab,
}

impl ServiceName {
    /// Every service, in start-up order (dependencies first).
    pub const ALL: [ServiceName; 4] = [
        ServiceName::Datasets,
        ServiceName::Utils,
        ServiceName::Models,
        ServiceName::Lab,
    ];

    /// The lower-case name used in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceName::Datasets => "datasets",
            ServiceName::Utils => "utils",
            ServiceName::Models => "models",
            ServiceName::Lab => "lab",
        }
    }
}

impl std::fmt::Display for ServiceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ServiceName {
    type Err = ServiceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceName::ALL
            .into_iter()
            .find(|name| name.as_str() == s)
            .ok_or_else(|| {
                ServiceError::invalid_input(format!(
                    "unknown service `{s}`; expected one of: datasets, utils, models, lab"
                ))
            })
    }
}
