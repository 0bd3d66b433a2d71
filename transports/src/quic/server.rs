//! [`QuicServer`]: one UDP socket serving every service of a [`ServiceTable`] over QUIC.
//!
//! Each arriving connection gets a slot under `max_connections` (no slot: refused at once,
//! with a log line), then within `handshake_timeout_ms` the QUIC handshake: TLS 1.3, ALPN
//! `mltools/1` (a client speaking another protocol is refused), and the client's certificate
//! when the configuration names a `client_ca`; within `handshake_timeout_ms` more, its first
//! stream (a connection that opens none gives its slot back). The server's own certificate
//! comes from PEM files or is a self-signed pair kept in a directory (see
//! [`crate::tls::self_signed`]). Every bidirectional stream the client opens is one tarpc
//! channel: within `handshake_timeout_ms` its hello, then the service it asked for. A
//! refusal costs that peer its connection and a log line saying why, never the server or
//! another client.
//!
//! Stopping ([`QuicServer::shutdown`], or dropping the server) stops accepting and closes
//! every connection once the answers of its calls in flight are written and acknowledged
//! (bounded); handlers still running finish on the server's tracker ([`QuicServer::wait`]).
//! A node stopping gracefully first stops accepting ([`QuicServer::stop_accepting`]),
//! closes its services' gates and waits for the calls they admitted, then shuts down.

use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use super::config::{QuicConfigError, QuicServerConfig, transport};
use super::explain::{self, ALPN_TEXT};
use super::stream::BiStream;
use crate::remote::hello::{answer_hello, preamble_framed};
use crate::remote::table::Connection;
use crate::remote::{BoxIo, ServiceTable};

/// The application close code a stopping server sends.
const SHUTTING_DOWN: u32 = 0;
/// The application close code of a connection that opened no stream in time.
const NO_STREAM: u32 = 2;

/// A running QUIC listener; dropping it stops it.
#[derive(Debug)]
pub struct QuicServer {
    local_addr: SocketAddr,
    fingerprint: crate::tls::Fingerprint,
    endpoint: quinn::Endpoint,
    stop: CancellationToken,
    accepting: CancellationToken,
    tasks: TaskTracker,
    _stop_on_drop: DropGuard,
}

struct Shared {
    config: QuicServerConfig,
    services: ServiceTable,
    connections: Arc<Semaphore>,
    tasks: TaskTracker,
    stop: CancellationToken,
    /// Cancelled by [`QuicServer::stop_accepting`] (and by `stop`).
    accepting: CancellationToken,
}

