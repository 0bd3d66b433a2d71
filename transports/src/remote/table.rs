//! [`ServiceTable`]: the services one listener hosts, and how an admitted connection is
//! served.
//!
//! The table erases each service's request and response types behind one acceptor, so a
//! listener (TCP now, QUIC later) hands every admitted connection, whatever service it asked
//! for, to the same code: tarpc's `BaseChannel` over the connection's framed stream, with a
//! per-connection limit on requests in flight (tarpc's throttle, answered `WouldBlock`, which
//! callers see as `Overloaded`), each request's handler polled once in place and spawned on
//! the listener's tracker only if it has to wait.

use futures::Sink as _;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tarpc::server::{BaseChannel, Channel};
use tarpc::{ClientMessage, RequestName, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::{Admission, ConnectionSlot, Refused};
use super::budget::{Ledger, RequestBudget};
use super::deadline::{Activity, TimedFrames};
use super::frame::FrameCodec;
use super::hello::{Hello, Refusal, Token};
use super::{DRAIN, error_chain};
use crate::Service;
use crate::codec::{Codec, Wire};
use crate::repoll::Repoll;

/// A byte stream a remote connection runs over: a TCP socket, a TLS stream, a QUIC
/// bi-stream joined into one.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// A connection's byte stream, boxed so every transport's streams are one type.
pub type BoxIo = Box<dyn Io>;

/// An admitted connection, ready for the service it asked for.
pub(crate) struct Connection {
    /// The framed stream, its limits already negotiated.
    pub(crate) framed: Framed<BoxIo, FrameCodec>,
    /// The codec the client chose.
    pub(crate) codec: Codec,
    /// The peer's address, for logs.
    pub(crate) peer: Arc<str>,
    /// Requests in flight allowed on this connection.
    pub(crate) max_requests: usize,
    /// Where request handlers are spawned.
    pub(crate) handlers: TaskTracker,
    /// Cancelled when the listener shuts down.
    pub(crate) stop: CancellationToken,
    /// How long a frame once begun may take to arrive whole.
    pub(crate) frame_timeout: Duration,
    /// How long the connection may receive nothing with no call in flight.
    pub(crate) idle_timeout: Duration,
    /// The longest deadline a request may carry.
    pub(crate) max_deadline: Duration,
    /// The listener's budget of request bytes in flight.
    pub(crate) budget: RequestBudget,
}

/// One hosted service, its request and response types erased.
trait Host: Send + Sync {
    fn serve(&self, connection: Connection) -> BoxFuture<'static, ()>;
}

struct Hosted<Req, Resp>(Service<Req, Resp>);

impl<Req, Resp> Host for Hosted<Req, Resp>
where
    Req: DeserializeOwned + RequestName + Send + Sync + 'static,
    Resp: Serialize + Send + Sync + 'static,
{
    fn serve(&self, connection: Connection) -> BoxFuture<'static, ()> {
        // Repoll: tarpc's channel wakes the task from inside its own poll on every call.
        Box::pin(Repoll::new(serve_connection(self.0.clone(), connection)))
    }
}

/// The services a listener hosts, by name.
#[derive(Clone, Default)]
pub struct ServiceTable {
    hosts: BTreeMap<&'static str, Arc<dyn Host>>,
}

impl fmt::Debug for ServiceTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.hosts.keys()).finish()
    }
}

impl ServiceTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The table with `service` added under its name (replacing one of the same name).
    pub fn with<Req, Resp>(mut self, service: Service<Req, Resp>) -> Self
    where
        Req: DeserializeOwned + RequestName + Send + Sync + 'static,
        Resp: Serialize + Send + Sync + 'static,
    {
        self.insert(service);
        self
    }

    /// Adds `service` under its name; returns whether one of that name was replaced.
    pub fn insert<Req, Resp>(&mut self, service: Service<Req, Resp>) -> bool
    where
        Req: DeserializeOwned + RequestName + Send + Sync + 'static,
        Resp: Serialize + Send + Sync + 'static,
    {
        let name = service.name();
        self.hosts.insert(name, Arc::new(Hosted(service))).is_some()
    }

    /// The names of the hosted services, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.hosts.keys().copied().collect()
    }

    /// Whether the table hosts `service`.
    pub fn contains(&self, service: &str) -> bool {
        self.hosts.contains_key(service)
    }

    /// How many services the table hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// Whether the table hosts nothing.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether a hello may be admitted: the token (when this node requires one) matches, and
    /// the service is hosted here. The token is checked first, so the list of hosted services
    /// (named in an unknown-service refusal) only ever reaches an authenticated peer.
    pub(crate) fn check_hello(&self, hello: &Hello, token: Option<&Token>) -> Result<(), Refusal> {
        match (token, &hello.token) {
            (None, _) => {}
            (Some(_), None) => return Err(Refusal::MissingToken),
            (Some(expected), Some(presented)) if expected.matches(presented) => {}
            (Some(_), Some(_)) => return Err(Refusal::BadToken),
        }
        if !self.contains(&hello.service) {
            return Err(Refusal::UnknownService {
                service: hello.service.clone(),
                hosted: self.names().into_iter().map(str::to_owned).collect(),
            });
        }
        Ok(())
    }

    /// [`check_hello`](Self::check_hello), then the connection's admission: a failed
    /// authentication is counted against `ip`, and a connection over `max_connections` is
    /// refused [`Refusal::AtCapacity`].
    pub(crate) fn admit_hello(
        &self,
        hello: &Hello,
        token: Option<&Token>,
        slot: &ConnectionSlot,
        admission: &Admission,
        ip: std::net::IpAddr,
    ) -> Result<(), Refusal> {
        if let Err(refusal) = self.check_hello(hello, token) {
            if refusal.is_auth_failure() {
                admission.auth_failed(ip);
            }
            return Err(refusal);
        }
        slot.admit().map_err(|refused| match refused {
            Refused::AdmittedFull { limit } => Refusal::AtCapacity { limit },
            _ => Refusal::AtCapacity { limit: 0 },
        })
    }

    /// Serves an admitted connection with the service it asked for; ends when the peer
    /// leaves, the connection fails or the listener stops.
    pub(crate) async fn serve(&self, service: &str, connection: Connection) {
        match self.hosts.get(service) {
            Some(host) => host.serve(connection).await,
            // The preamble checked the name against this same table.
            None => tracing::error!(service, "admitted a connection for a service not hosted"),
        }
    }
}

