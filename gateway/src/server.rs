//! The gateway's listener: accepts connections (up to `max_connections`), finishes TLS
//! within the header timeout, serves HTTP/1.1 on each with the router, and shuts down
//! gracefully (no new connections, requests in flight finish, event streams end).

use crate::auth::{Auth, Peer, require_token};
use crate::config::{GatewayConfig, GatewayConfigError};
use crate::problem::{no_route, problem_for_bare_errors};
use crate::routes::{self, AppState};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use mltools_transport::tcp::check_plaintext;
use mltools_transport::{DatasetsClient, LabClient, ModelsClient};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// The services a gateway calls, each through its client; a service left `None` answers
/// 503 naming it.
#[derive(Debug, Clone, Default)]
pub struct GatewayServices {
    /// The datasets service.
    pub datasets: Option<DatasetsClient>,
    /// The models service.
    pub models: Option<ModelsClient>,
    /// The lab.
    pub lab: Option<LabClient>,
}

/// A gateway that cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// A setting is out of range, or the token or TLS keys are unusable.
    #[error(transparent)]
    Config(#[from] GatewayConfigError),
    /// The address cannot be resolved or bound, or is refused for plaintext.
    #[error("gateway: cannot listen on {address}: {message}")]
    Listen {
        /// The address as configured.
        address: String,
        /// Why.
        message: String,
    },
}

/// A running gateway.
#[derive(Debug)]
pub struct Gateway {
    local_addr: SocketAddr,
    tls: bool,
    /// Stops the accept loop.
    stop_accepting: CancellationToken,
    /// Asks every connection to finish its request in flight and close.
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Gateway {
    /// Checks `config`, binds its address and starts serving `services`. Needs a tokio
    /// runtime.
    ///
    /// # Errors
    /// [`GatewayError`]: a setting out of range, TLS files that cannot be used, plaintext
    /// on an address that is not loopback (without `insecure`), an address in use.
    pub async fn bind(
        config: GatewayConfig,
        services: GatewayServices,
    ) -> Result<Gateway, GatewayError> {
        config.check()?;
        let failed = |message: String| GatewayError::Listen {
            address: config.listen.clone(),
            message,
        };
        let address = tokio::net::lookup_host(&config.listen)
            .await
            .map_err(|error| failed(error.to_string()))?
            .next()
            .ok_or_else(|| failed("it resolves to no address".to_owned()))?;
        check_plaintext(
            &config.listen,
            address.ip(),
            config.tls.is_some(),
            config.insecure,
        )
        .map_err(|error| failed(error.to_string()))?;
        let acceptor = match &config.tls {
            Some(tls) => {
                let server = mltools_transport::tls::server_config(tls, &config.listen)
                    .map_err(GatewayConfigError::from)?;
                let mut rustls = (*server.config).clone();
                rustls.alpn_protocols = vec![b"http/1.1".to_vec()];
                Some(TlsAcceptor::from(Arc::new(rustls)))
            }
            None => None,
        };
        let listener = TcpListener::bind(address)
            .await
            .map_err(|error| failed(error.to_string()))?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| failed(error.to_string()))?;
        let shutdown = CancellationToken::new();
        let stop_accepting = CancellationToken::new();
        let tasks = TaskTracker::new();
        let config = Arc::new(config);
        let state = AppState {
            datasets: services.datasets,
            models: services.models,
            lab: services.lab,
            config: config.clone(),
            shutdown: shutdown.clone(),
        };
        let app = router(state, &config);
        let accept = Accept {
            listener,
            acceptor,
            app,
            slots: Arc::new(Semaphore::new(config.max_connections)),
            max_connections: config.max_connections,
            per_address: PerAddress::new(config.max_connections_per_ip),
            header_timeout: config.header_timeout(),
            stop: stop_accepting.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        };
        tasks.spawn(accept.run());
        tracing::info!(address = %local_addr, tls = config.tls.is_some(), "gateway listening");
        Ok(Gateway {
            local_addr,
            tls: config.tls.is_some(),
            stop_accepting,
            shutdown,
            tasks,
        })
    }

    /// The address the gateway is bound to (the actual port when the config asked for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether it serves HTTPS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Stops accepting connections; the open ones go on.
    pub fn stop_accepting(&self) {
        self.stop_accepting.cancel();
    }

    /// Stops accepting, asks every connection to finish its request in flight and close,
    /// ends event streams, and waits up to `grace`. Returns whether everything ended.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.stop_accepting.cancel();
        self.shutdown.cancel();
        self.tasks.close();
        tokio::time::timeout(grace, self.tasks.wait()).await.is_ok()
    }
}

