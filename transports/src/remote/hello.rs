//! The connection preamble: which service a connection is for, and whether it is let in.
//!
//! One listener serves every service its node hosts, so the client's first frame says which
//! one it wants ([`Hello`]); the server answers [`Answer::Welcome`] or [`Answer::Refused`]
//! before any service code runs. The preamble is postcard-encoded whatever the connection's
//! codec (the hello names that codec), in frames of at most [`PREAMBLE_FRAME_LIMIT`] bytes, so
//! a peer that has not said hello cannot make the server buffer more than that. Each side's
//! frame limit travels in the preamble, and each sends at most the smaller of the two, so
//! mismatched limits give a clear error at the sender instead of a dropped connection.

use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use std::fmt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::bytes::Bytes;
use tokio_util::codec::Framed;

use super::frame::{FrameCodec, WireError};
use crate::codec::{Codec, CodecError};

/// The preamble's version; a server refuses a hello of another version.
pub const PROTOCOL_VERSION: u16 = 1;

/// The largest preamble frame either side accepts.
pub const PREAMBLE_FRAME_LIMIT: u64 = 16 * 1024;

/// A pre-shared secret a client presents in its hello. Its `Debug` form hides it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// A token from its text.
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }

    /// Whether `presented` is this token. The SHA-256 digests of both are compared in
    /// constant time, so neither how much of a guess was right nor the token's length shows
    /// in the time taken.
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        #[cfg(feature = "tls")]
        {
            let digest = |text: &str| ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
            let (expected, presented) = (digest(&self.0), digest(presented));
            bool::from(expected.as_ref().ct_eq(presented.as_ref()))
        }
        // Without `tls` there is no SHA-256 here; the comparison is constant-time in the
        // content but shows the length.
        #[cfg(not(feature = "tls"))]
        {
            bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
        }
    }

    /// The token's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the token is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

/// The client's first frame.
///
/// `protocol` stays the first field in every version: a server reads it alone first, so it
/// can refuse a hello of another version it could not otherwise decode.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u16,
    /// The service the connection is for, by its name (`"models"`).
    pub service: String,
    /// The pre-shared token, when the client has one.
    pub token: Option<String>,
    /// The codec of every later frame, both ways.
    pub codec: Codec,
    /// The largest frame the client accepts.
    pub max_frame_bytes: u64,
}

impl Hello {
    /// The hello a client sends for `service`, with its token, codec and frame limit.
    pub fn for_client(
        service: &str,
        token: Option<&Token>,
        codec: Codec,
        max_frame_bytes: u64,
    ) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            service: service.to_owned(),
            token: token.map(|token| token.secret().to_owned()),
            codec,
            max_frame_bytes,
        }
    }
}

/// A stream framed for the preamble: frames of at most [`PREAMBLE_FRAME_LIMIT`] both ways,
/// errors naming `context` (the peer, or the service and address).
pub fn preamble_framed<T: AsyncRead + AsyncWrite>(io: T, context: String) -> Framed<T, FrameCodec> {
    let limit = PREAMBLE_FRAME_LIMIT;
    Framed::new(io, FrameCodec::new(limit, limit, context.into()))
}

impl fmt::Debug for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hello")
            .field("protocol", &self.protocol)
            .field("service", &self.service)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("codec", &self.codec)
            .field("max_frame_bytes", &self.max_frame_bytes)
            .finish()
    }
}

/// The server's answer to a [`Hello`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    /// The connection is admitted.
    Welcome {
        /// The largest frame the server accepts.
        max_frame_bytes: u64,
    },
    /// The connection is refused and will be closed.
    Refused {
        /// Why.
        reason: Refusal,
    },
}

/// Why a server refused a connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// The hello was of another protocol version.
    #[error("protocol version {client} is not spoken here (the server speaks version {server})")]
    ProtocolMismatch {
        /// The server's version.
        server: u16,
        /// The client's.
        client: u16,
    },
    /// The node does not host the service asked for.
    #[error("this node does not host `{service}` (it hosts: {})", hosted.join(", "))]
    UnknownService {
        /// The service asked for.
        service: String,
        /// The services the node hosts.
        hosted: Vec<String>,
    },
    /// The node requires a token and the hello had none.
    #[error("this node requires a token and none was sent")]
    MissingToken,
    /// The hello's token is not the node's.
    #[error("the token was not accepted")]
    BadToken,
    /// The node serves as many connections as it may; the client may try again later.
    #[error("the server is at its limit of {limit} connections; try again later")]
    AtCapacity {
        /// The limit (`max_connections`).
        limit: usize,
    },
}

impl Refusal {
    /// Whether this refusal is a failed authentication (no token, or a wrong one), which a
    /// server counts against the peer's address.
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Refusal::MissingToken | Refusal::BadToken)
    }
}

