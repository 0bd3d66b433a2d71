//! The server side of one admitted connection: requests read, their handlers started, and
//! each answer written from its handler's own task.
//!
//! tarpc's server gave every request a tracing span, a timer in a delay queue for its
//! deadline, an abort registration, a cancellation guard, and a trip back through a channel
//! to the connection's task, which then wrote the answer: measured, the server side held a
//! TCP connection to about a third of a bare multiplexed connection's calls per second at
//! 64 callers. Here:
//! - the connection's task reads frames ([`TimedFrames`]: a deadline on each frame once
//!   begun, the listener's request budget, the time of the last byte for the idle timeout),
//!   decodes each message and accounts for it in the connection's [`Ledger`]: a request is
//!   counted in (or refused `WouldBlock` past the connection's limit, which callers see as
//!   `Overloaded`), a cancel stops its request's handler;
//! - a handler is polled once in place: one that answers without waiting (an echo, a
//!   refusal, a read of what is in memory) answers with no task spawned, its answer queued
//!   and written with the others read in the same batch. One that has to wait is spawned on
//!   the listener's tracker, and writes its answer itself when it has it ([`Writing`]);
//! - deadlines cost no timer per request: the ledger keeps them, and one timer per
//!   connection stops the handlers past theirs (the caller has given up; nothing is sent);
//! - an answer over the frame limit is replaced by an `InvalidInput` error naming the limit,
//!   and one the codec cannot encode by an `InvalidData` error: the connection goes on;
//! - while answers are written more slowly than requests arrive, no more requests are read.
//!
//! The connection ends when the peer closes it, when it fails (a read or write error, a frame over the limit or late, a message that does
//! not decode), when it has been idle too long, or when the listener stops (after the calls
//! in flight are answered, for at most [`DRAIN`]). Handlers still running then are stopped.

use futures::Stream as _;
use futures::future::{AbortHandle, Abortable};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tarpc::{ClientMessage, Request, RequestName, Response, ServerError};
use tokio_util::bytes::Bytes;
use tokio_util::task::TaskTracker;

use super::budget::{Entry, Ledger};
use super::deadline::{Activity, FrameLimits, TimedFrames};
use super::frame::WireError;
use super::outbox::BACKPRESSURE;
use super::table::Connection;
use super::writer::Writing;
use super::{DRAIN, error_chain};
use crate::Service;
use crate::codec::{Codec, Incoming as _, Wire};

/// The most frames read in one poll of the connection's task before it lets others run.
const FRAMES_PER_POLL: usize = 64;

