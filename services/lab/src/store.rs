//! The lab's database: one SQLite file, `<data_dir>/lab.db`, in WAL mode, holding every
//! comparison the lab started: its request, and once it ended its final stage and (when it
//! finished) its report, in postcard. A comparison's row is written when it starts, so one
//! running when the process dies is found at the next start and marked
//! [`LabStage::Interrupted`] rather than forgotten.
//!
//! The functions here block: the state calls them on blocking threads.

use crate::error::LabError;
use mltools_core::JobId;
use mltools_core::lab::{LabCompareRequest, LabJob, LabStage, Report};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Each migration takes the database from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the comparisons.
    r#"
    CREATE TABLE comparisons (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- job ids are never reused
        request       BLOB    NOT NULL,  -- postcard: LabCompareRequest
        started_at_ms INTEGER NOT NULL,
        ended         INTEGER NOT NULL DEFAULT 0,
        stage         BLOB,              -- postcard: the final LabStage, once ended
        ended_at_ms   INTEGER,
        report        BLOB               -- postcard: Report, once finished
    );
    "#,
];

/// The lab's database handle.
#[derive(Debug)]
pub(crate) struct Store {
    // A std mutex: locked only on blocking threads, never across an `.await`; a row per
    // comparison start and end does not call for a pool.
    connection: Mutex<Connection>,
    /// The file, named in errors.
    path: PathBuf,
}

impl Store {
    /// Opens (creating and migrating if needed) the database at `path`, and marks every
    /// comparison that was running when the last process stopped as interrupted; returns
    /// the store and how many were.
    ///
    /// # Errors
    /// [`LabError::Database`]: the file cannot be opened, or was written by a newer schema.
    pub(crate) fn open(path: &Path) -> Result<(Store, usize), LabError> {
        let failed = |error: rusqlite::Error| database(path, error);
        let mut connection = Connection::open(path).map_err(failed)?;
        let mode: String = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(failed)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(LabError::Database(format!(
                "{}: cannot use write-ahead logging",
                path.display()
            )));
        }
        // FULL: a finished comparison survives power loss, not only a crash.
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(failed)?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(failed)?;
        migrate(&mut connection, path)?;
        let interrupted = connection
            .execute(
                "UPDATE comparisons SET ended = 1, stage = ?1, ended_at_ms = ?2 WHERE ended = 0",
                params![
                    encode(&LabStage::Interrupted)?,
                    crate::state::now_ms() as i64
                ],
            )
            .map_err(failed)?;
        Ok((
            Store {
                connection: Mutex::new(connection),
                path: path.to_owned(),
            },
            interrupted,
        ))
    }

    /// The error of a failed statement, naming the file.
    fn failed(&self) -> impl Fn(rusqlite::Error) -> LabError + Copy + '_ {
        |error| database(&self.path, error)
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panicking holder's statement rolled back as it unwound: the connection is clean.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a comparison that starts now; its id is assigned here.
    ///
    /// # Errors
    /// [`LabError::Database`].
    pub(crate) fn start(
        &self,
        request: &LabCompareRequest,
        started_at_ms: u64,
    ) -> Result<JobId, LabError> {
        let connection = self.lock();
        connection
            .execute(
                "INSERT INTO comparisons (request, started_at_ms) VALUES (?1, ?2)",
                params![encode(request)?, started_at_ms as i64],
            )
            .map_err(self.failed())?;
        Ok(JobId(connection.last_insert_rowid() as u64))
    }

    /// Records how a comparison ended, with its report when it finished, then forgets the
    /// oldest ended comparisons beyond the `keep` newest.
    ///
    /// # Errors
    /// [`LabError::Database`].
    pub(crate) fn end(
        &self,
        id: JobId,
        stage: &LabStage,
        report: Option<&Report>,
        ended_at_ms: u64,
        keep: usize,
    ) -> Result<(), LabError> {
        let failed = self.failed();
        let stage = encode(stage)?;
        let report = report.map(encode).transpose()?;
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        transaction
            .execute(
                "UPDATE comparisons SET ended = 1, stage = ?1, ended_at_ms = ?2, report = ?3 \
                 WHERE id = ?4",
                params![stage, ended_at_ms as i64, report, id.0 as i64],
            )
            .map_err(failed)?;
        transaction
            .execute(
                "DELETE FROM comparisons WHERE ended = 1 AND id NOT IN \
                 (SELECT id FROM comparisons WHERE ended = 1 ORDER BY id DESC LIMIT ?1)",
                [i64::try_from(keep).unwrap_or(i64::MAX)],
            )
            .map_err(failed)?;
        transaction.commit().map_err(failed)
    }

    /// A comparison as recorded: its summary, with the stage `None` while it runs.
    ///
    /// # Errors
    /// [`LabError::Database`]; a row that does not decode.
    pub(crate) fn job(&self, id: JobId) -> Result<Option<(LabJob, bool)>, LabError> {
        let row = self
            .lock()
            .query_row(
                "SELECT id, request, started_at_ms, ended, stage, ended_at_ms FROM comparisons \
                 WHERE id = ?1",
                [id.0 as i64],
                Row::read,
            )
            .optional()
            .map_err(self.failed())?;
        row.map(Row::job).transpose()
    }

    /// A finished comparison's report; `None` for an unknown id or one without a report.
    ///
    /// # Errors
    /// [`LabError::Database`]; a report that does not decode.
    pub(crate) fn report(&self, id: JobId) -> Result<Option<Report>, LabError> {
        let bytes: Option<Option<Vec<u8>>> = self
            .lock()
            .query_row(
                "SELECT report FROM comparisons WHERE id = ?1",
                [id.0 as i64],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.failed())?;
        bytes.flatten().map(|bytes| decode(&bytes)).transpose()
    }

    /// Every recorded comparison, newest first, each with whether it has ended.
    ///
    /// # Errors
    /// [`LabError::Database`]; a row that does not decode.
    pub(crate) fn list(&self) -> Result<Vec<(LabJob, bool)>, LabError> {
        let failed = self.failed();
        let connection = self.lock();
        let mut statement = connection
            .prepare(
                "SELECT id, request, started_at_ms, ended, stage, ended_at_ms FROM comparisons \
                 ORDER BY id DESC",
            )
            .map_err(failed)?;
        let rows = statement.query_map([], Row::read).map_err(failed)?;
        let mut jobs = Vec::new();
        for row in rows {
            jobs.push(row.map_err(failed)?.job()?);
        }
        Ok(jobs)
    }
}

