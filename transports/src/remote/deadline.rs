//! [`TimedFrames`]: an admitted server connection's frames, read under three bounds: a
//! deadline on each frame once begun, the listener's budget of request bytes in flight
//! ([`budget`](super::budget)), and the time of the last byte received (for the idle
//! timeout, which the serving loop applies).
//!
//! A peer that sends a length prefix and half a frame, then stalls, would otherwise hold its
//! connection, and the buffer of the half frame, for as long as it likes. Here a timer runs
//! while the read buffer holds part of a frame; when it fires, the stream yields
//! [`WireError::FrameTimeout`] and the connection is closed. The timer is paused while the
//! connection waits for budget: that delay is the server's, not the peer's.
//!
//! The read side is a loop of its own rather than tokio's `Framed`, because waiting for
//! budget must stop reading (backpressure) after a length prefix is seen and before its
//! payload is buffered, and `Framed` reads on whenever its decoder asks for more.

use futures::Stream;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::ReadHalf;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};
use tokio_util::bytes::BytesMut;
use tokio_util::codec::Decoder;
use tokio_util::sync::PollSemaphore;

use super::budget::{Ledger, RequestBudget};
use super::frame::{FrameCodec, FrameKind, FrameTooLarge, WireError};
use super::table::BoxIo;

/// The smallest read; larger when a frame's payload has been reserved.
const MIN_READ: usize = 8 * 1024;
/// The largest read.
const MAX_READ: usize = 1024 * 1024;
/// A frame's length prefix.
const HEAD: usize = 4;

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

/// The bounds a server connection's frames are read under.
pub(crate) struct FrameLimits {
    /// How long a frame once begun may take to arrive whole.
    pub(crate) frame_timeout: Duration,
    /// Touched at every byte received.
    pub(crate) activity: Arc<Activity>,
    /// The listener's budget of request bytes in flight.
    pub(crate) budget: RequestBudget,
}

/// A server connection's incoming frames, bounded in time and in request bytes.
pub(crate) struct TimedFrames {
    io: ReadHalf<BoxIo>,
    buffer: BytesMut,
    /// Decodes what arrives (its receive limit).
    codec: FrameCodec,
    eof: bool,
    frame_timeout: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    activity: Arc<Activity>,
    budget: RequestBudget,
    ledger: Arc<Ledger>,
    waiting: PollSemaphore,
    /// The size of a frame whose prefix was read and that waits for budget.
    need: Option<u32>,
    /// The budget taken for the frame being read.
    granted: Option<OwnedSemaphorePermit>,
    expiry: Option<Pin<Box<Sleep>>>,
}

impl TimedFrames {
    /// The frames of an admitted connection read from `io`, starting with what the
    /// preamble left in `buffer`.
    pub(crate) fn new(
        io: ReadHalf<BoxIo>,
        buffer: BytesMut,
        codec: FrameCodec,
        limits: FrameLimits,
        ledger: Arc<Ledger>,
    ) -> Self {
        let FrameLimits {
            frame_timeout,
            activity,
            budget,
        } = limits;
        TimedFrames {
            io,
            buffer,
            codec,
            eof: false,
            frame_timeout,
            timer: None,
            activity,
            waiting: PollSemaphore::new(budget.semaphore()),
            budget,
            ledger,
            need: None,
            granted: None,
            expiry: None,
        }
    }

    /// Stops the requests past their deadline (their handlers, their budget), and wakes the
    /// task at the next. Runs at every read of a frame, and while reading waits.
    ///
    /// One timer, moved only when it must fire sooner or has fired: every request brings a
    /// deadline of its own, and re-arming a timer per request cost each call an allocation
    /// and two trips through the runtime's timer wheel. A timer armed earlier than needed
    /// fires early, and is moved then; one left armed with nothing held fires once, for
    /// nothing, and is dropped.
    pub(crate) fn poll_expiry(&mut self, cx: &mut Context<'_>) {
        // Nothing can be due before a timer armed no later than the next expiry fires: then
        // the clock is not read (this runs at every poll of the connection).
        if let Some(timer) = &mut self.expiry {
            let in_time = self
                .ledger
                .next_expiry()
                .is_none_or(|next| timer.deadline() <= Instant::from_std(next));
            if in_time && timer.as_mut().poll(cx).is_pending() {
                return;
            }
        }
        loop {
            let Some(next) = self.ledger.expire(std::time::Instant::now()) else {
                if self.expiry.as_ref().is_some_and(|timer| timer.is_elapsed()) {
                    self.expiry = None;
                }
                return;
            };
            let at = Instant::from_std(next);
            let timer = match &mut self.expiry {
                Some(timer) if timer.deadline() <= at && !timer.is_elapsed() => timer,
                Some(timer) => {
                    timer.as_mut().reset(at);
                    timer
                }
                slot @ None => slot.insert(Box::pin(tokio::time::sleep_until(at))),
            };
            if timer.as_mut().poll(cx).is_pending() {
                return;
            }
        }
    }