/// Serves an admitted connection with `service`; see the module docs.
pub(crate) async fn serve<Req, Resp>(service: Service<Req, Resp>, connection: Connection)
where
    Req: DeserializeOwned + RequestName + Send + Sync + 'static,
    Resp: Serialize + Send + Sync + 'static,
{
    let Connection {
        framed,
        codec,
        peer,
        max_requests,
        handlers,
        stop,
        frame_timeout,
        idle_timeout,
        max_deadline,
        budget,
    } = connection;
    let name = service.name();
    let context: Arc<str> = format!("{name}, peer {peer}").into();
    let send_limit = framed.codec().send_limit();
    let parts = framed.into_parts();
    let (read, write) = tokio::io::split(parts.io);
    let ledger = Arc::new(Ledger::default());
    let activity = Activity::new();
    let limits = FrameLimits {
        frame_timeout,
        activity: Arc::clone(&activity),
        budget,
    };
    let mut conversation = Conversation {
        service,
        frames: TimedFrames::new(
            read,
            parts.read_buf,
            parts.codec.clone(),
            limits,
            Arc::clone(&ledger),
        ),
        answers: Arc::new(Answers {
            writing: Writing::new(write, parts.codec, parts.write_buf),
            ledger,
            wire: Wire::new(codec, send_limit, context),
        }),
        handlers,
        max_requests,
        max_deadline,
        codec,
    };
    tracing::debug!(service = name, %peer, %codec, "connection admitted");

    let idle = tokio::time::sleep(idle_timeout);
    let stopping = stop.cancelled();
    tokio::pin!(idle, stopping);
    let ended = std::future::poll_fn(|cx| {
        if stopping.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Ending::Stop);
        }
        while idle.as_mut().poll(cx).is_ready() {
            // Busy while a call is in flight or an answer is still being written.
            let busy = conversation.answers.ledger.in_flight() > 0
                || !conversation.answers.writing.flushed();
            let quiet_since = activity.last();
            if !busy && quiet_since.elapsed() >= idle_timeout {
                return Poll::Ready(Ending::Idle);
            }
            let from = if busy {
                tokio::time::Instant::now()
            } else {
                quiet_since
            };
            idle.as_mut().reset(from + idle_timeout);
        }
        conversation.poll_requests(cx).map(|read| match read {
            Ok(()) => Ending::PeerGone,
            Err(why) => Ending::Failed(why),
        })
    })
    .await;

    let why: Arc<str> = match ended {
        Ending::Stop => {
            // Go on answering until no call is in flight and the answers are written
            // (bounded): requests arriving meanwhile are served too, and a stopping node's
            // closed gates answer them `Unavailable` at once.
            let settled = std::future::poll_fn(|cx| conversation.poll_settled(cx));
            match tokio::time::timeout(DRAIN, settled).await {
                Ok(Ok(())) => "the listener stopped".into(),
                Ok(Err(why)) => why.into(),
                Err(_) => {
                    tracing::warn!(
                        service = name,
                        %peer,
                        in_flight = conversation.answers.ledger.in_flight(),
                        "closing a connection with calls still unanswered"
                    );
                    "the listener stopped with calls unanswered".into()
                }
            }
        }
        Ending::Idle => {
            tracing::info!(
                service = name,
                %peer,
                idle_timeout_ms = idle_timeout.as_millis() as u64,
                "closed an idle connection (no call in flight, nothing received)"
            );
            "idle".into()
        }
        Ending::PeerGone => {
            tracing::debug!(
                service = name,
                %peer,
                in_flight = conversation.answers.ledger.in_flight(),
                "the peer closed the connection"
            );
            "the peer closed the connection".into()
        }
        Ending::Failed(why) => {
            tracing::warn!(
                service = name,
                %peer,
                error = %why,
                "closing the connection; the client's other connections are unaffected"
            );
            why.into()
        }
    };
    conversation.answers.ledger.close();
    conversation.answers.writing.end(&why);
}

/// Why the reading of requests stopped.
enum Ending {
    Stop,
    Idle,
    /// The peer closed its side: no one will read the answers of its calls in flight (a
    /// client of ours closes a connection only once it no longer wants them).
    PeerGone,
    Failed(String),
}

/// The connection task's state.
struct Conversation<Req, Resp> {
    service: Service<Req, Resp>,
    frames: TimedFrames,
    answers: Arc<Answers<Req, Resp>>,
    handlers: TaskTracker,
    max_requests: usize,
    max_deadline: Duration,
    codec: Codec,
}

/// What a handler's call ends with.
enum Answer {
    /// Its request is no longer in flight: nothing is sent.
    Unwanted,
    /// The frame to send (`None`: not even an error answer could be encoded); the ledger
    /// counts the request in flight until this is queued.
    Frame(Option<Bytes>),
}

/// What the connection's task and its handlers' tasks share.
struct Answers<Req, Resp> {
    writing: Writing,
    ledger: Arc<Ledger>,
    wire: Wire<ClientMessage<Req>, Response<Resp>>,
}

