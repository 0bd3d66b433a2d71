//! The embedded database: one SQLite file, `<data_dir>/datasets.db`, in WAL mode.
//!
//! Every change (import, update, delete) is one transaction on the single writing
//! connection, so a crash at any point leaves each dataset either fully written or absent;
//! a write checks its caller's cancellation just before committing, and once the commit
//! starts it completes. Reads run on a bounded pool of read-only connections
//! ([`PoolLimits`]), each read inside a read transaction, so a page and its version info
//! come from one consistent snapshot while a writer works. A delete frees its pages in
//! its transaction and [`Store::reclaim`] gives them back to the file system afterwards.

mod catalog;
mod chunks;
mod pool;
mod schema;

pub(crate) use catalog::{
    DatasetRow, NewVersion, delete, find, find_name, info, insert_dataset, insert_version, list,
    stats, versions,
};
pub(crate) use chunks::{ChunkWriter, ColumnAt, read_column, share_chunks};
pub(crate) use pool::PoolLimits;

use crate::cancel::Cancel;
use crate::error::DatasetsError;
use pool::ReaderPool;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Pages given back to the file system per step of [`Store::reclaim`]: 4 MiB of 4 KiB
/// pages, a short hold of the writer.
const RECLAIM_PAGES: u32 = 1024;

/// The database handle: one writer, a pool of readers.
#[derive(Debug)]
pub(crate) struct Store {
    /// The data directory, for messages.
    dir: String,
    // A std mutex, not tokio's: it is only ever locked on blocking threads (the state runs
    // all database work in `spawn_blocking`) and never held across an `.await`. SQLite
    // admits one writer at a time anyway; this makes the wait happen here rather than in
    // SQLite's busy loop, and the state admits only `max_concurrent_writes` writers, so
    // few blocking threads ever wait on it.
    writer: Mutex<Connection>,
    readers: ReaderPool,
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    ///
    /// # Errors
    /// The file cannot be opened or migrated; another process holds it busy.
    pub(crate) fn open(path: &Path, limits: PoolLimits) -> Result<Store, DatasetsError> {
        let dir = path.parent().unwrap_or(path).display().to_string();
        let opened = (|| {
            let writer = schema::open_writer(path, limits.busy_timeout)?;
            let first_reader = schema::open_reader(path, limits.busy_timeout)?;
            Ok((writer, first_reader))
        })();
        let (writer, first_reader) = opened.map_err(|error| busy(error, &dir))?;
        Ok(Store {
            dir,
            writer: Mutex::new(writer),
            readers: ReaderPool::new(path.to_owned(), limits, first_reader),
        })
    }

    /// Runs `work` inside one read transaction: everything it reads is one snapshot.
    ///
    /// # Errors
    /// `work`'s error; [`DatasetsError::ReadersBusy`] when no connection was free in
    /// time; [`DatasetsError::Busy`]; another database failure.
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, DatasetsError>,
    ) -> Result<T, DatasetsError> {
        let mut lease = self.readers.take()?;
        let result = (|| {
            let transaction = lease.connection().transaction()?;
            let value = work(&transaction)?;
            transaction.finish()?;
            Ok(value)
        })();
        result.map_err(|error| busy(error, &self.dir))
    }

    /// Runs `work` inside one write transaction, committed only if `work` succeeds and
    /// `cancel` is not raised when the commit is about to start; on an error, a
    /// cancellation or a panic nothing of it is stored. Once the commit starts, it
    /// completes.
    ///
    /// # Errors
    /// `work`'s error; [`DatasetsError::Cancelled`]; [`DatasetsError::Busy`]; another
    /// database failure.
    pub(crate) fn write<T>(
        &self,
        cancel: Cancel<'_>,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DatasetsError>,
    ) -> Result<T, DatasetsError> {
        let mut connection = lock(&self.writer);
        // A caller that went away while this write waited for the writer: do not start.
        cancel.check()?;
        let result = (|| {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = work(&transaction)?;
            // The last moment to give up: dropping the transaction rolls it back.
            cancel.check()?;
            transaction.commit()?;
            Ok(value)
        })();
        result.map_err(|error| busy(error, &self.dir))
    }

    /// Gives the pages left free by deletes back to the file system (the file shrinks at
    /// the next WAL checkpoint); returns how many. Runs in steps of [`RECLAIM_PAGES`]
    /// pages, each its own transaction, releasing the writer between steps so other
    /// writes are not held up by a large delete.
    ///
    /// # Errors
    /// [`DatasetsError::Busy`]; another database failure.
    pub(crate) fn reclaim(&self) -> Result<u64, DatasetsError> {
        let mut reclaimed = 0;
        loop {
            let connection = lock(&self.writer);
            let free = free_pages(&connection).map_err(|error| busy(error, &self.dir))?;
            if free == 0 {
                return Ok(reclaimed);
            }
            // `incremental_vacuum` frees one page per step of its statement: every row must
            // be read, or only the first page is freed.
            connection
                .pragma(None, "incremental_vacuum", RECLAIM_PAGES, |_| Ok(()))
                .map_err(|error| busy(error.into(), &self.dir))?;
            let left = free_pages(&connection).map_err(|error| busy(error, &self.dir))?;
            if left >= free {
                // Nothing moved: a database created without incremental auto-vacuum.
                return Ok(reclaimed);
            }
            reclaimed += free - left;
        }
    }

    /// Connections open in the read pool.
    #[cfg(test)]
    pub(crate) fn read_connections(&self) -> usize {
        self.readers.open()
    }
}