/// The routes, their limits and timeouts, authentication, and problem+json for every
/// error.
fn router(state: AppState, config: &GatewayConfig) -> Router {
    let auth = Auth::new(
        config.token.clone(),
        config.max_auth_failures,
        Duration::from_millis(config.auth_backoff_ms),
    );
    let body_limit = usize::try_from(config.max_body_bytes).unwrap_or(usize::MAX);
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, config.request_timeout());
    // JSON calls: small bodies, the request timeout.
    let calls = Router::new()
        .route("/v1/datasets", get(routes::list_datasets))
        .route(
            "/v1/datasets/{dataset}",
            get(routes::get_dataset).delete(routes::delete_dataset),
        )
        .route("/v1/datasets/{dataset}/rows", get(routes::dataset_rows))
        .route(
            "/v1/datasets/{dataset}/description",
            get(routes::describe_dataset),
        )
        .route("/v1/algorithms", get(routes::algorithms))
        .route("/v1/compare", post(routes::compare))
        .route("/v1/jobs", get(routes::list_jobs))
        .route("/v1/jobs/{job}", get(routes::job_status))
        .route("/v1/jobs/{job}/cancel", post(routes::cancel_job))
        .route("/v1/jobs/{job}/events", get(routes::job_events))
        .route("/v1/jobs/{job}/report", get(routes::job_report))
        .route("/v1/jobs/{job}/plots/{index}", get(routes::job_plot))
        .route("/v1/reports/{job}", get(routes::report_page))
        .route("/v1/models", get(routes::list_models))
        .route(
            "/v1/models/{model}",
            get(routes::get_model).delete(routes::delete_model),
        )
        .route("/v1/models/{model}/predict", post(routes::predict))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(timeout);
    // Uploads: bodies streamed to the datasets service, checked against
    // `max_upload_bytes` as they arrive; their own, longer timeout.
    let uploads = Router::new()
        .route("/v1/datasets", post(routes::import_dataset))
        .route(
            "/v1/datasets/{dataset}/versions",
            post(routes::update_dataset).get(routes::dataset_versions),
        )
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            config.upload_timeout(),
        ));
    let protected = calls
        .merge(uploads)
        .route_layer(middleware::from_fn_with_state(auth, require_token));
    Router::new()
        .route("/v1/health", get(routes::health))
        .route("/v1/openapi.json", get(crate::openapi::document))
        .merge(protected)
        .fallback(no_route)
        .with_state(state)
        .layer(middleware::from_fn(problem_for_bare_errors))
}

/// The accept loop and what each connection needs.
struct Accept {
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    app: Router,
    slots: Arc<Semaphore>,
    max_connections: usize,
    per_address: PerAddress,
    header_timeout: Duration,
    stop: CancellationToken,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Accept {
    async fn run(self) {
        loop {
            let accepted = tokio::select! {
                () = self.stop.cancelled() => return,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: the listener stays, the next accept
                    // may succeed once a connection closes.
                    tracing::warn!(%error, "gateway: accept failed");
                    tokio::select! {
                        () = self.stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    }
                }
            };
            let Some(address_slot) = self.per_address.take(peer.ip()) else {
                tracing::warn!(%peer, max_connections_per_ip = self.per_address.max,
                    "gateway: this address holds its limit of connections; closing a new one");
                continue;
            };
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                tracing::warn!(%peer, max_connections = self.max_connections,
                    "gateway: at its limit of connections; closing a new one");
                continue;
            };
            let connection = Connection {
                app: self.app.clone(),
                peer,
                header_timeout: self.header_timeout,
                shutdown: self.shutdown.clone(),
            };
            let acceptor = self.acceptor.clone();
            self.tasks.spawn(async move {
                connection.serve(stream, acceptor).await;
                drop((slot, address_slot));
            });
        }
    }
}

/// The connections each address holds: an IPv4 address, or an IPv6 /64 (what one host
/// usually gets).
#[derive(Debug, Clone)]
struct PerAddress {
    max: usize,
    held: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>>,
}

/// One connection of an address, given back when dropped.
struct AddressSlot {
    held: Arc<std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>>,
    key: IpAddr,
}

impl PerAddress {
    fn new(max: usize) -> PerAddress {
        PerAddress {
            max,
            held: Arc::default(),
        }
    }

    fn key(ip: IpAddr) -> IpAddr {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
            v4 => v4,
        }
    }

    /// A slot for `ip`, unless it holds its limit already.
    fn take(&self, ip: IpAddr) -> Option<AddressSlot> {
        let key = PerAddress::key(ip);
        let mut held = self.held.lock().ok()?;
        let count = held.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            held: self.held.clone(),
            key,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Ok(mut held) = self.held.lock()
            && let Some(count) = held.get_mut(&self.key)
        {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.key);
            }
        }
    }
}

/// One accepted connection.
struct Connection {
    app: Router,
    peer: SocketAddr,
    header_timeout: Duration,
    shutdown: CancellationToken,
}

impl Connection {
    async fn serve(self, stream: TcpStream, acceptor: Option<TlsAcceptor>) {
        let _ = stream.set_nodelay(true);
        match acceptor {
            None => self.http(TokioIo::new(stream)).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => self.http(TokioIo::new(tls)).await,
                    Ok(Err(error)) => tracing::debug!(peer = %self.peer, %error,
                        "gateway: TLS handshake failed"),
                    Err(_) => tracing::debug!(peer = %self.peer,
                        "gateway: TLS handshake timed out"),
                }
            }
        }
    }

    async fn http<I>(self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let peer = self.peer;
        let app = self.app;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(Peer(peer));
            let mut app = app.clone();
            async move { tower_service::Service::call(&mut app, request).await }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "gateway: connection ended with an error");
                }
            }
            () = self.shutdown.cancelled() => {
                connection.as_mut().graceful_shutdown();
                let _ = connection.await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_at_most_its_slots_and_gets_them_back() {
        let limit = PerAddress::new(2);
        let one: IpAddr = "10.0.0.1".parse().unwrap();
        let first = limit.take(one).unwrap();
        let _second = limit.take(one).unwrap();
        assert!(limit.take(one).is_none());
        assert!(limit.take("10.0.0.2".parse().unwrap()).is_some());
        drop(first);
        assert!(limit.take(one).is_some());
        // One IPv6 /64 is one address.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let _a = limit.take(a).unwrap();
        let _b = limit.take(b).unwrap();
        assert!(limit.take("2001:db8::3".parse().unwrap()).is_none());
    }
}