/// One row, as read.
struct Row {
    id: i64,
    request: Vec<u8>,
    started_at_ms: i64,
    ended: bool,
    stage: Option<Vec<u8>>,
    ended_at_ms: Option<i64>,
}

impl Row {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
        Ok(Row {
            id: row.get(0)?,
            request: row.get(1)?,
            started_at_ms: row.get(2)?,
            ended: row.get(3)?,
            stage: row.get(4)?,
            ended_at_ms: row.get(5)?,
        })
    }

    /// The summary, and whether the comparison ended (a running one's stage is the
    /// state's to tell: [`LabStage::Preparing`] stands in).
    fn job(self) -> Result<(LabJob, bool), LabError> {
        let request: LabCompareRequest = decode(&self.request)?;
        let stage = match &self.stage {
            Some(bytes) if self.ended => decode(bytes)?,
            _ => LabStage::Preparing,
        };
        Ok((
            LabJob {
                job: JobId(self.id as u64),
                stage,
                dataset: request.dataset,
                started_at_ms: self.started_at_ms as u64,
                ended_at_ms: self.ended_at_ms.map(|ms| ms as u64),
            },
            self.ended,
        ))
    }
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<(), LabError> {
    let failed = |error: rusqlite::Error| database(path, error);
    loop {
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(failed)?;
        let current: i64 = transaction
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(failed)?;
        let current = usize::try_from(current).unwrap_or(usize::MAX);
        if current > MIGRATIONS.len() {
            return Err(LabError::Database(format!(
                "{}: written by a newer mltools (schema {current}; this build knows {})",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        let Some(step) = MIGRATIONS.get(current) else {
            return transaction.finish().map_err(failed);
        };
        transaction.execute_batch(step).map_err(failed)?;
        transaction
            .pragma_update(None, "user_version", current as i64 + 1)
            .map_err(failed)?;
        transaction.commit().map_err(failed)?;
    }
}

fn database(path: &Path, error: rusqlite::Error) -> LabError {
    LabError::Database(format!("{}: {error}", path.display()))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, LabError> {
    postcard::to_allocvec(value)
        .map_err(|error| LabError::Database(format!("cannot encode a comparison: {error}")))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, LabError> {
    postcard::from_bytes(bytes).map_err(|error| {
        LabError::Database(format!("a stored comparison does not decode: {error}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::{DatasetRef, ServiceError};

    fn request(name: &str) -> LabCompareRequest {
        LabCompareRequest::new(DatasetRef::Name(name.into()))
    }

    #[test]
    fn a_running_comparison_is_interrupted_at_the_next_open_and_ended_ones_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.db");
        let (store, interrupted) = Store::open(&path).unwrap();
        assert_eq!(interrupted, 0);
        let failed = store.start(&request("iris"), 10).unwrap();
        let running = store.start(&request("wine"), 20).unwrap();
        let stage = LabStage::Failed(ServiceError::invalid_input("no column `x`"));
        store.end(failed, &stage, None, 15, 10).unwrap();
        let (job, ended) = store.job(running).unwrap().unwrap();
        assert!(!ended);
        assert_eq!(job.dataset, DatasetRef::Name("wine".into()));
        drop(store);

        let (store, interrupted) = Store::open(&path).unwrap();
        assert_eq!(interrupted, 1);
        let (job, ended) = store.job(running).unwrap().unwrap();
        assert!(ended);
        assert_eq!(job.stage, LabStage::Interrupted);
        assert_eq!(store.job(failed).unwrap().unwrap().0.stage, stage);
        // Ids are never reused; the list is newest first.
        let next = store.start(&request("digits"), 30).unwrap();
        assert!(next.0 > running.0);
        let ids: Vec<u64> = store.list().unwrap().iter().map(|(j, _)| j.job.0).collect();
        assert_eq!(ids, [next.0, running.0, failed.0]);
        assert!(store.report(failed).unwrap().is_none());
        assert!(store.job(JobId(999)).unwrap().is_none());
    }

    #[test]
    fn only_the_newest_ended_comparisons_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = Store::open(&dir.path().join("lab.db")).unwrap();
        let running = store.start(&request("kept while running"), 0).unwrap();
        let ids: Vec<JobId> = (0..5)
            .map(|at| store.start(&request("d"), at).unwrap())
            .collect();
        for &id in &ids {
            store.end(id, &LabStage::Cancelled, None, 1, 2).unwrap();
        }
        let left: Vec<JobId> = store.list().unwrap().iter().map(|(j, _)| j.job).collect();
        assert_eq!(left, [ids[4], ids[3], running]);
    }

    #[test]
    fn a_database_of_a_newer_schema_is_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lab.db");
        let connection = Connection::open(&path).unwrap();
        connection.pragma_update(None, "user_version", 99).unwrap();
        drop(connection);
        let error = Store::open(&path).unwrap_err().to_string();
        assert!(
            error.contains("lab.db") && error.contains("newer"),
            "{error}"
        );
    }
}
