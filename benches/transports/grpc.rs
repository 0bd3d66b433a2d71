//! tonic (gRPC over HTTP/2, plain text on 127.0.0.1): the peer a user would pick instead of
//! ours, carrying the same bytes.
//!
//! No codegen, no protobuf: a pass-through [`RawCodec`] moves a message's bytes as they are
//! (the encoder copies them into tonic's buffer, the decoder takes them out of it), so the
//! figures are tonic's framing, HTTP/2 (h2) and hyper, not an encoding. The server is
//! written as tonic-build would write it for a unary method: a `tower::Service` over
//! `http::Request<tonic::body::Body>` that hands the call to
//! `tonic::server::Grpc::unary`. Everything else is tonic's defaults (hyper's HTTP/2
//! windows, `TCP_NODELAY` on both sides), except the message limits, raised to
//! [`MAX_MESSAGE`] so that 8 MiB (and a 16 MB dataset page) fit.
//!
//! | path | what it answers |
//! |---|---|
//! | [`ECHO`] | the request's bytes, back (the probe's echo) |
//! | [`PAGE`] | the server's fixed bytes (a postcard-encoded dataset page), for any request |

use crate::measure::SetUp;
use crate::{Caller, Result, SMALL, failed};
use bytes::{Buf, BufMut, Bytes};
use http::uri::PathAndQuery;
use serde_bytes::ByteBuf;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::task::JoinSet;
use tonic::Status;
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::NamedService;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Channel, Endpoint, Server};
use tower_service::Service;

/// The largest message either side sends or accepts: 64 MiB, our transports' default frame
/// limit (tonic's default decoding limit, 4 MiB, would refuse the 8 MiB echo).
pub(crate) const MAX_MESSAGE: usize = 64 << 20;
/// The echo: the request's bytes, back.
pub(crate) const ECHO: &str = "/bench.Echo/Echo";
/// The server's fixed bytes, whatever the request.
pub(crate) const PAGE: &str = "/bench.Echo/Page";

/// Messages as raw bytes: what goes in comes out, with no encoding of its own.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }

    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;

    /// tonic hands over exactly one message's bytes; taking them all is the message.
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// The gRPC service `bench.Echo`, routing by path as generated code does.
#[derive(Debug, Clone, Default)]
pub(crate) struct EchoService {
    /// What [`PAGE`] answers (empty for the echo bench).
    page: Bytes,
}

impl NamedService for EchoService {
    const NAME: &'static str = "bench.Echo";
}

type BoxResponse =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send + 'static>>;

impl Service<http::Request<Body>> for EchoService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxResponse;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> BoxResponse {
        let handler = match request.uri().path() {
            ECHO => Handler::Echo,
            PAGE => Handler::Page(self.page.clone()),
            path => {
                let status = Status::unimplemented(format!("no method at {path}"));
                return Box::pin(ready(Ok(status.into_http())));
            }
        };
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE);
            Ok(grpc.unary(handler, request).await)
        })
    }
}

/// One unary method's body.
enum Handler {
    /// The request's bytes, back.
    Echo,
    /// These bytes, whatever the request.
    Page(Bytes),
}

impl Service<tonic::Request<Bytes>> for Handler {
    type Response = tonic::Response<Bytes>;
    type Error = Status;
    type Future = Ready<Result<tonic::Response<Bytes>, Status>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let answer = match self {
            Handler::Echo => request.into_inner(),
            Handler::Page(page) => page.clone(),
        };
        ready(Ok(tonic::Response::new(answer)))
    }
}

/// Starts a tonic server on 127.0.0.1 (port 0) whose [`PAGE`] answers `page`; returns its
/// address.
pub(crate) fn grpc_server(page: Bytes, tasks: &mut JoinSet<()>) -> Result<SocketAddr> {
    let incoming = TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .map_err(|error| failed("a tonic listener", error))?
        .with_nodelay(Some(true));
    let address = incoming
        .local_addr()
        .map_err(|error| failed("the tonic listener's address", error))?;
    tasks.spawn(async move {
        let served = Server::builder()
            .serve_with_incoming(EchoService { page }, incoming)
            .await;
        if let Err(error) = served {
            eprintln!("the tonic server stopped: {error}");
        }
    });
    Ok(address)
}

/// A tonic client of [`EchoService`]: one [`Channel`] (one HTTP/2 connection), cloned by
/// every caller and for every call, as tonic's generated clients are used.
#[derive(Debug, Clone)]
pub(crate) struct Tonic {
    grpc: tonic::client::Grpc<Channel>,
    path: PathAndQuery,
}

impl Tonic {
    /// Connects to `address` (the TCP connection and the HTTP/2 preface) and calls `path`.
    pub(crate) async fn connect(address: SocketAddr, path: &'static str) -> Result<Tonic> {
        let channel = Endpoint::from_shared(format!("http://{address}"))
            .map_err(|error| failed("a tonic endpoint", error))?
            .connect()
            .await
            .map_err(|error| failed("a tonic connection", error))?;
        let grpc = tonic::client::Grpc::new(channel)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        Ok(Tonic {
            grpc,
            path: PathAndQuery::from_static(path),
        })
    }

    /// One unary call carrying `message`; the answer's bytes.
    pub(crate) async fn unary(&self, message: Bytes) -> Result<Bytes> {
        let mut grpc = self.grpc.clone();
        grpc.ready()
            .await
            .map_err(|error| failed("a tonic channel, ready", error))?;
        let answer = grpc
            .unary(tonic::Request::new(message), self.path.clone(), RawCodec)
            .await
            .map_err(|status| failed(&format!("a tonic call of {}", self.path), status))?;
        Ok(answer.into_inner())
    }
}

impl Caller for Tonic {
    async fn call(&self, payload: ByteBuf) -> Result<ByteBuf> {
        let answer = self.unary(Bytes::from(payload.into_vec())).await?;
        Ok(ByteBuf::from(Vec::from(answer)))
    }
}

/// tonic from nothing: a new channel connected, then the first 64 B echo answered.
pub(crate) async fn tonic_set_up(address: SocketAddr) -> Result<SetUp> {
    let started = Instant::now();
    let client = Tonic::connect(address, ECHO).await?;
    let connected = started.elapsed();
    client.call(ByteBuf::from(vec![1; SMALL])).await?;
    Ok(SetUp {
        connected,
        answered: started.elapsed(),
    })
}