async fn serve_connection<Req, Resp>(service: Service<Req, Resp>, connection: Connection)
where
    Req: DeserializeOwned + RequestName + Send + Sync + 'static,
    Resp: Serialize + Send + Sync + 'static,
{
    let Connection {
        framed,
        codec,
        peer,
        max_requests,
        handlers,
        stop,
        frame_timeout,
        idle_timeout,
        max_deadline,
        budget,
    } = connection;
    let name = service.name();
    let context: Arc<str> = format!("{name}, peer {peer}").into();
    let send_limit = framed.codec().send_limit();
    let ledger = Arc::new(Ledger::default());
    let wire = Wire::<ClientMessage<Req>, Response<Resp>>::new(codec, send_limit, context)
        .with_max_deadline(max_deadline)
        .with_ledger(Arc::clone(&ledger));
    let activity = Activity::new();
    let frames = TimedFrames::new(framed, frame_timeout, Arc::clone(&activity), budget, ledger);
    let transport = tokio_serde::Framed::new(frames, wire);
    let mut requests = BaseChannel::with_defaults(transport)
        .max_concurrent_requests(max_requests)
        .requests();
    tracing::debug!(service = name, %peer, %codec, "connection admitted");
    let idle = tokio::time::sleep(idle_timeout);
    tokio::pin!(idle);
    loop {
        let next = tokio::select! {
            () = &mut idle => {
                let in_flight = requests.channel().in_flight_requests();
                let quiet_since = activity.last();
                if in_flight == 0 && quiet_since.elapsed() >= idle_timeout {
                    tracing::info!(
                        service = name,
                        %peer,
                        idle_timeout_ms = idle_timeout.as_millis() as u64,
                        "closed an idle connection (no call in flight, nothing received)"
                    );
                    break;
                }
                let from = if in_flight == 0 { quiet_since } else { tokio::time::Instant::now() };
                idle.as_mut().reset(from + idle_timeout);
                continue;
            }
            () = stop.cancelled() => {
                // Go on answering until no call is in flight and the answers are flushed
                // (bounded): requests arriving meanwhile are served too, and a stopping
                // node's closed gates answer them `Unavailable` at once.
                let answered = std::future::poll_fn(|cx| loop {
                    if requests.channel().in_flight_requests() == 0 {
                        let mut pinned = std::pin::Pin::new(&mut requests);
                        return pinned.channel_pin_mut().poll_flush(cx).map(|_| ());
                    }
                    match requests.poll_next_unpin(cx) {
                        Poll::Ready(Some(Ok(request))) => {
                            start(request.execute(service.clone()), &handlers);
                        }
                        Poll::Ready(_) => return Poll::Ready(()),
                        Poll::Pending => return Poll::Pending,
                    }
                });
                if tokio::time::timeout(DRAIN, answered).await.is_err() {
                    tracing::warn!(
                        service = name,
                        %peer,
                        in_flight = requests.channel().in_flight_requests(),
                        "closing a connection with calls still unanswered"
                    );
                }
                break;
            }
            next = requests.next() => next,
        };
        match next {
            Some(Ok(request)) => start(request.execute(service.clone()), &handlers),
            Some(Err(error)) => {
                tracing::warn!(
                    service = name,
                    %peer,
                    error = %error_chain(&error),
                    "closing the connection; the client's other connections are unaffected"
                );
                break;
            }
            None => {
                tracing::debug!(service = name, %peer, "the peer closed the connection");
                break;
            }
        }
    }
}

/// Starts a request's handler. It is polled once here, on the connection's task: a handler
/// that answers without waiting (an echo, a refusal, a read of what is in memory) answers
/// with no task spawned and no hop to another thread. One that has to wait is spawned on
/// `handlers` and polled there from then on. Handlers never block (database work and fits
/// run on blocking threads), so this first poll holds the connection's task only briefly.
fn start<F>(handler: F, handlers: &TaskTracker)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut handler = Box::pin(handler);
    // A no-op waker: a handler that waits is polled again at once by its own task, and a
    // future wakes only the waker of its latest poll.
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if handler.as_mut().poll(&mut cx).is_pending() {
        handlers.spawn(handler);
    }
}