/// Why a preamble exchange failed, on either side.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer refused (client side), or this side refused the peer (server side).
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// The peer closed the connection before the exchange ended.
    #[error("the peer closed the connection during the preamble")]
    Closed,
    /// A preamble frame that does not decode.
    #[error("a malformed preamble message: {0}")]
    Malformed(#[from] CodecError),
    /// The connection failed, or a frame was over the preamble's limit.
    #[error(transparent)]
    Wire(#[from] WireError),
}

/// What the server admitted: the service asked for and how to talk to it.
#[derive(Debug)]
pub(crate) struct Admitted {
    pub(crate) service: String,
    pub(crate) codec: Codec,
}

/// Reads the client's hello, checks it with `check`, and answers; on a welcome the frame
/// limits become `max_frame_bytes` for what arrives and the smaller of the two sides' for
/// what is sent.
///
/// # Cancel safety
/// Not cancel safe: a cancelled exchange leaves the connection mid-preamble; drop it.
pub(crate) async fn answer_hello<IO, F>(
    framed: &mut Framed<IO, FrameCodec>,
    max_frame_bytes: u64,
    check: F,
) -> Result<Admitted, HandshakeError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Hello) -> Result<(), Refusal>,
{
    let frame = framed.next().await.ok_or(HandshakeError::Closed)??;
    let (protocol, _) = postcard::take_from_bytes::<u16>(&frame).map_err(malformed)?;
    if protocol != PROTOCOL_VERSION {
        let reason = Refusal::ProtocolMismatch {
            server: PROTOCOL_VERSION,
            client: protocol,
        };
        return Err(refuse(framed, reason).await);
    }
    let hello: Hello = Codec::Postcard.decode(&frame)?;
    if let Err(reason) = check(&hello) {
        return Err(refuse(framed, reason).await);
    }
    send(framed, &Answer::Welcome { max_frame_bytes }).await?;
    framed
        .codec_mut()
        .set_limits(max_frame_bytes, max_frame_bytes.min(hello.max_frame_bytes));
    Ok(Admitted {
        service: hello.service,
        codec: hello.codec,
    })
}

/// Sends `hello` and reads the answer; on a welcome the frame limits become the hello's
/// `max_frame_bytes` for what arrives and the smaller of the two sides' for what is sent.
///
/// # Cancel safety
/// Not cancel safe: a cancelled exchange leaves the connection mid-preamble; drop it.
pub(crate) async fn say_hello<IO>(
    framed: &mut Framed<IO, FrameCodec>,
    hello: &Hello,
) -> Result<(), HandshakeError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    send(framed, hello).await?;
    let frame = framed.next().await.ok_or(HandshakeError::Closed)??;
    match Codec::Postcard.decode(&frame)? {
        Answer::Welcome { max_frame_bytes } => {
            framed.codec_mut().set_limits(
                hello.max_frame_bytes,
                hello.max_frame_bytes.min(max_frame_bytes),
            );
            Ok(())
        }
        Answer::Refused { reason } => Err(HandshakeError::Refused(reason)),
    }
}

/// Encodes a preamble message as one frame (public so tests can play a raw peer).
///
/// # Errors
/// Only if postcard cannot encode the message, which it always can.
pub fn preamble_frame<T: Serialize>(message: &T) -> Result<Bytes, CodecError> {
    Codec::Postcard.encode(message).map(Bytes::from)
}

async fn send<IO, T>(framed: &mut Framed<IO, FrameCodec>, message: &T) -> Result<(), HandshakeError>
where
    IO: AsyncRead + AsyncWrite + Unpin,
    T: Serialize,
{
    framed.send(preamble_frame(message)?).await?;
    Ok(())
}

/// Tells the client why, best effort (it may be gone), and gives the reason back.
async fn refuse<IO>(framed: &mut Framed<IO, FrameCodec>, reason: Refusal) -> HandshakeError
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let answer = Answer::Refused {
        reason: reason.clone(),
    };
    if let Err(error) = send(framed, &answer).await {
        tracing::debug!(%error, "could not send the refusal");
    }
    HandshakeError::Refused(reason)
}

