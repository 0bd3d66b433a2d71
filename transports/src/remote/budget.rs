//! [`RequestBudget`]: one budget of request bytes in flight per listener, and each
//! connection's ledger of what its requests hold.
//!
//! A request's frame size is taken from the budget when its length prefix is read, before
//! its payload is buffered, and given back when its answer is sent, when it is cancelled or
//! its deadline passes (its handler is then stopped, and no answer sent), or when the
//! connection ends. While the budget is exhausted a connection stops reading (backpressure)
//! until bytes are freed; a single frame larger than the whole budget is refused as an
//! oversized frame.

use futures::future::AbortHandle;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The bytes of requests read and not yet answered, over every connection of a listener;
/// cheap to clone.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    inner: Arc<BudgetInner>,
}

#[derive(Debug)]
struct BudgetInner {
    semaphore: Arc<Semaphore>,
    total: u64,
    peak: AtomicU64,
}

impl RequestBudget {
    /// A budget of `total` bytes (at most `u32::MAX`: a frame's largest size).
    pub fn new(total: u64) -> Self {
        let total = total.min(u64::from(u32::MAX));
        RequestBudget {
            inner: Arc::new(BudgetInner {
                semaphore: Arc::new(Semaphore::new(total as usize)),
                total,
                peak: AtomicU64::new(0),
            }),
        }
    }

    /// The whole budget, in bytes.
    pub fn total(&self) -> u64 {
        self.inner.total
    }

    /// Bytes held by requests now.
    pub fn in_use(&self) -> u64 {
        self.inner.total - self.inner.semaphore.available_permits() as u64
    }

    /// The most bytes ever held at once.
    pub fn peak(&self) -> u64 {
        self.inner.peak.load(Ordering::Relaxed)
    }

    pub(crate) fn semaphore(&self) -> Arc<Semaphore> {
        Arc::clone(&self.inner.semaphore)
    }

    /// Notes the bytes held now, after an acquisition, for [`peak`](Self::peak).
    pub(crate) fn note_acquired(&self) {
        self.inner.peak.fetch_max(self.in_use(), Ordering::Relaxed);
    }

    /// Takes `bytes` now, if they are free.
    pub(crate) fn try_take(&self, bytes: u32) -> Option<OwnedSemaphorePermit> {
        let permit = Arc::clone(&self.inner.semaphore)
            .try_acquire_many_owned(bytes)
            .ok()?;
        self.note_acquired();
        Some(permit)
    }
}

/// One connection's requests in flight, by id: what each holds of the budget, its deadline,
/// and the handle that stops its handler. It is the connection's whole account of its
/// calls: the limit on requests in flight is checked here, a cancel or a deadline stops the
/// handler here, and [`close`](Ledger::close) stops every handler and gives everything back.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// The bytes of the last frame read, until its message is decoded.
    unassigned: Option<OwnedSemaphorePermit>,
    by_request: HashMap<u64, InFlight>,
    /// Requests answered whose answers are not queued yet.
    answering: usize,
    next_expiry: Option<Instant>,
    /// Woken when the last request in flight ends.
    on_empty: Option<Waker>,
    closed: bool,
}

#[derive(Debug)]
struct InFlight {
    _held: Option<OwnedSemaphorePermit>,
    deadline: Instant,
    abort: AbortHandle,
}

