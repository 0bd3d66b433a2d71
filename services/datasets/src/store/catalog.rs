//! Datasets and their versions: names, schemas, statistics, provenance.

use crate::error::DatasetsError;
use crate::stats::ColumnStats;
use mltools_core::datasets::{DatasetInfo, Schema};
use mltools_core::{DatasetId, DatasetRef};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// A dataset's own row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DatasetRow {
    pub(crate) id: u64,
    pub(crate) name: String,
    pub(crate) latest_version: u32,
}

/// A version about to be written.
#[derive(Debug)]
pub(crate) struct NewVersion<'a> {
    pub(crate) dataset: &'a DatasetRow,
    pub(crate) version: u32,
    pub(crate) rows: u64,
    pub(crate) schema: &'a Schema,
    pub(crate) stats: &'a [ColumnStats],
    pub(crate) source: &'a str,
    pub(crate) created_at_ms: i64,
}

const INFO_COLUMNS: &str = "d.id, d.name, v.version, d.latest_version, v.rows, v.schema_json, \
                            v.source, v.created_at_ms";

/// The dataset named by id or name.
///
/// # Errors
/// [`DatasetsError::UnknownDataset`].
pub(crate) fn find(
    connection: &Connection,
    dataset: &DatasetRef,
) -> Result<DatasetRow, DatasetsError> {
    let row = match dataset {
        DatasetRef::Id(id) => connection
            .prepare_cached("SELECT id, name, latest_version FROM datasets WHERE id = ?1")?
            .query_row([id.0], dataset_row)
            .optional()?,
        DatasetRef::Name(name) => find_name(connection, name)?,
    };
    row.ok_or_else(|| DatasetsError::UnknownDataset {
        dataset: dataset.to_string(),
    })
}

/// The dataset called `name`, if any.
///
/// # Errors
/// A database failure.
pub(crate) fn find_name(
    connection: &Connection,
    name: &str,
) -> Result<Option<DatasetRow>, DatasetsError> {
    Ok(connection
        .prepare_cached("SELECT id, name, latest_version FROM datasets WHERE name = ?1")?
        .query_row([name], dataset_row)
        .optional()?)
}

fn dataset_row(row: &Row<'_>) -> rusqlite::Result<DatasetRow> {
    Ok(DatasetRow {
        id: row.get(0)?,
        name: row.get(1)?,
        latest_version: row.get(2)?,
    })
}

/// What the interface says of one version; the latest when `version` is `None`.
///
/// # Errors
/// [`DatasetsError::UnknownVersion`]; damaged stored JSON.
pub(crate) fn info(
    connection: &Connection,
    dataset: &DatasetRow,
    version: Option<u32>,
) -> Result<DatasetInfo, DatasetsError> {
    let version = version.unwrap_or(dataset.latest_version);
    let sql = format!(
        "SELECT {INFO_COLUMNS} FROM datasets d JOIN versions v ON v.dataset_id = d.id \
         WHERE d.id = ?1 AND v.version = ?2"
    );
    let found = connection
        .prepare_cached(&sql)?
        .query_row(params![dataset.id, version], info_row)
        .optional()?;
    let unknown = || DatasetsError::UnknownVersion {
        id: dataset.id,
        name: dataset.name.clone(),
        version,
        latest: dataset.latest_version,
    };
    found.ok_or_else(unknown)?
}

/// Every dataset at its latest version, by id.
///
/// # Errors
/// A database failure; damaged stored JSON.
pub(crate) fn list(connection: &Connection) -> Result<Vec<DatasetInfo>, DatasetsError> {
    let sql = format!(
        "SELECT {INFO_COLUMNS} FROM datasets d JOIN versions v \
         ON v.dataset_id = d.id AND v.version = d.latest_version ORDER BY d.id"
    );
    collect(connection, &sql, [])
}

/// Every version of a dataset, oldest first.
///
/// # Errors
/// A database failure; damaged stored JSON.
pub(crate) fn versions(
    connection: &Connection,
    dataset: &DatasetRow,
) -> Result<Vec<DatasetInfo>, DatasetsError> {
    let sql = format!(
        "SELECT {INFO_COLUMNS} FROM datasets d JOIN versions v ON v.dataset_id = d.id \
         WHERE d.id = ?1 ORDER BY v.version"
    );
    collect(connection, &sql, [dataset.id])
}

fn collect(
    connection: &Connection,
    sql: &str,
    parameters: impl rusqlite::Params,
) -> Result<Vec<DatasetInfo>, DatasetsError> {
    let mut statement = connection.prepare_cached(sql)?;
    let rows = statement.query_map(parameters, info_row)?;
    let mut infos = Vec::new();
    for row in rows {
        infos.push(row??);
    }
    Ok(infos)
}

