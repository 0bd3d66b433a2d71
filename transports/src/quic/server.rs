//! [`QuicServer`]: one UDP socket serving every service of a [`ServiceTable`] over QUIC.
//!
//! Each arriving connection gets a *pending* slot under `max_pending_handshakes` and
//! `max_pending_per_ip` (no slot, or an address backing off after failed authentications:
//! refused at once, with a log line; above half the pending limit, a client whose address is
//! not yet validated is first sent a QUIC Retry). Then, within `handshake_timeout_ms` of its
//! arrival, the QUIC handshake — TLS 1.3, ALPN `mltools/1` (a client speaking another
//! protocol is refused), and the client's certificate when the configuration names a
//! `client_ca` — and a stream whose hello is welcomed, which trades the pending slot for an
//! admitted one under `max_connections` (see [`admission`](crate::remote::admission)). A
//! connection that gets no stream welcomed in time — it opens none, or says nothing or half
//! a hello — is closed, not just its stream. The server's own certificate
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use super::config::{QuicConfigError, QuicServerConfig, transport};
use super::explain::{self, ALPN_TEXT};
use super::stream::BiStream;
use crate::remote::admission::{Admission, ConnectionSlot, PendingSlot};
use crate::remote::budget::RequestBudget;
use crate::remote::hello::{answer_hello, preamble_framed};
use crate::remote::table::Connection;
use crate::remote::{BoxIo, ServiceTable};

/// The application close code a stopping server sends.
const SHUTTING_DOWN: u32 = 0;
/// The application close code of a connection that had no stream welcomed in time.
const NO_STREAM: u32 = 2;
/// The application close code of a connection whose hello was refused.
const REFUSED: u32 = 3;
/// The application close code of an admitted connection left with no stream.
const IDLE: u32 = 4;

/// A running QUIC listener; dropping it stops it.
#[derive(Debug)]
pub struct QuicServer {
    local_addr: SocketAddr,
    fingerprint: crate::tls::Fingerprint,
    endpoint: quinn::Endpoint,
    stop: CancellationToken,
    accepting: CancellationToken,
    tasks: TaskTracker,
    admission: Admission,
    budget: RequestBudget,
    retries: Arc<AtomicU64>,
    _stop_on_drop: DropGuard,
}