impl QuicServer {
    /// Listens on `config.listen` (UDP) and serves `services` until stopped.
    ///
    /// # Errors
    /// A [`QuicConfigError`]: numbers out of range, TLS files that cannot be used, an
    /// address that cannot be bound.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is listening until it returns.
    pub async fn bind(
        config: QuicServerConfig,
        services: ServiceTable,
    ) -> Result<Self, QuicConfigError> {
        config.check()?;
        let tls = crate::tls::server_config(&config.tls, &config.listen)?;
        let fingerprint = tls.fingerprint;
        let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls.config)
            .map_err(|error| QuicConfigError::Quic(error.to_string()))?;
        let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        server.transport_config(transport(
            config.keep_alive_interval_ms,
            config.max_idle_timeout_ms,
        )?);
        let bind_error = |source| QuicConfigError::Bind {
            address: config.listen.clone(),
            source,
        };
        let address = tokio::net::lookup_host(&config.listen)
            .await
            .map_err(bind_error)?
            .next()
            .ok_or_else(|| QuicConfigError::BadAddress {
                address: config.listen.clone(),
            })?;
        let endpoint = quinn::Endpoint::server(server, address).map_err(bind_error)?;
        let local_addr = endpoint.local_addr().map_err(bind_error)?;
        let stop = CancellationToken::new();
        let accepting = stop.child_token();
        let tasks = TaskTracker::new();
        tracing::info!(
            address = %local_addr,
            services = ?services.names(),
            mutual_tls = config.tls.client_ca.is_some(),
            "listening (QUIC)"
        );
        let shared = Arc::new(Shared {
            connections: Arc::new(Semaphore::new(config.max_connections)),
            config,
            services,
            tasks: tasks.clone(),
            stop: stop.clone(),
            accepting: accepting.clone(),
        });
        tasks.spawn(accept_loop(endpoint.clone(), shared));
        Ok(QuicServer {
            local_addr,
            fingerprint,
            endpoint,
            _stop_on_drop: stop.clone().drop_guard(),
            stop,
            accepting,
            tasks,
        })
    }

    /// The address the socket is bound to (the port chosen, when configured as 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections; those already admitted go on being served until
    /// [`shutdown`](Self::shutdown). A node stopping gracefully calls this first, lets the
    /// calls in flight end (its services' gates answer new ones `Unavailable`), then shuts
    /// the server down.
    pub fn stop_accepting(&self) {
        self.accepting.cancel();
    }

    /// The fingerprint of the TLS certificate presented (what pinning clients configure).
    pub fn fingerprint(&self) -> crate::tls::Fingerprint {
        self.fingerprint
    }

    /// Stops accepting and closes every connection, each once the answers of its calls in
    /// flight are written (for at most [`DRAIN`](crate::remote::DRAIN)) and acknowledged by
    /// the client; handlers still running after that go on, unanswered.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// The token that [`shutdown`](Self::shutdown) cancels.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits until the server is stopped, every task it started (accept loop, connections,
    /// handlers) has ended, and every connection's close has been sent to its peer.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait(&self) {
        self.stop.cancelled().await;
        self.tasks.close();
        self.tasks.wait().await;
        self.endpoint
            .close(SHUTTING_DOWN.into(), b"the server is shutting down");
        self.endpoint.wait_idle().await;
    }
}

impl Drop for QuicServer {
    fn drop(&mut self) {
        self.endpoint
            .close(SHUTTING_DOWN.into(), b"the server is shutting down");
    }
}

async fn accept_loop(endpoint: quinn::Endpoint, shared: Arc<Shared>) {
    let mut accepting = true;
    loop {
        let incoming = tokio::select! {
            () = shared.stop.cancelled() => break,
            () = shared.accepting.cancelled(), if accepting => {
                accepting = false;
                tracing::info!(address = ?endpoint.local_addr().ok(), "stopped accepting connections (QUIC)");
                continue;
            }
            incoming = endpoint.accept() => incoming,
        };
        match incoming {
            Some(incoming) if accepting => admit(incoming, &shared),
            // Refused at once, rather than left to time out in the endpoint's queue.
            Some(incoming) => incoming.refuse(),
            None => break,
        }
    }
    // The endpoint stays open: connections drain their answers before they close, and
    // `wait` (or dropping the server) closes it.
    tracing::info!(address = ?endpoint.local_addr().ok(), "stopped listening (QUIC)");
}

fn admit(incoming: quinn::Incoming, shared: &Arc<Shared>) {
    let peer = incoming.remote_address();
    let Ok(slot) = Arc::clone(&shared.connections).try_acquire_owned() else {
        tracing::warn!(
            %peer,
            limit = shared.config.max_connections,
            "refused a connection: at the connection limit"
        );
        incoming.refuse();
        return;
    };
    let task_shared = Arc::clone(shared);
    shared.tasks.spawn(async move {
        let _slot = slot;
        serve_connection(incoming, peer, &task_shared).await;
    });
}

