//! [`ServiceTable`]: the services one listener hosts, and how an admitted connection is
//! served.
//!
//! The table erases each service's request and response types behind one acceptor, so a
//! listener (TCP now, QUIC later) hands every admitted connection, whatever service it asked
//! for, to the same code ([`conversation`](super::conversation)): requests read under the
//! connection's limits, each handler polled once in place and spawned on the listener's
//! tracker only if it has to wait, each answer written from the task that has it.

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tarpc::RequestName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::admission::{Admission, ConnectionSlot, Refused};
use super::budget::RequestBudget;
use super::conversation;
use super::frame::FrameCodec;
use super::hello::{Hello, Refusal, Token};
use crate::Service;
use crate::codec::Codec;

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
        Box::pin(conversation::serve(self.0.clone(), connection))
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