    /// Takes the budget of the frame whose prefix is buffered, if not yet taken; `Ok(false)`
    /// when it must wait for some.
    fn take_budget(&mut self) -> Result<bool, WireError> {
        if self.granted.is_some() || self.codec.in_frame() || self.buffer.len() < HEAD {
            return Ok(true);
        }
        let mut head = [0u8; HEAD];
        head.copy_from_slice(&self.buffer[..HEAD]);
        let size = u32::from_be_bytes(head);
        if u64::from(size) > self.codec.receive_limit() {
            // The decoder refuses it, naming its limit.
            return Ok(true);
        }
        if u64::from(size) > self.budget.total() {
            return Err(WireError::FrameTooLarge(FrameTooLarge {
                context: Arc::clone(self.codec.context()),
                kind: FrameKind::Incoming,
                size: u64::from(size),
                limit: self.budget.total(),
            }));
        }
        match self.budget.try_take(size) {
            Some(permit) => {
                self.granted = Some(permit);
                Ok(true)
            }
            None => {
                self.need = Some(size);
                Ok(false)
            }
        }
    }

    /// Reads what the socket has, into the buffer.
    fn poll_read_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        use tokio_util::bytes::BufMut as _;
        if self.buffer.capacity() - self.buffer.len() < MIN_READ {
            self.buffer.reserve(MIN_READ);
        }
        // Into the spare capacity as it is: zeroing it first (up to a MiB once the buffer
        // has grown for a large frame) cost every small read after it tens of µs.
        let chunk = (self.buffer.capacity() - self.buffer.len()).min(MAX_READ);
        let mut spare = (&mut self.buffer).limit(chunk);
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut spare)
    }

    /// Whether part of a frame has arrived and not the rest.
    fn in_frame(&self) -> bool {
        !self.buffer.is_empty() || self.codec.in_frame()
    }

    /// Gives a frame half read its full time again (from its next read): the connection
    /// stopped reading for a reason of its own.
    pub(crate) fn restart_frame_timer(&mut self) {
        self.timer = None;
    }

    fn frame_timed_out(&mut self, cx: &mut Context<'_>) -> Option<WireError> {
        if !self.in_frame() || self.need.is_some() {
            self.timer = None;
            return None;
        }
        let frame_timeout = self.frame_timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(frame_timeout)));
        if timer.as_mut().poll(cx).is_pending() {
            return None;
        }
        self.timer = None;
        Some(WireError::FrameTimeout {
            context: Arc::clone(self.codec.context()),
            timeout_ms: u64::try_from(frame_timeout.as_millis()).unwrap_or(u64::MAX),
            received: self.buffer.len(),
        })
    }

    fn next_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<BytesMut, WireError>>> {
        self.poll_expiry(cx);
        loop {
            if let Some(need) = self.need {
                match self.waiting.poll_acquire_many(cx, need) {
                    Poll::Ready(Some(permit)) => {
                        self.budget.note_acquired();
                        self.granted = Some(permit);
                        self.need = None;
                    }
                    // The budget's semaphore is never closed.
                    Poll::Ready(None) => return Poll::Ready(None),
                    Poll::Pending => {
                        self.timer = None;
                        return Poll::Pending;
                    }
                }
            }
            if !self.buffer.is_empty() || self.eof {
                if !self.take_budget()? {
                    continue;
                }
                let decoded = if self.eof {
                    self.codec.decode_eof(&mut self.buffer)?
                } else {
                    self.codec.decode(&mut self.buffer)?
                };
                match decoded {
                    Some(frame) => {
                        if let Some(permit) = self.granted.take() {
                            self.ledger.frame_read(permit);
                        }
                        self.timer = None;
                        return Poll::Ready(Some(Ok(frame)));
                    }
                    None if self.eof => return Poll::Ready(None),
                    None => {}
                }
            }
            match self.poll_read_more(cx) {
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(_)) => self.activity.touch(),
                Poll::Ready(Err(error)) => return Poll::Ready(Some(Err(WireError::Io(error)))),
                Poll::Pending => {
                    return match self.frame_timed_out(cx) {
                        Some(error) => Poll::Ready(Some(Err(error))),
                        None => Poll::Pending,
                    };
                }
            }
        }
    }
}

impl Stream for TimedFrames {
    type Item = Result<BytesMut, WireError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let polled = this.next_frame(cx);
        if matches!(polled, Poll::Ready(Some(Err(_)))) {
            // Nothing after an error can be trusted to start on a frame boundary.
            this.eof = true;
            this.buffer.clear();
        }
        polled
    }
}