fn malformed(error: postcard::Error) -> CodecError {
    CodecError {
        codec: Codec::Postcard,
        action: "decode",
        message: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::duplex;

    fn hello(token: Option<&str>) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            service: "probe".into(),
            token: token.map(str::to_owned),
            codec: Codec::Bincode,
            max_frame_bytes: 1000,
        }
    }

    fn framed<IO: AsyncRead + AsyncWrite>(io: IO) -> Framed<IO, FrameCodec> {
        let limit = PREAMBLE_FRAME_LIMIT;
        Framed::new(io, FrameCodec::new(limit, limit, "test".into()))
    }

    fn require(token: &'static str) -> impl FnOnce(&Hello) -> Result<(), Refusal> {
        move |hello: &Hello| match &hello.token {
            None => Err(Refusal::MissingToken),
            Some(presented) if Token::new(token).matches(presented) => Ok(()),
            Some(_) => Err(Refusal::BadToken),
        }
    }

    #[tokio::test]
    async fn a_welcome_sets_the_smaller_limit_for_sending() {
        let (client_io, server_io) = duplex(4096);
        let (mut client, mut server) = (framed(client_io), framed(server_io));
        let server_side = tokio::spawn(async move {
            let admitted = answer_hello(&mut server, 5000, require("s3cret-s3cret-s3cret")).await;
            (
                admitted,
                server.codec().send_limit(),
                server.codec().receive_limit(),
            )
        });
        say_hello(&mut client, &hello(Some("s3cret-s3cret-s3cret")))
            .await
            .unwrap();
        assert_eq!(client.codec().send_limit(), 1000);
        assert_eq!(client.codec().receive_limit(), 1000);
        let (admitted, send, receive) = server_side.await.unwrap();
        let admitted = admitted.unwrap();
        assert_eq!(
            (admitted.service.as_str(), admitted.codec),
            ("probe", Codec::Bincode)
        );
        assert_eq!((send, receive), (1000, 5000));
    }

    #[tokio::test]
    async fn refusals_reach_the_client_with_their_reason() {
        for (token, expected) in [
            (None, Refusal::MissingToken),
            (Some("guess-guess-guess-guess"), Refusal::BadToken),
        ] {
            let (client_io, server_io) = duplex(4096);
            let (mut client, mut server) = (framed(client_io), framed(server_io));
            let server_side = tokio::spawn(async move {
                answer_hello(&mut server, 5000, require("s3cret-s3cret-s3cret")).await
            });
            let error = say_hello(&mut client, &hello(token)).await.unwrap_err();
            assert!(
                matches!(&error, HandshakeError::Refused(r) if *r == expected),
                "{error}"
            );
            assert!(server_side.await.unwrap().is_err());
        }
    }

    #[tokio::test]
    async fn another_protocol_version_is_refused_by_number() {
        let (client_io, server_io) = duplex(4096);
        let (mut client, mut server) = (framed(client_io), framed(server_io));
        let server_side =
            tokio::spawn(async move { answer_hello(&mut server, 5000, |_| Ok(())).await });
        let mut future = hello(None);
        future.protocol = 7;
        let error = say_hello(&mut client, &future).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "refused: protocol version 7 is not spoken here (the server speaks version 1)"
        );
        assert!(server_side.await.unwrap().is_err());
    }

    #[test]
    fn tokens_compare_by_content_and_hide_in_debug() {
        let token = Token::new("s3cret-s3cret-s3cret");
        assert!(token.matches("s3cret-s3cret-s3cret"));
        assert!(!token.matches("s3cres"));
        assert!(!token.matches("s3cret-and-more"));
        assert_eq!(format!("{token:?}"), "Token(<hidden>)");
        assert!(
            !format!("{:?}", hello(Some("s3cret-s3cret-s3cret"))).contains("s3cret-s3cret-s3cret")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_codec() -> impl Strategy<Value = Codec> {
            prop::sample::select(Codec::ALL.to_vec())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Every hello round-trips through its preamble frame.
            #[test]
            fn valid_hellos_round_trip(
                protocol in any::<u16>(),
                service in "[a-z]{0,24}",
                token in prop::option::of("[ -~]{0,64}"),
                codec in any_codec(),
                max_frame_bytes in any::<u64>(),
            ) {
                let hello = Hello { protocol, service, token, codec, max_frame_bytes };
                let frame = preamble_frame(&hello).unwrap();
                prop_assert!(frame.len() as u64 <= PREAMBLE_FRAME_LIMIT);
                let back: Hello = Codec::Postcard.decode(&frame).unwrap();
                prop_assert_eq!(back, hello);
            }

            /// Arbitrary bytes as a hello or an answer: an error at worst, never a panic.
            #[test]
            fn arbitrary_preamble_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
                let _ = Codec::Postcard.decode::<Hello>(&bytes);
                let _ = Codec::Postcard.decode::<Answer>(&bytes);
                let _ = postcard::take_from_bytes::<u16>(&bytes);
            }
        }

        /// A server reading arbitrary bytes as a hello answers or fails; it never panics and
        /// never admits one that does not decode to a hello of this protocol.
        #[test]
        fn a_server_fed_arbitrary_hello_frames_never_panics() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
                cases: 128,
                ..ProptestConfig::default()
            });
            runner
                .run(&prop::collection::vec(any::<u8>(), 0..128), |bytes| {
                    runtime.block_on(async {
                        let (client_io, server_io) = duplex(4096);
                        let (mut client, mut server) = (framed(client_io), framed(server_io));
                        client.send(Bytes::from(bytes.clone())).await.unwrap();
                        drop(client);
                        let admitted = answer_hello(&mut server, 5000, |_| Ok(())).await;
                        if admitted.is_ok() {
                            let hello: Hello = Codec::Postcard.decode(&bytes).unwrap();
                            assert_eq!(hello.protocol, PROTOCOL_VERSION);
                        }
                    });
                    Ok(())
                })
                .unwrap();
        }
    }
}
