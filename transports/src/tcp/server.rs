//! [`TcpServer`]: one listener serving every service of a [`ServiceTable`].
//!
//! Each accepted socket gets `TCP_NODELAY` (an RPC's request and answer are small writes
//! that must not wait for Nagle's algorithm) and TCP keep-alive, a *pending* slot under
//! `max_pending_handshakes` and `max_pending_per_ip` (no slot, or an address backing off
//! after failed authentications: closed at once, with a log line), then within
//! `handshake_timeout_ms` TLS (when configured) and the hello, whose welcome trades the
//! pending slot for an admitted one under `max_connections` (see
//! [`admission`](crate::remote::admission)); only an admitted connection reaches service
//! code. An admitted connection is closed when a frame begun is not finished within
//! `frame_timeout_ms`, or when it has no call in flight and sends nothing for
//! `idle_timeout_ms`. Whatever a peer sends — garbage,
//! half a frame, a length prefix over the limit, a TLS handshake with the wrong certificate —
//! costs that peer its connection and a log line naming it, never the server or another
//! client.
//!
//! Stopping ([`TcpServer::shutdown`], or dropping the server) stops accepting and closes
//! every connection once the answers of its calls in flight are written (bounded); handlers
//! still running finish on the server's tracker ([`TcpServer::wait`]). A node stopping
//! gracefully first stops accepting ([`TcpServer::stop_accepting`]), closes its services'
//! gates and waits for the calls they admitted, then shuts the server down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use super::config::{TcpConfigError, TcpServerConfig, check_plaintext};
use crate::remote::admission::{Admission, ConnectionSlot, PendingSlot};
use crate::remote::budget::RequestBudget;
use crate::remote::hello::{Admitted, answer_hello, preamble_framed};
use crate::remote::table::Connection;
use crate::remote::{BoxIo, FrameCodec, ServiceTable};

/// When an idle socket's keep-alive probes start, and how often they repeat: a peer that
/// vanished without a word is noticed in minutes, not hours.
pub(crate) const KEEPALIVE_TIME: Duration = Duration::from_secs(60);
/// See [`KEEPALIVE_TIME`].
pub(crate) const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Turns TCP keep-alive on for `stream` (best effort: a failure is logged).
pub(crate) fn set_keepalive(stream: &TcpStream, peer: &dyn std::fmt::Display) {
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_TIME)
        .with_interval(KEEPALIVE_INTERVAL);
    if let Err(error) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(%peer, %error, "could not set TCP keep-alive");
    }
}

/// How long the accept loop pauses after the system refuses an accept (out of file
/// descriptors, say), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A running TCP listener; dropping it stops it.
#[derive(Debug)]
pub struct TcpServer {
    local_addr: SocketAddr,
    #[cfg(feature = "tls")]
    fingerprint: Option<crate::tls::Fingerprint>,
    stop: CancellationToken,
    accepting: CancellationToken,
    tasks: TaskTracker,
    admission: Admission,
    budget: RequestBudget,
    _stop_on_drop: DropGuard,
}

struct Shared {
    config: TcpServerConfig,
    services: ServiceTable,
    security: Security,
    admission: Admission,
    budget: RequestBudget,
    tasks: TaskTracker,
    stop: CancellationToken,
    /// Cancelled by [`TcpServer::stop_accepting`] (and by `stop`).
    accepting: CancellationToken,
}

impl TcpServer {
    /// Listens on `config.listen` and serves `services` until stopped.
    ///
    /// # Errors
    /// A [`TcpConfigError`]: numbers out of range, plaintext on an address that is not
    /// loopback without `insecure`, TLS files that cannot be used, an address that cannot be
    /// bound.
    ///
    /// # Cancel safety
    /// Cancel safe: nothing is listening until it returns.
    pub async fn bind(
        config: TcpServerConfig,
        services: ServiceTable,
    ) -> Result<Self, TcpConfigError> {
        config.check()?;
        let security = Security::from_config(&config)?;
        let listener = listen(&config).await?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| TcpConfigError::Bind {
                address: config.listen.clone(),
                source,
            })?;
        let stop = CancellationToken::new();
        let accepting = stop.child_token();
        let tasks = TaskTracker::new();
        tracing::info!(
            address = %local_addr,
            services = ?services.names(),
            tls = config.tls.is_some(),
            "listening"
        );
        #[cfg(feature = "tls")]
        let fingerprint = security.fingerprint();
        let shared = Arc::new(Shared {
            admission: Admission::new(config.hardening().admission_limits()),
            budget: RequestBudget::new(config.max_in_flight_request_bytes),
            config,
            services,
            security,
            tasks: tasks.clone(),
            stop: stop.clone(),
            accepting: accepting.clone(),
        });
        let admission = shared.admission.clone();
        let budget = shared.budget.clone();
        tasks.spawn(accept_loop(listener, shared));
        Ok(TcpServer {
            admission,
            budget,
            local_addr,
            #[cfg(feature = "tls")]
            fingerprint,
            _stop_on_drop: stop.clone().drop_guard(),
            stop,
            accepting,
            tasks,
        })
    }

    /// The address the listener is bound to (the port chosen, when configured as 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The fingerprint of the TLS certificate presented (what pinning clients configure);
    /// `None` in plaintext.
    #[cfg(feature = "tls")]
    pub fn fingerprint(&self) -> Option<crate::tls::Fingerprint> {
        self.fingerprint
    }

    /// Stops accepting and closes every connection, each once the answers of its calls in
    /// flight are written (for at most [`DRAIN`](crate::remote::DRAIN)); handlers still
    /// running after that go on, unanswered.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }

    /// Stops accepting connections; those already admitted go on being served until
    /// [`shutdown`](Self::shutdown). A node stopping gracefully calls this first, lets the
    /// calls in flight end (its services' gates answer new ones `Unavailable`), then shuts
    /// the server down.
    pub fn stop_accepting(&self) {
        self.accepting.cancel();
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

    /// Connections pending (not yet through their hello) and admitted, now.
    pub fn connections(&self) -> (usize, usize) {
        (self.admission.pending(), self.admission.admitted())
    }

    /// Waits until the server is stopped and every task it started (accept loop,
    /// connections, handlers) has ended.
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait(&self) {
        self.stop.cancelled().await;
        self.tasks.close();
        self.tasks.wait().await;
    }
}

