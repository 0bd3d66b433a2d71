//! [`RemoteClient`]: a client of a remote service that redials by itself.
//!
//! tarpc's client has no reconnect (tarpc #118): after a disconnect every call fails with
//! `Shutdown`. A `RemoteClient` owns a background link task that dials through a [`Dial`]
//! (one per transport), publishes the live connection (a `Session`: tarpc's messages,
//! written from the callers' own tasks), drives it, and when the connection ends dials
//! again with capped exponential backoff. Meanwhile a call fails at once, as a server error
//! of kind `ConnectionRefused` (which `ServiceError::from_rpc` maps to `Unavailable`) naming
//! the service, the address and why it is unreachable. When the peer is back, calls succeed
//! again; callers do nothing. Calls are never retried by the client: one in flight when the
//! connection broke fails, since it may or may not have run.
//!
//! The link task lives as long as the client's clones: dropping the last one stops it and
//! closes the connection.

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tarpc::client::RpcError;
use tarpc::{RequestName, ServerError, context};
use tokio::sync::watch;
use tokio_util::codec::Framed;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::frame::{FrameCodec, WireError};
use super::hello::Refusal;
use super::session::{CallError, Session};
use super::table::BoxIo;
use crate::codec::{Codec, CodecError};

/// A connection a [`Dial`] made: secured, admitted by the server, its limits negotiated.
pub struct Connected {
    /// The framed stream; its codec's send limit is the negotiated one.
    pub framed: Framed<BoxIo, FrameCodec>,
    /// The codec the hello named.
    pub codec: Codec,
}

impl fmt::Debug for Connected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected")
            .field("codec", &self.codec)
            .field("frames", self.framed.codec())
            .finish_non_exhaustive()
    }
}

/// Makes connections to one service at one address; one implementation per transport.
pub trait Dial: Send + Sync + 'static {
    /// The address dialled, as configured, for errors.
    fn address(&self) -> &str;
    /// The transport's name (`"tcp"`, `"tls-tcp"`), for logs.
    fn transport(&self) -> &'static str;
    /// Connects, secures and says hello.
    fn dial(&self) -> BoxFuture<'static, Result<Connected, DialError>>;
}

/// A failed dial: the address, and why.
#[derive(Debug, thiserror::Error)]
#[error("{address}: {failure}")]
pub struct DialError {
    /// The address dialled.
    pub address: Arc<str>,
    /// Why it failed.
    pub failure: DialFailure,
}

/// Why a dial failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialFailure {
    /// The name did not resolve.
    #[error("could not resolve the address: {0}")]
    Resolve(io::Error),
    /// No connection could be made (nothing listening, unreachable host).
    #[error("could not connect: {0}")]
    Connect(io::Error),
    /// A stage took longer than its timeout.
    #[error("no answer within {after_ms} ms ({stage})")]
    Timeout {
        /// What was being waited for.
        stage: &'static str,
        /// The timeout.
        after_ms: u64,
    },
    /// The address is not loopback, the endpoint has no TLS and `insecure` is not set.
    #[error(
        "refusing plaintext to {0}, which is not a loopback address: configure tls, or set insecure = true"
    )]
    Plaintext(std::net::IpAddr),
    /// The TLS handshake failed; the text says why in the user's terms.
    #[error("TLS: {0}")]
    Tls(String),
    /// The server refused the hello.
    #[error("the server refused the connection: {0}")]
    Refused(Refusal),
    /// The server closed the connection before answering.
    #[error(
        "the server closed the connection before answering the hello (it may be at its connection limit)"
    )]
    Closed,
    /// The server's answer did not decode.
    #[error("a malformed answer to the hello: {0}")]
    Malformed(CodecError),
    /// The connection failed during the preamble.
    #[error("{0}")]
    Wire(WireError),
}

/// Where a [`RemoteClient`]'s connection is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkStatus {
    /// A dial is under way that calls wait for (bounded by the first-dial wait and their
    /// deadline): the first one, or the immediate redial after a connection that lived a
    /// while ended (a server closing an idle connection, say), so the next call just works.
    Connecting,
    /// Connected; calls go through.
    Connected,
    /// Not connected; calls fail at once while the client redials.
    Down {
        /// Why, naming the address.
        reason: String,
    },
}

/// How a [`RemoteClient`] waits and redials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkOptions {
    /// How long a call made before the first dial has finished waits for it.
    pub first_dial_wait: Duration,
    /// The pause after the first failed redial; doubled after each failure.
    pub backoff_initial: Duration,
    /// The longest pause between redials.
    pub backoff_max: Duration,
}