impl<Req, Resp> Conversation<Req, Resp>
where
    Req: DeserializeOwned + RequestName + Send + Sync + 'static,
    Resp: Serialize + Send + Sync + 'static,
{
    /// Reads requests and starts their handlers, and writes what is queued; `Ok` once the
    /// peer has closed its side, `Err` with why the connection failed.
    fn poll_requests(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        if let Err(why) = self.answers.writing.poll_write_out(cx) {
            return Poll::Ready(Err(why.to_string()));
        }
        for _ in 0..FRAMES_PER_POLL {
            let writing = &self.answers.writing;
            if writing.queued() >= BACKPRESSURE {
                // Answers leave more slowly than requests arrive: read no more until they do.
                writing.wake_on_room();
                writing.write_out();
                if writing.queued() >= BACKPRESSURE {
                    // The wait is the server's, not the peer's: a frame half read gets its
                    // full time again once reading resumes. Deadlines still stop handlers.
                    self.frames.restart_frame_timer();
                    self.frames.poll_expiry(cx);
                    return Poll::Pending;
                }
            }
            let frame = match Pin::new(&mut self.frames).poll_next(cx) {
                Poll::Ready(Some(Ok(frame))) => frame,
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Err(error_chain(&error))),
                Poll::Ready(None) => {
                    self.answers.writing.write_out();
                    return Poll::Ready(Ok(()));
                }
                Poll::Pending => {
                    // The answers of the batch just read leave together.
                    self.answers.writing.write_out();
                    return Poll::Pending;
                }
            };
            if let Err(error) = self.on_frame(&frame) {
                return Poll::Ready(Err(error_chain(&error)));
            }
        }
        self.answers.writing.write_out();
        // More frames may be buffered: come back after the others have had their turn.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Goes on serving until no call is in flight and every answer is written, or the peer
    /// has gone; `Err` if the connection fails first.
    fn poll_settled(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), String>> {
        if let Poll::Ready(read) = self.poll_requests(cx) {
            // Failed, or the peer is gone: no answer can reach it.
            return Poll::Ready(read);
        }
        if self.answers.ledger.empty_or_wake(cx.waker()) && self.answers.writing.flushed() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }

    fn on_frame(&mut self, frame: &[u8]) -> Result<(), WireError> {
        let ledger = &self.answers.ledger;
        let message =
            match ClientMessage::<Req>::decode_bounded(self.codec, frame, self.max_deadline) {
                Ok(message) => message,
                Err(source) => {
                    ledger.release();
                    return Err(self.answers.wire.codec_error(source));
                }
            };
        match message {
            ClientMessage::Request(request) => self.start(request),
            ClientMessage::Cancel { request_id, .. } => ledger.cancel(request_id),
            _ => ledger.release(),
        }
        Ok(())
    }

    /// Counts a request in and starts its handler; see the module docs.
    fn start(&mut self, request: Request<Req>) {
        let Request {
            context,
            id,
            message,
        } = request;
        let ledger = &self.answers.ledger;
        if context.deadline <= std::time::Instant::now() {
            // Its caller has given up already.
            ledger.release();
            return;
        }
        let (abort, registration) = AbortHandle::new_pair();
        match ledger.request(id, context.deadline, abort, self.max_requests) {
            Entry::Admitted => {}
            // tarpc's servers ignore a duplicate too: the first is being answered.
            Entry::Duplicate | Entry::Closed => return,
            Entry::Full => {
                let refusal = Response {
                    request_id: id,
                    message: Err(ServerError::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "{}: refused, {} requests already in flight on this connection",
                            self.service.name(),
                            self.max_requests
                        ),
                    )),
                };
                if let Some(frame) = self.answers.encode(&refusal) {
                    self.answers.queue(frame);
                }
                return;
            }
        }
        let answers = Arc::clone(&self.answers);
        let service = self.service.clone();
        let call = Abortable::new(
            async move {
                let message = service.serve_guarded(context, message).await;
                answers.answer(id, message)
            },
            registration,
        );
        // A stop waits until every answer of a request answered is queued: the ledger counts
        // it in flight until `answer_queued`.
        let mut call = Box::pin(call);
        // A no-op waker: a handler that waits is polled again at once by its own task, and a
        // future wakes only the waker of its latest poll.
        let mut noop = Context::from_waker(std::task::Waker::noop());
        match call.as_mut().poll(&mut noop) {
            Poll::Ready(Ok(Answer::Frame(frame))) => {
                if let Some(frame) = frame {
                    self.answers.queue(frame);
                }
                // Written with the rest of the batch, by this task.
                self.answers.ledger.answer_queued();
            }
            // Stopped, or answered too late to be sent.
            Poll::Ready(Ok(Answer::Unwanted) | Err(_)) => {}
            Poll::Pending => {
                let answers = Arc::clone(&self.answers);
                self.handlers.spawn(async move {
                    if let Ok(Answer::Frame(frame)) = call.await {
                        if let Some(frame) = frame {
                            answers.queue(frame);
                            answers.writing.write_out();
                        }
                        answers.ledger.answer_queued();
                    }
                });
            }
        }
    }
}

