//! What every remote transport shares, whatever carries its bytes (TCP and TLS-TCP now, QUIC
//! later): frames, the preamble, the service table, and the reconnecting client.
//!
//! | module | what it holds |
//! |---|---|
//! | [`admission`] | [`Admission`](admission::Admission): pending and admitted connections counted apart, per-address caps, failed-authentication backoff |
//! | [`budget`] | [`RequestBudget`](budget::RequestBudget): one budget of request bytes in flight per listener, taken before a payload is buffered |
//! | `deadline` | a deadline on each frame once begun; when a connection last received a byte (idle timeout) |
//! | [`frame`] | length-delimited frames with a limit; [`FrameTooLarge`], [`WireError`] |
//! | `outbox` | frames waiting to be written: small ones coalesced, large payloads written where they lie (vectored) |
//! | `writer` | a connection's writing half, shared by the tasks that send on it: whoever holds it writes everything queued |
//! | `session` | a client connection's calls: each written from its caller's task, answers handed back by the connection's task |
//! | `conversation` | a server connection's calls: requests read and accounted for, handlers started, each answer written from its handler's task |
//! | [`hello`] | the preamble: [`Hello`], [`Answer`], [`Refusal`], the pre-shared [`Token`] |
//! | [`table`] | [`ServiceTable`]: the services a listener hosts; serving an admitted connection |
//! | [`client`] | [`RemoteClient`]: a client that redials by itself, and the [`Dial`] trait a transport implements |
//!
//! A connection's life, on any transport: the bytes are secured (TLS, or not on loopback),
//! the client says [`Hello`] naming the service, codec, token and its frame limit; the server
//! answers before any service code runs; then both sides speak tarpc's messages over
//! [`Wire`](crate::codec::Wire)-encoded frames, each sending at most the smaller of the two
//! frame limits.

// The `remote` feature alone builds these pieces with no transport to use them (QUIC will be
// the second user); that is not dead code.
#![cfg_attr(not(feature = "tcp"), allow(dead_code))]

pub mod admission;
pub mod budget;
pub mod client;
pub(crate) mod conversation;
pub(crate) mod deadline;
pub mod frame;
pub mod hello;
pub(crate) mod outbox;
pub(crate) mod session;
pub mod table;
pub(crate) mod writer;

pub use client::{Connected, Dial, DialError, DialFailure, LinkOptions, LinkStatus, RemoteClient};
pub use frame::{FrameCodec, FrameKind, FrameTooLarge, WireError};
pub use hello::{Answer, HandshakeError, Hello, PROTOCOL_VERSION, Refusal, Token};
pub use table::{BoxIo, Io, ServiceTable};

/// How long a stopping server goes on writing the answers of a connection's calls in
/// flight before it closes the connection.
pub const DRAIN: std::time::Duration = std::time::Duration::from_secs(5);

/// An error and its sources, `: `-separated: tarpc's errors say what failed in `Display` and
/// why only in their sources.
pub(crate) use mltools_core::error::error_chain;
