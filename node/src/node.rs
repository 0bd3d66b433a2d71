//! [`Node`]: the services of one process, started, supervised and wired to their clients.

use crate::config::{InProcess, NodeConfig, RemoteAt, ServiceSection};
use mltools_core::ServiceName;
use mltools_core::datasets::Datasets as _;
use mltools_core::lab::Lab as _;
use mltools_core::models::Models as _;
use mltools_core::utils::Utils as _;
use mltools_datasets::{DatasetsServer, DatasetsState};
use mltools_gateway::{Gateway, GatewayConfig, GatewayServices};
use mltools_lab::{LabClients, LabServer, LabState};
use mltools_models::{ModelsServer, ModelsState};
use mltools_transport::quic::QuicServer;
use mltools_transport::tcp::TcpServer;
use mltools_transport::{
    ChildHandle, Client, DatasetsClient, Gate, LabClient, LinkStatus, ModelsClient, Service,
    ServiceTable, Supervisor, UtilsClient,
};
use mltools_utils::{UtilsServer, UtilsState};
use std::path::PathBuf;
use std::time::Duration;
use tarpc::RequestName;

/// A node that cannot start, or a service it does not host.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// A service failed to start.
    #[error("node `{node}`: the {service} service failed to start: {message}")]
    Start {
        /// The node.
        node: String,
        /// The service.
        service: ServiceName,
        /// Why.
        message: String,
    },
    /// The TCP listener could not be opened (the address is named).
    #[error("node `{node}`: cannot listen: {message}")]
    Listen {
        /// The node.
        node: String,
        /// Why, naming the address.
        message: String,
    },
    /// The HTTP gateway could not start (the message names the setting or the address).
    #[error("node `{node}`: {source}")]
    Gateway {
        /// The node.
        node: String,
        /// Why.
        source: mltools_gateway::GatewayError,
    },
    /// A service placed on another node cannot be reached at start-up.
    #[error("node `{node}`: the {service} service at {address} cannot be reached: {reason}")]
    Unreachable {
        /// The node.
        node: String,
        /// The service.
        service: ServiceName,
        /// Where it was looked for.
        address: String,
        /// Why.
        reason: String,
    },
    /// A client was asked for a service this node does not host.
    #[error(
        "node `{node}` neither hosts nor reaches the {service} service (node.serve lists: {hosted})"
    )]
    NotHosted {
        /// The node.
        node: String,
        /// The service asked for.
        service: ServiceName,
        /// What the node hosts.
        hosted: String,
    },
}

/// Builds a [`Node`] from a configuration.
#[derive(Debug, Clone, Default)]
pub struct NodeBuilder {
    config: NodeConfig,
}

impl NodeBuilder {
    /// A builder with this configuration.
    pub fn from_config(config: NodeConfig) -> Self {
        NodeBuilder { config }
    }

    /// Sets the directory where services keep their data (the datasets database, the
    /// models registry and the lab's comparisons).
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.config.lab.data_dir = Some(dir.clone());
        self.config.models.data_dir = dir.clone();
        self.config.datasets.data_dir = dir;
        self
    }

    /// Sets how in-process clients reach the hosted services.
    pub fn in_process(mut self, in_process: InProcess) -> Self {
        self.config.node.in_process = in_process;
        self
    }

    /// Serves an HTTP/JSON gateway to the services this node hosts or reaches (see
    /// [`mltools_gateway`]).
    pub fn gateway(mut self, gateway: GatewayConfig) -> Self {
        self.config.gateway = Some(gateway);
        self
    }

    /// The configuration so far.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// Checks the configuration, opens each hosted service's state and starts serving.
    /// Needs a tokio runtime.
    ///
    /// # Errors
    /// An invalid configuration, or a service whose state cannot be opened (naming the
    /// service and, for example, the data directory).
    pub async fn start(self) -> Result<Node, NodeError> {
        let config = self.config;
        config.validate()?;
        let supervisor = Supervisor::new();
        let mut node = Node {
            supervisor,
            gates: Vec::new(),
            table: ServiceTable::new(),
            server: None,
            quic_server: None,
            gateway: None,
            datasets: None,
            utils: None,
            models: None,
            models_nodes: Vec::new(),
            lab: None,
            datasets_state: None,
            models_state: None,
            lab_state: None,
            children: Vec::new(),
            config,
        };
        node.connect_remote_services().await?;
        if node.config.node.serve.contains(&ServiceName::Datasets) {
            node.start_datasets().await?;
        }
        if node.config.node.serve.contains(&ServiceName::Utils) {
            node.start_utils()?;
        }
        if node.config.node.serve.contains(&ServiceName::Models) {
            node.start_models().await?;
        }
        if node.config.node.serve.contains(&ServiceName::Lab) {
            node.start_lab()?;
        }
        node.listen().await?;
        node.start_gateway().await?;
        tracing::info!(
            node = %node.config.node.name,
            serve = ?node.config.node.serve,
            in_process = ?node.config.node.in_process,
            listen = ?node.listen_addr(),
            "node started"
        );
        Ok(node)
    }
}

