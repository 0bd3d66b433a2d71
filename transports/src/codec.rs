//! How messages become bytes on a remote transport: the [`Codec`] choice, and the [`Wire`]
//! of one connection that applies it with a size check.
//!
//! The formats were measured on this machine by `cargo bench -p mltools-transport --bench
//! codecs` (medians; each message wrapped in the tarpc response that crosses the wire):
//!
//! | codec | `list` reply (5 datasets): encode, decode, size | `get` reply (100k × 20 f64): encode, decode, size |
//! |---|---|---|
//! | bincode 1 (varint) | 0.4 µs, 1.3 µs, 655 B | 2.4 ms, 0.8 ms, 16.0 MB |
//! | postcard | 0.4 µs, 1.1 µs, 639 B | 1.4 ms, 0.8 ms, 16.0 MB |
//! | MessagePack | 0.7 µs, 1.6 µs, 912 B | 1.4 ms, 0.8 ms, 16.0 MB |
//! | JSON | 1.6 µs, 5.1 µs, 2112 B | 57–77 ms, 180–200 ms, 54.9 MB |
//!
//! Postcard is the default: smallest and fastest (or level) on both messages; bincode 1
//! computes the size in a first pass, which runs the column-to-bytes conversion twice, and
//! is no longer maintained; MessagePack is larger and slower on small messages. Large
//! payloads cost the same in every binary codec because columns cross as `serde_bytes`
//! blocks. JSON writes each byte of a block as a number: debugging only.
//!
//! A peer names its codec in the connection's hello, and the server answers in it, so two
//! nodes with different defaults still talk.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use tarpc::{ClientMessage, Response, ServerError};
use tokio_util::bytes::Bytes;

use crate::remote::frame::{FrameKind, FrameTooLarge, WireError};

// tarpc panics on an extreme deadline; requests are read in a shape of our own.
mod request_repr;
// tarpc garbles `ServerError` kinds in varint codecs; responses cross in a shape of our own.
mod response_repr;

/// The longest deadline a server honours by default: one hour. A request's deadline comes
/// from the peer; a longer one is cut to this (long work is a job, not a call).
pub const DEFAULT_MAX_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// The serialization format of a remote connection's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// bincode 1 with its default options (varint integers).
    Bincode,
    /// postcard: compact varint encoding, a stable specified format. The default.
    #[default]
    Postcard,
    /// MessagePack (`rmp-serde`, structs as arrays).
    #[serde(rename = "msgpack")]
    MessagePack,
    /// JSON: readable on the wire, several times larger and slower; for debugging only.
    Json,
}

impl Codec {
    /// Every codec, in the order the bench prints them.
    pub const ALL: [Codec; 4] = [
        Codec::Bincode,
        Codec::Postcard,
        Codec::MessagePack,
        Codec::Json,
    ];

    /// The codec's name, as in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Bincode => "bincode",
            Codec::Postcard => "postcard",
            Codec::MessagePack => "msgpack",
            Codec::Json => "json",
        }
    }

    /// Encodes `value`.
    ///
    /// # Errors
    /// A [`CodecError`] when the format cannot represent the value (JSON and a map with
    /// non-string keys, say).
    pub fn encode<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<u8>, CodecError> {
        use bincode::Options as _;
        let encoded = match self {
            Codec::Bincode => bincode::DefaultOptions::new()
                .serialize(value)
                .map_err(|e| e.to_string()),
            // Sized first (a walk that copies nothing), so the message is written once into
            // a buffer of its size rather than through a run of doubling reallocations.
            Codec::Postcard => postcard::serialize_with_flavor::<T, _, usize>(
                value,
                postcard::ser_flavors::Size::default(),
            )
            .and_then(|size| postcard::to_extend(value, Vec::with_capacity(size)))
            .map_err(|e| e.to_string()),
            Codec::MessagePack => rmp_serde::to_vec(value).map_err(|e| e.to_string()),
            Codec::Json => serde_json::to_vec(value).map_err(|e| e.to_string()),
        };
        encoded.map_err(|message| CodecError {
            codec: self,
            action: "encode",
            message,
        })
    }

    /// Decodes a `T` from `bytes`.
    ///
    /// # Errors
    /// A [`CodecError`] when the bytes are not a valid `T` in this format.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, CodecError> {
        use bincode::Options as _;
        let decoded = match self {
            Codec::Bincode => bincode::DefaultOptions::new()
                .deserialize(bytes)
                .map_err(|e| e.to_string()),
            Codec::Postcard => postcard::from_bytes(bytes).map_err(|e| e.to_string()),
            Codec::MessagePack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
            Codec::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        };
        decoded.map_err(|message| CodecError {
            codec: self,
            action: "decode",
            message,
        })
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message the codec could not encode or decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{codec} could not {action} a message: {message}")]
pub struct CodecError {
    /// The codec.
    pub codec: Codec,
    /// `"encode"` or `"decode"`.
    pub action: &'static str,
    /// The format's own explanation.
    pub message: String,
}