/// What became of a request offered to the [`Ledger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Counted in: its handler may run.
    Admitted,
    /// A request of that id is in flight already; this one is ignored.
    Duplicate,
    /// The connection's limit of requests in flight is reached.
    Full,
    /// The connection is closing.
    Closed,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The frame just read holds `permit` until its message is decoded.
    pub(crate) fn frame_read(&self, permit: OwnedSemaphorePermit) {
        self.lock().unassigned = Some(permit);
    }

    /// The frame just read was request `id`, due by `deadline`, its handler stopped by
    /// `abort`: counted in, unless `limit` requests are in flight or one of that id is.
    /// Admitted, it holds its bytes until answered, cancelled or expired; otherwise they are
    /// free now.
    pub(crate) fn request(
        &self,
        id: u64,
        deadline: Instant,
        abort: AbortHandle,
        limit: usize,
    ) -> Entry {
        let mut state = self.lock();
        let held = state.unassigned.take();
        let entry = if state.closed {
            Entry::Closed
        } else if state.by_request.contains_key(&id) {
            Entry::Duplicate
        } else if state.by_request.len() >= limit {
            Entry::Full
        } else {
            Entry::Admitted
        };
        if entry == Entry::Admitted {
            state.by_request.insert(
                id,
                InFlight {
                    _held: held,
                    deadline,
                    abort,
                },
            );
            if state.next_expiry.is_none_or(|next| deadline < next) {
                state.next_expiry = Some(deadline);
            }
        }
        entry
    }

    /// The frame just read was not a request: its bytes are free.
    pub(crate) fn release(&self) {
        self.lock().unassigned = None;
    }

    /// The frame just read cancelled request `id`: its bytes are free, and so are those of
    /// that request, whose handler is stopped.
    pub(crate) fn cancel(&self, id: u64) {
        let mut state = self.lock();
        state.unassigned = None;
        if let Some(request) = state.by_request.remove(&id) {
            request.abort.abort();
        }
    }

    /// Request `id` is answered: `false` if it was no longer in flight (cancelled, expired,
    /// or the connection closed), and its answer must not be sent. `true`: its bytes are
    /// free, and it counts as in flight until [`answer_queued`](Self::answer_queued).
    pub(crate) fn answered(&self, id: u64) -> bool {
        let mut state = self.lock();
        let found = state.by_request.remove(&id).is_some();
        if found {
            state.answering += 1;
        }
        found
    }

    /// The answer of a request [`answered`](Self::answered) was queued (or could not be
    /// encoded at all): if it was the last in flight, whoever waits for none is woken.
    pub(crate) fn answer_queued(&self) {
        let mut state = self.lock();
        state.answering = state.answering.saturating_sub(1);
        Self::wake_if_empty(&mut state);
    }

    fn wake_if_empty(state: &mut LedgerState) {
        if state.by_request.is_empty()
            && state.answering == 0
            && let Some(waker) = state.on_empty.take()
        {
            waker.wake();
        }
    }

    /// Requests in flight now, those answered and not yet queued included.
    pub(crate) fn in_flight(&self) -> usize {
        let state = self.lock();
        state.by_request.len() + state.answering
    }

    /// Whether no request is in flight; if some are, `waker` is woken when the last one's
    /// answer is queued. (Cancels and expiries happen on the connection's own task, which
    /// looks again after them.)
    pub(crate) fn empty_or_wake(&self, waker: &Waker) -> bool {
        let mut state = self.lock();
        if state.by_request.is_empty() && state.answering == 0 {
            return true;
        }
        state.on_empty = Some(waker.clone());
        false
    }

    /// When the next request expires, as last computed (it may be one answered since).
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.lock().next_expiry
    }

    /// Stops the handlers of the requests whose deadline has passed and frees their bytes;
    /// returns when the next one expires.
    pub(crate) fn expire(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        if state.next_expiry.is_some_and(|next| next <= now) {
            state.by_request.retain(|_, request| {
                let live = request.deadline > now;
                if !live {
                    request.abort.abort();
                }
                live
            });
            state.next_expiry = state.by_request.values().map(|r| r.deadline).min();
        }
        state.next_expiry
    }

    /// The connection is over: every handler still running is stopped (its answer could go
    /// nowhere), every byte is given back, and no request is admitted from now on.
    pub(crate) fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.unassigned = None;
        for (_, request) in state.by_request.drain() {
            request.abort.abort();
        }
        state.next_expiry = None;
        state.on_empty = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::AbortRegistration;
    use std::time::Duration;

    /// A request's abort handle, and a flag of whether it was used.
    fn handle() -> (AbortHandle, AbortRegistration) {
        AbortHandle::new_pair()
    }

    fn stopped(registration: &AbortRegistration) -> bool {
        registration.handle().is_aborted()
    }

    #[test]
    fn bytes_are_held_until_answered_cancelled_or_expired() {
        let budget = RequestBudget::new(100);
        let ledger = Ledger::default();
        let later = Instant::now() + Duration::from_secs(60);
        let (first, first_stop) = handle();
        let (second, second_stop) = handle();
        ledger.frame_read(budget.try_take(40).unwrap());
        assert_eq!(ledger.request(1, later, first, 8), Entry::Admitted);
        ledger.frame_read(budget.try_take(30).unwrap());
        assert_eq!(ledger.request(2, later, second, 8), Entry::Admitted);
        assert_eq!(budget.in_use(), 70);
        assert_eq!(ledger.in_flight(), 2);
        assert!(budget.try_take(31).is_none());
        assert!(ledger.answered(1));
        assert!(!ledger.answered(1), "answered once");
        assert!(!stopped(&first_stop), "an answered request is not stopped");
        assert_eq!(budget.in_use(), 30, "its bytes are free once answered");
        assert_eq!(
            ledger.in_flight(),
            2,
            "in flight until its answer is queued"
        );
        ledger.answer_queued();
        assert_eq!(ledger.in_flight(), 1);
        ledger.frame_read(budget.try_take(5).unwrap());
        ledger.cancel(2);
        assert!(stopped(&second_stop), "a cancel stops the handler");
        assert!(
            !ledger.answered(2),
            "a cancelled request's answer is not sent"
        );
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 70);
        let soon = Instant::now();
        let (third, third_stop) = handle();
        ledger.frame_read(budget.try_take(10).unwrap());
        assert_eq!(ledger.request(3, soon, third, 8), Entry::Admitted);
        assert_eq!(ledger.expire(soon + Duration::from_millis(1)), None);
        assert!(
            stopped(&third_stop),
            "an expired request's handler is stopped"
        );
        assert_eq!(ledger.in_flight(), 0);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn duplicates_and_requests_over_the_limit_free_their_bytes_at_once() {
        let budget = RequestBudget::new(100);
        let ledger = Ledger::default();
        let later = Instant::now() + Duration::from_secs(60);
        ledger.frame_read(budget.try_take(10).unwrap());
        assert_eq!(ledger.request(1, later, handle().0, 1), Entry::Admitted);
        ledger.frame_read(budget.try_take(20).unwrap());
        assert_eq!(ledger.request(1, later, handle().0, 8), Entry::Duplicate);
        assert_eq!(budget.in_use(), 10);
        ledger.frame_read(budget.try_take(20).unwrap());
        assert_eq!(ledger.request(2, later, handle().0, 1), Entry::Full);
        assert_eq!(budget.in_use(), 10);
        assert_eq!(ledger.in_flight(), 1);
    }

    #[test]
    fn closing_stops_every_handler_and_gives_everything_back() {
        let budget = RequestBudget::new(100);
        let ledger = Ledger::default();
        let later = Instant::now() + Duration::from_secs(60);
        let (first, first_stop) = handle();
        ledger.frame_read(budget.try_take(10).unwrap());
        assert_eq!(ledger.request(1, later, first, 8), Entry::Admitted);
        ledger.frame_read(budget.try_take(20).unwrap());
        ledger.close();
        assert!(stopped(&first_stop));
        assert_eq!(budget.in_use(), 0);
        assert!(!ledger.answered(1));
        ledger.frame_read(budget.try_take(20).unwrap());
        assert_eq!(ledger.request(2, later, handle().0, 8), Entry::Closed);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn the_last_request_to_end_wakes_whoever_waits_for_none() {
        let ledger = Ledger::default();
        let later = Instant::now() + Duration::from_secs(60);
        assert_eq!(ledger.request(1, later, handle().0, 8), Entry::Admitted);
        assert_eq!(ledger.request(2, later, handle().0, 8), Entry::Admitted);
        let woken = Arc::new(Woken::default());
        let waker = Waker::from(Arc::clone(&woken));
        assert!(!ledger.empty_or_wake(&waker));
        assert!(ledger.answered(1));
        ledger.answer_queued();
        assert!(!woken.0.load(Ordering::SeqCst), "one is still in flight");
        assert!(ledger.answered(2));
        assert!(
            !woken.0.load(Ordering::SeqCst),
            "its answer is not queued yet"
        );
        ledger.answer_queued();
        assert!(woken.0.load(Ordering::SeqCst));
        assert!(ledger.empty_or_wake(&waker));
    }

    #[derive(Default)]
    struct Woken(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
}
