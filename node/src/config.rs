//! The node's TOML configuration: which services it hosts, how in-process clients reach
//! them, their limits, and each service's own settings.
//!
//! ```toml
//! [node]
//! name = "main"
//! serve = ["datasets", "utils", "models", "lab"]   # services hosted in this process
//! in_process = "direct"         # or "channel": tarpc's in-process channel transport
//! shutdown_grace_ms = 10000
//!
//! [services.datasets]
//! at = "local"
//! max_in_flight = 64
//! restart = { max_restarts = 5, window_ms = 10000 }
//!
//! [datasets]
//! data_dir = "./.mltools"
//!
//! [utils]
//! plot_width = 800
//! ```
//!
//! Unknown keys are errors, so a typo never passes silently.

use mltools_core::ServiceName;
use mltools_datasets::DatasetsConfig;
use mltools_gateway::GatewayConfig;
use mltools_lab::LabConfig;
use mltools_models::ModelsConfig;
use mltools_transport::pool::PoolConfig;
use mltools_transport::quic::{QuicEndpoint, QuicServerConfig};
use mltools_transport::tcp::{TcpEndpoint, TcpServerConfig};
use mltools_transport::{Limits, RestartPolicy};
use mltools_utils::UtilsConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// This node.
    pub node: NodeSection,
    /// Per-service placement and limits, keyed by service name.
    pub services: BTreeMap<ServiceName, ServiceSection>,
    /// The datasets service's settings (used when this node hosts it).
    pub datasets: DatasetsConfig,
    /// The utils service's settings (used when this node hosts it).
    pub utils: UtilsConfig,
    /// The models service's settings (used when this node hosts it).
    pub models: ModelsConfig,
    /// The lab's settings (used when this node hosts it).
    pub lab: LabConfig,
    /// The HTTP/JSON gateway this node serves, calling the services it hosts or reaches;
    /// none when absent.
    pub gateway: Option<GatewayConfig>,
}

/// The `[node]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// The node's name, in logs and errors. Default `main`.
    pub name: String,
    /// The services hosted in this process. Default: all four.
    pub serve: Vec<ServiceName>,
    /// How in-process clients reach hosted services. Default `direct`.
    pub in_process: InProcess,
    /// How long a shutdown waits for calls in flight, in milliseconds. Default 10000.
    pub shutdown_grace_ms: u64,
    /// Where the hosted services are reachable by other nodes; nowhere when absent.
    pub listen: Option<Listen>,
}

/// Where a node listens for other nodes' calls (TCP, QUIC, or both).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Listen {
    /// TCP: `"host:port"`, or a table with the listener's settings (token, TLS, limits).
    pub tcp: Option<TcpListen>,
    /// QUIC: the listener's settings; `tls` is required: `{ cert, key, client_ca }`, or
    /// `{ self_signed = "DIR", client_ca }` (a pair generated on first start).
    pub quic: Option<QuicServerConfig>,
}

/// A TCP listener: an address alone, or its full settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
#[expect(
    clippy::large_enum_variant,
    reason = "read once at start-up; boxing the settings would only make them harder to build"
)]
pub enum TcpListen {
    /// `"host:port"` with every default (plaintext, loopback only, no token).
    Address(String),
    /// Every setting.
    Config(TcpServerConfig),
}

impl TcpListen {
    /// The listener's full settings.
    pub fn config(&self) -> TcpServerConfig {
        match self {
            TcpListen::Address(address) => TcpServerConfig::new(address.clone()),
            TcpListen::Config(config) => config.clone(),
        }
    }
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            name: "main".to_owned(),
            serve: ServiceName::ALL.to_vec(),
            in_process: InProcess::Direct,
            shutdown_grace_ms: 10_000,
            listen: None,
        }
    }
}

/// How in-process clients reach hosted services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InProcess {
    /// A direct async call through the service trait: no channel, no serialization.
    Direct,
    /// tarpc's in-process channel transport, with a supervised serving task.
    Channel,
}

/// A `[services.NAME]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSection {
    /// Where the service runs. Default `local`.
    pub at: Placement,
    /// Calls allowed in flight at once; more are refused as overloaded. Default 1024.
    pub max_in_flight: usize,
    /// How often the serving task may be restarted. Default 5 within 10 s.
    pub restart: RestartSection,
    /// For a service reached over TCP: a bb8 pool whose `max_size` caps this node's calls
    /// in flight to it (`{ max_size = 5, connection_timeout_ms = 3000 }`); one reconnecting
    /// connection when absent.
    pub pool: Option<PoolConfig>,
}

