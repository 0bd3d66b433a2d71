//! [`Writing`]: a connection's writing half, shared by every task that sends on it.
//!
//! A task with a frame to send queues it under a short lock (the queue) and then tries to
//! take the writer; whoever holds the writer writes everything queued. Frames queued during
//! one write leave together in the next, so many senders batch into few system calls, and
//! no frame waits for a task hop before it leaves.
//!
//! Every write is made with the connection task's waker: a socket that cannot take more
//! wakes that task, which calls [`Writing::write_out`] again. The client side
//! ([`session`](super::session)) sends requests from its callers' tasks this way, the server
//! side ([`conversation`](super::conversation)) answers from its handlers' tasks.
//!
//! Frames queued are bounded by whoever queues them: callers wait for room once
//! [`BACKPRESSURE`] bytes are queued ([`Writing::send`]), a server stops reading requests.
//! The writer takes more only once all it took is written: at most about twice that.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncWrite as _, WriteHalf};
use tokio::sync::Notify;
use tokio_util::bytes::{Bytes, BytesMut};

use super::frame::{FrameCodec, WireError};
use super::outbox::{BACKPRESSURE, Outbox};
use super::table::BoxIo;

/// A connection's writing half; see the module docs.
pub(crate) struct Writing {
    queue: Mutex<Queue>,
    writer: Mutex<Writer>,
    /// Set by whoever found the writer taken, for its holder to look again once it lets go.
    write_wanted: AtomicBool,
    /// Set by the connection task to be woken once the queue is taken for writing or a
    /// writer has finished (it waits for room, or for everything to be written).
    wake_task: AtomicBool,
    /// Woken when the queue is taken for writing while callers wait for room in it.
    room: Notify,
}

/// Where senders queue their frames: its lock is held only to push or to take them.
struct Queue {
    outbox: Outbox,
    codec: FrameCodec,
    /// The connection task's waker: a write the socket cannot take now wakes that task,
    /// which finishes it. `None` until the task first runs; it then writes what is queued.
    waker: Option<Waker>,
    /// Callers waiting for room.
    blocked: usize,
    /// Why writing is over, once it is.
    ended: Option<Arc<str>>,
}

/// The socket's writing half and the frames taken from the [`Queue`] for it. Whoever holds
/// its lock writes (it is only ever `try_lock`ed: a sender that finds it held leaves its
/// frame to the holder).
struct Writer {
    io: Option<WriteHalf<BoxIo>>,
    outbox: Outbox,
    /// Whether bytes were written that a flush has not yet pushed out (a TLS stream takes
    /// them into its records, then may have to wait for the socket to send those).
    unflushed: bool,
}

/// Why a writer stopped writing.
enum Stopped {
    /// Nothing is left to write.
    AllWritten(Waker),
    /// The socket is full, writing is over, or the connection task has not run yet.
    Idle,
    /// Writing failed.
    Failed(WireError, Waker),
}

/// Why a frame was not queued.
#[derive(Debug)]
pub(crate) enum Refused {
    /// Writing is over; the text says why.
    Ended(Arc<str>),
    /// Over the frame limit.
    TooLarge(WireError),
    /// The deadline passed while waiting for room.
    Deadline,
}

/// `mutex` locked. Nothing panics while holding the connection locks; were it to, the
/// state is still whole (every update is a single assignment, a push or a map operation).
pub(crate) fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Queue {
    /// Queues `frame` unless writing has ended, after checking it against the frame limit.
    fn push(&mut self, frame: Bytes) -> Result<(), Refused> {
        if let Some(why) = &self.ended {
            return Err(Refused::Ended(Arc::clone(why)));
        }
        self.outbox
            .push(&self.codec, frame)
            .map_err(Refused::TooLarge)
    }
}

impl Writing {
    /// The writing half `io`, framing with `codec`; `pending` holds bytes already framed
    /// (as a preamble leaves them), written first.
    pub(crate) fn new(io: WriteHalf<BoxIo>, codec: FrameCodec, pending: BytesMut) -> Self {
        let vectored = io.is_write_vectored();
        Writing {
            queue: Mutex::new(Queue {
                outbox: Outbox::new(vectored, BytesMut::new()),
                codec,
                waker: None,
                blocked: 0,
                ended: None,
            }),
            writer: Mutex::new(Writer {
                io: Some(io),
                outbox: Outbox::new(vectored, pending),
                unflushed: false,
            }),
            write_wanted: AtomicBool::new(false),
            wake_task: AtomicBool::new(false),
            room: Notify::new(),
        }
    }

