//! The database's tables, connection settings and `user_version` migrations.

use crate::error::DatasetsError;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// Each migration takes the database from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: datasets, their versions, and column chunks shared between versions.
    r#"
    CREATE TABLE datasets (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
        name           TEXT    NOT NULL UNIQUE,
        latest_version INTEGER NOT NULL,
        created_at_ms  INTEGER NOT NULL
    );
    CREATE TABLE versions (
        dataset_id    INTEGER NOT NULL REFERENCES datasets(id),
        version       INTEGER NOT NULL,
        rows          INTEGER NOT NULL,
        schema_json   TEXT    NOT NULL,  -- mltools_core::datasets::Schema
        stats_json    TEXT    NOT NULL,  -- one stats::ColumnStats per column, with dictionaries
        source        TEXT    NOT NULL,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (dataset_id, version)
    );
    CREATE TABLE chunks (
        id   INTEGER PRIMARY KEY,
        data BLOB    NOT NULL  -- little-endian f64 values or u32 category codes
    );
    -- Which chunks make up each column of each version: an append copies these rows of the
    -- old version and adds new chunks, so versions share data without copying it.
    CREATE TABLE version_chunks (
        dataset_id   INTEGER NOT NULL,
        version      INTEGER NOT NULL,
        column_index INTEGER NOT NULL,
        row_start    INTEGER NOT NULL,
        row_count    INTEGER NOT NULL,
        chunk_id     INTEGER NOT NULL REFERENCES chunks(id),
        PRIMARY KEY (dataset_id, version, column_index, row_start),
        -- Deferred: chunks are written before their version row, in the same transaction.
        FOREIGN KEY (dataset_id, version) REFERENCES versions(dataset_id, version)
            DEFERRABLE INITIALLY DEFERRED
    ) WITHOUT ROWID;
    CREATE INDEX version_chunks_by_chunk ON version_chunks(chunk_id);
    "#,
];

/// Opens the one writing connection and brings the schema up to date.
///
/// # Errors
/// The file cannot be opened, is not a database, or was written by a newer schema.
pub(super) fn open_writer(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Connection, DatasetsError> {
    let mut connection = Connection::open(path)?;
    // Takes effect only on a new, empty file, and must precede WAL: it lets a delete
    // give its pages back to the file system.
    connection.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DatasetsError::Corrupt(format!(
            "{}: cannot use write-ahead logging (journal mode stays `{mode}`)",
            path.display()
        )));
    }
    // FULL: a commit survives power loss, not only a crash of this process.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    // A big import grows the log; cap what stays on disk after a checkpoint.
    connection.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    connection.busy_timeout(busy_timeout)?;
    migrate(&mut connection, path)?;
    Ok(connection)
}

/// Opens a read-only connection; WAL lets it read while the writer writes.
///
/// # Errors
/// The file cannot be opened.
pub(super) fn open_reader(
    path: &Path,
    busy_timeout: Duration,
) -> Result<Connection, DatasetsError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags)?;
    connection.busy_timeout(busy_timeout)?;
    Ok(connection)
}

fn migrate(connection: &mut Connection, path: &Path) -> Result<(), DatasetsError> {
    loop {
        // Each step re-reads the version inside its own write transaction, so two
        // processes opening the same file at once cannot both apply a step.
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: usize =
            transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if current > MIGRATIONS.len() {
            return Err(DatasetsError::Corrupt(format!(
                "{}: written by a newer mltools (schema {current}; this build knows {})",
                path.display(),
                MIGRATIONS.len()
            )));
        }
        let Some(step) = MIGRATIONS.get(current) else {
            return Ok(());
        };
        transaction.execute_batch(step)?;
        transaction.pragma_update(None, "user_version", current + 1)?;
        transaction.commit()?;
        tracing::info!(path = %path.display(), schema = current + 1, "migrated the datasets database");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_is_migrated_with_wal_and_incremental_vacuum() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("datasets.db");
        let wait = Duration::from_secs(1);
        let connection = open_writer(&path, wait).unwrap();
        let version: usize = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len());
        let vacuum: i64 = connection
            .pragma_query_value(None, "auto_vacuum", |row| row.get(0))
            .unwrap();
        assert_eq!(vacuum, 2, "incremental");
        drop(connection);
        // Reopening applies nothing and keeps the data.
        assert!(open_writer(&path, wait).is_ok());
        assert!(open_reader(&path, wait).is_ok());
    }
}
