//! [`TimedFrames`]: an admitted connection's frames, with a deadline on each frame once begun,
//! and the time of the last byte received (for the idle timeout).
//!
//! A peer that sends a length prefix and half a frame, then stalls, would otherwise hold its
//! connection, and the buffer of the half frame, for as long as it likes. Here a timer runs
//! while the read buffer holds part of a frame; when it fires, the stream yields
//! [`WireError::FrameTimeout`] and the connection is closed.

use futures::{Sink, Stream};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};
use tokio_util::bytes::{Bytes, BytesMut};
use tokio_util::codec::Framed;

use super::frame::{FrameCodec, WireError};
use super::table::BoxIo;

/// When a connection last received a byte; shared between its frames and its serving loop.
#[derive(Debug)]
pub(crate) struct Activity {
    origin: Instant,
    last_ms: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Activity {
            origin: Instant::now(),
            last_ms: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.fetch_max(elapsed, Ordering::Relaxed);
    }

    /// When the last byte arrived (or the connection was admitted).
    pub(crate) fn last(&self) -> Instant {
        self.origin + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }
}

/// A connection's framed stream with a deadline on each frame once begun.
pub(crate) struct TimedFrames {
    framed: Framed<BoxIo, FrameCodec>,
    frame_timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    buffered: usize,
    activity: Arc<Activity>,
}

impl TimedFrames {
    pub(crate) fn new(
        framed: Framed<BoxIo, FrameCodec>,
        frame_timeout: Duration,
        activity: Arc<Activity>,
    ) -> Self {
        TimedFrames {
            framed,
            frame_timeout,
            timer: None,
            buffered: 0,
            activity,
        }
    }

    /// Whether part of a frame has arrived and not the rest.
    fn in_frame(&self) -> bool {
        !self.framed.read_buffer().is_empty() || self.framed.codec().in_frame()
    }
}

impl Stream for TimedFrames {
    type Item = Result<BytesMut, WireError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.framed).poll_next(cx);
        let buffered = this.framed.read_buffer().len();
        if buffered != this.buffered || matches!(polled, Poll::Ready(Some(Ok(_)))) {
            this.activity.touch();
        }
        this.buffered = buffered;
        if polled.is_ready() {
            this.timer = None;
            return polled;
        }
        if !this.in_frame() {
            this.timer = None;
            return Poll::Pending;
        }
        let frame_timeout = this.frame_timeout;
        let timer = this
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(frame_timeout)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.timer = None;
                Poll::Ready(Some(Err(WireError::FrameTimeout {
                    context: Arc::clone(this.framed.codec().context()),
                    timeout_ms: u64::try_from(frame_timeout.as_millis()).unwrap_or(u64::MAX),
                    received: buffered,
                })))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Sink<Bytes> for TimedFrames {
    type Error = WireError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WireError>> {
        Pin::new(&mut self.get_mut().framed).poll_ready(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Bytes) -> Result<(), WireError> {
        Pin::new(&mut self.get_mut().framed).start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WireError>> {
        Pin::new(&mut self.get_mut().framed).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WireError>> {
        Pin::new(&mut self.get_mut().framed).poll_close(cx)
    }
}

use std::future::Future as _;