    /// For the connection task, at each of its polls: records its waker, then writes what
    /// the socket left to it. `Err` once writing is over, with why.
    pub(crate) fn poll_write_out(&self, cx: &Context<'_>) -> Result<(), Arc<str>> {
        {
            let mut queue = locked(&self.queue);
            if !queue
                .waker
                .as_ref()
                .is_some_and(|waker| waker.will_wake(cx.waker()))
            {
                queue.waker = Some(cx.waker().clone());
            }
            if let Some(why) = &queue.ended {
                return Err(Arc::clone(why));
            }
        }
        self.write_out();
        Ok(())
    }

    /// Queues `frame`, waiting first, until `deadline`, while [`BACKPRESSURE`] bytes are
    /// queued; the caller then calls [`write_out`](Self::write_out).
    pub(crate) async fn send(
        &self,
        frame: Bytes,
        deadline: tokio::time::Instant,
    ) -> Result<(), Refused> {
        let mut frame = Some(frame);
        loop {
            let room = {
                let mut queue = locked(&self.queue);
                if queue.ended.is_some() || queue.outbox.queued() < BACKPRESSURE {
                    return queue.push(frame.take().unwrap_or_default());
                }
                queue.blocked += 1;
                // Made while the lock is held: the queue's taking after it wakes this caller.
                self.room.notified()
            };
            let _counted = Blocked(&self.queue);
            if tokio::time::timeout_at(deadline, room).await.is_err() {
                return Err(Refused::Deadline);
            }
        }
    }

    /// Queues `frame` whatever is queued already (an answer, a cancel: their number is
    /// bounded elsewhere); the caller then calls [`write_out`](Self::write_out), or leaves
    /// the writing to whoever is about to.
    pub(crate) fn push(&self, frame: Bytes) -> Result<(), Refused> {
        locked(&self.queue).push(frame)
    }

    /// Bytes queued and not yet taken for writing.
    pub(crate) fn queued(&self) -> usize {
        locked(&self.queue).outbox.queued()
    }

    /// Whether everything queued has been written, for the connection task right after its
    /// own [`write_out`](Self::write_out). While another task is writing, `false`, and the
    /// connection task is woken once that writer has written everything.
    pub(crate) fn flushed(&self) -> bool {
        self.writer_or_ask(&self.wake_task).is_some_and(|writer| {
            writer.outbox.queued() == 0
                && !writer.unflushed
                && locked(&self.queue).outbox.queued() == 0
        })
    }

    /// Has the connection task woken once the queue is taken for writing or a writer has
    /// finished: it waits for room to read more requests.
    pub(crate) fn wake_on_room(&self) {
        self.wake_task.store(true, Ordering::SeqCst);
    }

    /// Writes out what is queued, unless someone else is writing (they take it along).
    /// Called by a sender right after queueing, and by the connection task when the socket
    /// takes more.
    pub(crate) fn write_out(&self) {
        while let Some(mut held) = self.take_writer() {
            let writer = &mut *held;
            let stopped = loop {
                let waker = {
                    let mut queue = locked(&self.queue);
                    if queue.ended.is_some() {
                        break Stopped::Idle;
                    }
                    // `None`: the connection task has not run yet; its first poll writes.
                    let Some(waker) = queue.waker.clone() else {
                        break Stopped::Idle;
                    };
                    // More is taken only once all taken before is written, so the queue
                    // holds senders back while the socket does not keep up.
                    if writer.outbox.queued() == 0 {
                        if queue.outbox.queued() > 0 {
                            std::mem::swap(&mut writer.outbox, &mut queue.outbox);
                            if queue.blocked > 0 {
                                self.room.notify_waiters();
                            }
                            // The connection task may be waiting for room.
                            self.wake_task_if_asked(&waker);
                        } else if !writer.unflushed {
                            break Stopped::AllWritten(waker);
                        }
                    }
                    waker
                };
                let Some(io) = writer.io.as_mut() else {
                    break Stopped::Idle;
                };
                let mut cx = Context::from_waker(&waker);
                writer.unflushed = true;
                // Writes what is taken, then flushes (again, if a flush was left pending).
                match writer.outbox.poll_flush(io, &mut cx) {
                    Poll::Ready(Ok(())) => writer.unflushed = false,
                    // The socket is full; it wakes the connection task when it takes more.
                    Poll::Pending => break Stopped::Idle,
                    Poll::Ready(Err(error)) => break Stopped::Failed(error, waker),
                }
            };
            drop(held);
            // Orders the release of the writer before the looks at the flags below, against
            // the flag-then-try of `take_writer` and `flushed`.
            std::sync::atomic::fence(Ordering::SeqCst);
            match stopped {
                Stopped::Failed(error, waker) => {
                    locked(&self.queue)
                        .ended
                        .get_or_insert_with(|| format!("writing failed: {error}").into());
                    // The connection task ends the connection.
                    waker.wake();
                    return;
                }
                // The connection task may be waiting for everything to be written.
                Stopped::AllWritten(waker) => self.wake_task_if_asked(&waker),
                Stopped::Idle => {}
            }
            // Whoever found the writer taken meanwhile (a sender with a frame queued after
            // the last look, the connection task woken by the socket, the connection task's
            // first poll) left the writing to this holder: look again.
            if !self.write_wanted.swap(false, Ordering::SeqCst) {
                return;
            }
        }
    }

