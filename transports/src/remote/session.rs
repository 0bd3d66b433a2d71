//! [`Session`]: the client side of one connection, written from the callers' own tasks.
//!
//! tarpc's client hands every request to a dispatch task through a channel, and the dispatch
//! task writes it: one task hop before a byte leaves, and on a quiet machine a parked worker
//! woken for it (measured: a third of a small TCP call's time, and most of a QUIC one's).
//! Here a caller encodes its request, queues it in the connection's [`Writing`] and writes
//! it itself, at once. The connection's own task ([`Session::drive`]) reads the answers and
//! hands each to its caller, and finishes a write the socket could not take whole (it is
//! the task a pending write wakes).
//!
//! What tarpc's client did, this keeps: each request gets an id; a call dropped before its
//! answer (its caller gave up, or its deadline passed) sends the server a cancel; unwritten frames
//! are bounded (callers wait for room once [`BACKPRESSURE`](super::outbox::BACKPRESSURE)
//! bytes are queued, and the writer takes more only once all it took is written: at most
//! about twice that); a request over
//! the frame limit is refused to its caller alone, and the connection goes on.

use futures::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use tarpc::{ClientMessage, Request, Response, ServerError, context};
use tokio::io::ReadHalf;
use tokio::sync::oneshot;
use tokio_util::bytes::{Bytes, BytesMut};
use tokio_util::codec::{Decoder as _, Framed};

use super::frame::{FrameCodec, WireError};
use super::table::BoxIo;
use super::writer::{Refused, Writing, locked};
use crate::codec::{Codec, Incoming as _, Wire};

/// The smallest read into the connection's buffer.
const MIN_READ: usize = 8 * 1024;
/// The most answers handed out in one poll of the connection task before it lets others run.
const ANSWERS_PER_POLL: usize = 64;

/// Why a call on a [`Session`] failed, before the caller maps it to tarpc's error.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The request was not sent: over the frame limit, or it did not encode.
    Send(WireError),
    /// The connection is gone; the text says why. A call that was sent may or may not have
    /// run.
    Lost {
        /// Whether the request had been queued for the server.
        sent: bool,
        /// Why the connection ended.
        why: Arc<str>,
    },
    /// The call's deadline passed first.
    Deadline,
    /// The server answered with an error.
    Server(ServerError),
}

/// One connection's client side; see the module docs. Shared by the callers (through an
/// `Arc`) and the connection task.
pub(crate) struct Session<Req, Resp> {
    next_id: AtomicU64,
    writing: Writing,
    waiting: Mutex<Waiting<Resp>>,
    wire: Wire<Response<Resp>, ClientMessage<Req>>,
    /// `Wire::encode_within_limit`, taken where `Req: Serialize` is known, so that callers
    /// need no serde bounds (tarpc's generated clients have none).
    encode: Encode<Req, Resp>,
}

type Encode<Req, Resp> =
    fn(&Wire<Response<Resp>, ClientMessage<Req>>, &ClientMessage<Req>) -> Result<Bytes, WireError>;

/// The calls waiting for their answers.
struct Waiting<Resp> {
    calls: HashMap<u64, oneshot::Sender<Result<Resp, ServerError>>>,
    /// Why no more answers will come, once none will.
    ended: Option<Arc<str>>,
}

/// The connection task's reading side.
pub(crate) struct Reader {
    io: ReadHalf<BoxIo>,
    buffer: BytesMut,
    codec: FrameCodec,
    eof: bool,
}