/// A message a connection sends: how it is encoded, and what happens when it is too large.
///
/// A client refuses to send an oversized request (the caller gets the error, the connection
/// is untouched); a server sends an error answer in place of an oversized response (its
/// caller learns why, and the connection goes on).
pub trait Outgoing: Sized {
    /// What this message is, for errors.
    fn kind() -> FrameKind;

    /// Encodes the message.
    ///
    /// # Errors
    /// The codec's.
    fn encode(&self, codec: Codec) -> Result<Vec<u8>, CodecError>;

    /// The message to send instead when this one is over the limit, or `None` to refuse the
    /// send with `error`.
    fn replacement(&self, error: &FrameTooLarge) -> Option<Self>;
}

/// A message a connection receives.
pub trait Incoming: Sized {
    /// Decodes the message.
    ///
    /// # Errors
    /// The codec's.
    fn decode(codec: Codec, bytes: &[u8]) -> Result<Self, CodecError>;

    /// Decodes the message, a deadline it carries cut to at most `max_deadline` from now
    /// (requests carry one; the peer chooses it). By default, [`decode`](Self::decode).
    ///
    /// # Errors
    /// The codec's.
    fn decode_bounded(
        codec: Codec,
        bytes: &[u8],
        max_deadline: std::time::Duration,
    ) -> Result<Self, CodecError> {
        let _ = max_deadline;
        Self::decode(codec, bytes)
    }
}

impl<Req: Serialize> Outgoing for ClientMessage<Req> {
    fn kind() -> FrameKind {
        FrameKind::Request
    }

    fn encode(&self, codec: Codec) -> Result<Vec<u8>, CodecError> {
        codec.encode(self)
    }

    fn replacement(&self, _: &FrameTooLarge) -> Option<Self> {
        None
    }
}

impl<Req: DeserializeOwned> Incoming for ClientMessage<Req> {
    fn decode(codec: Codec, bytes: &[u8]) -> Result<Self, CodecError> {
        Self::decode_bounded(codec, bytes, DEFAULT_MAX_DEADLINE)
    }

    fn decode_bounded(
        codec: Codec,
        bytes: &[u8],
        max_deadline: std::time::Duration,
    ) -> Result<Self, CodecError> {
        codec
            .decode::<request_repr::In<Req>>(bytes)
            .map(|request| request.into_message(max_deadline))
    }
}

impl<Resp: Serialize> Outgoing for Response<Resp> {
    fn kind() -> FrameKind {
        FrameKind::Response
    }

    fn encode(&self, codec: Codec) -> Result<Vec<u8>, CodecError> {
        codec.encode(&response_repr::Out::from(self))
    }

    fn replacement(&self, error: &FrameTooLarge) -> Option<Self> {
        // `InvalidInput` is the truth: the same call would be too large again; the caller
        // must ask for less.
        Some(Response {
            request_id: self.request_id,
            message: Err(ServerError::new(
                io::ErrorKind::InvalidInput,
                format!("{error}; read it in pages, or raise max_frame_bytes on both ends"),
            )),
        })
    }
}

impl<Resp: DeserializeOwned> Incoming for Response<Resp> {
    fn decode(codec: Codec, bytes: &[u8]) -> Result<Self, CodecError> {
        codec
            .decode::<response_repr::In<Resp>>(bytes)
            .map(Response::from)
    }
}

