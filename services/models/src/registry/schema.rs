//! The registry's table, connection settings and `user_version` migrations.

use crate::error::ModelsError;
use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

/// Each migration takes the database from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the models.
    r#"
    CREATE TABLE models (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
        algorithm     TEXT    NOT NULL,
        created_at_ms INTEGER NOT NULL,
        info          BLOB    NOT NULL,  -- postcard: mltools_core::models::ModelInfo
        model         BLOB    NOT NULL   -- FittedModel::to_bytes
    );
    "#,
];

/// Opens the connection and brings the schema up to date.
///
/// # Errors
/// The file cannot be opened, is not a database, or was written by a newer schema.
pub(super) fn open(path: &Path) -> Result<Connection, ModelsError> {
    let mut connection = Connection::open(path)?;
    let mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(ModelsError::Database {
            reason: format!("{}: cannot use write-ahead logging", path.display()),
        });
    }
    // FULL: a stored model survives power loss, not only a crash of this process.
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.busy_timeout(Duration::from_secs(10))?;
    loop {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: i64 =
            transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let current = usize::try_from(current).unwrap_or(usize::MAX);
        if current > MIGRATIONS.len() {
            return Err(ModelsError::Database {
                reason: format!(
                    "{}: written by a newer mltools (schema {current}; this build knows {})",
                    path.display(),
                    MIGRATIONS.len()
                ),
            });
        }
        let Some(step) = MIGRATIONS.get(current) else {
            transaction.finish()?;
            break;
        };
        transaction.execute_batch(step)?;
        transaction.pragma_update(None, "user_version", current as i64 + 1)?;
        transaction.commit()?;
    }
    Ok(connection)
}