/// Reads an info row; the outer result is the database's, the inner one the JSON's.
fn info_row(row: &Row<'_>) -> rusqlite::Result<Result<DatasetInfo, DatasetsError>> {
    let schema_json: String = row.get(5)?;
    let id: u64 = row.get(0)?;
    let version: u32 = row.get(2)?;
    let schema = match serde_json::from_str::<Schema>(&schema_json) {
        Ok(schema) => schema,
        Err(error) => return Ok(Err(damaged(id, version, "schema", &error))),
    };
    Ok(Ok(DatasetInfo {
        id: DatasetId(id),
        name: row.get(1)?,
        version,
        latest_version: row.get(3)?,
        rows: row.get(4)?,
        schema,
        source: row.get(6)?,
        created_at_ms: row.get(7)?,
    }))
}

/// The column statistics (and dictionaries) of one version.
///
/// # Errors
/// A database failure; damaged stored JSON.
pub(crate) fn stats(
    connection: &Connection,
    id: u64,
    version: u32,
) -> Result<Vec<ColumnStats>, DatasetsError> {
    let json: String = connection
        .prepare_cached("SELECT stats_json FROM versions WHERE dataset_id = ?1 AND version = ?2")?
        .query_row(params![id, version], |row| row.get(0))?;
    serde_json::from_str(&json).map_err(|error| damaged(id, version, "statistics", &error))
}

fn damaged(id: u64, version: u32, what: &str, error: &serde_json::Error) -> DatasetsError {
    DatasetsError::Corrupt(format!("dataset {id} version {version}: {what}: {error}"))
}

/// Creates a dataset row (with no version yet: the caller adds version 1 in the same
/// transaction).
///
/// # Errors
/// A database failure (a taken name is checked by the caller, under the write lock).
pub(crate) fn insert_dataset(
    connection: &Connection,
    name: &str,
    now_ms: i64,
) -> Result<DatasetRow, DatasetsError> {
    connection
        .prepare_cached(
            "INSERT INTO datasets (name, latest_version, created_at_ms) VALUES (?1, 0, ?2)",
        )?
        .execute(params![name, now_ms])?;
    Ok(DatasetRow {
        id: u64::try_from(connection.last_insert_rowid())
            .map_err(|_| DatasetsError::Corrupt("a negative dataset id".to_owned()))?,
        name: name.to_owned(),
        latest_version: 0,
    })
}

/// Writes a version row and makes it the dataset's latest.
///
/// # Errors
/// A database failure.
pub(crate) fn insert_version(
    connection: &Connection,
    new: &NewVersion<'_>,
) -> Result<(), DatasetsError> {
    let schema = serde_json::to_string(new.schema)
        .map_err(|e| damaged(new.dataset.id, new.version, "schema", &e))?;
    let stats = serde_json::to_string(new.stats)
        .map_err(|e| damaged(new.dataset.id, new.version, "statistics", &e))?;
    connection
        .prepare_cached(
            "INSERT INTO versions (dataset_id, version, rows, schema_json, stats_json, source, \
             created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            new.dataset.id,
            new.version,
            new.rows,
            schema,
            stats,
            new.source,
            new.created_at_ms
        ])?;
    connection
        .prepare_cached("UPDATE datasets SET latest_version = ?2 WHERE id = ?1")?
        .execute(params![new.dataset.id, new.version])?;
    Ok(())
}

/// Deletes a dataset, its versions and every chunk they used; returns how many versions
/// there were. The chunks' pages stay in the file, free, until `Store::reclaim`.
///
/// # Errors
/// A database failure.
pub(crate) fn delete(connection: &Connection, dataset: &DatasetRow) -> Result<u32, DatasetsError> {
    let chunk_ids: Vec<i64> = connection
        .prepare_cached("SELECT DISTINCT chunk_id FROM version_chunks WHERE dataset_id = ?1")?
        .query_map([dataset.id], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    connection.execute(
        "DELETE FROM version_chunks WHERE dataset_id = ?1",
        [dataset.id],
    )?;
    let versions =
        connection.execute("DELETE FROM versions WHERE dataset_id = ?1", [dataset.id])?;
    connection.execute("DELETE FROM datasets WHERE id = ?1", [dataset.id])?;
    // Versions share chunks only within one dataset, but check anyway: a chunk goes only
    // when nothing refers to it.
    let mut reclaim = connection.prepare_cached(
        "DELETE FROM chunks WHERE id = ?1 \
         AND NOT EXISTS (SELECT 1 FROM version_chunks WHERE chunk_id = ?1)",
    )?;
    for chunk_id in chunk_ids {
        reclaim.execute([chunk_id])?;
    }
    // The freed pages go back to the file system after the commit (`Store::reclaim`), so
    // that the delete does not hold the writer for as long as they take.
    Ok(u32::try_from(versions).unwrap_or(u32::MAX))
}