impl<Req, Resp> Session<Req, Resp>
where
    Req: Serialize,
    Resp: DeserializeOwned,
{
    /// A session over `framed` (its buffers as the preamble left them), speaking `codec`;
    /// the [`Reader`] is for [`drive`](Self::drive).
    pub(crate) fn new(framed: Framed<BoxIo, FrameCodec>, codec: Codec) -> (Self, Reader) {
        let context = Arc::clone(framed.codec().context());
        let send_limit = framed.codec().send_limit();
        let parts = framed.into_parts();
        let (read, write) = tokio::io::split(parts.io);
        let session = Session {
            next_id: AtomicU64::new(0),
            writing: Writing::new(write, parts.codec.clone(), parts.write_buf),
            waiting: Mutex::new(Waiting {
                calls: HashMap::new(),
                ended: None,
            }),
            wire: Wire::new(codec, send_limit, context),
            encode: Wire::encode_within_limit,
        };
        let reader = Reader {
            io: read,
            buffer: parts.read_buf,
            codec: parts.codec,
            eof: false,
        };
        (session, reader)
    }

    /// Runs the connection: reads answers and hands each to its caller, and finishes the
    /// writes callers left to it, until the connection ends. Returns why it ended; every call
    /// still waiting then fails with that reason.
    pub(crate) async fn drive(&self, mut reader: Reader) -> Arc<str> {
        let why: Arc<str> = std::future::poll_fn(|cx| self.poll_drive(&mut reader, cx))
            .await
            .into();
        self.end(&why);
        why
    }

    fn poll_drive(&self, reader: &mut Reader, cx: &mut Context<'_>) -> Poll<String> {
        if let Err(why) = self.writing.poll_write_out(cx) {
            return Poll::Ready(why.to_string());
        }
        for _ in 0..ANSWERS_PER_POLL {
            let frame = match ready!(Pin::new(&mut *reader).poll_next(cx)) {
                Some(Ok(frame)) => frame,
                Some(Err(error)) => return Poll::Ready(super::error_chain(&error)),
                None => return Poll::Ready("the server closed the connection".to_owned()),
            };
            let answer = match Response::<Resp>::decode(self.wire.codec(), &frame) {
                Ok(answer) => answer,
                Err(error) => {
                    return Poll::Ready(super::error_chain(&WireError::Codec {
                        context: Arc::clone(reader.codec.context()),
                        source: error,
                    }));
                }
            };
            let caller = locked(&self.waiting).calls.remove(&answer.request_id);
            if let Some(caller) = caller {
                // A caller that has just given up drops the answer; nothing to do.
                let _ = caller.send(answer.message);
            }
        }
        // More answers may be buffered: come back after the others have had their turn.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<Req, Resp> Session<Req, Resp> {
    /// One call: the request written from this task, then its answer awaited until the
    /// context's deadline.
    pub(crate) async fn call(
        &self,
        ctx: context::Context,
        request: Req,
    ) -> Result<Resp, CallError> {
        let deadline = tokio::time::Instant::from_std(ctx.deadline);
        if deadline <= tokio::time::Instant::now() {
            // Sent, it would only be cancelled at once.
            return Err(CallError::Deadline);
        }
        let trace_context = ctx.trace_context;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message = ClientMessage::Request(Request {
            context: ctx,
            id,
            message: request,
        });
        let frame = (self.encode)(&self.wire, &message).map_err(CallError::Send)?;
        drop(message);
        let answer = self.send(id, frame, deadline).await?;
        // From here a call dropped before its answer (its caller gave up, or its deadline
        // passed) tells the server to stop working on it.
        let mut pending = Pending {
            session: self,
            id,
            trace_context,
            answered: false,
        };
        let answer = tokio::time::timeout_at(deadline, answer).await;
        if answer.is_ok() {
            pending.answered = true;
        }
        match answer {
            Ok(Ok(message)) => message.map_err(CallError::Server),
            Ok(Err(_)) => Err(CallError::Lost {
                sent: true,
                why: self.why_ended(),
            }),
            Err(_) => Err(CallError::Deadline),
        }
    }

    /// Registers request `id` for its answer, queues its `frame` and writes what the socket
    /// takes now; waits first, until `deadline`, while the queue is full.
    async fn send(
        &self,
        id: u64,
        frame: Bytes,
        deadline: tokio::time::Instant,
    ) -> Result<oneshot::Receiver<Result<Resp, ServerError>>, CallError> {
        // Registered before its bytes can leave, so its answer finds it; unregistered if the
        // frame is not queued, the wait for room included (the caller may give up there).
        let answer = self.register(id)?;
        let mut registered = Registered {
            session: self,
            id,
            queued: false,
        };
        if let Err(refused) = self.writing.send(frame, deadline).await {
            return Err(match refused {
                Refused::Ended(why) => CallError::Lost { sent: false, why },
                Refused::TooLarge(error) => CallError::Send(error),
                Refused::Deadline => CallError::Deadline,
            });
        }
        registered.queued = true;
        self.writing.write_out();
        Ok(answer)
    }

    fn register(&self, id: u64) -> Result<oneshot::Receiver<Result<Resp, ServerError>>, CallError> {
        let (answer, receiver) = oneshot::channel();
        let mut waiting = locked(&self.waiting);
        if let Some(why) = &waiting.ended {
            return Err(CallError::Lost {
                sent: false,
                why: Arc::clone(why),
            });
        }
        waiting.calls.insert(id, answer);
        Ok(receiver)
    }

    fn why_ended(&self) -> Arc<str> {
        locked(&self.waiting)
            .ended
            .clone()
            .unwrap_or_else(|| Arc::from("the connection ended"))
    }

    /// Tells the server that request `id` is no longer wanted, if it is still waiting.
    fn cancel(&self, id: u64, trace_context: tarpc::trace::Context) {
        if locked(&self.waiting).calls.remove(&id).is_none() {
            // Answered meanwhile, or the connection is gone.
            return;
        }
        let message = ClientMessage::<Req>::Cancel {
            trace_context,
            request_id: id,
        };
        let Ok(frame) = (self.encode)(&self.wire, &message) else {
            // A cancel is a few bytes; the server lets the request run to its deadline.
            return;
        };
        if self.writing.push(frame).is_ok() {
            self.writing.write_out();
        }
    }

    /// Ends the session with `why`: no more writes, no more answers, the socket closed once
    /// the reader is dropped.
    pub(crate) fn end(&self, why: &Arc<str>) {
        self.writing.end(why);
        let calls = {
            let mut waiting = locked(&self.waiting);
            waiting.ended.get_or_insert_with(|| Arc::clone(why));
            std::mem::take(&mut waiting.calls)
        };
        // Dropping the senders fails the waiting calls, which read `ended`.
        drop(calls);
    }
}

/// A call registered for its answer and not yet queued; dropped unqueued, it unregisters.
struct Registered<'a, Req, Resp> {
    session: &'a Session<Req, Resp>,
    id: u64,
    queued: bool,
}