    fn wake_task_if_asked(&self, waker: &Waker) {
        if self.wake_task.load(Ordering::SeqCst) && self.wake_task.swap(false, Ordering::SeqCst) {
            waker.wake_by_ref();
        }
    }

    /// The writer, or `None` if another holds it; then that holder is told to look again
    /// once it lets go.
    fn take_writer(&self) -> Option<MutexGuard<'_, Writer>> {
        self.writer_or_ask(&self.write_wanted)
    }

    /// The writer, or `None` if another holds it; then `ask` is set for that holder, which
    /// looks at it once it lets go. Set before the second try: a holder that lets go after
    /// that try failed sees it.
    fn writer_or_ask(&self, ask: &AtomicBool) -> Option<MutexGuard<'_, Writer>> {
        let try_take = || match self.writer.try_lock() {
            Ok(held) => Some(held),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        };
        try_take().or_else(|| {
            ask.store(true, Ordering::SeqCst);
            std::sync::atomic::fence(Ordering::SeqCst);
            try_take()
        })
    }

    /// Ends writing with `why`: nothing more is queued or written, and the writing half is
    /// dropped (the socket closes once its reading half is dropped too).
    pub(crate) fn end(&self, why: &Arc<str>) {
        locked(&self.queue)
            .ended
            .get_or_insert_with(|| Arc::clone(why));
        locked(&self.writer).io = None;
        self.room.notify_waiters();
    }
}

/// A caller counted in [`Queue::blocked`] until dropped (its wait may be cancelled).
struct Blocked<'a>(&'a Mutex<Queue>);

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        locked(self.0).blocked -= 1;
    }
}

#[cfg(test)]
impl Writing {
    /// Callers waiting for room now.
    pub(crate) fn blocked(&self) -> usize {
        locked(&self.queue).blocked
    }

    /// Takes the writer as a sender would, for tests of the hand-off.
    pub(crate) fn try_take_writer(&self) -> Option<impl Drop + '_> {
        self.take_writer()
    }

    /// Whether a holder has been asked to look again.
    pub(crate) fn write_wanted(&self) -> &AtomicBool {
        &self.write_wanted
    }
}

#[cfg(all(test, feature = "tcp"))]
mod tests {
    use super::*;
    use std::io;
    use std::pin::Pin;
    use tokio::io::AsyncWrite;
    use tokio::net::{TcpListener, TcpStream};

    /// A real socket whose flush waits until the test opens the gate, as a TLS stream's
    /// does while its records wait for room in the socket.
    struct GatedFlush {
        inner: TcpStream,
        gate: Arc<std::sync::Mutex<(bool, Option<Waker>)>>,
    }

    impl tokio::io::AsyncRead for GatedFlush {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for GatedFlush {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.inner).poll_write(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let mut gate = self.gate.lock().unwrap();
            if gate.0 {
                Poll::Ready(Ok(()))
            } else {
                gate.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    #[tokio::test]
    async fn bytes_written_are_not_all_written_until_a_flush_has_gone_through() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (client, _accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let gate = Arc::new(std::sync::Mutex::new((false, None::<Waker>)));
        let io: BoxIo = Box::new(GatedFlush {
            inner: client.unwrap(),
            gate: Arc::clone(&gate),
        });
        let (_read, write) = tokio::io::split(io);
        let codec = FrameCodec::new(1 << 20, 1 << 20, Arc::from("writer test"));
        let writing = Writing::new(write, codec, BytesMut::new());
        // The connection task's first poll, then an answer queued and written.
        std::future::poll_fn(|cx| Poll::Ready(writing.poll_write_out(cx)))
            .await
            .unwrap();
        writing.push(Bytes::from_static(b"answer")).unwrap();
        writing.write_out();
        assert!(!writing.flushed(), "the flush is still pending");
        // The connection task, woken by the stream, writes out again: still not flushed.
        writing.write_out();
        assert!(!writing.flushed(), "the flush is still pending");
        let waker = {
            let mut gate = gate.lock().unwrap();
            gate.0 = true;
            gate.1.take()
        };
        assert!(waker.is_some(), "the pending flush registered a waker");
        writing.write_out();
        assert!(writing.flushed(), "flushed once the stream took the flush");
    }
}
