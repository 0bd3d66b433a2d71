//! [`ReaderPool`]: at most `max` read connections; a read waits (a bounded time) for one.

use crate::error::DatasetsError;
use crate::store::{lock, schema};
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many read connections there may be, and how long a read waits for one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolLimits {
    /// The most read connections open at once.
    pub(crate) max: usize,
    /// How long a read waits for a free connection before giving up.
    pub(crate) wait: Duration,
    /// How long a connection waits for SQLite's locks.
    pub(crate) busy_timeout: Duration,
}

/// Read-only connections, opened on demand up to a cap and kept for reuse.
#[derive(Debug)]
pub(super) struct ReaderPool {
    path: PathBuf,
    limits: PoolLimits,
    slots: Mutex<Slots>,
    // A std `Condvar`: the pool is used only on blocking threads (the state runs database
    // work in `spawn_blocking`, and admits at most `max` reads at once, so a read rarely
    // waits here; an import's early look-up may).
    freed: Condvar,
}

#[derive(Debug)]
struct Slots {
    idle: Vec<Connection>,
    /// Connections open: idle ones and those lent out.
    open: usize,
}

/// A connection lent out; it goes back to the pool when dropped, even on a panic (its read
/// transaction, if any, rolled back as it unwound).
pub(super) struct Lease<'p> {
    pool: &'p ReaderPool,
    connection: Option<Connection>,
}

impl ReaderPool {
    /// A pool over the database at `path`, holding `first` (opened by the caller, so that
    /// opening the store fails early if reading does).
    pub(super) fn new(path: PathBuf, limits: PoolLimits, first: Connection) -> Self {
        ReaderPool {
            path,
            limits,
            slots: Mutex::new(Slots {
                idle: vec![first],
                open: 1,
            }),
            freed: Condvar::new(),
        }
    }

    /// An idle connection, a new one if fewer than `max` are open, else the first one
    /// given back within `wait`.
    ///
    /// # Errors
    /// [`DatasetsError::ReadersBusy`] after `wait`; a connection that cannot be opened.
    pub(super) fn take(&self) -> Result<Lease<'_>, DatasetsError> {
        let deadline = Instant::now() + self.limits.wait;
        let mut slots = lock(&self.slots);
        loop {
            if let Some(connection) = slots.idle.pop() {
                return Ok(self.lease(connection));
            }
            if slots.open < self.limits.max {
                slots.open += 1;
                drop(slots);
                return match schema::open_reader(&self.path, self.limits.busy_timeout) {
                    Ok(connection) => Ok(self.lease(connection)),
                    Err(error) => {
                        lock(&self.slots).open -= 1;
                        self.freed.notify_one();
                        Err(error)
                    }
                };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(DatasetsError::ReadersBusy {
                    limit: self.limits.max,
                    waited_ms: u64::try_from(self.limits.wait.as_millis()).unwrap_or(u64::MAX),
                });
            }
            slots = self
                .freed
                .wait_timeout(slots, left)
                .map(|(slots, _)| slots)
                .unwrap_or_else(|poisoned| PoisonError::into_inner(poisoned).0);
        }
    }

    fn lease(&self, connection: Connection) -> Lease<'_> {
        Lease {
            pool: self,
            connection: Some(connection),
        }
    }

    /// Connections open now (idle or lent out).
    #[cfg(test)]
    pub(super) fn open(&self) -> usize {
        lock(&self.slots).open
    }
}

impl Lease<'_> {
    /// The connection lent.
    pub(super) fn connection(&mut self) -> &mut Connection {
        // Invariant: `connection` is `Some` from `lease` until `drop` takes it.
        self.connection
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            lock(&self.pool.slots).idle.push(connection);
            self.pool.freed.notify_one();
        }
    }
}