impl LinkOptions {
    /// The options of an endpoint configured in milliseconds: the first dial may take its
    /// connect and handshake timeouts together; redials back off from `backoff_initial_ms`
    /// up to `backoff_max_ms` (never below the initial pause).
    pub fn from_millis(
        connect_timeout_ms: u64,
        handshake_timeout_ms: u64,
        backoff_initial_ms: u64,
        backoff_max_ms: u64,
    ) -> Self {
        LinkOptions {
            first_dial_wait: Duration::from_millis(
                connect_timeout_ms.saturating_add(handshake_timeout_ms),
            ),
            backoff_initial: Duration::from_millis(backoff_initial_ms),
            backoff_max: Duration::from_millis(backoff_max_ms.max(backoff_initial_ms)),
        }
    }
}

impl Default for LinkOptions {
    /// 3 s for the first dial; redials after 50 ms, doubling up to 2 s.
    fn default() -> Self {
        LinkOptions {
            first_dial_wait: Duration::from_secs(3),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        }
    }
}

enum Link<Req, Resp> {
    Connecting,
    Up(Arc<Session<Req, Resp>>),
    Down(Arc<str>),
}

impl<Req, Resp> Clone for Link<Req, Resp> {
    fn clone(&self) -> Self {
        match self {
            Link::Connecting => Link::Connecting,
            Link::Up(session) => Link::Up(Arc::clone(session)),
            Link::Down(reason) => Link::Down(Arc::clone(reason)),
        }
    }
}

/// A client of one remote service that redials by itself; cheap to clone.
pub struct RemoteClient<Req, Resp> {
    service: &'static str,
    address: Arc<str>,
    transport: &'static str,
    link: watch::Receiver<Link<Req, Resp>>,
    first_dial_wait: Duration,
    stop_on_last_drop: Arc<DropGuard>,
}

impl<Req, Resp> Clone for RemoteClient<Req, Resp> {
    fn clone(&self) -> Self {
        RemoteClient {
            service: self.service,
            address: Arc::clone(&self.address),
            transport: self.transport,
            link: self.link.clone(),
            first_dial_wait: self.first_dial_wait,
            stop_on_last_drop: Arc::clone(&self.stop_on_last_drop),
        }
    }
}

impl<Req, Resp> fmt::Debug for RemoteClient<Req, Resp> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteClient")
            .field("service", &self.service)
            .field("address", &self.address)
            .field("transport", &self.transport)
            .field("status", &self.status())
            .finish()
    }
}

/// Starting a client outside a tokio runtime.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a remote client of {service} needs a running tokio runtime for its link task")]
pub struct NoRuntime {
    /// The service the client was for.
    pub service: &'static str,
}

impl<Req, Resp> RemoteClient<Req, Resp>
where
    Req: RequestName + Serialize + Send + 'static,
    Resp: DeserializeOwned + Send + 'static,
{
    /// Starts a client of `service` whose link task dials through `dialer`.
    ///
    /// # Errors
    /// [`NoRuntime`] outside a tokio runtime.
    pub fn start<D: Dial>(
        service: &'static str,
        dialer: D,
        options: LinkOptions,
    ) -> Result<Self, NoRuntime> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NoRuntime { service })?;
        let (link_tx, link) = watch::channel(Link::Connecting);
        let stop = CancellationToken::new();
        let address: Arc<str> = dialer.address().into();
        let transport = dialer.transport();
        // Not tracked by a supervisor: the task ends when the last clone of this client is
        // dropped (the guard cancels it), and it owns nothing but the connection.
        runtime.spawn(run_link(service, dialer, link_tx, stop.clone(), options));
        Ok(RemoteClient {
            service,
            address,
            transport,
            link,
            first_dial_wait: options.first_dial_wait,
            stop_on_last_drop: Arc::new(stop.drop_guard()),
        })
    }
}

