//! [`Gate`]: which blocking work may start, and knowing when all of it has ended.
//!
//! Every operation's blocking work passes the gate: a write (import, update, delete) takes
//! one of `max_concurrent_writes` permits or is refused at once as overloaded; a read takes
//! one of `max_read_connections` permits, waiting for one (asynchronously, without holding
//! a blocking thread) at most [`READ_WAIT`]. The permit moves into the blocking work and is
//! released when that work really ends, not when its caller stops waiting. A
//! [`TaskTracker`] knows all the work in flight, so shutdown can wait for it.

use crate::error::DatasetsError;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;
use tokio_util::task::task_tracker::TaskTrackerToken;

/// How long a read waits for a free read connection before it is refused.
pub(crate) const READ_WAIT: Duration = Duration::from_secs(10);

/// What an operation does to the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reads only.
    Read,
    /// Writes (and may read).
    Write,
    /// Works on an upload's file, not on the database: tracked, but not limited here (the
    /// uploads bound themselves: `max_open_uploads`, one append at a time each).
    Upload,
}

/// The admission and tracking of blocking work; a cheap [`Clone`].
#[derive(Debug, Clone)]
pub(crate) struct Gate {
    // Closed from the start, and never reopened: tokio-util's `wait` waits until the
    // tracker is closed *and* empty, so a closed tracker makes it "until nothing is in
    // flight", which `idle` needs before any shutdown. A closed tracker still tracks new
    // tasks; refusing them is `closed`'s job.
    tracker: TaskTracker,
    closed: Arc<AtomicBool>,
    writes: Arc<Semaphore>,
    write_limit: usize,
    reads: Arc<Semaphore>,
    read_limit: usize,
}

/// The right to run one piece of blocking work; held by that work until it ends.
#[derive(Debug)]
pub(crate) struct Admitted {
    _permit: Option<OwnedSemaphorePermit>,
    /// Counts the work as in flight from admission on, so that a `close` racing with the
    /// admission is still followed by an `idle` that waits for this work.
    _token: TaskTrackerToken,
}

impl Gate {
    /// A gate admitting `write_limit` writes and `read_limit` reads at once.
    pub(crate) fn new(write_limit: usize, read_limit: usize) -> Self {
        let tracker = TaskTracker::new();
        tracker.close();
        Gate {
            tracker,
            closed: Arc::new(AtomicBool::new(false)),
            writes: Arc::new(Semaphore::new(write_limit)),
            write_limit,
            reads: Arc::new(Semaphore::new(read_limit)),
            read_limit,
        }
    }

    /// Admits one piece of work.
    ///
    /// # Errors
    /// [`DatasetsError::ShuttingDown`] after [`Gate::close`]; [`DatasetsError::TooManyWrites`]
    /// when every write permit is taken; [`DatasetsError::ReadersBusy`] when no read permit
    /// came free within [`READ_WAIT`].
    ///
    /// # Cancel safety
    /// Cancel safe: dropped, it holds nothing.
    pub(crate) async fn admit(&self, access: Access) -> Result<Admitted, DatasetsError> {
        self.check_open()?;
        let permit = match access {
            Access::Upload => None,
            Access::Write => Some(Arc::clone(&self.writes).try_acquire_owned().map_err(|_| {
                DatasetsError::TooManyWrites {
                    limit: self.write_limit,
                }
            })?),
            Access::Read => {
                let permit =
                    tokio::time::timeout(READ_WAIT, Arc::clone(&self.reads).acquire_owned());
                match permit.await {
                    Ok(Ok(permit)) => Some(permit),
                    // The semaphores are never closed; a timeout is the only way here.
                    Ok(Err(_)) | Err(_) => {
                        return Err(DatasetsError::ReadersBusy {
                            limit: self.read_limit,
                            waited_ms: u64::try_from(READ_WAIT.as_millis()).unwrap_or(u64::MAX),
                        });
                    }
                }
            }
        };
        // Counted as in flight before the last look at `closed`: a `close` after this look
        // is followed by an `idle` that waits for this work. (A read waiting for its permit
        // is not counted: `idle` does not wait for it, and the look refuses it.)
        let token = self.tracker.token();
        self.check_open()?;
        Ok(Admitted {
            _permit: permit,
            _token: token,
        })
    }

    /// Runs `work` on tokio's blocking pool, tracked, holding `admitted` until it returns.
    pub(crate) fn spawn_blocking<T, F>(&self, admitted: Admitted, work: F) -> JoinHandle<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.tracker.spawn_blocking(move || {
            // Held until the work really ends, even when its caller has stopped waiting.
            let _admitted = admitted;
            work()
        })
    }

    /// Refuses all work from now on; work already admitted goes on.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    /// Waits until no admitted work is in flight.
    pub(crate) fn idle(&self) -> impl Future<Output = ()> + '_ {
        self.tracker.wait()
    }

    fn check_open(&self) -> Result<(), DatasetsError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(DatasetsError::ShuttingDown);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::ErrorKind;

    #[tokio::test]
    async fn writes_beyond_the_limit_are_refused_at_once_and_reads_are_not_limited_by_them() {
        let gate = Gate::new(1, 1);
        let first = gate.admit(Access::Write).await.unwrap();
        let error = gate.admit(Access::Write).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Overloaded);
        assert_eq!(
            error.to_string(),
            "the limit of 1 concurrent writes (imports, updates, deletes; \
             `max_concurrent_writes`) is reached; retry when one has finished"
        );
        let read = gate.admit(Access::Read).await.unwrap();
        drop((first, read));
        assert!(gate.admit(Access::Write).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_waits_for_a_permit_at_most_the_read_wait() {
        let gate = Gate::new(1, 1);
        let held = gate.admit(Access::Read).await.unwrap();
        let error = gate.admit(Access::Read).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Overloaded);
        drop(held);
        assert!(gate.admit(Access::Read).await.is_ok());
    }

    #[tokio::test]
    async fn idle_waits_for_the_work_in_flight_and_close_refuses_new_work() {
        let gate = Gate::new(2, 2);
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let admitted = gate.admit(Access::Write).await.unwrap();
        let work = gate.spawn_blocking(admitted, move || {
            wait.recv_timeout(Duration::from_secs(10)).is_ok()
        });
        let early = tokio::time::timeout(Duration::from_millis(20), gate.idle()).await;
        assert!(early.is_err(), "work is in flight");
        release.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), gate.idle())
            .await
            .unwrap();
        assert!(work.await.unwrap());
        gate.close();
        let error = gate.admit(Access::Read).await.unwrap_err();
        assert_eq!(
            (error.kind(), error.to_string().as_str()),
            (
                ErrorKind::Unavailable,
                "the datasets service is shutting down"
            )
        );
        tokio::time::timeout(Duration::from_secs(10), gate.idle())
            .await
            .unwrap();
    }
}