async fn listen(config: &TcpServerConfig) -> Result<TcpListener, TcpConfigError> {
    let bind_error = |source| TcpConfigError::Bind {
        address: config.listen.clone(),
        source,
    };
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host(&config.listen)
        .await
        .map_err(bind_error)?
        .collect();
    if addresses.is_empty() {
        return Err(TcpConfigError::BadAddress {
            address: config.listen.clone(),
        });
    }
    for address in &addresses {
        check_plaintext(
            &config.listen,
            address.ip(),
            config.tls.is_some(),
            config.insecure,
        )?;
    }
    TcpListener::bind(&addresses[..]).await.map_err(bind_error)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let accepted = tokio::select! {
            () = shared.accepting.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => admit(stream, peer, &shared),
            Err(error) => {
                tracing::warn!(%error, "accept failed; pausing before the next");
                tokio::select! {
                    () = shared.accepting.cancelled() => break,
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                }
            }
        }
    }
    tracing::info!(address = ?listener.local_addr().ok(), "stopped listening");
}

fn admit(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared>) {
    let pending = match shared.admission.arrive(peer.ip()) {
        Ok(pending) => pending,
        Err(reason) => {
            tracing::warn!(%peer, %reason, "refused a connection at arrival");
            return;
        }
    };
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%peer, %error, "could not set TCP_NODELAY");
    }
    set_keepalive(&stream, &peer);
    let task_shared = Arc::clone(shared);
    shared.tasks.spawn(async move {
        serve_socket(stream, peer, pending, &task_shared).await;
    });
}

async fn serve_socket(stream: TcpStream, peer: SocketAddr, pending: PendingSlot, shared: &Shared) {
    let slot = ConnectionSlot::new(pending);
    let timeout = shared.config.handshake_timeout();
    let handshake = tokio::time::timeout(timeout, handshake(stream, peer, &slot, shared));
    let outcome = tokio::select! {
        () = shared.stop.cancelled() => return,
        outcome = handshake => outcome,
    };
    let (framed, admitted) = match outcome {
        Ok(Ok(admitted)) => admitted,
        Ok(Err(reason)) => {
            tracing::warn!(%peer, %reason, "refused a connection");
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
    // The admitted slot is held until here.
    drop(slot);
}

/// TLS when configured, then the hello; the error says why, for the log line.
async fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    slot: &ConnectionSlot,
    shared: &Shared,
) -> Result<(Framed<BoxIo, FrameCodec>, Admitted), String> {
    let io = shared.security.accept(stream).await?;
    let mut framed = preamble_framed(io, format!("peer {peer}"));
    let max_frame_bytes = shared.config.max_frame_bytes;
    let token = shared.config.token.as_ref();
    let admitted = answer_hello(&mut framed, max_frame_bytes, |hello| {
        shared
            .services
            .admit_hello(hello, token, slot, &shared.admission, peer.ip())
    })
    .await
    .map_err(|error| error.to_string())?;
    let context = format!("{}, peer {peer}", admitted.service);
    framed.codec_mut().set_context(context.into());
    Ok((framed, admitted))
}

/// How accepted sockets are secured.
enum Security {
    Plain,
    #[cfg(feature = "tls")]
    Tls {
        acceptor: tokio_rustls::TlsAcceptor,
        fingerprint: crate::tls::Fingerprint,
    },
}

impl Security {
    fn from_config(config: &TcpServerConfig) -> Result<Self, TcpConfigError> {
        match &config.tls {
            None => Ok(Security::Plain),
            #[cfg(feature = "tls")]
            Some(tls) => {
                let server = crate::tls::server_config(tls, &config.listen)?;
                Ok(Security::Tls {
                    acceptor: server.config.into(),
                    fingerprint: server.fingerprint,
                })
            }
            #[cfg(not(feature = "tls"))]
            Some(_) => Err(TcpConfigError::TlsNotBuilt),
        }
    }

    #[cfg(feature = "tls")]
    fn fingerprint(&self) -> Option<crate::tls::Fingerprint> {
        match self {
            Security::Plain => None,
            Security::Tls { fingerprint, .. } => Some(*fingerprint),
        }
    }

    async fn accept(&self, stream: TcpStream) -> Result<BoxIo, String> {
        match self {
            Security::Plain => Ok(Box::new(stream)),
            #[cfg(feature = "tls")]
            Security::Tls { acceptor, .. } => match acceptor.accept(stream).await {
                Ok(tls) => Ok(Box::new(tls)),
                Err(error) => Err(format!(
                    "TLS handshake failed: {}",
                    crate::tls::explain_server_error(&error)
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keepalive_is_turned_on_for_a_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (dialled, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let (dialled, (accepted, peer)) = (dialled.unwrap(), accepted.unwrap());
        for stream in [&dialled, &accepted] {
            assert!(!socket2::SockRef::from(stream).keepalive().unwrap());
            set_keepalive(stream, &peer);
            assert!(socket2::SockRef::from(stream).keepalive().unwrap());
        }
    }
}