fn free_pages(connection: &Connection) -> Result<u64, DatasetsError> {
    Ok(connection.pragma_query_value(None, "freelist_count", |row| row.get(0))?)
}

/// SQLite's "busy" and "locked" mean another process holds the database: the caller can
/// retry, so they are [`DatasetsError::Busy`] naming the data directory.
fn busy(error: DatasetsError, dir: &str) -> DatasetsError {
    match &error {
        DatasetsError::Database(cause)
            if matches!(
                cause.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
            ) =>
        {
            DatasetsError::Busy {
                dir: dir.to_owned(),
            }
        }
        _ => error,
    }
}

/// Locks a mutex, recovering it from a panicked holder: the holder's transaction rolled
/// back as the panic unwound, so the connection inside is in a clean state.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::ErrorKind;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    fn limits(max: usize) -> PoolLimits {
        PoolLimits {
            max,
            wait: Duration::from_millis(100),
            busy_timeout: Duration::from_millis(100),
        }
    }

    fn rows(store: &Store) -> i64 {
        store
            .read(|c| Ok(c.query_row("SELECT COUNT(*) FROM datasets", [], |row| row.get(0))?))
            .unwrap()
    }

    fn insert(transaction: &Transaction<'_>) -> Result<(), DatasetsError> {
        insert_dataset(transaction, "d", 0)?;
        Ok(())
    }

    #[test]
    fn a_cancellation_during_the_write_stores_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("datasets.db"), limits(2)).unwrap();
        let flag = AtomicBool::new(false);
        let cancel = Cancel::new(&flag, "import");
        let result = store.write(cancel, |transaction| {
            insert(transaction)?;
            // The caller goes away after the last row is written, before the commit.
            flag.store(true, Ordering::Relaxed);
            Ok(())
        });
        assert!(matches!(result, Err(DatasetsError::Cancelled { .. })));
        assert_eq!(rows(&store), 0);
        // Raised before the write starts: the work does not even run.
        let result = store.write(cancel, |_| -> Result<(), DatasetsError> {
            panic!("a cancelled write must not start")
        });
        assert!(matches!(result, Err(DatasetsError::Cancelled { .. })));
        store.write(Cancel::never("import"), insert).unwrap();
        assert_eq!(rows(&store), 1);
    }

    #[test]
    fn another_process_writing_makes_the_store_busy_naming_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("datasets.db");
        let store = Store::open(&path, limits(2)).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let error = store.write(Cancel::never("import"), insert).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Unavailable);
        assert_eq!(
            error.to_string(),
            format!(
                "the database in {} is busy: another process is writing",
                dir.path().display()
            )
        );
        other.execute_batch("ROLLBACK").unwrap();
        store.write(Cancel::never("import"), insert).unwrap();
    }

    #[test]
    fn reads_wait_for_a_free_connection_up_to_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("datasets.db"), limits(1)).unwrap();
        let (held_tx, held_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            let store = &store;
            let holder = scope.spawn(move || {
                store.read(|_| {
                    held_tx.send(()).unwrap();
                    release_rx.recv_timeout(Duration::from_secs(10)).unwrap();
                    Ok(())
                })
            });
            held_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            // The only connection is lent out: this read waits its 100 ms, then gives up.
            let error = store.read(|_| Ok(())).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::Overloaded);
            assert_eq!(
                error.to_string(),
                "all 1 read connections (`max_read_connections`) stayed busy for 100 ms; \
                 retry later"
            );
            release_tx.send(()).unwrap();
            holder.join().unwrap().unwrap();
        });
        assert_eq!(rows(&store), 0);
        assert_eq!(store.read_connections(), 1, "never more than the cap");
    }
}