impl<Req, Resp> Drop for Registered<'_, Req, Resp> {
    fn drop(&mut self) {
        if !self.queued {
            locked(&self.session.waiting).calls.remove(&self.id);
        }
    }
}

/// A call sent and not yet answered; dropped unanswered, it cancels the request.
struct Pending<'a, Req, Resp> {
    session: &'a Session<Req, Resp>,
    id: u64,
    trace_context: tarpc::trace::Context,
    answered: bool,
}

impl<Req, Resp> Drop for Pending<'_, Req, Resp> {
    fn drop(&mut self) {
        if !self.answered {
            self.session.cancel(self.id, self.trace_context);
        }
    }
}

impl Stream for Reader {
    type Item = Result<BytesMut, WireError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.eof {
                return Poll::Ready(this.codec.decode_eof(&mut this.buffer).transpose());
            }
            if let Some(frame) = this.codec.decode(&mut this.buffer)? {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.buffer.capacity() - this.buffer.len() < MIN_READ {
                this.buffer.reserve(MIN_READ);
            }
            match ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut this.io),
                cx,
                &mut this.buffer
            )) {
                Ok(0) => this.eof = true,
                Ok(_) => {}
                Err(error) => return Poll::Ready(Some(Err(WireError::Io(error)))),
            }
        }
    }
}

impl<Req, Resp> std::fmt::Debug for Session<Req, Resp> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("wire", &self.wire)
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, feature = "tcp"))]
mod tests {
    use super::*;
    use crate::codec::Outgoing as _;
    use crate::remote::outbox::BACKPRESSURE;
    use futures::{SinkExt as _, StreamExt as _};
    use std::time::Duration;
    use tokio::net::{TcpListener, TcpStream};

    const LIMIT: u64 = 2 << 20;

    /// The test's end of the connection: frames of the same format, read and written raw.
    type Peer = Framed<TcpStream, FrameCodec>;

    fn codec() -> FrameCodec {
        FrameCodec::new(LIMIT, LIMIT, Arc::from("session test"))
    }