impl Default for ServiceSection {
    fn default() -> Self {
        ServiceSection {
            at: Placement::Local,
            max_in_flight: 1024,
            restart: RestartSection::default(),
            pool: None,
        }
    }
}

impl ServiceSection {
    /// The limits this section sets.
    pub fn limits(&self) -> Limits {
        Limits {
            max_in_flight: Some(self.max_in_flight),
        }
    }
}

/// Where a service runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Placement {
    /// In this process.
    Local,
    /// On another node, reached over TCP: `{ tcp = "host:port" }` or a table of endpoint
    /// settings (token, TLS, codec, limits).
    Tcp(TcpAt),
    /// On another node, reached over QUIC: `{ quic = { address, tls = { ca, ... } } }`, or
    /// with a self-signed server `tls = { fingerprint = "sha256:..." }`.
    Quic(QuicEndpoint),
    /// On several other nodes, each reached as above (its own connection or pool): a list
    /// `[{ tcp = ... }, { quic = ... }]`. The models service only: a comparison's fits are
    /// spread over them; other calls go to the first.
    #[serde(untagged)]
    Several(Vec<Placement>),
}

/// One placement as the TOML writes it (`Placement` without `Several`).
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum OnePlacement {
    Local,
    Tcp(TcpAt),
    Quic(QuicEndpoint),
}

impl From<OnePlacement> for Placement {
    fn from(one: OnePlacement) -> Placement {
        match one {
            OnePlacement::Local => Placement::Local,
            OnePlacement::Tcp(at) => Placement::Tcp(at),
            OnePlacement::Quic(endpoint) => Placement::Quic(endpoint),
        }
    }
}

/// A string, a table or a list, told apart by what the TOML holds, so that an error
/// inside one (an unknown key, a bad value) is reported as such.
impl<'de> Deserialize<'de> for Placement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer};
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Placement;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("\"local\", { tcp = ... }, { quic = ... }, or a list of those tables")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Placement, E> {
                OnePlacement::deserialize(StrDeserializer::<E>::new(text)).map(Placement::from)
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                map: M,
            ) -> Result<Placement, M::Error> {
                OnePlacement::deserialize(MapAccessDeserializer::new(map)).map(Placement::from)
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                seq: S,
            ) -> Result<Placement, S::Error> {
                let list = Vec::<OnePlacement>::deserialize(SeqAccessDeserializer::new(seq))?;
                Ok(Placement::Several(
                    list.into_iter().map(Placement::from).collect(),
                ))
            }
        }
        deserializer.deserialize_any(Visit)
    }
}

impl Placement {
    /// How each node it names is reached; none for `local`.
    fn remotes(&self) -> Vec<RemoteAt> {
        match self {
            Placement::Local => Vec::new(),
            Placement::Tcp(at) => vec![RemoteAt::Tcp(at.endpoint())],
            Placement::Quic(endpoint) => vec![RemoteAt::Quic(endpoint.clone())],
            Placement::Several(list) => list.iter().flat_map(Placement::remotes).collect(),
        }
    }
}

/// How a service on another node is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteAt {
    /// Over TCP.
    Tcp(TcpEndpoint),
    /// Over QUIC.
    Quic(QuicEndpoint),
}

impl RemoteAt {
    /// The `host:port` dialled.
    pub fn address(&self) -> &str {
        match self {
            RemoteAt::Tcp(endpoint) => &endpoint.address,
            RemoteAt::Quic(endpoint) => &endpoint.address,
        }
    }

    /// How long the first dial may take: connecting plus the handshake.
    pub fn first_dial_ms(&self) -> u64 {
        match self {
            RemoteAt::Tcp(endpoint) => endpoint.connect_timeout_ms + endpoint.handshake_timeout_ms,
            RemoteAt::Quic(endpoint) => endpoint.connect_timeout_ms + endpoint.handshake_timeout_ms,
        }
    }
}

/// A TCP endpoint: an address alone, or its full settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum TcpAt {
    /// `"host:port"` with every default (plaintext, loopback only, postcard).
    Address(String),
    /// Every setting.
    Endpoint(TcpEndpoint),
}