impl<Req, Resp: Serialize> Answers<Req, Resp> {
    /// The frame answering request `id`, unless it is no longer in flight (cancelled, past
    /// its deadline, or the connection closed): then nothing is sent.
    fn answer(&self, id: u64, message: Result<Resp, ServerError>) -> Answer {
        if !self.ledger.answered(id) {
            return Answer::Unwanted;
        }
        Answer::Frame(self.encode(&Response {
            request_id: id,
            message,
        }))
    }

    /// `response` encoded; over the frame limit, an `InvalidInput` error in its place
    /// ([`Wire::encode_within_limit`]); one the codec cannot encode, an `InvalidData` error.
    fn encode(&self, response: &Response<Resp>) -> Option<Bytes> {
        let error = match self.wire.encode_within_limit(response) {
            Ok(frame) => return Some(frame),
            Err(error) => error,
        };
        tracing::error!(
            error = %error_chain(&error),
            "sending an error answer in place of one that could not be encoded"
        );
        let refusal = Response::<Resp> {
            request_id: response.request_id,
            message: Err(ServerError::new(
                io::ErrorKind::InvalidData,
                format!("the answer could not be sent: {}", error_chain(&error)),
            )),
        };
        // Only a frame limit smaller than an error message refuses this; nothing is sent
        // then, and the caller's deadline ends its call.
        self.wire.encode_within_limit(&refusal).ok()
    }
}

impl<Req, Resp> Answers<Req, Resp> {
    /// Queues an answer's frame, for whoever writes next.
    fn queue(&self, frame: Bytes) {
        // Refused only once the connection is over, when no answer can be sent; the frame
        // was checked against the limit when encoded.
        let _ = self.writing.push(frame);
    }
}

#[cfg(all(test, feature = "tcp"))]
mod tests {
    use super::*;
    use crate::Limits;
    use crate::remote::budget::RequestBudget;
    use crate::remote::frame::FrameCodec;
    use crate::remote::table::BoxIo;
    use futures::{SinkExt as _, StreamExt as _};
    use serde::Deserialize;
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tarpc::context;
    use tokio::io::AsyncWriteExt as _;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::{Notify, Semaphore};
    use tokio_util::codec::Framed;
    use tokio_util::sync::CancellationToken;

    const LIMIT: u64 = 1 << 20;
    /// The request that holds until released.
    const HOLD: u32 = 0;
    /// The request whose answer JSON cannot encode.
    const UNENCODABLE: u32 = 99;
    /// The request answered with [`BLOCK`] bytes.
    const LARGE: u32 = 98;
    const BLOCK: usize = 64 * 1024;

    /// The test service's answers: a value, or a map JSON has no form for.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    enum Reply {
        Value(u32),
        Pairs(HashMap<(u8, u8), u8>),
        Block(#[serde(with = "serde_bytes")] Vec<u8>),
    }

