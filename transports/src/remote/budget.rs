//! [`RequestBudget`]: one budget of request bytes in flight per listener, and each
//! connection's ledger of what its requests hold.
//!
//! A request's frame size is taken from the budget when its length prefix is read, before
//! its payload is buffered, and given back when its answer has been written, when it is
//! cancelled or its deadline passes (tarpc then drops it without an answer), or when the
//! connection ends. While the budget is exhausted a connection stops reading (backpressure)
//! until bytes are freed; a single frame larger than the whole budget is refused as an
//! oversized frame.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
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

/// What one connection's requests hold of the budget, by request id. Dropping it gives
/// everything back.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
struct LedgerState {
    /// The bytes of the last frame read, until its message is decoded.
    unassigned: Option<OwnedSemaphorePermit>,
    by_request: HashMap<u64, (OwnedSemaphorePermit, Instant)>,
    next_expiry: Option<Instant>,
}

impl Ledger {
    fn lock(&self) -> std::sync::MutexGuard<'_, LedgerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The frame just read holds `permit` until its message is decoded.
    pub(crate) fn frame_read(&self, permit: OwnedSemaphorePermit) {
        self.lock().unassigned = Some(permit);
    }

    /// The frame just read was request `id`, due by `deadline`: it holds its bytes until
    /// answered, cancelled or expired. A duplicate id (which tarpc ignores) frees them now.
    pub(crate) fn request(&self, id: u64, deadline: Instant) {
        let mut state = self.lock();
        let Some(permit) = state.unassigned.take() else {
            return;
        };
        if state.by_request.contains_key(&id) {
            return;
        }
        state.by_request.insert(id, (permit, deadline));
        if state.next_expiry.is_none_or(|next| deadline < next) {
            state.next_expiry = Some(deadline);
        }
    }

    /// The frame just read was not a request (a cancellation): its bytes are free, and so
    /// are those of the request it cancels, if any.
    pub(crate) fn release(&self, cancelled: Option<u64>) {
        let mut state = self.lock();
        state.unassigned = None;
        if let Some(id) = cancelled {
            state.by_request.remove(&id);
        }
    }

    /// Request `id` was answered.
    pub(crate) fn answered(&self, id: u64) {
        self.lock().by_request.remove(&id);
    }

    /// When the next request expires, as last computed (it may be one answered since).
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.lock().next_expiry
    }

    /// Frees the requests whose deadline has passed; returns when the next one expires.
    pub(crate) fn expire(&self, now: Instant) -> Option<Instant> {
        let mut state = self.lock();
        if state.next_expiry.is_some_and(|next| next <= now) {
            state.by_request.retain(|_, (_, deadline)| *deadline > now);
            state.next_expiry = state.by_request.values().map(|(_, d)| *d).min();
        }
        state.next_expiry
    }

    /// Requests holding bytes now.
    #[cfg(test)]
    fn held(&self) -> usize {
        self.lock().by_request.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bytes_are_held_until_answered_cancelled_or_expired() {
        let budget = RequestBudget::new(100);
        let ledger = Ledger::default();
        let later = Instant::now() + Duration::from_secs(60);
        ledger.frame_read(budget.try_take(40).unwrap());
        ledger.request(1, later);
        ledger.frame_read(budget.try_take(30).unwrap());
        ledger.request(2, later);
        assert_eq!(budget.in_use(), 70);
        assert!(budget.try_take(31).is_none());
        ledger.answered(1);
        assert_eq!(budget.in_use(), 30);
        ledger.frame_read(budget.try_take(5).unwrap());
        ledger.release(Some(2));
        assert_eq!(budget.in_use(), 0);
        assert_eq!(budget.peak(), 70);
        let soon = Instant::now();
        ledger.frame_read(budget.try_take(10).unwrap());
        ledger.request(3, soon);
        assert_eq!(ledger.expire(soon + Duration::from_millis(1)), None);
        assert_eq!(ledger.held(), 0);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn a_duplicate_request_id_frees_its_bytes_at_once() {
        let budget = RequestBudget::new(100);
        let ledger = Ledger::default();
        let later = Instant::now() + Duration::from_secs(60);
        ledger.frame_read(budget.try_take(10).unwrap());
        ledger.request(1, later);
        ledger.frame_read(budget.try_take(20).unwrap());
        ledger.request(1, later);
        assert_eq!(budget.in_use(), 10);
        drop(ledger);
        assert_eq!(budget.in_use(), 0);
    }
}