/// The QUIC handshake, then every stream the client opens, until the connection ends or the
/// server stops.
async fn serve_connection(incoming: quinn::Incoming, peer: SocketAddr, shared: &Arc<Shared>) {
    let connecting = match incoming.accept() {
        Ok(connecting) => connecting,
        Err(error) => {
            tracing::warn!(%peer, reason = %explain::server_side(&error), "refused a connection");
            return;
        }
    };
    let timeout = shared.config.handshake_timeout();
    let outcome = tokio::select! {
        () = shared.stop.cancelled() => return,
        outcome = tokio::time::timeout(timeout, connecting) => outcome,
    };
    let connection = match outcome {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => {
            tracing::warn!(
                %peer,
                reason = %format!("TLS handshake failed: {}", explain::server_side(&error)),
                "refused a connection"
            );
            return;
        }
        Err(_) => {
            tracing::warn!(
                %peer,
                timeout_ms = shared.config.handshake_timeout_ms,
                "closed a connection that did not finish its handshake in time"
            );
            return;
        }
    };
    if !speaks_mltools(&connection) {
        // rustls refuses a mismatch itself; this also refuses a client that named none.
        tracing::warn!(%peer, "refused a connection: the client does not speak {ALPN_TEXT} (ALPN)");
        connection.close(1u32.into(), b"ALPN mltools/1 required");
        return;
    }
    // A connection holds a slot: one that opens no stream in time is closed, so a flood of
    // idle handshakes cannot keep the slots from real clients.
    let mut first_stream = Some(tokio::time::Instant::now() + timeout);
    // This connection's streams, and their waits for the client's acknowledgements.
    let streams = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = shared.stop.cancelled() => {
                // Each stream writes the answers of its calls in flight, then the client
                // acknowledges them; only then is the connection closed (both bounded).
                streams.close();
                let bound = crate::remote::DRAIN + super::stream::LINGER;
                if tokio::time::timeout(bound, streams.wait()).await.is_err() {
                    tracing::warn!(%peer, "closing a connection whose answers were not all acknowledged");
                }
                connection.close(SHUTTING_DOWN.into(), b"the server is shutting down");
                break;
            }
            () = async {
                match first_stream {
                    Some(deadline) => tokio::time::sleep_until(deadline).await,
                    None => std::future::pending().await,
                }
            } => {
                tracing::warn!(
                    %peer,
                    timeout_ms = shared.config.handshake_timeout_ms,
                    "closed a connection that opened no stream in time"
                );
                connection.close(NO_STREAM.into(), b"no stream opened in time");
                break;
            }
            accepted = connection.accept_bi() => accepted,
        };
        first_stream = None;
        match accepted {
            Ok((send, recv)) => {
                let stream_shared = Arc::clone(shared);
                let stream = BiStream::lingering_on(send, recv, streams.clone());
                shared.tasks.spawn(streams.track_future(async move {
                    serve_stream(stream, peer, &stream_shared).await;
                }));
            }
            Err(error) => {
                tracing::debug!(%peer, reason = %error, "the connection ended");
                break;
            }
        }
    }
}

fn speaks_mltools(connection: &quinn::Connection) -> bool {
    connection
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol)
        .is_some_and(|protocol| protocol == crate::tls::ALPN)
}

/// One stream: the hello, then the service it asked for.
async fn serve_stream(stream: BiStream, peer: SocketAddr, shared: &Shared) {
    let io: BoxIo = Box::new(stream);
    let mut framed = preamble_framed(io, format!("peer {peer}"));
    let max_frame_bytes = shared.config.max_frame_bytes;
    let token = shared.config.token.as_ref();
    let hello = answer_hello(&mut framed, max_frame_bytes, |hello| {
        shared.services.check_hello(hello, token)
    });
    let outcome = tokio::select! {
        () = shared.stop.cancelled() => return,
        outcome = tokio::time::timeout(shared.config.handshake_timeout(), hello) => outcome,
    };
    let admitted = match outcome {
        Ok(Ok(admitted)) => admitted,
        Ok(Err(reason)) => {
            tracing::warn!(%peer, %reason, "refused a stream");
            return;
        }
        Err(_) => {
            tracing::warn!(
                %peer,
                timeout_ms = shared.config.handshake_timeout_ms,
                "closed a stream that did not say hello in time"
            );
            return;
        }
    };
    let context = format!("{}, peer {peer}", admitted.service);
    framed.codec_mut().set_context(context.into());
    let connection = Connection {
        framed,
        codec: admitted.codec,
        peer: peer.to_string().into(),
        max_requests: shared.config.max_requests_per_connection,
        handlers: shared.tasks.clone(),
        stop: shared.stop.clone(),
    };
    shared.services.serve(&admitted.service, connection).await;
}