    /// What the test service's handlers signal.
    struct Signals {
        /// A permit per handler started.
        started: Semaphore,
        /// A permit per held handler stopped before it was released.
        stopped: Semaphore,
        release: Notify,
        runs: AtomicUsize,
    }

    impl Default for Signals {
        fn default() -> Self {
            Signals {
                started: Semaphore::new(0),
                stopped: Semaphore::new(0),
                release: Notify::new(),
                runs: AtomicUsize::new(0),
            }
        }
    }

    /// Signals that a held handler was dropped unreleased.
    struct StopGuard(Arc<Signals>);

    impl Drop for StopGuard {
        fn drop(&mut self) {
            self.0.stopped.add_permits(1);
        }
    }

    fn service(signals: &Arc<Signals>) -> Service<u32, Reply> {
        let signals = Arc::clone(signals);
        Service::new("test", Limits::default(), move |_, request: u32| {
            let signals = Arc::clone(&signals);
            Box::pin(async move {
                signals.runs.fetch_add(1, Ordering::SeqCst);
                match request {
                    HOLD => {
                        let released = signals.release.notified();
                        let guard = StopGuard(Arc::clone(&signals));
                        signals.started.add_permits(1);
                        released.await;
                        std::mem::forget(guard);
                        Ok(Reply::Value(7))
                    }
                    UNENCODABLE => Ok(Reply::Pairs(HashMap::from([((1, 2), 3)]))),
                    LARGE => Ok(Reply::Block(vec![1; BLOCK])),
                    value => Ok(Reply::Value(value * 2)),
                }
            })
        })
    }

    /// The test's end of a served connection, and the serving task.
    struct Served {
        peer: Framed<TcpStream, FrameCodec>,
        codec: Codec,
        signals: Arc<Signals>,
        stop: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    async fn served(codec: Codec, max_requests: usize) -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let io: BoxIo = Box::new(accepted.unwrap().0);
        let frames = || FrameCodec::new(LIMIT, LIMIT, Arc::from("conversation test"));
        let signals = Arc::new(Signals::default());
        let stop = CancellationToken::new();
        let connection = Connection {
            framed: Framed::new(io, frames()),
            codec,
            peer: Arc::from(address.to_string()),
            max_requests,
            handlers: TaskTracker::new(),
            stop: stop.clone(),
            frame_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(300),
            max_deadline: Duration::from_secs(300),
            budget: RequestBudget::new(64 << 20),
        };
        let task = tokio::spawn(serve(service(&signals), connection));
        Served {
            peer: Framed::new(client.unwrap(), frames()),
            codec,
            signals,
            stop,
            task,
        }
    }