struct Shared {
    config: QuicServerConfig,
    services: ServiceTable,
    admission: Admission,
    budget: RequestBudget,
    /// Clients asked to validate their address (QUIC Retry), for observation.
    retries: Arc<AtomicU64>,
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
            config.max_concurrent_bidi_streams,
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
            admission: Admission::new(config.hardening().admission_limits()),
            budget: RequestBudget::new(config.max_in_flight_request_bytes),
            retries: Arc::new(AtomicU64::new(0)),
            config,
            services,
            tasks: tasks.clone(),
            stop: stop.clone(),
            accepting: accepting.clone(),
        });
        let admission = shared.admission.clone();
        let budget = shared.budget.clone();
        let retries = Arc::clone(&shared.retries);
        tasks.spawn(accept_loop(endpoint.clone(), shared));
        Ok(QuicServer {
            admission,
            budget,
            retries,
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

    /// The listener's budget of request bytes in flight: what requests hold now, and the
    /// most they ever held at once.
    pub fn request_budget(&self) -> &RequestBudget {
        &self.budget
    }

    /// How many arriving clients were asked to validate their address first (QUIC Retry,
    /// sent while more than half of `max_pending_handshakes` are pending).
    pub fn address_validations(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Connections pending (not yet admitted) and admitted, now.
    pub fn connections(&self) -> (usize, usize) {
        (self.admission.pending(), self.admission.admitted())
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
    let pending = shared.admission.pending();
    if pending > shared.config.max_pending_handshakes / 2
        && !incoming.remote_address_validated()
        && incoming.may_retry()
    {
        // Under load, a handshake is only started for a client that proves it receives at
        // its address: a spoofed flood costs a Retry packet each, no state.
        tracing::debug!(%peer, pending, "asked a client to validate its address (QUIC Retry)");
        shared.retries.fetch_add(1, Ordering::Relaxed);
        if let Err(error) = incoming.retry() {
            error.into_incoming().refuse();
        }
        return;
    }
    let slot = match shared.admission.arrive(peer.ip()) {
        Ok(slot) => slot,
        Err(reason) => {
            tracing::warn!(%peer, %reason, "refused a connection at arrival");
            incoming.refuse();
            return;
        }
    };
    let task_shared = Arc::clone(shared);
    shared.tasks.spawn(async move {
        serve_connection(incoming, peer, slot, &task_shared).await;
    });
}

/// The QUIC handshake and a welcomed stream, both within the handshake timeout of arrival,
/// then every stream the client opens, until the connection ends or the server stops.
async fn serve_connection(
    incoming: quinn::Incoming,
    peer: SocketAddr,
    pending: PendingSlot,
    shared: &Arc<Shared>,
) {
    let admit_by = tokio::time::Instant::now() + shared.config.handshake_timeout();
    let connecting = match incoming.accept() {
        Ok(connecting) => connecting,
        Err(error) => {
            tracing::warn!(%peer, reason = %explain::server_side(&error), "refused a connection");
            return;
        }
    };
    let outcome = tokio::select! {
        () = shared.stop.cancelled() => return,
        outcome = tokio::time::timeout_at(admit_by, connecting) => outcome,
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
    serve_streams(
        connection,
        peer,
        ConnectionSlot::new(pending),
        admit_by,
        shared,
    )
    .await;
}

/// Every stream the client opens. Until a stream is welcomed the connection is pending: if
/// none is by `admit_by`, the connection is closed (a connection that opens streams and says
/// nothing on them cannot hold its slot).
async fn serve_streams(
    connection: quinn::Connection,
    peer: SocketAddr,
    slot: ConnectionSlot,
    admit_by: tokio::time::Instant,
    shared: &Arc<Shared>,
) {
    let slot = Arc::new(slot);
    let admitted = slot.admitted().clone();
    // This connection's streams, and their waits for the client's acknowledgements.
    let streams = TaskTracker::new();
    // An admitted connection left with no stream (its streams idled out or ended) is closed
    // after `idle_timeout_ms` with none: the client's keep-alive answers would otherwise hold
    // its slot for ever.
    let idle_timeout = Duration::from_millis(shared.config.idle_timeout_ms);
    let mut idle_check = tokio::time::interval_at(admit_by + idle_timeout, idle_timeout);
    let mut empty_at_last_check = false;
    loop {
        let accepted = tokio::select! {
            _ = idle_check.tick() => {
                let empty = streams.is_empty();
                if empty && empty_at_last_check && admitted.is_cancelled() {
                    tracing::info!(
                        %peer,
                        idle_timeout_ms = shared.config.idle_timeout_ms,
                        "closed a connection with no stream open"
                    );
                    connection.close(IDLE.into(), b"no stream open");
                    break;
                }
                empty_at_last_check = empty;
                continue;
            }
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
            () = tokio::time::sleep_until(admit_by), if !admitted.is_cancelled() => {
                if admitted.is_cancelled() {
                    continue;
                }
                tracing::warn!(
                    %peer,
                    timeout_ms = shared.config.handshake_timeout_ms,
                    "closed a connection that had no stream welcomed in time (no stream, or no complete hello)"
                );
                connection.close(NO_STREAM.into(), b"no stream welcomed in time");
                break;
            }
            accepted = connection.accept_bi() => accepted,
        };
        match accepted {
            Ok((send, recv)) => {
                let stream_shared = Arc::clone(shared);
                let stream = BiStream::lingering_on(send, recv, streams.clone());
                let stream_slot = Arc::clone(&slot);
                let stream_connection = connection.clone();
                shared.tasks.spawn(streams.track_future(async move {
                    serve_stream(
                        stream,
                        peer,
                        &stream_slot,
                        &stream_connection,
                        &stream_shared,
                    )
                    .await;
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

/// One stream: the hello, then the service it asked for. A refused hello on a connection not
/// yet admitted closes the connection.
async fn serve_stream(
    stream: BiStream,
    peer: SocketAddr,
    slot: &ConnectionSlot,
    connection: &quinn::Connection,
    shared: &Shared,
) {
    let io: BoxIo = Box::new(stream);
    let mut framed = preamble_framed(io, format!("peer {peer}"));
    let max_frame_bytes = shared.config.max_frame_bytes;
    let token = shared.config.token.as_ref();
    let hello = answer_hello(&mut framed, max_frame_bytes, |hello| {
        shared
            .services
            .admit_hello(hello, token, slot, &shared.admission, peer.ip())
    });
    let outcome = tokio::select! {
        () = shared.stop.cancelled() => return,
        outcome = tokio::time::timeout(shared.config.handshake_timeout(), hello) => outcome,
    };
    let admitted = match outcome {
        Ok(Ok(admitted)) => admitted,
        Ok(Err(reason)) => {
            tracing::warn!(%peer, %reason, "refused a stream");
            if !slot.admitted().is_cancelled() {
                // Let the refusal reach the client before the connection closes.
                drop(framed);
                let _ =
                    tokio::time::timeout(shared.config.handshake_timeout(), connection.closed())
                        .await;
                connection.close(REFUSED.into(), b"refused");
            }
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
    let hardening = shared.config.hardening();
    let connection = Connection {
        framed,
        codec: admitted.codec,
        peer: peer.to_string().into(),
        max_requests: shared.config.max_requests_per_connection,
        handlers: shared.tasks.clone(),
        stop: shared.stop.clone(),
        frame_timeout: Duration::from_millis(hardening.frame_timeout_ms),
        idle_timeout: Duration::from_millis(hardening.idle_timeout_ms),
        max_deadline: Duration::from_millis(hardening.max_deadline_ms),
        budget: shared.budget.clone(),
    };
    shared.services.serve(&admitted.service, connection).await;
}
