//! [`Outbox`]: frames waiting to be written to a connection, and the writing of them.
//!
//! Small frames are copied, length prefix and payload, into one buffer, so a burst of
//! answers leaves in one system call. A large payload is not copied: it is queued as the
//! encoder's own buffer and written with vectored writes beside the prefixes around it.
//! Copying an 8 MiB message into a write buffer cost each side a pass over it per call.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::AsyncWrite;
use tokio_util::bytes::{Buf, BufMut, Bytes, BytesMut};

use super::frame::{FrameCodec, WireError};

/// Payloads at least this large are queued as they are rather than copied.
const COPY_BELOW: usize = 16 * 1024;
/// The most buffers handed to one vectored write.
const MAX_SLICES: usize = 32;
/// Frames queued past this are written out before more are taken.
pub(crate) const BACKPRESSURE: usize = 128 * 1024;

/// Length-prefixed frames queued for writing; see the module docs.
#[derive(Debug)]
pub(crate) struct Outbox {
    /// Whole buffers queued ahead of `tail`: coalesced small frames, and large payloads.
    /// Never an empty one, and only on a stream that takes vectored writes.
    chunks: VecDeque<Bytes>,
    /// Where prefixes and small frames are being coalesced.
    tail: BytesMut,
    /// Bytes queued in all.
    queued: usize,
    /// Whether the stream takes vectored writes; if not, everything is copied into one
    /// buffer (a prefix written alone would cost a TLS record or a packet of its own).
    vectored: bool,
}

impl Outbox {
    /// An outbox for a stream that takes vectored writes or not, holding `pending` (bytes
    /// already framed, as a preamble leaves them).
    pub(crate) fn new(vectored: bool, pending: BytesMut) -> Self {
        Outbox {
            queued: pending.len(),
            tail: pending,
            chunks: VecDeque::new(),
            vectored,
        }
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.queued
    }

    /// Queues `payload` as one frame, after checking it against `codec`'s send limit.
    pub(crate) fn push(&mut self, codec: &FrameCodec, payload: Bytes) -> Result<(), WireError> {
        codec.check_send(payload.len())?;
        // The limit is at most u32::MAX (FrameCodec clamps it), so the length fits.
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        self.tail.put_u32(len);
        self.queued += 4 + payload.len();
        if payload.len() < COPY_BELOW || !self.vectored {
            self.tail.extend_from_slice(&payload);
        } else {
            self.chunks.push_back(self.tail.split().freeze());
            self.chunks.push_back(payload);
        }
        Ok(())
    }

    /// Writes out everything queued.
    pub(crate) fn poll_write_to<W>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        while self.queued > 0 {
            let written = if self.chunks.is_empty() {
                ready!(Pin::new(&mut *io).poll_write(cx, &self.tail))?
            } else {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let mut count = 0;
                for chunk in self.chunks.iter().take(MAX_SLICES) {
                    slices[count] = IoSlice::new(chunk);
                    count += 1;
                }
                if count < MAX_SLICES && !self.tail.is_empty() {
                    slices[count] = IoSlice::new(&self.tail);
                    count += 1;
                }
                ready!(Pin::new(&mut *io).poll_write_vectored(cx, &slices[..count]))?
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.advance(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Everything queued written, and the stream flushed.
    pub(crate) fn poll_flush<W>(
        &mut self,
        io: &mut W,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), WireError>>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        ready!(self.poll_write_to(io, cx))?;
        Pin::new(&mut *io).poll_flush(cx).map_err(WireError::Io)
    }

    /// Drops the first `count` queued bytes, which were written.
    fn advance(&mut self, mut count: usize) {
        self.queued -= count;
        while count > 0 {
            match self.chunks.front_mut() {
                Some(chunk) if chunk.len() <= count => {
                    count -= chunk.len();
                    self.chunks.pop_front();
                }
                Some(chunk) => {
                    chunk.advance(count);
                    return;
                }
                None => {
                    self.tail.advance(count);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio_util::codec::Decoder as _;

    /// A writer taking at most `step` bytes per call, vectored or not.
    struct Trickle {
        written: Vec<u8>,
        step: usize,
        vectored: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(self.step);
            self.written.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let mut left = self.step;
            let mut total = 0;
            for buf in bufs {
                let n = buf.len().min(left);
                self.written.extend_from_slice(&buf[..n]);
                left -= n;
                total += n;
                if left == 0 {
                    break;
                }
            }
            Poll::Ready(Ok(total))
        }

        fn is_write_vectored(&self) -> bool {
            self.vectored
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn small_and_large_frames_arrive_whole_and_in_order_through_partial_writes() {
        let codec = FrameCodec::new(1 << 20, 1 << 20, Arc::from("test"));
        let payloads: Vec<Vec<u8>> = vec![
            b"hello".to_vec(),
            vec![7u8; 100_000],
            b"between".to_vec(),
            vec![9u8; COPY_BELOW],
            vec![],
            b"end".to_vec(),
        ];
        for (step, vectored) in [(1, false), (3, true), (4096, true), (1 << 20, true)] {
            let mut outbox = Outbox::new(vectored, BytesMut::from(&b"pre"[..]));
            for payload in &payloads {
                outbox.push(&codec, Bytes::from(payload.clone())).unwrap();
            }
            let mut writer = Trickle {
                written: Vec::new(),
                step,
                vectored,
            };
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            assert!(outbox.poll_write_to(&mut writer, &mut cx).is_ready());
            assert_eq!(outbox.queued(), 0);
            assert_eq!(&writer.written[..3], b"pre");
            let mut wire = BytesMut::from(&writer.written[3..]);
            let mut reader = FrameCodec::new(1 << 20, 1 << 20, Arc::from("test"));
            for payload in &payloads {
                let frame = reader.decode(&mut wire).unwrap().unwrap();
                assert_eq!(&frame[..], &payload[..], "step {step}");
            }
            assert!(wire.is_empty());
        }
    }

    #[test]
    fn a_frame_over_the_send_limit_is_refused_and_nothing_is_queued() {
        let codec = FrameCodec::new(100, 100, Arc::from("svc, peer 127.0.0.1:9"));
        let mut outbox = Outbox::new(true, BytesMut::new());
        let error = outbox
            .push(&codec, Bytes::from(vec![0u8; 101]))
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("101 bytes exceeds the frame limit of 100"),
            "{error}"
        );
        assert_eq!(outbox.queued(), 0);
    }
}