/// How one connection encodes what it sends: with its [`Codec`], refusing (or replacing, see
/// [`Outgoing`]) a `SinkItem` whose encoding is over `send_limit`. `Item` is what it
/// receives.
pub struct Wire<Item, SinkItem> {
    codec: Codec,
    send_limit: u64,
    context: Arc<str>,
    // `fn` pointers keep the pair `Send + Sync + Unpin` whatever the message types are.
    ghost: PhantomData<fn(SinkItem) -> Item>,
}

impl<Item, SinkItem> Wire<Item, SinkItem> {
    /// A pair for one connection; `context` names it in errors (`"probe at 127.0.0.1:4433"`).
    pub fn new(codec: Codec, send_limit: u64, context: Arc<str>) -> Self {
        Wire {
            codec,
            send_limit,
            context,
            ghost: PhantomData,
        }
    }

    /// The codec messages are encoded with.
    pub(crate) fn codec(&self) -> Codec {
        self.codec
    }

    fn too_large(&self, kind: FrameKind, size: usize) -> FrameTooLarge {
        FrameTooLarge {
            context: Arc::clone(&self.context),
            kind,
            size: size as u64,
            limit: self.send_limit,
        }
    }

    pub(crate) fn codec_error(&self, source: CodecError) -> WireError {
        WireError::Codec {
            context: Arc::clone(&self.context),
            source,
        }
    }
}

impl<Item, SinkItem> fmt::Debug for Wire<Item, SinkItem> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wire")
            .field("codec", &self.codec)
            .field("send_limit", &self.send_limit)
            .field("context", &self.context)
            .finish()
    }
}

