//! [`DatasetsState`]: the service's state and its async operations, usable without RPC.

use crate::cancel::Cancel;
use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use crate::fetchers::{remove_stale_downloads, source_text};
use crate::gate::{Access, Gate, READ_WAIT};
use crate::incident;
use crate::operations::{self, Shared};
use crate::store::{PoolLimits, Store};
use crate::uploads::{Uploads, remove_stale_uploads};
use mltools_core::DatasetRef;
use mltools_core::datasets::{
    AppendUpload, BeginUpload, DatasetInfo, DatasetPage, Deleted, Description, GetRequest,
    ImportRequest, UpdateRequest, UploadId,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How long a database connection waits for another process's lock before the operation
/// fails as [`DatasetsError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The datasets service's state: the database, the configuration and the limits.
///
/// A cheap [`Clone`] (an [`Arc`] and handles); every method runs its blocking work
/// (parsing, downloading, SQLite) on tokio's blocking pool, so it may be called from any
/// runtime thread. At most `max_concurrent_writes` imports, updates and deletes run at
/// once (one more is refused as [`ErrorKind::Overloaded`](mltools_core::ErrorKind)), and at
/// most `max_read_connections` reads. A panic or an internal failure in that work comes
/// back as an [`ErrorKind::Internal`](mltools_core::ErrorKind) error naming an incident
/// logged with the details.
///
/// At shutdown, call [`DatasetsState::close`] then await [`DatasetsState::idle`]: the work
/// of callers that went away may still be running.
#[derive(Debug, Clone)]
pub struct DatasetsState {
    shared: Arc<Shared>,
    gate: Gate,
    /// Removes abandoned uploads on a timer; started by the first upload.
    sweeper: Arc<Sweeper>,
}

impl DatasetsState {
    /// Opens the state: creates `data_dir` if needed and opens (creating or migrating) the
    /// database `data_dir/datasets.db`. Blocking, and quick.
    ///
    /// # Errors
    /// A bad configuration value, a directory that cannot be created, a database that
    /// cannot be opened (or was written by a newer mltools, or is held by another process).
    pub fn open(config: DatasetsConfig) -> Result<Self, DatasetsError> {
        Self::open_shared(config, |store, config| Shared {
            store,
            uploads: Arc::new(Uploads::new(&config)),
            config,
            #[cfg(test)]
            hooks: operations::Hooks::default(),
        })
    }

    /// Opens a state whose work calls `hooks`.
    #[cfg(test)]
    pub(crate) fn open_with_hooks(
        config: DatasetsConfig,
        hooks: operations::Hooks,
    ) -> Result<Self, DatasetsError> {
        Self::open_shared(config, |store, config| Shared {
            store,
            uploads: Arc::new(Uploads::new(&config)),
            config,
            hooks,
        })
    }

    fn open_shared(
        config: DatasetsConfig,
        shared: impl FnOnce(Store, DatasetsConfig) -> Shared,
    ) -> Result<Self, DatasetsError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|cause| DatasetsError::Io {
            path: config.data_dir.display().to_string(),
            operation: "create directory",
            cause,
        })?;
        let limits = PoolLimits {
            max: config.max_read_connections,
            wait: READ_WAIT,
            busy_timeout: BUSY_TIMEOUT,
        };
        let store = Store::open(&config.data_dir.join("datasets.db"), limits)?;
        let stale_downloads = remove_stale_downloads(&config);
        let stale_uploads = remove_stale_uploads(&config);
        tracing::info!(data_dir = %config.data_dir.display(), stale_downloads, stale_uploads, "datasets store open");
        let gate = Gate::new(config.max_concurrent_writes, config.max_read_connections);
        Ok(DatasetsState {
            shared: Arc::new(shared(store, config)),
            gate,
            sweeper: Arc::new(Sweeper::default()),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &DatasetsConfig {
        &self.shared.config
    }

    /// Refuses new work from now on: every call answers
    /// [`ErrorKind::Unavailable`](mltools_core::ErrorKind) "the datasets service is shutting
    /// down". Work already running goes on; [`DatasetsState::idle`] waits for it. Applies to
    /// every clone of this state.
    pub fn close(&self) {
        self.gate.close();
        self.sweeper.stop.cancel();
    }

    /// Waits until no blocking work of this state (and its clones) is running, including
    /// the work of callers that stopped waiting for it. After [`DatasetsState::close`], it
    /// returns once the last piece of work has ended, and the database is closed when the
    /// last clone of the state is dropped.
    ///
    /// # Cancel safety
    /// Cancel safe: it only waits.
    pub async fn idle(&self) {
        self.gate.idle().await;
    }

    /// Imports a new dataset as version 1. Nothing is stored unless the whole import
    /// succeeds.
    ///
    /// # Errors
    /// A bad or taken name, an unreadable source (naming file, line and column), an
    /// unknown target or categorical column, a failed download, too many writes at once
    /// (`Overloaded`), a busy database, a shutting-down service, an internal failure
    /// (naming its incident).
    ///
    /// # Cancel safety
    /// If the future is dropped before the commit starts, nothing is stored; once the
    /// commit has started it completes (the dataset exists, though this caller never sees
    /// its info). The commit starts when the work takes its last look at the cancellation,
    /// just before committing. Until then the work notices the drop within 1,024 rows, one
    /// block or one read of a download, and it keeps its write permit until it has
    /// stopped ([`DatasetsState::idle`] waits for it).
    #[tracing::instrument(skip_all, fields(source = %source_text(&request.source), name = ?request.name))]
    pub async fn import(&self, request: ImportRequest) -> Result<DatasetInfo, DatasetsError> {
        self.run(
            "import",
            Access::Write,
            CancelOnDrop::default(),
            move |shared, cancel| operations::import(shared, request, cancel),
        )
        .await
    }

    /// Every stored dataset, at its latest version, ordered by id.
    ///
    /// # Errors
    /// No read connection free in time (`Overloaded`); a busy database; a shutting-down
    /// service; an internal failure.
    #[tracing::instrument(skip_all)]
    pub async fn list(&self) -> Result<Vec<DatasetInfo>, DatasetsError> {
        self.read("list", operations::list).await
    }

    /// The versions of one dataset, oldest first.
    ///
    /// # Errors
    /// An unknown dataset; the errors of [`DatasetsState::list`].
    #[tracing::instrument(skip_all, fields(dataset = %dataset))]
    pub async fn versions(&self, dataset: DatasetRef) -> Result<Vec<DatasetInfo>, DatasetsError> {
        self.read("versions", move |shared| {
            operations::versions(shared, &dataset)
        })
        .await
    }

    /// Schema and rows of a dataset version: all of them, or the page and columns asked
    /// for. Only the stored chunks overlapping the page are read.
    ///
    /// # Errors
    /// An unknown dataset, version or column; a column asked for twice; the errors of
    /// [`DatasetsState::list`].
    #[tracing::instrument(skip_all, fields(
        dataset = %request.dataset, version = ?request.version,
        offset = request.offset, limit = ?request.limit,
    ))]
    pub async fn get(&self, request: GetRequest) -> Result<DatasetPage, DatasetsError> {
        self.read("get", move |shared| operations::get(shared, &request))
            .await
    }

    /// Per-column statistics of a dataset version (the latest when `version` is `None`),
    /// read from stored accumulators: no rows are scanned.
    ///
    /// # Errors
    /// An unknown dataset or version; the errors of [`DatasetsState::list`].
    #[tracing::instrument(skip_all, fields(dataset = %dataset, version = ?version))]
    pub async fn describe(
        &self,
        dataset: DatasetRef,
        version: Option<u32>,
    ) -> Result<Description, DatasetsError> {
        self.read("describe", move |shared| {
            operations::describe(shared, &dataset, version)
        })
        .await
    }

    /// Appends rows to, or replaces the rows of, a dataset as a new version; older
    /// versions stay readable by number.
    ///
    /// # Errors
    /// An unknown dataset; for an append, columns that do not match, text in a numeric
    /// column, or a `target` or `csv.categorical` option (they apply only to a replace);
    /// the errors of [`DatasetsState::import`].
    ///
    /// # Cancel safety
    /// As [`DatasetsState::import`]: if the future is dropped before the commit starts, no
    /// version is added; once the commit has started it completes.
    #[tracing::instrument(skip_all, fields(
        dataset = %request.dataset, mode = ?request.mode, source = %source_text(&request.source),
    ))]
    pub async fn update(&self, request: UpdateRequest) -> Result<DatasetInfo, DatasetsError> {
        self.run(
            "update",
            Access::Write,
            CancelOnDrop::default(),
            move |shared, cancel| operations::update(shared, request, cancel),
        )
        .await
    }

    /// Deletes a dataset with all its versions, then gives the space its data took back to
    /// the file system (the file shrinks at SQLite's next WAL checkpoint).
    ///
    /// # Errors
    /// An unknown dataset; too many writes at once (`Overloaded`); a busy database; a
    /// shutting-down service; an internal failure.
    ///
    /// # Cancel safety
    /// If the future is dropped before the blocking work starts, nothing is deleted; once
    /// it has started, the delete completes.
    #[tracing::instrument(skip_all, fields(dataset = %dataset))]
    pub async fn delete(&self, dataset: DatasetRef) -> Result<Deleted, DatasetsError> {
        self.run(
            "delete",
            Access::Write,
            CancelOnDrop::default(),
            move |shared, _| operations::delete(shared, &dataset),
        )
        .await
    }

    /// Starts an upload of a caller's file (see [`Source::Upload`](mltools_core::datasets::Source)):
    /// creates its file in `data_dir/uploads/` and answers its random id. Expired uploads
    /// are removed first, and from now on on a timer too.
    ///
    /// # Errors
    /// An empty label, one over 255 bytes or with control characters; a declared size over
    /// `max_upload_bytes`; `max_open_uploads` uploads open (`Overloaded`); a shutting-down
    /// service; an internal failure.
    #[tracing::instrument(skip_all, fields(label = %request.label, size = ?request.size))]
    pub async fn begin_upload(&self, request: BeginUpload) -> Result<UploadId, DatasetsError> {
        self.start_sweeper();
        self.upload_work("begin_upload", move |uploads| {
            uploads.begin(&request.label, request.size)
        })
        .await
    }

    /// Appends a chunk to an upload at `offset`, which must be the bytes received so far
    /// (the last chunk sent again at its offset is accepted once more); answers the bytes
    /// received after it. The chunk is written to the upload's file, not kept in memory.
    ///
    /// # Errors
    /// An unknown or expired upload (`NotFound`); an offset leaving a gap or an overlap
    /// (naming both offsets); a chunk over 16 MiB, or bytes beyond the declared size or
    /// `max_upload_bytes`; another call using the upload (`Overloaded`); a shutting-down
    /// service; a failed write (`Internal`; the upload keeps the bytes it had).
    ///
    /// # Cancel safety
    /// Once its blocking work has started, the chunk is written even if the future is
    /// dropped: sending it again at the same offset is then answered without writing it
    /// twice.
    #[tracing::instrument(skip_all, fields(upload = %request.upload, offset = request.offset, bytes = request.data.len()))]
    pub async fn append_upload(&self, request: AppendUpload) -> Result<u64, DatasetsError> {
        self.upload_work("append_upload", move |uploads| {
            uploads.append(request.upload, request.offset, &request.data)
        })
        .await
    }

    /// Removes an upload and its bytes. An import already reading it goes on with its
    /// copy.
    ///
    /// # Errors
    /// An unknown or expired upload (`NotFound`); a shutting-down service.
    #[tracing::instrument(skip_all, fields(upload = %upload))]
    pub async fn abort_upload(&self, upload: UploadId) -> Result<(), DatasetsError> {
        self.upload_work("abort_upload", move |uploads| uploads.abort(upload))
            .await
    }

    /// Uploads open now (begun, neither committed, aborted nor expired).
    pub fn open_uploads(&self) -> usize {
        self.shared.uploads.open_count()
    }

    /// Work on the uploads' files, on a blocking thread; not limited by the write or read
    /// limits (the uploads bound themselves).
    async fn upload_work<T, F>(&self, operation: &'static str, work: F) -> Result<T, DatasetsError>
    where
        T: Send + 'static,
        F: FnOnce(&Uploads) -> Result<T, DatasetsError> + Send + 'static,
    {
        let cancel = CancelOnDrop::default();
        self.run(operation, Access::Upload, cancel, move |shared, _| {
            work(&shared.uploads)
        })
        .await
    }

    /// Starts the timer that removes abandoned uploads, once, when a runtime is running;
    /// it stops at [`DatasetsState::close`] or when the last clone of the state is dropped.
    fn start_sweeper(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let uploads = Arc::downgrade(&self.shared.uploads);
        let stop = self.sweeper.stop.clone();
        self.sweeper.started.get_or_init(|| {
            let period = self.shared.uploads.idle_timeout() / 4;
            let period = period.clamp(Duration::from_millis(5), Duration::from_secs(30));
            runtime.spawn(sweep_uploads(uploads, period, stop.clone()));
            stop.drop_guard()
        });
    }

    /// A read: its work does not look at cancellation (it stores nothing).
    async fn read<T, F>(&self, operation: &'static str, work: F) -> Result<T, DatasetsError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared) -> Result<T, DatasetsError> + Send + 'static,
    {
        let cancel = CancelOnDrop::default();
        self.run(operation, Access::Read, cancel, move |shared, _| {
            work(shared)
        })
        .await
    }

    /// Admits the work through the gate, then runs it on tokio's blocking pool inside the
    /// caller's span. The work does not start if `cancel` was raised before it could; a
    /// panic or an internal failure is logged and answered with its incident number.
    async fn run<T, F>(
        &self,
        operation: &'static str,
        access: Access,
        cancel: CancelOnDrop,
        work: F,
    ) -> Result<T, DatasetsError>
    where
        T: Send + 'static,
        F: FnOnce(&Shared, Cancel<'_>) -> Result<T, DatasetsError> + Send + 'static,
    {
        let admitted = self.gate.admit(access).await?;
        let shared = Arc::clone(&self.shared);
        let flag = Arc::clone(&cancel.0);
        let span = tracing::Span::current();
        let started = std::time::Instant::now();
        let handle = self.gate.spawn_blocking(admitted, move || {
            span.in_scope(|| {
                let cancel = Cancel::new(&flag, operation);
                // The caller may have gone away while the work waited for a thread.
                cancel.check()?;
                work(&shared, cancel)
            })
        });
        let joined = handle.await;
        let result = joined.unwrap_or_else(|error| Err(incident::join_failure(operation, error)));
        let result = result.map_err(|error| incident::reported(operation, error));
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match &result {
            Ok(_) => tracing::debug!(elapsed_ms, "{operation} done"),
            Err(error) => tracing::debug!(elapsed_ms, %error, "{operation} failed"),
        }
        drop(cancel);
        result
    }
}

/// The timer removing abandoned uploads: started by the first upload, stopped by `close`
/// or when the last clone of the state drops this (its guard cancels `stop`).
#[derive(Debug, Default)]
struct Sweeper {
    stop: CancellationToken,
    started: OnceLock<DropGuard>,
}

/// Every `period`, removes the uploads idle for longer than their timeout, until `stop`
/// or until the uploads are gone.
async fn sweep_uploads(uploads: Weak<Uploads>, period: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let Some(uploads) = uploads.upgrade() else {
            return;
        };
        // Removing files is blocking work, however quick.
        let swept = tokio::task::spawn_blocking(move || {
            let expired = uploads.sweep(std::time::Instant::now());
            uploads.log_expired(expired);
        });
        if swept.await.is_err() {
            return;
        }
    }
}

/// Raises its flag when dropped: when an operation's future is dropped (the caller's
/// deadline passed), the blocking work sees the flag and stops before committing.
#[derive(Default)]
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
