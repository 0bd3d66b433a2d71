//! A tiny service for transport tests and the conformance suite: echoes, panics on demand,
//! blocks until released, moves byte payloads of a chosen size.

use crate::{Limits, Service};
use serde_bytes::ByteBuf;
use std::sync::Arc;
use tarpc::context;
use tokio::sync::Notify;

/// The largest `blob` the probe makes: 1 GiB.
pub const MAX_BLOB: u64 = 1 << 30;

/// The probe's interface.
#[tarpc::service]
pub trait Probe {
    /// Twice `value`.
    async fn double(value: u32) -> u32;
    /// Panics with `message`.
    async fn fail(message: String) -> u32;
    /// Signals [`ProbeServer::entered`], waits for [`ProbeServer::release`], answers 7.
    async fn hold() -> u32;
    /// `data`, back: a request (and response) of a chosen size.
    async fn echo(data: ByteBuf) -> ByteBuf;
    /// `len` bytes (at most [`MAX_BLOB`]): a response of a chosen size.
    async fn blob(len: u64) -> ByteBuf;
}

/// The probe's server; clones share the notifications.
#[derive(Clone, Default)]
pub struct ProbeServer {
    /// Releases one call waiting in `hold`.
    pub release: Arc<Notify>,
    /// Signalled when a call enters `hold`.
    pub entered: Arc<Entered>,
}

impl Probe for ProbeServer {
    async fn double(self, _: context::Context, value: u32) -> u32 {
        value * 2
    }

    async fn fail(self, _: context::Context, message: String) -> u32 {
        panic!("{message}")
    }

    async fn hold(self, _: context::Context) -> u32 {
        // Made before the call says it has entered: a release sent to every waiter
        // (`notify_waiters`) right after that reaches this call.
        let released = self.release.notified();
        self.entered.signal();
        released.await;
        7
    }

    async fn echo(self, _: context::Context, data: ByteBuf) -> ByteBuf {
        data
    }

    async fn blob(self, _: context::Context, len: u64) -> ByteBuf {
        // Capped: an absurd length must not abort the process on allocation failure.
        let len = usize::try_from(len.min(MAX_BLOB)).unwrap_or(0);
        ByteBuf::from(vec![0xA5; len])
    }
}

/// Calls entering `hold`, counted: each [`notified`](Entered::notified) waits for one, so
/// two calls entering before anyone waits are both seen.
#[derive(Debug)]
pub struct Entered(tokio::sync::Semaphore);

impl Default for Entered {
    fn default() -> Self {
        Entered(tokio::sync::Semaphore::new(0))
    }
}

impl Entered {
    fn signal(&self) {
        self.0.add_permits(1);
    }

    /// Waits until a call has entered `hold` that no earlier wait has seen.
    pub async fn notified(&self) {
        // The semaphore is never closed.
        if let Ok(permit) = self.0.acquire().await {
            permit.forget();
        }
    }
}

/// The probe with default limits, as a [`Service`] named `"probe"`.
pub fn probe() -> Service<ProbeRequest, ProbeResponse> {
    probe_with(ProbeServer::default(), Limits::default())
}

/// The probe over `server` (keep a clone to release held calls) with `limits`.
pub fn probe_with(server: ProbeServer, limits: Limits) -> Service<ProbeRequest, ProbeResponse> {
    crate::service!("probe", limits, server.serve())
}
/// The bytes of request `id` carrying `message` as a tarpc client writes it, in `codec`, with
/// a deadline of the caller's choosing, even one no `Duration` can hold (`nanos` past a
/// second): what a hostile client sends, for tests of the server's guards.
///
/// # Errors
/// The codec's, when `message` cannot be encoded.
#[cfg(feature = "remote")]
pub fn raw_request<M: serde::Serialize>(
    codec: crate::Codec,
    id: u64,
    deadline: (u64, u32),
    message: M,
) -> Result<Vec<u8>, crate::codec::CodecError> {
    #[derive(serde::Serialize)]
    enum RawMessage<M> {
        Request(RawRequest<M>),
    }
    #[derive(serde::Serialize)]
    struct RawRequest<M> {
        context: RawContext,
        id: u64,
        message: M,
    }
    #[derive(serde::Serialize)]
    struct RawContext {
        deadline: RawDuration,
        trace_context: tarpc::trace::Context,
    }
    #[derive(serde::Serialize)]
    struct RawDuration {
        secs: u64,
        nanos: u32,
    }
    let (secs, nanos) = deadline;
    codec.encode(&RawMessage::Request(RawRequest {
        context: RawContext {
            deadline: RawDuration { secs, nanos },
            trace_context: tarpc::trace::Context::default(),
        },
        id,
        message,
    }))
}