/// The services hosted in this process, and clients to reach them.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use mltools_core::RpcResultExt;
/// use mltools_core::datasets::{Builtin, ImportRequest, Source};
/// use mltools_node::Node;
///
/// let node = Node::builder().data_dir("./.mltools").start().await?;
/// let datasets = node.datasets()?;
/// let request = ImportRequest::new(Source::Builtin { name: Builtin::Iris });
/// let info = datasets
///     .import(tarpc::context::current(), request)
///     .await
///     .into_service("datasets")?;
/// println!("{} rows", info.rows);
/// node.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Node {
    config: NodeConfig,
    supervisor: Supervisor,
    gates: Vec<Gate>,
    /// The hosted services, as the TCP listener serves them.
    table: ServiceTable,
    server: Option<TcpServer>,
    quic_server: Option<QuicServer>,
    gateway: Option<Gateway>,
    datasets: Option<DatasetsClient>,
    utils: Option<UtilsClient>,
    models: Option<ModelsClient>,
    /// Every models node, when the service is placed on several (the first is `models`).
    models_nodes: Vec<ModelsClient>,
    lab: Option<LabClient>,
    datasets_state: Option<DatasetsState>,
    models_state: Option<ModelsState>,
    lab_state: Option<LabState>,
    children: Vec<ChildHandle>,
}

impl Node {
    /// A builder with the default configuration (every service hosted, direct calls, data
    /// in `./.mltools`).
    pub fn builder() -> NodeBuilder {
        NodeBuilder::default()
    }

    /// The node's configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// A client of the datasets service.
    ///
    /// # Errors
    /// [`NodeError::NotHosted`] when this node does not host it.
    pub fn datasets(&self) -> Result<DatasetsClient, NodeError> {
        self.datasets
            .clone()
            .ok_or_else(|| self.not_hosted(ServiceName::Datasets))
    }

    /// A client of the utils service.
    ///
    /// # Errors
    /// [`NodeError::NotHosted`] when this node does not host it.
    pub fn utils(&self) -> Result<UtilsClient, NodeError> {
        self.utils
            .clone()
            .ok_or_else(|| self.not_hosted(ServiceName::Utils))
    }

    /// A client of the models service.
    ///
    /// # Errors
    /// [`NodeError::NotHosted`] when this node does not host it.
    pub fn models(&self) -> Result<ModelsClient, NodeError> {
        self.models
            .clone()
            .ok_or_else(|| self.not_hosted(ServiceName::Models))
    }

    /// A client of every models node: the one `models` reaches, or each node the service is
    /// placed on when it is placed on several (`[services.models] at = [...]`).
    ///
    /// # Errors
    /// [`NodeError::NotHosted`] when this node reaches no models service.
    pub fn models_nodes(&self) -> Result<Vec<ModelsClient>, NodeError> {
        if self.models_nodes.is_empty() {
            return Ok(vec![self.models()?]);
        }
        Ok(self.models_nodes.clone())
    }

    /// A client of the lab.
    ///
    /// # Errors
    /// [`NodeError::NotHosted`] when this node does not host it.
    pub fn lab(&self) -> Result<LabClient, NodeError> {
        self.lab
            .clone()
            .ok_or_else(|| self.not_hosted(ServiceName::Lab))
    }