    /// A session over a real loopback connection, its task running, and the peer's end.
    async fn connected() -> (
        Arc<Session<String, u32>>,
        Peer,
        tokio::task::JoinHandle<Arc<str>>,
    ) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(TcpStream::connect(address), listener.accept());
        let io: BoxIo = Box::new(client.unwrap());
        let (session, reader) = Session::new(Framed::new(io, codec()), Codec::Postcard);
        let session = Arc::new(session);
        let driver = tokio::spawn({
            let session = Arc::clone(&session);
            async move { session.drive(reader).await }
        });
        (session, Framed::new(accepted.unwrap().0, codec()), driver)
    }

    async fn within<F: Future>(what: &str, future: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
    }

    async fn next_message(peer: &mut Peer) -> ClientMessage<String> {
        let frame = within("a frame", peer.next()).await.unwrap().unwrap();
        ClientMessage::decode(Codec::Postcard, &frame).unwrap()
    }

    async fn next_request(peer: &mut Peer) -> (u64, String) {
        match next_message(peer).await {
            ClientMessage::Request(request) => (request.id, request.message),
            other => panic!("expected a request, got {other:?}"),
        }
    }

    async fn answer(peer: &mut Peer, request_id: u64, value: u32) {
        let response = Response {
            request_id,
            message: Ok(value),
        };
        let bytes = response.encode(Codec::Postcard).unwrap();
        peer.send(Bytes::from(bytes)).await.unwrap();
    }

    fn ctx() -> context::Context {
        context::current()
    }

    /// A call of `text` made in a task of its own.
    fn spawn_call(
        session: &Arc<Session<String, u32>>,
        ctx: context::Context,
        text: impl Into<String>,
    ) -> tokio::task::JoinHandle<Result<u32, CallError>> {
        let session = Arc::clone(session);
        let text = text.into();
        tokio::spawn(async move { session.call(ctx, text).await })
    }

    async fn expect_cancel_of(peer: &mut Peer, id: u64) {
        match next_message(peer).await {
            ClientMessage::Cancel { request_id, .. } => assert_eq!(request_id, id),
            other => panic!("expected a cancel, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn answers_reach_their_callers_in_whatever_order_they_come() {
        let (session, mut peer, _driver) = connected().await;
        let first = spawn_call(&session, ctx(), "first");
        let (first_id, text) = next_request(&mut peer).await;
        assert_eq!(text, "first");
        let second = spawn_call(&session, ctx(), "second");
        let (second_id, text) = next_request(&mut peer).await;
        assert_eq!(text, "second");
        assert_ne!(first_id, second_id);
        answer(&mut peer, second_id, 2).await;
        assert_eq!(
            within("the second answer", second).await.unwrap().unwrap(),
            2
        );
        answer(&mut peer, first_id, 1).await;
        assert_eq!(within("the first answer", first).await.unwrap().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_call_dropped_before_its_answer_cancels_its_request() {
        let (session, mut peer, _driver) = connected().await;
        let call = spawn_call(&session, ctx(), "abandoned");
        let (id, _) = next_request(&mut peer).await;
        call.abort();
        expect_cancel_of(&mut peer, id).await;
        // A late answer to it is dropped; the connection goes on.
        answer(&mut peer, id, 1).await;
        let next = spawn_call(&session, ctx(), "next");
        let (next_id, _) = next_request(&mut peer).await;
        answer(&mut peer, next_id, 5).await;
        assert_eq!(within("the next answer", next).await.unwrap().unwrap(), 5);
    }

    #[tokio::test]
    async fn a_call_past_its_deadline_fails_and_cancels_its_request() {
        let (session, mut peer, _driver) = connected().await;
        let mut short = ctx();
        short.deadline = std::time::Instant::now() + Duration::from_millis(50);
        let call = spawn_call(&session, short, "slow");
        let (id, _) = next_request(&mut peer).await;
        let result = within("the deadline", call).await.unwrap();
        assert!(matches!(result, Err(CallError::Deadline)), "{result:?}");
        expect_cancel_of(&mut peer, id).await;
    }

    #[tokio::test]
    async fn a_request_over_the_limit_is_refused_to_its_caller_alone() {
        let (session, mut peer, _driver) = connected().await;
        let too_large = "x".repeat(LIMIT as usize + 1);
        let refused = within("the refusal", session.call(ctx(), too_large)).await;
        let Err(CallError::Send(error)) = refused else {
            panic!("expected a send refusal, got {refused:?}");
        };
        assert!(error.as_frame_too_large().is_some(), "{error}");
        let next = spawn_call(&session, ctx(), "small");
        let (id, text) = next_request(&mut peer).await;
        assert_eq!(text, "small");
        answer(&mut peer, id, 3).await;
        assert_eq!(within("the answer", next).await.unwrap().unwrap(), 3);
    }

    /// `calls` callers of `payload` (256 × 64 KiB is 16 MiB: more than the socket buffers
    /// hold while the peer reads nothing), once some of them wait for room.
    async fn held_back(
        session: &Arc<Session<String, u32>>,
        calls: usize,
        payload: &str,
    ) -> tokio::task::JoinSet<Result<u32, CallError>> {
        let mut spawned = tokio::task::JoinSet::new();
        for _ in 0..calls {
            let session = Arc::clone(session);
            let payload = payload.to_owned();
            spawned.spawn(async move { session.call(ctx(), payload).await });
        }
        within("callers held back", async {
            while session.writing.blocked() == 0 {
                tokio::task::yield_now().await;
            }
        })
        .await;
        spawned
    }

    #[tokio::test]
    async fn callers_wait_for_room_while_the_peer_reads_nothing_then_all_go() {
        let (session, mut peer, _driver) = connected().await;
        const CALLS: usize = 256;
        let payload = "y".repeat(64 * 1024);
        let mut calls = held_back(&session, CALLS, &payload).await;
        // What is queued stays bounded.
        let queued = session.writing.queued();
        assert!(
            queued < BACKPRESSURE + payload.len() + 64,
            "{queued} bytes queued"
        );
        for _ in 0..CALLS {
            let (id, text) = next_request(&mut peer).await;
            assert_eq!(text.len(), payload.len());
            answer(&mut peer, id, 1).await;
        }
        let mut answered = 0;
        while let Some(done) = within("the answers", calls.join_next()).await {
            assert_eq!(done.unwrap().unwrap(), 1);
            answered += 1;
        }
        assert_eq!(answered, CALLS);
    }

    #[tokio::test]
    async fn a_call_given_up_while_waiting_for_room_leaves_nothing_behind() {
        let (session, _peer, _driver) = connected().await;
        let payload = "y".repeat(64 * 1024);
        let mut calls = held_back(&session, 256, &payload).await;
        let waiting = locked(&session.waiting).calls.len();
        let mut given_up = Box::pin(session.call(ctx(), payload.clone()));
        assert!(
            futures::poll!(given_up.as_mut()).is_pending(),
            "it waits for room"
        );
        assert_eq!(locked(&session.waiting).calls.len(), waiting + 1);
        drop(given_up);
        assert_eq!(
            locked(&session.waiting).calls.len(),
            waiting,
            "a call given up before it was queued is not waited for"
        );
        calls.abort_all();
    }

    #[tokio::test]
    async fn whoever_finds_the_writer_taken_asks_its_holder_to_look_again() {
        let (session, _peer, _driver) = connected().await;
        let writing = &session.writing;
        let held = writing.try_take_writer().expect("the writer is free");
        assert!(!writing.write_wanted().load(Ordering::SeqCst));
        assert!(writing.try_take_writer().is_none(), "the writer is taken");
        assert!(writing.write_wanted().load(Ordering::SeqCst));
        drop(held);
        // The holder's look again takes the request back.
        assert!(writing.write_wanted().swap(false, Ordering::SeqCst));
        assert!(writing.try_take_writer().is_some());
    }

    /// Callers on two workers, with payloads large enough that writes often find the socket
    /// full: every frame must leave, whoever happens to hold the writer when the socket
    /// takes more. A frame left behind hangs its call: with one caller nothing else would
    /// write it; with many, their frames race for the writer.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_frame_leaves_whoever_holds_the_writer() {
        for (callers, calls, largest) in [(1, 300, 1 << 20), (32, 40, 96 * 1024)] {
            frames_all_leave(callers, calls, largest).await;
        }
    }

    async fn frames_all_leave(callers: usize, calls: usize, largest: usize) {
        let (session, peer, _driver) = connected().await;
        let echo = tokio::spawn(async move {
            let (mut sink, mut stream) = peer.split();
            while let Some(frame) = stream.next().await {
                let Ok(ClientMessage::Request(request)) =
                    ClientMessage::<String>::decode(Codec::Postcard, &frame.unwrap())
                else {
                    continue;
                };
                let response = Response {
                    request_id: request.id,
                    message: Ok(request.message.len() as u32),
                };
                let bytes = response.encode(Codec::Postcard).unwrap();
                sink.send(Bytes::from(bytes)).await.unwrap();
            }
        });
        let mut tasks = tokio::task::JoinSet::new();
        for caller in 0..callers {
            let session = Arc::clone(&session);
            tasks.spawn(async move {
                for call in 0..calls {
                    // From a few bytes to `largest`, so some writes are partial.
                    let len = (caller * 7919 + call * 104_729) % largest + 1;
                    let answer = session.call(ctx(), "z".repeat(len)).await.unwrap();
                    assert_eq!(answer as usize, len);
                }
            });
        }
        while let Some(done) = within("every call", tasks.join_next()).await {
            done.unwrap();
        }
        echo.abort();
    }

    #[tokio::test]
    async fn a_lost_connection_fails_calls_in_flight_and_refuses_new_ones() {
        let (session, mut peer, driver) = connected().await;
        let call = spawn_call(&session, ctx(), "in flight");
        next_request(&mut peer).await;
        drop(peer);
        let why = within("the session to end", driver).await.unwrap();
        assert!(why.contains("closed"), "{why}");
        let lost = within("the call in flight", call).await.unwrap();
        assert!(
            matches!(&lost, Err(CallError::Lost { sent: true, why }) if why.contains("closed")),
            "{lost:?}"
        );
        let refused = within("a new call", session.call(ctx(), "late".into())).await;
        assert!(
            matches!(&refused, Err(CallError::Lost { sent: false, .. })),
            "{refused:?}"
        );
    }
}