    async fn within<F: Future>(what: &str, future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    impl Served {
        async fn send(&mut self, message: ClientMessage<u32>) {
            let bytes = self.codec.encode(&message).unwrap();
            within("a send", self.peer.send(Bytes::from(bytes)))
                .await
                .unwrap();
        }

        async fn request_within(&mut self, id: u64, value: u32, deadline: Duration) {
            let mut context = context::current();
            context.deadline = std::time::Instant::now() + deadline;
            self.send(ClientMessage::Request(Request {
                context,
                id,
                message: value,
            }))
            .await;
        }

        async fn request(&mut self, id: u64, value: u32) {
            self.request_within(id, value, Duration::from_secs(60))
                .await;
        }

        async fn cancel(&mut self, id: u64) {
            self.send(ClientMessage::Cancel {
                trace_context: Default::default(),
                request_id: id,
            })
            .await;
        }

        async fn answer(&mut self) -> Response<Reply> {
            let frame = within("an answer", self.peer.next())
                .await
                .unwrap()
                .unwrap();
            Response::decode(self.codec, &frame).unwrap()
        }

        async fn started(&self) {
            within("a handler to start", self.signals.started.acquire())
                .await
                .unwrap()
                .forget();
        }

        async fn stopped(&self) {
            within("a handler to be stopped", self.signals.stopped.acquire())
                .await
                .unwrap()
                .forget();
        }
    }

    fn value(response: Response<Reply>) -> (u64, u32) {
        match response.message {
            Ok(Reply::Value(value)) => (response.request_id, value),
            other => panic!("expected a value, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_go_back_by_id_whether_their_handler_waited_or_not() {
        let mut served = served(Codec::Postcard, 8).await;
        served.request(1, HOLD).await;
        served.started().await;
        served.request(2, 21).await;
        assert_eq!(value(served.answer().await), (2, 42));
        served.signals.release.notify_one();
        assert_eq!(value(served.answer().await), (1, 7));
    }

    #[tokio::test]
    async fn a_cancel_stops_its_handler_and_nothing_is_answered() {
        let mut served = served(Codec::Postcard, 8).await;
        served.request(1, HOLD).await;
        served.started().await;
        served.cancel(1).await;
        served.stopped().await;
        served.request(2, 5).await;
        // The next frame is the next request's answer: nothing came for the cancelled one.
        assert_eq!(value(served.answer().await), (2, 10));
    }

    #[tokio::test]
    async fn a_handler_past_its_deadline_is_stopped_and_a_request_already_past_it_never_runs() {
        let mut served = served(Codec::Postcard, 8).await;
        served
            .request_within(1, HOLD, Duration::from_millis(50))
            .await;
        served.started().await;
        served.stopped().await;
        served.request_within(2, 4, Duration::ZERO).await;
        served.request(3, 5).await;
        assert_eq!(value(served.answer().await), (3, 10));
        assert_eq!(
            served.signals.runs.load(Ordering::SeqCst),
            2,
            "request 2 never ran"
        );
    }

    #[tokio::test]
    async fn past_the_connection_limit_a_request_is_refused_naming_the_limit() {
        let mut served = served(Codec::Postcard, 1).await;
        served.request(1, HOLD).await;
        served.started().await;
        served.request(2, 3).await;
        let refused = served.answer().await;
        assert_eq!(refused.request_id, 2);
        let error = refused.message.unwrap_err();
        assert_eq!(error.kind, io::ErrorKind::WouldBlock);
        assert!(
            error
                .detail
                .contains("test: refused, 1 requests already in flight on this connection"),
            "{}",
            error.detail
        );
        served.signals.release.notify_one();
        assert_eq!(value(served.answer().await), (1, 7));
        served.request(3, 3).await;
        assert_eq!(value(served.answer().await), (3, 6));
    }

    #[tokio::test]
    async fn a_duplicate_id_in_flight_is_ignored() {
        let mut served = served(Codec::Postcard, 8).await;
        served.request(1, HOLD).await;
        served.started().await;
        served.request(1, 50).await;
        // Answered once the duplicate has been read (frames are read in order).
        served.request(2, 1).await;
        assert_eq!(value(served.answer().await), (2, 2));
        served.signals.release.notify_one();
        assert_eq!(value(served.answer().await), (1, 7));
        served.request(3, 1).await;
        assert_eq!(
            value(served.answer().await),
            (3, 2),
            "one answer for request 1"
        );
        assert_eq!(served.signals.runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_answer_the_codec_cannot_encode_is_an_error_and_the_connection_goes_on() {
        let mut served = served(Codec::Json, 8).await;
        served.request(1, UNENCODABLE).await;
        let failed = served.answer().await;
        assert_eq!(failed.request_id, 1);
        let error = failed.message.unwrap_err();
        assert_eq!(error.kind, io::ErrorKind::InvalidData);
        assert!(
            error.detail.contains("json could not encode"),
            "{}",
            error.detail
        );
        served.request(2, 8).await;
        assert_eq!(value(served.answer().await), (2, 16));
    }

    /// A peer that sends requests and reads no answers cannot make the server queue answers
    /// without bound: it stops reading requests until the answers leave. Virtual time: the
    /// sleep ends once every task is idle (the server waiting for its answers to leave).
    #[tokio::test(start_paused = true)]
    async fn while_answers_are_not_read_no_more_requests_are_read() {
        const CALLS: u64 = 3000;
        let mut served = served(Codec::Postcard, 8).await;
        for id in 0..CALLS {
            let mut context = context::current();
            context.deadline = std::time::Instant::now() + Duration::from_secs(600);
            let request = ClientMessage::Request(Request {
                context,
                id,
                message: LARGE,
            });
            let bytes = served.codec.encode(&request).unwrap();
            served.peer.feed(Bytes::from(bytes)).await.unwrap();
        }
        served.peer.flush().await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let ran = served.signals.runs.load(Ordering::SeqCst);
        // Loopback's socket buffers hold a few MiB of answers, a few hundred blocks at most;
        // with nothing holding the server back, all 3000 (188 MiB) would be queued.
        assert!(
            ran > 0 && ran < CALLS as usize / 2,
            "{ran} of {CALLS} requests ran"
        );
        let mut answered = std::collections::BTreeSet::new();
        for _ in 0..CALLS {
            let answer = served.answer().await;
            assert!(matches!(&answer.message, Ok(Reply::Block(block)) if block.len() == BLOCK));
            answered.insert(answer.request_id);
        }
        assert_eq!(answered.len() as u64, CALLS, "every request answered once");
    }

    /// Deadlines stop handlers even while the server reads nothing, held back by a peer
    /// that does not read its answers.
    #[tokio::test]
    async fn while_reading_is_held_back_deadlines_still_stop_handlers() {
        const CALLS: u64 = 3000;
        let mut served = served(Codec::Postcard, 8).await;
        served
            .request_within(CALLS, HOLD, Duration::from_millis(500))
            .await;
        served.started().await;
        for id in 0..CALLS {
            served.request(id, LARGE).await;
        }
        served.stopped().await;
        for _ in 0..CALLS {
            let answer = served.answer().await;
            assert!(
                answer.request_id < CALLS,
                "no answer for the stopped handler"
            );
        }
    }

    /// Several handlers answering at once on two workers while the listener stops: the
    /// connection closes only once every answer is written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stop_waits_for_every_answer_of_handlers_answering_together() {
        const HELD: u64 = 8;
        for _ in 0..20 {
            let mut served = served(Codec::Postcard, 16).await;
            for id in 0..HELD {
                served.request(id, HOLD).await;
            }
            for _ in 0..HELD {
                served.started().await;
            }
            served.stop.cancel();
            served.signals.release.notify_waiters();
            let mut answered = std::collections::BTreeSet::new();
            for _ in 0..HELD {
                answered.insert(value(served.answer().await).0);
            }
            assert_eq!(answered.len() as u64, HELD);
            assert!(within("the end", served.peer.next()).await.is_none());
        }
    }

    /// The peer closing its side (a whole close reads the same) ends the connection: no
    /// one will read the answers, and the handlers in flight are stopped.
    #[tokio::test]
    async fn a_peer_gone_ends_the_connection_and_stops_its_handlers() {
        let mut served = served(Codec::Postcard, 8).await;
        served.request(1, HOLD).await;
        served.started().await;
        within("the shutdown", served.peer.get_mut().shutdown())
            .await
            .unwrap();
        served.stopped().await;
        assert!(within("the end", served.peer.next()).await.is_none());
        within("the serving task", served.task).await.unwrap();
    }

    #[tokio::test]
    async fn a_stop_answers_the_calls_in_flight_then_closes() {
        let mut served = served(Codec::Postcard, 8).await;
        served.request(1, HOLD).await;
        served.started().await;
        served.stop.cancel();
        served.request(2, 2).await;
        assert_eq!(value(served.answer().await), (2, 4));
        served.signals.release.notify_one();
        assert_eq!(value(served.answer().await), (1, 7));
        assert!(within("the end", served.peer.next()).await.is_none());
        within("the serving task", served.task).await.unwrap();
    }
}