impl<Item, SinkItem: Outgoing> Wire<Item, SinkItem> {
    /// Encodes `item`, refusing it (or sending its replacement) over the send limit.
    pub(crate) fn encode_within_limit(&self, item: &SinkItem) -> Result<Bytes, WireError> {
        let bytes = item.encode(self.codec).map_err(|e| self.codec_error(e))?;
        if bytes.len() as u64 <= self.send_limit {
            return Ok(Bytes::from(bytes));
        }
        let error = self.too_large(SinkItem::kind(), bytes.len());
        drop(bytes);
        let Some(replacement) = item.replacement(&error) else {
            return Err(WireError::FrameTooLarge(error));
        };
        tracing::warn!(%error, "sending an error answer in place of the oversized message");
        let bytes = replacement
            .encode(self.codec)
            .map_err(|e| self.codec_error(e))?;
        if bytes.len() as u64 > self.send_limit {
            // Only a limit smaller than an error message gets here; nothing smaller exists.
            return Err(WireError::FrameTooLarge(error));
        }
        Ok(Bytes::from(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        name: String,
        #[serde(with = "serde_bytes")]
        block: Vec<u8>,
        id: u128,
        nested: Option<Vec<(u32, i64)>>,
        #[serde(with = "mltools_core::wire::f64_le")]
        column: Vec<f64>,
        #[serde(with = "mltools_core::wire::opt_u32_le")]
        codes: Option<Vec<u32>>,
    }

    fn sample() -> Sample {
        Sample {
            name: "houses".into(),
            block: vec![1, 2, 3, 255],
            id: u128::MAX - 7,
            nested: Some(vec![(1, -2), (3, i64::MIN)]),
            column: vec![1.5, -0.25, 1e300, 0.0],
            codes: Some(vec![0, 7, u32::MAX]),
        }
    }

    #[test]
    fn every_codec_round_trips() {
        for codec in Codec::ALL {
            let bytes = codec.encode(&sample()).unwrap();
            let back: Sample = codec.decode(&bytes).unwrap();
            assert_eq!(back, sample(), "{codec}");
        }
    }

    /// Column blocks as they were written before they crossed without a copy: a
    /// `serde_bytes` buffer of the little-endian values.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct LegacyColumns {
        #[serde(with = "serde_bytes")]
        column: Vec<u8>,
        codes: Option<serde_bytes::ByteBuf>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Columns {
        #[serde(with = "mltools_core::wire::f64_le")]
        column: Vec<f64>,
        #[serde(with = "mltools_core::wire::opt_u32_le")]
        codes: Option<Vec<u32>>,
    }

    fn columns() -> (Columns, LegacyColumns) {
        let column = vec![1.5, -0.25, f64::MAX, -0.0];
        let codes = vec![0, 7, u32::MAX];
        let legacy = LegacyColumns {
            column: column.iter().flat_map(|v: &f64| v.to_le_bytes()).collect(),
            codes: Some(serde_bytes::ByteBuf::from(
                codes
                    .iter()
                    .flat_map(|v: &u32| v.to_le_bytes())
                    .collect::<Vec<u8>>(),
            )),
        };
        (
            Columns {
                column,
                codes: Some(codes),
            },
            legacy,
        )
    }

    #[test]
    fn column_blocks_are_written_as_before_and_read_from_what_older_nodes_wrote() {
        let (columns, legacy) = columns();
        for codec in [Codec::Bincode, Codec::Postcard, Codec::MessagePack] {
            let new = codec.encode(&columns).unwrap();
            assert_eq!(new, codec.encode(&legacy).unwrap(), "{codec}: same bytes");
            let back: Columns = codec.decode(&new).unwrap();
            assert_eq!(back.column[..3], columns.column[..3], "{codec}");
            assert!(back.column[3] == 0.0 && back.column[3].is_sign_negative());
            assert_eq!(back.codes, columns.codes, "{codec}");
        }
    }

    #[test]
    fn column_blocks_are_read_from_msgpack_arrays_and_raw_strings() {
        // A peer writing the bytes as an array of numbers.
        #[derive(Serialize)]
        struct AsArray {
            column: Vec<u8>,
            codes: Option<Vec<u8>>,
        }
        let (columns, legacy) = columns();
        let array = Codec::MessagePack
            .encode(&AsArray {
                column: legacy.column.clone(),
                codes: legacy.codes.clone().map(|codes| codes.into_vec()),
            })
            .unwrap();
        let back: Columns = Codec::MessagePack.decode(&array).unwrap();
        assert_eq!(back.codes, columns.codes);
        assert_eq!(back.column[..3], columns.column[..3]);
        // A peer in MessagePack's old "raw" mode writes bytes as a string.
        #[derive(Serialize)]
        struct AsText {
            column: String,
            codes: Option<String>,
        }
        let text = Codec::MessagePack
            .encode(&AsText {
                column: "abcdefgh".into(),
                codes: Some("wxyz".into()),
            })
            .unwrap();
        let back: Columns = Codec::MessagePack.decode(&text).unwrap();
        assert_eq!(back.column, vec![f64::from_le_bytes(*b"abcdefgh")]);
        assert_eq!(back.codes, Some(vec![u32::from_le_bytes(*b"wxyz")]));
    }

    #[test]
    fn garbage_is_a_decode_error_naming_the_codec() {
        let error = Codec::Postcard.decode::<Sample>(&[0xff; 3]).unwrap_err();
        assert_eq!(error.codec, Codec::Postcard);
        assert!(
            error.to_string().starts_with("postcard could not decode"),
            "{error}"
        );
    }

    #[test]
    fn server_error_kinds_survive_every_codec() {
        for codec in Codec::ALL {
            for kind in [
                io::ErrorKind::WouldBlock,
                io::ErrorKind::ConnectionRefused,
                io::ErrorKind::InvalidInput,
                io::ErrorKind::UnexpectedEof,
                io::ErrorKind::Other,
            ] {
                let response = Response::<u32> {
                    request_id: 3,
                    message: Err(ServerError::new(kind, "why".into())),
                };
                let bytes = response.encode(codec).unwrap();
                let back = Response::<u32>::decode(codec, &bytes).unwrap();
                assert_eq!(back.request_id, 3);
                assert_eq!(back.message.unwrap_err().kind, kind, "{codec}");
            }
            let ok = Response::<u32> {
                request_id: 4,
                message: Ok(9),
            };
            let back = Response::<u32>::decode(codec, &ok.encode(codec).unwrap()).unwrap();
            assert_eq!(back.message.unwrap(), 9);
        }
    }

    #[test]
    fn codec_names_are_the_config_names() {
        let parsed: Vec<Codec> =
            serde_json::from_str(r#"["bincode","postcard","msgpack","json"]"#).unwrap();
        assert_eq!(parsed, Codec::ALL);
        assert_eq!(Codec::default(), Codec::Postcard);
    }

    fn request(len: usize) -> ClientMessage<serde_bytes::ByteBuf> {
        ClientMessage::Request(tarpc::Request {
            context: tarpc::context::current(),
            id: 9,
            message: serde_bytes::ByteBuf::from(vec![7; len]),
        })
    }

    #[test]
    fn an_oversized_request_is_refused_naming_size_and_limit() {
        let wire = Wire::<Response<()>, ClientMessage<serde_bytes::ByteBuf>>::new(
            Codec::Postcard,
            1000,
            "probe at 127.0.0.1:9".into(),
        );
        assert!(wire.encode_within_limit(&request(900)).is_ok());
        let error = wire.encode_within_limit(&request(1000)).unwrap_err();
        let WireError::FrameTooLarge(error) = error else {
            panic!("{error}");
        };
        assert_eq!(error.limit, 1000);
        assert!(error.size > 1000);
        let text = error.to_string();
        assert!(text.contains("probe at 127.0.0.1:9"), "{text}");
        assert!(text.contains("a request of"), "{text}");
    }

    #[test]
    fn an_oversized_response_becomes_an_error_answer_for_the_same_request() {
        let wire = Wire::<ClientMessage<()>, Response<serde_bytes::ByteBuf>>::new(
            Codec::Bincode,
            1000,
            "probe, peer 127.0.0.1:5".into(),
        );
        let response = Response {
            request_id: 41,
            message: Ok(serde_bytes::ByteBuf::from(vec![0; 5000])),
        };
        let bytes = wire.encode_within_limit(&response).unwrap();
        let back = Response::<serde_bytes::ByteBuf>::decode(Codec::Bincode, &bytes).unwrap();
        assert_eq!(back.request_id, 41);
        let error = back.message.unwrap_err();
        assert_eq!(error.kind, io::ErrorKind::InvalidInput);
        assert!(error.detail.contains("a response of"), "{}", error.detail);
        assert!(
            error.detail.contains("limit of 1000 bytes"),
            "{}",
            error.detail
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Serialize)]
        enum RawMessage {
            Request(RawRequest),
        }

        #[derive(Serialize)]
        struct RawRequest {
            context: RawContext,
            id: u64,
            message: u32,
        }

        #[derive(Serialize)]
        struct RawContext {
            deadline: RawDuration,
            trace_context: tarpc::trace::Context,
        }

        #[derive(Serialize)]
        struct RawDuration {
            secs: u64,
            nanos: u32,
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Any deadline a peer writes, in any codec: a request due within the maximum,
            /// or a decode error; never a panic.
            #[test]
            fn any_wire_deadline_is_clamped_or_refused(
                secs in prop_oneof![Just(0u64), Just(1), Just(i64::MAX as u64), Just(u64::MAX), any::<u64>()],
                nanos in prop_oneof![Just(0u32), Just(999_999_999), Just(u32::MAX), any::<u32>()],
                codec in prop::sample::select(Codec::ALL.to_vec()),
            ) {
                let raw = RawMessage::Request(RawRequest {
                    context: RawContext {
                        deadline: RawDuration { secs, nanos },
                        trace_context: tarpc::trace::Context::default(),
                    },
                    id: 3,
                    message: 9,
                });
                let bytes = codec.encode(&raw).unwrap();
                let max = std::time::Duration::from_secs(60);
                let before = std::time::Instant::now();
                match ClientMessage::<u32>::decode_bounded(codec, &bytes, max) {
                    Ok(ClientMessage::Request(request)) => {
                        prop_assert_eq!((request.id, request.message), (3, 9));
                        prop_assert!(request.context.deadline <= std::time::Instant::now() + max);
                        prop_assert!(request.context.deadline >= before);
                    }
                    Ok(_) => prop_assert!(false, "not a request"),
                    // Only a duration no `Duration` holds is refused.
                    Err(_) => prop_assert!(secs.checked_add(u64::from(nanos / 1_000_000_000)).is_none()),
                }
            }

            /// Arbitrary bytes as a request, in any codec: an error at worst.
            #[test]
            fn arbitrary_request_bytes_never_panic(
                bytes in prop::collection::vec(any::<u8>(), 0..256),
                codec in prop::sample::select(Codec::ALL.to_vec()),
            ) {
                let _ = ClientMessage::<String>::decode_bounded(codec, &bytes, DEFAULT_MAX_DEADLINE);
            }
        }
    }
}
