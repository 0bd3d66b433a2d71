//! [`DatasetsState`]: the service's state and its async operations, usable without RPC.

use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use crate::fetchers::remove_stale_downloads;
use crate::operations::{self, Shared};
use crate::store::Store;
use mltools_core::DatasetRef;
use mltools_core::ErrorKind;
use mltools_core::datasets::{
    DatasetInfo, DatasetPage, Deleted, Description, GetRequest, ImportRequest, UpdateRequest,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Numbers the panics logged by this process, so an error message can point at its log line.
static INCIDENTS: AtomicU64 = AtomicU64::new(1);

/// The datasets service's state: the database and the configuration.
///
/// A cheap [`Clone`] (an [`Arc`]); every method runs its blocking work (parsing,
/// downloading, SQLite) on tokio's blocking pool, so it may be called from any runtime
/// thread. A panic in that work comes back as an [`ErrorKind::Internal`] error.
#[derive(Debug, Clone)]
pub struct DatasetsState {
    shared: Arc<Shared>,
}

impl DatasetsState {
    /// Opens the state: creates `data_dir` if needed and opens (creating or migrating) the
    /// database `data_dir/datasets.db`. Blocking, and quick.
    ///
    /// # Errors
    /// A bad configuration value, a directory that cannot be created, a database that
    /// cannot be opened (or was written by a newer mltools).
    pub fn open(config: DatasetsConfig) -> Result<Self, DatasetsError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|cause| DatasetsError::Io {
            path: config.data_dir.display().to_string(),
            operation: "create directory",
            cause,
        })?;
        let store = Store::open(&config.data_dir.join("datasets.db"))?;
        let stale_downloads = remove_stale_downloads(&config);
        tracing::info!(data_dir = %config.data_dir.display(), stale_downloads, "datasets store open");
        Ok(DatasetsState {
            shared: Arc::new(Shared { store, config }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &DatasetsConfig {
        &self.shared.config
    }

    /// Imports a new dataset as version 1. Nothing is stored unless the whole import
    /// succeeds.
    ///
    /// # Errors
    /// A bad or taken name, an unreadable source (naming file, line and column), an
    /// unknown target or categorical column, a failed download, a database failure.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the import at its next block: nothing is stored.
    #[tracing::instrument(skip_all, fields(source = %request.source, name = ?request.name))]
    pub async fn import(&self, request: ImportRequest) -> Result<DatasetInfo, DatasetsError> {
        let cancel = CancelOnDrop::default();
        let flag = Arc::clone(&cancel.0);
        self.run("import", move |shared| {
            operations::import(shared, request, &flag)
        })
        .await
    }

    /// Every stored dataset, at its latest version, ordered by id.
    ///
    /// # Errors
    /// A database failure.
    #[tracing::instrument(skip_all)]
    pub async fn list(&self) -> Result<Vec<DatasetInfo>, DatasetsError> {
        self.run("list", operations::list).await
    }

    /// The versions of one dataset, oldest first.
    ///
    /// # Errors
    /// An unknown dataset; a database failure.
    #[tracing::instrument(skip_all, fields(dataset = %dataset))]
    pub async fn versions(&self, dataset: DatasetRef) -> Result<Vec<DatasetInfo>, DatasetsError> {
        self.run("versions", move |shared| {
            operations::versions(shared, &dataset)
        })
        .await
    }

    /// Schema and rows of a dataset version: all of them, or the page and columns asked
    /// for. Only the stored chunks overlapping the page are read.
    ///
    /// # Errors
    /// An unknown dataset, version or column; a database failure.
    #[tracing::instrument(skip_all, fields(
        dataset = %request.dataset, version = ?request.version,
        offset = request.offset, limit = ?request.limit,
    ))]
    pub async fn get(&self, request: GetRequest) -> Result<DatasetPage, DatasetsError> {
        self.run("get", move |shared| operations::get(shared, &request))
            .await
    }

    /// Per-column statistics of a dataset version (the latest when `version` is `None`),
    /// read from stored accumulators: no rows are scanned.
    ///
    /// # Errors
    /// An unknown dataset or version; a database failure.
    #[tracing::instrument(skip_all, fields(dataset = %dataset, version = ?version))]
    pub async fn describe(
        &self,
        dataset: DatasetRef,
        version: Option<u32>,
    ) -> Result<Description, DatasetsError> {
        self.run("describe", move |shared| {
            operations::describe(shared, &dataset, version)
        })
        .await
    }

    /// Appends rows to, or replaces the rows of, a dataset as a new version; older
    /// versions stay readable by number.
    ///
    /// # Errors
    /// An unknown dataset; for an append, columns that do not match or text in a numeric
    /// column; the errors of [`DatasetsState::import`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the update at its next block: no version is added.
    #[tracing::instrument(skip_all, fields(
        dataset = %request.dataset, mode = ?request.mode, source = %request.source,
    ))]
    pub async fn update(&self, request: UpdateRequest) -> Result<DatasetInfo, DatasetsError> {
        let cancel = CancelOnDrop::default();
        let flag = Arc::clone(&cancel.0);
        self.run("update", move |shared| {
            operations::update(shared, request, &flag)
        })
        .await
    }

    /// Deletes a dataset with all its versions and reclaims its storage.
    ///
    /// # Errors
    /// An unknown dataset; a database failure.
    ///
    /// # Cancel safety
    /// Once started, a delete completes even if the future is dropped.
    #[tracing::instrument(skip_all, fields(dataset = %dataset))]
    pub async fn delete(&self, dataset: DatasetRef) -> Result<Deleted, DatasetsError> {
        self.run("delete", move |shared| operations::delete(shared, &dataset))
            .await
    }

    /// Runs blocking work on tokio's blocking pool inside the caller's span, turning a
    /// panic into [`DatasetsError::Panicked`] and logging internal failures.
    async fn run<T, F>(&self, operation: &'static str, work: F) -> Result<T, DatasetsError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, DatasetsError> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        let span = tracing::Span::current();
        let started = std::time::Instant::now();
        let joined = tokio::task::spawn_blocking(move || span.in_scope(|| work(&shared))).await;
        let result = joined.unwrap_or_else(|error| Err(join_failure(operation, error)));
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(_) => tracing::debug!(elapsed_ms, "{operation} done"),
            Err(DatasetsError::Panicked { .. }) => {}
            Err(error) if error.kind() == ErrorKind::Internal => {
                tracing::error!(elapsed_ms, %error, "{operation} failed");
            }
            Err(error) => tracing::debug!(elapsed_ms, %error, "{operation} refused"),
        }
        result
    }
}

/// A task that did not finish: it panicked, or the runtime is shutting down.
fn join_failure(operation: &'static str, error: tokio::task::JoinError) -> DatasetsError {
    if !error.is_panic() {
        return DatasetsError::Cancelled { operation };
    }
    let incident = INCIDENTS.fetch_add(1, Ordering::Relaxed);
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic payload".to_owned());
    tracing::error!(operation, incident, panic = %message, "datasets work panicked");
    DatasetsError::Panicked {
        operation,
        incident,
    }
}

/// Raises its flag when dropped: when an operation's future is dropped (the caller's
/// deadline passed), the blocking work sees the flag and stops before storing anything.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_an_internal_error_with_an_incident() {
        let joined = tokio::task::spawn_blocking(|| panic!("boom")).await;
        let Err(error) = joined;
        let error = join_failure("get", error);
        assert_eq!(error.kind(), ErrorKind::Internal);
        assert!(
            error
                .to_string()
                .starts_with("`get` failed unexpectedly (incident "),
            "{error}"
        );
    }
}