/// A string or a table, told apart by what the TOML holds, so that an error inside the
/// table (an unknown key, a bad value) is reported as such: serde's untagged enums would
/// only say that nothing matched.
macro_rules! address_or_table {
    ($ty:ident, $address:ident, $table:ident, $what:literal) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visit;
                impl<'de> serde::de::Visitor<'de> for Visit {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: serde::de::Error>(self, address: &str) -> Result<$ty, E> {
                        Ok($ty::$address(address.to_owned()))
                    }
                    fn visit_map<M: serde::de::MapAccess<'de>>(
                        self,
                        map: M,
                    ) -> Result<$ty, M::Error> {
                        Deserialize::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                            .map($ty::$table)
                    }
                }
                deserializer.deserialize_any(Visit)
            }
        }
    };
}

address_or_table!(
    TcpAt,
    Address,
    Endpoint,
    "\"host:port\", or a table of endpoint settings"
);
address_or_table!(
    TcpListen,
    Address,
    Config,
    "\"host:port\", or a table of listener settings"
);

impl TcpAt {
    /// The endpoint's full settings.
    pub fn endpoint(&self) -> TcpEndpoint {
        match self {
            TcpAt::Address(address) => TcpEndpoint::new(address.clone()),
            TcpAt::Endpoint(endpoint) => endpoint.clone(),
        }
    }
}

/// The restart limit of a service's serving task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RestartSection {
    /// Restarts allowed within the window. Default 5.
    pub max_restarts: u32,
    /// The window, in milliseconds. Default 10000.
    pub window_ms: u64,
}

impl Default for RestartSection {
    fn default() -> Self {
        let policy = RestartPolicy::default();
        RestartSection {
            max_restarts: policy.max_restarts,
            window_ms: policy.window.as_millis() as u64,
        }
    }
}

