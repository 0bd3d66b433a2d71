//! Length-delimited frames with an explicit limit, and the errors of a connection's wire.
//!
//! Frames are tokio-util's [`LengthDelimitedCodec`] format (a 4-byte big-endian length, then
//! the payload). [`FrameCodec`] wraps it so that a frame over the limit is an error that
//! names the size, the limit and the connection, where tokio's own says only "frame size too
//! big" (and, through tarpc, arrives as a bare disconnect: tarpc #306, #389).
//!
//! A frame's length is read before its payload, so an oversized incoming frame is refused
//! before any of it is buffered. Nothing after it can be trusted to start on a frame boundary
//! without reading the whole payload, so the connection is closed; senders check the size of
//! what they send first ([`Wire`](crate::codec::Wire)), so an honest peer never gets there.

use std::fmt;
use std::io;
use std::sync::Arc;
use tokio_util::bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use crate::codec::CodecError;

/// The length prefix's width: frames are at most `u32::MAX` bytes.
const LENGTH_FIELD_BYTES: usize = 4;

/// What a frame carried, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameKind {
    /// A request this side was about to send.
    Request,
    /// A response this side was about to send.
    Response,
    /// A frame the peer sent.
    Incoming,
    /// A frame this side was about to send (a preamble message, or a message past the
    /// codec's own check).
    Outgoing,
}

impl fmt::Display for FrameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameKind::Request => "a request",
            FrameKind::Response => "a response",
            FrameKind::Incoming => "an incoming frame",
            FrameKind::Outgoing => "an outgoing frame",
        })
    }
}

/// A frame over the connection's limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{context}: {kind} of {size} bytes exceeds the frame limit of {limit} bytes")]
pub struct FrameTooLarge {
    /// The connection: the service and the peer's address.
    pub context: Arc<str>,
    /// What the frame carried.
    pub kind: FrameKind,
    /// The frame's size in bytes.
    pub size: u64,
    /// The limit it broke.
    pub limit: u64,
}

/// Why a connection's wire failed: the error type of the framed transports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A frame over the limit, outgoing (refused before sending; the connection is intact)
    /// or incoming (the connection is closed).
    #[error(transparent)]
    FrameTooLarge(#[from] FrameTooLarge),
    /// The peer closed the connection in the middle of a frame.
    #[error(
        "{context}: the peer closed the connection in the middle of a frame ({received} bytes of it received)"
    )]
    Truncated {
        /// The connection.
        context: Arc<str>,
        /// Bytes of the unfinished frame that had arrived.
        received: usize,
    },
    /// A frame begun and not finished in time (the connection is closed).
    #[error(
        "{context}: a frame begun was not finished within {timeout_ms} ms ({received} bytes buffered)"
    )]
    FrameTimeout {
        /// The connection.
        context: Arc<str>,
        /// The frame timeout.
        timeout_ms: u64,
        /// Bytes of it buffered when the time ran out.
        received: usize,
    },
    /// A message the codec could not encode or decode.
    #[error("{context}: {source}")]
    Codec {
        /// The connection.
        context: Arc<str>,
        /// The codec's error.
        source: CodecError,
    },
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

impl WireError {
    /// The frame-size error inside, if that is what this is.
    pub fn as_frame_too_large(&self) -> Option<&FrameTooLarge> {
        match self {
            WireError::FrameTooLarge(error) => Some(error),
            _ => None,
        }
    }
}

/// The frame codec of every remote connection: length-delimited frames, one limit for what
/// arrives and one for what is sent.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    inner: LengthDelimitedCodec,
    receive_limit: u64,
    send_limit: u64,
    context: Arc<str>,
    // Whether the next bytes of the stream are a length prefix; tracked so the prefix can be
    // checked (and named in the error) before the inner codec commits to reading the payload.
    at_head: bool,
}

impl FrameCodec {
    /// A codec for one connection, `context` naming it in errors. Limits are clamped to what
    /// a 4-byte length prefix can say.
    pub fn new(receive_limit: u64, send_limit: u64, context: Arc<str>) -> Self {
        let mut codec = FrameCodec {
            inner: LengthDelimitedCodec::builder()
                .length_field_length(LENGTH_FIELD_BYTES)
                .new_codec(),
            receive_limit: 0,
            send_limit: 0,
            context,
            at_head: true,
        };
        codec.set_limits(receive_limit, send_limit);
        codec
    }

