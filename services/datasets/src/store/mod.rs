//! The embedded database: one SQLite file, `<data_dir>/datasets.db`, in WAL mode.
//!
//! Every change (import, update, delete) is one transaction on the single writing
//! connection, so a crash at any point leaves each dataset either fully written or absent.
//! Reads run on their own connections, each inside a read transaction, so a page and its
//! version info come from one consistent snapshot while a writer works.

mod catalog;
mod chunks;
mod schema;

pub(crate) use catalog::{
    DatasetRow, NewVersion, delete, find, find_name, info, insert_dataset, insert_version, list,
    stats, versions,
};
pub(crate) use chunks::{ChunkWriter, ColumnAt, read_column, share_chunks};

use crate::error::DatasetsError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Idle read connections kept for reuse; more may be open while many reads run at once.
const IDLE_READERS: usize = 4;

/// The database handle: one writer, a pool of readers.
#[derive(Debug)]
pub(crate) struct Store {
    path: PathBuf,
    // A std mutex, not tokio's: it is only ever locked on blocking threads (the state runs
    // all database work in `spawn_blocking`) and never held across an `.await`. SQLite
    // admits one writer at a time anyway; this makes the wait happen here rather than in
    // SQLite's busy loop.
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`.
    ///
    /// # Errors
    /// The file cannot be opened or migrated.
    pub(crate) fn open(path: &Path) -> Result<Store, DatasetsError> {
        let writer = schema::open_writer(path)?;
        let first_reader = schema::open_reader(path)?;
        Ok(Store {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(vec![first_reader]),
        })
    }

    /// Runs `work` inside one read transaction: everything it reads is one snapshot.
    ///
    /// # Errors
    /// `work`'s error, or a database failure.
    pub(crate) fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, DatasetsError>,
    ) -> Result<T, DatasetsError> {
        let mut connection = match lock(&self.readers).pop() {
            Some(connection) => connection,
            None => schema::open_reader(&self.path)?,
        };
        let result = (|| {
            let transaction = connection.transaction()?;
            let value = work(&transaction)?;
            transaction.finish()?;
            Ok(value)
        })();
        let mut idle = lock(&self.readers);
        if idle.len() < IDLE_READERS {
            idle.push(connection);
        }
        result
    }

    /// Runs `work` inside one write transaction, committed only if `work` succeeds; on an
    /// error (or a panic) nothing of it is stored.
    ///
    /// # Errors
    /// `work`'s error, or a database failure.
    pub(crate) fn write<T>(
        &self,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, DatasetsError>,
    ) -> Result<T, DatasetsError> {
        let mut connection = lock(&self.writer);
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = work(&transaction)?;
        transaction.commit()?;
        Ok(value)
    }
}

/// Locks a mutex, recovering it from a panicked holder: the holder's transaction rolled
/// back as the panic unwound, so the connection inside is in a clean state.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