impl<Req, Resp> RemoteClient<Req, Resp> {
    /// The service this client reaches.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The address it dials.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The transport's name.
    pub fn transport(&self) -> &'static str {
        self.transport
    }

    /// Where the connection is now.
    pub fn status(&self) -> LinkStatus {
        status_of(&self.link.borrow())
    }

    /// Waits until the connection's status satisfies `wanted`; returns at once, whatever the
    /// status, if the link task has ended (its runtime shut down).
    ///
    /// # Cancel safety
    /// Cancel safe.
    pub async fn wait_for(&self, mut wanted: impl FnMut(&LinkStatus) -> bool) {
        let mut link = self.link.clone();
        // An error means the link task is gone: nothing will change any more.
        let _ = link.wait_for(|current| wanted(&status_of(current))).await;
    }

    /// One call: on the live connection, or failing at once while there is none.
    pub(crate) async fn call(&self, ctx: context::Context, request: Req) -> Result<Resp, RpcError>
    where
        Req: RequestName,
    {
        let current = self.link.borrow().clone();
        let session = match current {
            Link::Up(session) => session,
            Link::Down(reason) => return Err(self.unreachable(&reason)),
            Link::Connecting => self.first_dial(ctx).await?,
        };
        session
            .call(ctx, request)
            .await
            .map_err(|error| self.explain(error))
    }

    /// Waits, within the first-dial wait and the call's deadline, for the first dial.
    async fn first_dial(&self, ctx: context::Context) -> Result<Arc<Session<Req, Resp>>, RpcError> {
        let deadline = tokio::time::Instant::from_std(ctx.deadline)
            .min(tokio::time::Instant::now() + self.first_dial_wait);
        let mut link = self.link.clone();
        let settled = tokio::time::timeout_at(
            deadline,
            link.wait_for(|current| !matches!(current, Link::Connecting)),
        )
        .await;
        let current = match settled {
            Ok(Ok(current)) => current.clone(),
            _ => Link::Connecting,
        };
        match current {
            Link::Up(session) => Ok(session),
            Link::Down(reason) => Err(self.unreachable(&reason)),
            Link::Connecting => Err(self.unreachable("still connecting")),
        }
    }

    fn unreachable(&self, why: &str) -> RpcError {
        RpcError::Server(ServerError::new(
            io::ErrorKind::ConnectionRefused,
            format!(
                "{} at {} is unreachable: {why} (retrying)",
                self.service, self.address
            ),
        ))
    }

    /// tarpc's error for a failed call, naming the address when the connection broke.
    fn explain(&self, error: CallError) -> RpcError {
        match error {
            CallError::Send(cause) => RpcError::Send(Box::new(cause)),
            CallError::Lost { sent: false, why } => self.unreachable(&why),
            CallError::Lost { sent: true, why } => self.unreachable(&format!(
                "the connection failed during the call, which may or may not have run: {why}"
            )),
            CallError::Deadline => RpcError::DeadlineExceeded,
            CallError::Server(error) => RpcError::Server(error),
        }
    }
}

fn status_of<Req, Resp>(link: &Link<Req, Resp>) -> LinkStatus {
    match link {
        Link::Connecting => LinkStatus::Connecting,
        Link::Up(_) => LinkStatus::Connected,
        Link::Down(reason) => LinkStatus::Down {
            reason: reason.to_string(),
        },
    }
}

/// Dials, serves the connection until it ends, and dials again, until `stop`.
async fn run_link<Req, Resp, D: Dial>(
    service: &'static str,
    dialer: D,
    link: watch::Sender<Link<Req, Resp>>,
    stop: CancellationToken,
    options: LinkOptions,
) where
    Req: RequestName + Serialize + Send + 'static,
    Resp: DeserializeOwned + Send + 'static,
{
    let address = dialer.address().to_owned();
    let mut backoff = options.backoff_initial;
    let mut last_failure = String::new();
    loop {
        let dialled = tokio::select! {
            () = stop.cancelled() => return,
            dialled = dialer.dial() => dialled,
        };
        match dialled {
            Ok(connected) => {
                last_failure.clear();
                let connected_at = tokio::time::Instant::now();
                let lost = run_connection(service, &address, connected, &link, &stop).await;
                let Some(lost) = lost else { return };
                tracing::warn!(service, %address, reason = %lost, "connection lost; redialling");
                // A connection that lived a while: redial at once (a restarted peer is often
                // back already, a server that closed an idle connection is there), and let
                // calls wait for that dial. One that died young (a peer that admits, then
                // drops us) goes through the backoff, or the link would spin.
                if connected_at.elapsed() >= options.backoff_max {
                    link.send_replace(Link::Connecting);
                    backoff = options.backoff_initial;
                    continue;
                }
                link.send_replace(Link::Down(lost.into()));
            }
            Err(error) => {
                let reason = error.failure.to_string();
                if reason != last_failure {
                    // Logged when the reason changes, not at every redial.
                    tracing::warn!(service, %address, %reason, "cannot reach the service; redialling");
                    last_failure.clone_from(&reason);
                }
                link.send_replace(Link::Down(reason.into()));
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(options.backoff_max);
    }
}

/// Publishes a [`Session`] over `connected` and drives it; returns why the connection
/// ended, or `None` when stopped.
async fn run_connection<Req, Resp>(
    service: &'static str,
    address: &str,
    connected: Connected,
    link: &watch::Sender<Link<Req, Resp>>,
    stop: &CancellationToken,
) -> Option<String>
where
    Req: RequestName + Serialize + Send + 'static,
    Resp: DeserializeOwned + Send + 'static,
{
    let Connected { framed, codec } = connected;
    let (session, reader) = Session::new(framed, codec);
    let session = Arc::new(session);
    link.send_replace(Link::Up(Arc::clone(&session)));
    tracing::info!(service, %address, %codec, "connected");
    tokio::select! {
        () = stop.cancelled() => {
            session.end(&Arc::from("the client was dropped"));
            None
        }
        why = session.drive(reader) => Some(why.to_string()),
    }
}