impl From<RestartSection> for RestartPolicy {
    fn from(section: RestartSection) -> Self {
        RestartPolicy {
            max_restarts: section.max_restarts,
            window: Duration::from_millis(section.window_ms),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this configuration (unknown keys included).
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the line and key.
        message: String,
    },
    /// The configuration is well-formed but inconsistent.
    #[error("config: {0}")]
    Invalid(String),
}

impl NodeConfig {
    /// Reads and checks a TOML file.
    ///
    /// # Errors
    /// An unreadable file, invalid TOML, an unknown key, or an inconsistent setting.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        NodeConfig::parse(&text).map_err(|error| match error {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.to_owned(),
                message,
            },
            other => other,
        })
    }

    /// Parses and checks TOML text.
    ///
    /// # Errors
    /// As [`NodeConfig::load`].
    pub fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
        let config: NodeConfig = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            message: error.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot: services this build can host, sane limits.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.node.name.trim().is_empty() {
            return Err(ConfigError::Invalid("node.name is empty".into()));
        }
        if let Some(gateway) = &self.gateway {
            gateway
                .check()
                .map_err(|error| ConfigError::Invalid(error.to_string()))?;
        }
        // A hosted service needs the services it calls, hosted beside it or placed on
        // another node.
        let needs: [(ServiceName, &[ServiceName]); 2] = [
            (ServiceName::Models, &[ServiceName::Utils]),
            (
                ServiceName::Lab,
                &[
                    ServiceName::Datasets,
                    ServiceName::Utils,
                    ServiceName::Models,
                ],
            ),
        ];
        for (service, dependencies) in needs {
            if !self.node.serve.contains(&service) {
                continue;
            }
            if let Some(missing) = dependencies.iter().find(|d| !self.reachable(**d)) {
                return Err(ConfigError::Invalid(format!(
                    "node.serve lists {service}, which calls {missing}, but {missing} is placed \
                     nowhere: serve it here or set services.{missing}.at = {{ tcp = \"host:port\" }}"
                )));
            }
        }
        for (name, section) in &self.services {
            if section.max_in_flight == 0 {
                return Err(ConfigError::Invalid(format!(
                    "services.{name}.max_in_flight must be at least 1"
                )));
            }
            if let Placement::Several(list) = &section.at {
                if *name != ServiceName::Models {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.at lists several nodes; only the models service can be \
                         spread over several"
                    )));
                }
                if list.is_empty() || list.iter().any(|one| matches!(one, Placement::Local)) {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.at: a list names other nodes, one or more \
                         {{ tcp = ... }} or {{ quic = ... }} tables, and never \"local\""
                    )));
                }
                if self.node.serve.contains(name) {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.at places {name} on other nodes, but node.serve also \
                         hosts it here"
                    )));
                }
                for (index, one) in list.iter().enumerate() {
                    let checked = match one {
                        Placement::Tcp(at) => at.endpoint().check().map_err(|e| e.to_string()),
                        Placement::Quic(endpoint) => endpoint.check().map_err(|e| e.to_string()),
                        Placement::Local | Placement::Several(_) => Ok(()),
                    };
                    checked.map_err(|error| {
                        ConfigError::Invalid(format!("services.{name}.at[{index}]: {error}"))
                    })?;
                }
                if section.pool.is_some()
                    && list.iter().any(|one| !matches!(one, Placement::Tcp(_)))
                {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.pool applies to a service reached over tcp only"
                    )));
                }
                continue;
            }
            match &section.at {
                Placement::Local if !self.node.serve.contains(name) => {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.at is \"local\" but node.serve does not list {name}"
                    )));
                }
                Placement::Tcp(_) | Placement::Quic(_) if self.node.serve.contains(name) => {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.at places {name} on another node, but node.serve \
                         also hosts it here"
                    )));
                }
                Placement::Tcp(at) => at.endpoint().check().map_err(|error| {
                    ConfigError::Invalid(format!("services.{name}.at: {error}"))
                })?,
                _ if section.pool.is_some() => {
                    return Err(ConfigError::Invalid(format!(
                        "services.{name}.pool applies to a service reached over tcp only"
                    )));
                }
                Placement::Quic(endpoint) => endpoint.check().map_err(|error| {
                    ConfigError::Invalid(format!("services.{name}.at: {error}"))
                })?,
                Placement::Local | Placement::Several(_) => {}
            }
        }
        if let Some(listen) = &self.node.listen {
            if listen.tcp.is_none() && listen.quic.is_none() {
                return Err(ConfigError::Invalid(
                    "node.listen names neither tcp nor quic".into(),
                ));
            }
            if let Some(tcp) = &listen.tcp {
                tcp.config()
                    .check()
                    .map_err(|error| ConfigError::Invalid(format!("node.listen.tcp: {error}")))?;
            }
            if let Some(quic) = &listen.quic {
                quic.check()
                    .map_err(|error| ConfigError::Invalid(format!("node.listen.quic: {error}")))?;
            }
        }
        Ok(())
    }

    /// Whether `service` is hosted here or placed on another node.
    pub fn reachable(&self, service: ServiceName) -> bool {
        self.node.serve.contains(&service) || self.remote(service).is_some()
    }

    /// How a service placed on another node is reached (the first node, for one placed on
    /// several).
    pub fn remote(&self, service: ServiceName) -> Option<RemoteAt> {
        self.remotes(service).into_iter().next()
    }

    /// How each node a service is placed on is reached: none when it is local, one, or
    /// several (the models service).
    pub fn remotes(&self, service: ServiceName) -> Vec<RemoteAt> {
        self.services
            .get(&service)
            .map_or_else(Vec::new, |section| section.at.remotes())
    }

    /// The section of a service: its own, or the defaults.
    pub fn service(&self, name: ServiceName) -> ServiceSection {
        self.services.get(&name).cloned().unwrap_or_default()
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.node.shutdown_grace_ms)
    }

    /// The datasets settings this node runs with: `[datasets]` as written, except that a
    /// node listening for other nodes (`node.listen`) with no `import_roots` set reads no
    /// server-side files for its callers (`import_roots = []`): they upload their files. A
    /// node without a listener keeps reading any path it is given, as the CLI needs.
    pub fn datasets_settings(&self) -> DatasetsConfig {
        let mut settings = self.datasets.clone();
        if settings.import_roots.is_none() && self.node.listen.is_some() {
            settings.import_roots = Some(Vec::new());
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_parses() {
        let config = NodeConfig::parse(
            r#"
            [node]
            name = "main"
            serve = ["datasets"]
            in_process = "channel"

            [services.datasets]
            at = "local"
            max_in_flight = 64
            restart = { max_restarts = 2, window_ms = 500 }

            [datasets]
            data_dir = "/tmp/x"
            "#,
        )
        .unwrap();
        assert_eq!(config.node.in_process, InProcess::Channel);
        let section = config.service(ServiceName::Datasets);
        assert_eq!(section.max_in_flight, 64);
        assert_eq!(RestartPolicy::from(section.restart).max_restarts, 2);
        assert_eq!(config.datasets.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = NodeConfig::parse("[node]\nnmae = \"x\"\n").unwrap_err();
        assert!(error.to_string().contains("nmae"), "{error}");
    }

    #[test]
    fn an_unknown_key_inside_a_tcp_table_is_named() {
        let error = NodeConfig::parse(
            "[node]\nserve = [\"utils\"]\n[services.datasets]\nat = { tcp = { address = \"127.0.0.1:1\", tokn = \"x\" } }\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `tokn`"),
            "{error}"
        );
        let error = NodeConfig::parse(
            "[node]\nserve = [\"utils\"]\nlisten = { tcp = { listen = \"127.0.0.1:0\", max_conections = 3 } }\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("unknown field `max_conections`"),
            "{error}"
        );
        let error = NodeConfig::parse("[node]\nserve = [\"utils\"]\nlisten = { tcp = 4100 }\n")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("\"host:port\", or a table of listener settings"),
            "{error}"
        );
        // Both forms still read.
        let config = NodeConfig::parse(
            "[node]\nserve = [\"utils\"]\nlisten = { tcp = \"127.0.0.1:0\" }\n[services.datasets]\nat = { tcp = { address = \"127.0.0.1:1\", token = \"a-token-of-16-bytes\" } }\n",
        )
        .unwrap();
        assert!(matches!(
            config.node.listen.and_then(|listen| listen.tcp),
            Some(TcpListen::Address(_))
        ));
    }

    #[test]
    fn an_unknown_service_is_named() {
        let error = NodeConfig::parse("[node]\nserve = [\"modles\"]\n").unwrap_err();
        assert!(error.to_string().contains("modles"), "{error}");
    }

    #[test]
    fn a_service_without_the_services_it_calls_is_refused() {
        let error = NodeConfig::parse("[node]\nserve = [\"datasets\", \"models\"]\n").unwrap_err();
        assert!(error.to_string().contains("calls utils"), "{error}");
        assert!(error.to_string().contains("placed nowhere"), "{error}");
        let error =
            NodeConfig::parse("[node]\nserve = [\"lab\", \"utils\", \"models\"]\n").unwrap_err();
        assert!(error.to_string().contains("calls datasets"), "{error}");
    }

    #[test]
    fn services_on_other_nodes_satisfy_dependencies() {
        let config = NodeConfig::parse(
            r#"
            [node]
            serve = ["lab"]
            listen = { tcp = "127.0.0.1:0" }

            [services.datasets]
            at = { tcp = "127.0.0.1:4100" }
            [services.utils]
            at = { tcp = { address = "127.0.0.1:4100", codec = "msgpack" } }
            [services.models]
            at = { tcp = "127.0.0.1:4101" }
            pool = { max_size = 3 }
            "#,
        )
        .unwrap();
        let Some(RemoteAt::Tcp(utils)) = config.remote(ServiceName::Utils) else {
            panic!("utils is reached over TCP");
        };
        assert_eq!(utils.codec, mltools_transport::Codec::MessagePack);
        let pool = config.service(ServiceName::Models).pool.unwrap();
        assert_eq!((pool.max_size, pool.connection_timeout_ms), (3, 3000));
        assert_eq!(
            config.node.listen.unwrap().tcp.unwrap().config().listen,
            "127.0.0.1:0"
        );
        let error = NodeConfig::parse(
            "[node]\nserve = [\"utils\"]\n[services.utils]\nat = { tcp = \"127.0.0.1:1\" }\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("also hosts it here"), "{error}");
        let error = NodeConfig::parse(
            "[node]\nserve = []\n[services.utils]\nat = { tcp = \"10.1.2.3:4\" }\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("10.1.2.3:4"), "{error}");
    }

    #[test]
    fn a_listening_node_reads_no_server_side_files_unless_roots_are_set() {
        let embedded = NodeConfig::parse("[node]\nserve = [\"datasets\"]\n").unwrap();
        assert_eq!(embedded.datasets_settings().import_roots, None);
        let listening = NodeConfig::parse(
            "[node]\nserve = [\"datasets\"]\nlisten = { tcp = \"127.0.0.1:0\" }\n",
        )
        .unwrap();
        assert_eq!(listening.datasets_settings().import_roots, Some(Vec::new()));
        let rooted = NodeConfig::parse(
            "[node]\nserve = [\"datasets\"]\nlisten = { tcp = \"127.0.0.1:0\" }\n\
             [datasets]\nimport_roots = [\"/srv/data\"]\nmax_open_uploads = 4\n",
        )
        .unwrap();
        let settings = rooted.datasets_settings();
        assert_eq!(
            settings.import_roots,
            Some(vec![PathBuf::from("/srv/data")])
        );
        assert_eq!(settings.max_open_uploads, 4);
    }

    #[test]
    fn local_placement_needs_the_service_hosted() {
        let error = NodeConfig::parse("[node]\nserve = []\n[services.datasets]\nat = \"local\"\n")
            .unwrap_err();
        assert!(
            error.to_string().contains("services.datasets.at"),
            "{error}"
        );
    }
}