    /// The address the node's TCP listener is bound to (the actual port when the config
    /// asked for port 0); `None` when it does not listen.
    pub fn listen_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().map(TcpServer::local_addr)
    }

    /// The UDP address the node's QUIC listener is bound to; `None` when it does not
    /// listen on QUIC.
    pub fn quic_addr(&self) -> Option<std::net::SocketAddr> {
        self.quic_server.as_ref().map(QuicServer::local_addr)
    }

    /// The address the node's HTTP gateway is bound to; `None` when it serves none.
    pub fn gateway_addr(&self) -> Option<std::net::SocketAddr> {
        self.gateway.as_ref().map(Gateway::local_addr)
    }

    /// Whether the node's HTTP gateway serves HTTPS.
    pub fn gateway_is_tls(&self) -> bool {
        self.gateway.as_ref().is_some_and(Gateway::is_tls)
    }

    /// The supervised serving tasks (one per hosted service on the channel transport; none
    /// on the direct path, which has no task to supervise).
    pub fn children(&self) -> &[ChildHandle] {
        &self.children
    }

    /// Stops the node: every hosted service refuses new calls (as `Unavailable`), the calls
    /// already admitted get up to the configured grace period to end, then every task is
    /// cancelled. Returns whether everything ended within the grace period.
    pub async fn shutdown(self) -> bool {
        let grace = self.config.shutdown_grace();
        self.shutdown_within(grace).await
    }

    /// As [`Node::shutdown`], with an explicit grace period.
    pub async fn shutdown_within(self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        // Other nodes and HTTP clients first: no new connections (calls on the open ones
        // go on, and their answers travel back on them).
        if let Some(gateway) = &self.gateway {
            gateway.stop_accepting();
        }
        if let Some(server) = &self.server {
            server.stop_accepting();
        }
        if let Some(server) = &self.quic_server {
            server.stop_accepting();
        }
        // Long work first: comparisons and models jobs are cancelled and awaited while the
        // services they call still answer.
        let mut jobs_ended = true;
        if let Some(lab) = &self.lab_state {
            jobs_ended &= lab.shutdown(grace).await;
        }
        if let Some(models) = &self.models_state {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            jobs_ended &= tokio::time::timeout(remaining, models.shutdown())
                .await
                .is_ok();
        }
        for gate in &self.gates {
            gate.close();
        }
        let calls = async {
            for gate in &self.gates {
                gate.wait().await;
            }
        };
        let calls_ended = tokio::time::timeout_at(deadline, calls).await.is_ok();
        // HTTP requests end with the calls they made; event streams end now.
        let mut gateway_ended = true;
        if let Some(gateway) = &self.gateway {
            let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
            gateway_ended = gateway.shutdown(remaining).await;
        }
        // The admitted calls have ended: each connection writes their last answers, then
        // closes.
        if let Some(server) = &self.server {
            server.shutdown();
        }
        if let Some(server) = &self.quic_server {
            server.shutdown();
        }
        // Blocking work (an import's parsing, a write's commit) can outlive the call that
        // started it: wait for it too, so the database is left between transactions.
        let mut work_ended = true;
        if let Some(datasets) = &self.datasets_state {
            datasets.close();
            work_ended = tokio::time::timeout_at(deadline, datasets.idle())
                .await
                .is_ok();
        }
        if let Some(server) = &self.server {
            work_ended &= tokio::time::timeout_at(deadline, server.wait())
                .await
                .is_ok();
        }
        if let Some(server) = &self.quic_server {
            work_ended &= tokio::time::timeout_at(deadline, server.wait())
                .await
                .is_ok();
        }
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        let clean = self.supervisor.shutdown(remaining).await
            && calls_ended
            && jobs_ended
            && work_ended
            && gateway_ended;
        if !clean {
            tracing::warn!(node = %self.config.node.name, ?grace, "tasks still running after the grace period");
        }
        clean
    }

    async fn start_datasets(&mut self) -> Result<(), NodeError> {
        let name = ServiceName::Datasets;
        let section = self.config.service(name);
        // Opening runs migrations and scans the data directory: not on a runtime thread.
        let config = self.config.datasets_settings();
        if config.import_roots.as_ref().is_some_and(Vec::is_empty) {
            tracing::info!(
                node = %self.config.node.name,
                "this node listens for other nodes and has no `[datasets] import_roots`: \
                 it reads no server-side files for callers (they upload theirs)"
            );
        }
        let state = tokio::task::spawn_blocking(move || DatasetsState::open(config))
            .await
            .map_err(|error| self.start_error(name, error))?
            .map_err(|error| self.start_error(name, error))?;
        let service = mltools_transport::service!(
            "datasets",
            section.limits(),
            DatasetsServer::new(state.clone()).serve()
        );
        let client = self.host(service, &section);
        self.datasets = Some(DatasetsClient::from(client));
        self.datasets_state = Some(state);
        Ok(())
    }

    fn start_utils(&mut self) -> Result<(), NodeError> {
        let name = ServiceName::Utils;
        let section = self.config.service(name);
        let state = UtilsState::new(self.config.utils.clone())
            .map_err(|error| self.start_error(name, error))?;
        let service =
            mltools_transport::service!("utils", section.limits(), UtilsServer::new(state).serve());
        let client = self.host(service, &section);
        self.utils = Some(UtilsClient::from(client));
        Ok(())
    }

    async fn start_models(&mut self) -> Result<(), NodeError> {
        let name = ServiceName::Models;
        let section = self.config.service(name);
        let utils = self.utils()?;
        // Stored rows are read from datasets when this node reaches it (placed anywhere).
        let datasets = self.datasets.clone();
        let config = self.config.models.clone();
        // Opening creates the registry database: not on a runtime thread.
        let state = tokio::task::spawn_blocking(move || ModelsState::open(config, utils, datasets))
            .await
            .map_err(|error| self.start_error(name, error))?
            .map_err(|error| self.start_error(name, error))?;
        let service = mltools_transport::service!(
            "models",
            section.limits(),
            ModelsServer::new(state.clone()).serve()
        );
        let client = self.host(service, &section);
        self.models = Some(ModelsClient::from(client));
        self.models_state = Some(state);
        Ok(())
    }

    fn start_lab(&mut self) -> Result<(), NodeError> {
        let section = self.config.service(ServiceName::Lab);
        let clients = LabClients {
            datasets: self.datasets()?,
            utils: self.utils()?,
            models: self.models()?,
            models_nodes: self.models_nodes()?,
        };
        let mut config = self.config.lab.clone();
        if config.data_dir.is_none() {
            config.data_dir = Some(self.config.models.data_dir.clone());
        }
        let state = LabState::open(clients, config)
            .map_err(|error| self.start_error(ServiceName::Lab, error))?;
        let service = mltools_transport::service!(
            "lab",
            section.limits(),
            LabServer::new(state.clone()).serve()
        );
        let client = self.host(service, &section);
        self.lab = Some(LabClient::from(client));
        self.lab_state = Some(state);
        Ok(())
    }

    /// Clients of the services placed on other nodes. Each waits for its first dial: an
    /// address that cannot be reached, or that refuses this node, is a start-up error
    /// naming the service and the reason; later outages are redialled by the client.
    async fn connect_remote_services(&mut self) -> Result<(), NodeError> {
        for name in ServiceName::ALL {
            if name == ServiceName::Models && self.config.remotes(name).len() > 1 {
                let mut nodes = Vec::new();
                for endpoint in self.config.remotes(name) {
                    nodes.push(ModelsClient::from(self.dial(name, endpoint).await?));
                }
                self.models = nodes.first().cloned();
                self.models_nodes = nodes;
                continue;
            }
            let Some(endpoint) = self.config.remote(name) else {
                continue;
            };
            match name {
                ServiceName::Datasets => {
                    self.datasets = Some(self.dial(name, endpoint).await?.into());
                }
                ServiceName::Utils => self.utils = Some(self.dial(name, endpoint).await?.into()),
                ServiceName::Models => self.models = Some(self.dial(name, endpoint).await?.into()),
                ServiceName::Lab => self.lab = Some(self.dial(name, endpoint).await?.into()),
            }
        }
        Ok(())
    }

    /// A client of `service` at `endpoint`, once its first dial has succeeded.
    async fn dial<Req, Resp>(
        &self,
        service: ServiceName,
        endpoint: RemoteAt,
    ) -> Result<Client<Req, Resp>, NodeError>
    where
        Req: RequestName + serde::Serialize + Send + Sync + 'static,
        Resp: serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        let address = endpoint.address().to_owned();
        let pooled = match (&endpoint, self.config.service(service).pool) {
            (RemoteAt::Tcp(tcp), Some(pool)) => Some((tcp.clone(), pool)),
            _ => None,
        };
        let unreachable = |reason: String| NodeError::Unreachable {
            node: self.config.node.name.clone(),
            service,
            address: address.clone(),
            reason,
        };
        let patience = Duration::from_millis(endpoint.first_dial_ms() + 1_000);
        let client = match endpoint {
            RemoteAt::Tcp(endpoint) => Client::tcp(service.as_str(), endpoint)
                .map_err(|error| unreachable(error.to_string()))?,
            RemoteAt::Quic(endpoint) => Client::quic(service.as_str(), endpoint)
                .map_err(|error| unreachable(error.to_string()))?,
        };
        if let Some(remote) = client.remote() {
            let first_dial = remote.wait_for(|status| !matches!(status, LinkStatus::Connecting));
            let _ = tokio::time::timeout(patience, first_dial).await;
            match remote.status() {
                LinkStatus::Connected => {}
                LinkStatus::Down { reason } => return Err(unreachable(reason)),
                LinkStatus::Connecting => {
                    return Err(unreachable(format!(
                        "no answer within {} ms",
                        patience.as_millis()
                    )));
                }
            }
        }
        // Reachable: from now on, through a pool when one is configured.
        if let Some((endpoint, pool)) = pooled {
            return Client::tcp_pooled(service.as_str(), endpoint, pool)
                .map_err(|error| unreachable(error.to_string()));
        }
        Ok(client)
    }

    /// Opens the listeners (TCP, QUIC) that serve the hosted services to other nodes.
    async fn listen(&mut self) -> Result<(), NodeError> {
        let Some(listen) = self.config.node.listen.clone() else {
            return Ok(());
        };
        let failed = |error: String| NodeError::Listen {
            node: self.config.node.name.clone(),
            message: error,
        };
        if let Some(tcp) = &listen.tcp {
            let server = TcpServer::bind(tcp.config(), self.table.clone())
                .await
                .map_err(|error| failed(error.to_string()))?;
            self.server = Some(server);
        }
        if let Some(quic) = listen.quic {
            let server = QuicServer::bind(quic, self.table.clone())
                .await
                .map_err(|error| failed(error.to_string()))?;
            self.quic_server = Some(server);
        }
        Ok(())
    }

    /// Starts the HTTP gateway when the configuration asks for one, over the clients of
    /// the services this node hosts or reaches.
    async fn start_gateway(&mut self) -> Result<(), NodeError> {
        let Some(config) = self.config.gateway.clone() else {
            return Ok(());
        };
        let services = GatewayServices {
            datasets: self.datasets.clone(),
            models: self.models.clone(),
            lab: self.lab.clone(),
        };
        let gateway =
            Gateway::bind(config, services)
                .await
                .map_err(|source| NodeError::Gateway {
                    node: self.config.node.name.clone(),
                    source,
                })?;
        self.gateway = Some(gateway);
        Ok(())
    }

    fn start_error(&self, service: ServiceName, error: impl std::fmt::Display) -> NodeError {
        NodeError::Start {
            node: self.config.node.name.clone(),
            service,
            message: error.to_string(),
        }
    }

    /// Makes a client of a hosted service over the configured in-process transport.
    fn host<Req, Resp>(
        &mut self,
        service: Service<Req, Resp>,
        section: &ServiceSection,
    ) -> Client<Req, Resp>
    where
        Req: RequestName + serde::de::DeserializeOwned + Send + Sync + 'static,
        Resp: serde::Serialize + Send + Sync + 'static,
    {
        self.gates.push(service.gate());
        self.table.insert(service.clone());
        match self.config.node.in_process {
            InProcess::Direct => Client::direct(service),
            InProcess::Channel => {
                let (client, child) = mltools_transport::channel::serve(
                    &self.supervisor,
                    section.restart.into(),
                    service,
                );
                self.children.push(child);
                client
            }
        }
    }

    fn not_hosted(&self, service: ServiceName) -> NodeError {
        let hosted: Vec<&str> = self.config.node.serve.iter().map(|s| s.as_str()).collect();
        NodeError::NotHosted {
            node: self.config.node.name.clone(),
            service,
            hosted: if hosted.is_empty() {
                "nothing".to_owned()
            } else {
                hosted.join(", ")
            },
        }
    }
}