    /// Changes the limits, as when the preamble ends and the negotiated limits apply.
    pub fn set_limits(&mut self, receive_limit: u64, send_limit: u64) {
        let ceiling = u64::from(u32::MAX);
        self.receive_limit = receive_limit.min(ceiling);
        self.send_limit = send_limit.min(ceiling);
        // The inner codec checks too (it cannot name the sizes); never below ours.
        let inner_max =
            usize::try_from(self.receive_limit.max(self.send_limit)).unwrap_or(usize::MAX);
        self.inner.set_max_frame_length(inner_max);
    }

    /// Renames the connection in errors, as when the preamble has said which service it is for.
    pub fn set_context(&mut self, context: Arc<str>) {
        self.context = context;
    }

    /// The connection's name in errors.
    pub fn context(&self) -> &Arc<str> {
        &self.context
    }

    /// Whether a frame's length prefix has been read and not yet all of its payload.
    pub fn in_frame(&self) -> bool {
        !self.at_head
    }

    /// The largest frame this side accepts.
    pub fn receive_limit(&self) -> u64 {
        self.receive_limit
    }

    /// The largest frame this side sends.
    pub fn send_limit(&self) -> u64 {
        self.send_limit
    }

    /// Whether a frame of `len` bytes may be sent: an error naming the sizes if not.
    pub(crate) fn check_send(&self, len: usize) -> Result<(), WireError> {
        if len as u64 > self.send_limit {
            return Err(WireError::FrameTooLarge(FrameTooLarge {
                context: Arc::clone(&self.context),
                kind: FrameKind::Outgoing,
                size: len as u64,
                limit: self.send_limit,
            }));
        }
        Ok(())
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = WireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, WireError> {
        let head_available = src.len() >= LENGTH_FIELD_BYTES;
        if self.at_head && head_available {
            let mut head = [0u8; LENGTH_FIELD_BYTES];
            head.copy_from_slice(&src[..LENGTH_FIELD_BYTES]);
            let size = u64::from(u32::from_be_bytes(head));
            if size > self.receive_limit {
                return Err(WireError::FrameTooLarge(FrameTooLarge {
                    context: Arc::clone(&self.context),
                    kind: FrameKind::Incoming,
                    size,
                    limit: self.receive_limit,
                }));
            }
        }
        let decoded = self.inner.decode(src)?;
        // The inner codec consumes a complete length prefix as soon as it has one, and is back
        // at a prefix after each frame.
        self.at_head = decoded.is_some() || (self.at_head && !head_available);
        Ok(decoded)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, WireError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() && self.at_head => Ok(None),
            None => Err(WireError::Truncated {
                context: Arc::clone(&self.context),
                received: src.len(),
            }),
        }
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = WireError;

    fn encode(&mut self, frame: Bytes, dst: &mut BytesMut) -> Result<(), WireError> {
        self.check_send(frame.len())?;
        Ok(self.inner.encode(frame, dst)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec(limit: u64) -> FrameCodec {
        FrameCodec::new(limit, limit, "test peer".into())
    }

    #[test]
    fn frames_round_trip_across_partial_reads() {
        let mut writer = codec(64);
        let mut wire = BytesMut::new();
        writer
            .encode(Bytes::from_static(b"hello"), &mut wire)
            .unwrap();
        writer
            .encode(Bytes::from_static(b"world!"), &mut wire)
            .unwrap();
        let mut reader = codec(64);
        let mut src = BytesMut::new();
        let mut frames = Vec::new();
        // Feed one byte at a time: the prefix check must not misread payload bytes.
        for byte in wire.iter() {
            src.extend_from_slice(&[*byte]);
            while let Some(frame) = reader.decode(&mut src).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, [&b"hello"[..], &b"world!"[..]]);
        assert!(reader.decode_eof(&mut src).unwrap().is_none());
    }

    #[test]
    fn an_oversized_prefix_is_refused_before_its_payload_arrives() {
        let mut reader = codec(1024);
        let mut src = BytesMut::from(&u32::MAX.to_be_bytes()[..]);
        let error = reader.decode(&mut src).unwrap_err();
        let WireError::FrameTooLarge(error) = error else {
            panic!("{error}");
        };
        assert_eq!((error.size, error.limit), (u64::from(u32::MAX), 1024));
        assert_eq!(
            error.to_string(),
            "test peer: an incoming frame of 4294967295 bytes exceeds the frame limit of 1024 bytes"
        );
    }

    #[test]
    fn a_payload_that_looks_like_a_big_prefix_is_not_mistaken_for_one() {
        let mut writer = codec(64);
        let mut wire = BytesMut::new();
        writer
            .encode(Bytes::from_static(&[0xff; 8]), &mut wire)
            .unwrap();
        let mut reader = codec(64);
        let mut src = BytesMut::from(&wire[..6]);
        assert!(reader.decode(&mut src).unwrap().is_none());
        src.extend_from_slice(&wire[6..]);
        assert_eq!(reader.decode(&mut src).unwrap().unwrap(), &[0xff; 8][..]);
    }

    #[test]
    fn a_half_frame_then_eof_is_truncated() {
        let mut reader = codec(64);
        let mut src = BytesMut::from(&[0, 0, 0, 10, 1, 2, 3][..]);
        assert!(reader.decode(&mut src).unwrap().is_none());
        let error = reader.decode_eof(&mut src).unwrap_err();
        assert!(
            matches!(error, WireError::Truncated { received: 3, .. }),
            "{error}"
        );
    }

    #[test]
    fn an_oversized_outgoing_frame_is_refused() {
        let mut writer = FrameCodec::new(1024, 4, "test peer".into());
        let mut dst = BytesMut::new();
        let error = writer
            .encode(Bytes::from_static(b"12345"), &mut dst)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("of 5 bytes exceeds the frame limit of 4"),
            "{error}"
        );
        assert!(dst.is_empty());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const LIMIT: u64 = 1024;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            /// Arbitrary bytes, fed in arbitrary pieces: never a panic, never a frame over
            /// the limit, and never a buffer grown past what arrived plus one frame.
            #[test]
            fn arbitrary_bytes_never_panic_nor_allocate_past_the_limit(
                pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..32),
                eof in any::<bool>(),
            ) {
                let mut reader = codec(LIMIT);
                let mut src = BytesMut::new();
                let mut arrived = 0usize;
                'feed: for piece in &pieces {
                    src.extend_from_slice(piece);
                    arrived += piece.len();
                    loop {
                        match reader.decode(&mut src) {
                            Ok(Some(frame)) => prop_assert!(frame.len() as u64 <= LIMIT),
                            Ok(None) => break,
                            Err(_) => break 'feed,
                        }
                        prop_assert!(src.capacity() <= arrived + LIMIT as usize + 2 * LENGTH_FIELD_BYTES);
                    }
                    prop_assert!(src.capacity() <= arrived + LIMIT as usize + 2 * LENGTH_FIELD_BYTES);
                }
                if eof {
                    let _ = reader.decode_eof(&mut src);
                }
            }

            /// A length prefix of any value: refused at once when over the limit, else
            /// waited for; a frame cut short is `Truncated` at the end of the stream.
            #[test]
            fn any_length_prefix_is_refused_or_awaited(size in any::<u32>(), have in 0usize..64) {
                let mut reader = codec(LIMIT);
                let mut src = BytesMut::from(&size.to_be_bytes()[..]);
                src.extend_from_slice(&vec![0u8; have.min(size as usize)]);
                match reader.decode(&mut src) {
                    Err(WireError::FrameTooLarge(error)) => {
                        prop_assert!(u64::from(size) > LIMIT);
                        prop_assert_eq!(error.size, u64::from(size));
                    }
                    Ok(Some(frame)) => prop_assert_eq!(frame.len(), size as usize),
                    Ok(None) => {
                        prop_assert!(u64::from(size) <= LIMIT);
                        let truncated = matches!(
                            reader.decode_eof(&mut src),
                            Err(WireError::Truncated { .. })
                        );
                        prop_assert!(truncated);
                    }
                    Err(error) => prop_assert!(false, "{}", error),
                }
            }

            /// Frames of any size within the limit round-trip, whatever the cuts.
            #[test]
            fn frames_round_trip(
                frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..200), 0..8),
                cut in 1usize..50,
            ) {
                let mut writer = codec(LIMIT);
                let mut wire = BytesMut::new();
                for frame in &frames {
                    writer.encode(Bytes::from(frame.clone()), &mut wire).unwrap();
                }
                let mut reader = codec(LIMIT);
                let mut src = BytesMut::new();
                let mut back = Vec::new();
                for piece in wire.chunks(cut) {
                    src.extend_from_slice(piece);
                    while let Some(frame) = reader.decode(&mut src).unwrap() {
                        back.push(frame.to_vec());
                    }
                }
                prop_assert_eq!(back, frames);
            }
        }
    }
}
