//! The registry of fitted models: one SQLite file, `<data_dir>/models.db`, in WAL mode.
//!
//! A row holds a model's description ([`ModelInfo`]: spec, task, classes, fitted pipeline,
//! cross-validated metrics, the dataset id and version) and its fitted model's bytes
//! ([`FittedModel::to_bytes`](crate::algorithms::FittedModel::to_bytes)), both in postcard,
//! which keeps every `f64` bit for bit. Each change is one transaction, so a crash leaves a
//! model either stored whole or absent; predictions work after a restart.
//!
//! The functions here block: the state calls them on blocking threads.

mod export;
mod schema;

pub use export::{export, import};

use crate::error::ModelsError;
use mltools_core::ModelId;
use mltools_core::models::ModelInfo;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The registry's database handle.
#[derive(Debug)]
pub struct Store {
    // A std mutex, not tokio's: it is only locked on blocking threads and never held
    // across an `.await`. The registry's traffic (a write per stored model, a read per
    // predict) does not call for a pool of readers.
    connection: Mutex<Connection>,
}

impl Store {
    /// Opens (creating and migrating if needed) the registry at `path`.
    ///
    /// # Errors
    /// The file cannot be opened, or was written by a newer schema.
    pub fn open(path: &Path) -> Result<Store, ModelsError> {
        Ok(Store {
            connection: Mutex::new(schema::open(path)?),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panicking holder's transaction rolled back as it unwound: the connection is clean.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a model; its id is assigned here (the one in `info` is ignored).
    ///
    /// # Errors
    /// A database failure.
    pub fn insert(&self, info: &ModelInfo, model: &[u8]) -> Result<ModelInfo, ModelsError> {
        let mut connection = self.lock();
        let transaction = connection.transaction()?;
        transaction.execute(
            "INSERT INTO models (algorithm, created_at_ms, info, model) VALUES (?1, ?2, x'', ?3)",
            params![info.spec.algorithm, info.created_at_ms, model],
        )?;
        let id = ModelId(transaction.last_insert_rowid() as u64);
        let stored = ModelInfo { id, ..info.clone() };
        transaction.execute(
            "UPDATE models SET info = ?1 WHERE id = ?2",
            params![encode(&stored)?, id.0 as i64],
        )?;
        transaction.commit()?;
        Ok(stored)
    }

    /// A model's description.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; a database failure.
    pub fn info(&self, id: ModelId) -> Result<ModelInfo, ModelsError> {
        let bytes: Option<Vec<u8>> = self
            .lock()
            .query_row(
                "SELECT info FROM models WHERE id = ?1",
                [id.0 as i64],
                |row| row.get(0),
            )
            .optional()?;
        decode(&bytes.ok_or(ModelsError::UnknownModel { id: id.0 })?)
    }

    /// A model's description and fitted bytes.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; a database failure.
    pub fn get(&self, id: ModelId) -> Result<(ModelInfo, Vec<u8>), ModelsError> {
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .lock()
            .query_row(
                "SELECT info, model FROM models WHERE id = ?1",
                [id.0 as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let (info, model) = row.ok_or(ModelsError::UnknownModel { id: id.0 })?;
        Ok((decode(&info)?, model))
    }

    /// Every stored model, by id.
    ///
    /// # Errors
    /// A database failure.
    pub fn list(&self) -> Result<Vec<ModelInfo>, ModelsError> {
        let connection = self.lock();
        let mut statement = connection.prepare("SELECT info FROM models ORDER BY id")?;
        let rows = statement.query_map([], |row| row.get::<_, Vec<u8>>(0))?;
        let mut models = Vec::new();
        for bytes in rows {
            models.push(decode(&bytes?)?);
        }
        Ok(models)
    }

    /// Deletes a model; returns what it was.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; a database failure.
    pub fn delete(&self, id: ModelId) -> Result<ModelInfo, ModelsError> {
        let info = self.info(id)?;
        let removed = self
            .lock()
            .execute("DELETE FROM models WHERE id = ?1", [id.0 as i64])?;
        if removed == 0 {
            return Err(ModelsError::UnknownModel { id: id.0 });
        }
        Ok(info)
    }
}

fn encode(info: &ModelInfo) -> Result<Vec<u8>, ModelsError> {
    postcard::to_allocvec(info).map_err(|error| ModelsError::Corrupt {
        reason: error.to_string(),
    })
}

fn decode(bytes: &[u8]) -> Result<ModelInfo, ModelsError> {
    postcard::from_bytes(bytes).map_err(|error| ModelsError::Corrupt {
        reason: format!("a stored model description does not decode: {error}"),
    })
}

#[cfg(test)]
mod tests;
