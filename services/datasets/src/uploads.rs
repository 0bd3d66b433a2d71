//! Uploads: a caller's file arriving in chunks, kept as a temporary file in
//! `data_dir/uploads/` until an import or update commits it.
//!
//! An upload is begun (an unguessable random id), appended to chunk by chunk (each chunk
//! must start where the received bytes end; the last chunk sent again is accepted once
//! more, for a caller retrying after a lost answer), and committed by an import or update
//! whose source names it: the import takes a [`UploadLease`] on it, and the upload is gone
//! once that import has committed, or back, untouched, if it failed. An upload nobody
//! touches for `upload_idle_timeout_ms` is removed by [`Uploads::sweep`]; uploads left by a
//! previous process are removed at start by [`remove_stale_uploads`].
//!
//! Memory stays bounded: a chunk (at most
//! [`MAX_UPLOAD_CHUNK_BYTES`](mltools_core::datasets::MAX_UPLOAD_CHUNK_BYTES)) is written to
//! its file and dropped. Disk is bounded by `max_open_uploads` × `max_upload_bytes`.
//!
//! Everything here is synchronous file work: the state runs it on blocking threads.

use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use mltools_core::datasets::{MAX_UPLOAD_CHUNK_BYTES, UploadId};
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tempfile::NamedTempFile;

/// The prefix of upload files in `data_dir/uploads/`.
const PREFIX: &str = "upload-";

/// The longest label, in bytes.
const MAX_LABEL_BYTES: usize = 255;

/// The open uploads of one datasets state.
#[derive(Debug)]
pub(crate) struct Uploads {
    dir: PathBuf,
    max_bytes: u64,
    max_open: usize,
    idle_timeout: Duration,
    // A std mutex: it is held only to look up and update an entry, never across I/O.
    entries: Mutex<HashMap<UploadId, Entry>>,
}

#[derive(Debug)]
struct Entry {
    label: String,
    declared: Option<u64>,
    received: u64,
    /// The offset and length of the last chunk written, to accept its retry.
    last_chunk: Option<(u64, usize)>,
    touched: Instant,
    file: Slot,
}

/// Where an upload's file is.
#[derive(Debug)]
enum Slot {
    /// In the entry: nothing is using it.
    Idle(NamedTempFile),
    /// With an append writing to it.
    Appending,
    /// With an import or update reading it.
    Leased,
}

/// An upload removed by a sweep, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expired {
    /// Its id.
    pub(crate) id: UploadId,
    /// Its label.
    pub(crate) label: String,
    /// The bytes it had received.
    pub(crate) received: u64,
}

impl Uploads {
    /// The uploads of a state configured by `config` (none yet).
    pub(crate) fn new(config: &DatasetsConfig) -> Self {
        Uploads {
            dir: config.data_dir.join("uploads"),
            max_bytes: config.max_upload_bytes,
            max_open: config.max_open_uploads,
            idle_timeout: Duration::from_millis(config.upload_idle_timeout_ms),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long an untouched upload lives.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Starts an upload: checks the label and size, removes expired uploads, creates its
    /// file.
    ///
    /// # Errors
    /// A bad label; a declared size over `max_upload_bytes`; `max_open_uploads` reached
    /// (`Overloaded`); a file that cannot be created.
    pub(crate) fn begin(&self, label: &str, size: Option<u64>) -> Result<UploadId, DatasetsError> {
        check_label(label)?;
        if let Some(size) = size.filter(|size| *size > self.max_bytes) {
            return Err(DatasetsError::UploadRefused {
                label: label.to_owned(),
                size,
                limit: self.max_bytes,
            });
        }
        self.log_expired(self.sweep(Instant::now()));
        if self.lock().len() >= self.max_open {
            return Err(self.too_many());
        }
        let file = self.create_file()?;
        let mut entries = self.lock();
        // Checked again: other uploads may have begun while the file was created.
        if entries.len() >= self.max_open {
            return Err(self.too_many());
        }
        let id = loop {
            let id = random_id();
            if !entries.contains_key(&id) {
                break id;
            }
        };
        entries.insert(
            id,
            Entry {
                label: label.to_owned(),
                declared: size,
                received: 0,
                last_chunk: None,
                touched: Instant::now(),
                file: Slot::Idle(file),
            },
        );
        tracing::debug!(upload = %id, label, ?size, "upload begun");
        Ok(id)
    }

    /// Appends `data` at `offset`; answers the bytes received after it.
    ///
    /// # Errors
    /// An unknown upload (`NotFound`); an offset other than the bytes received (unless it
    /// is the last chunk sent again); a chunk over the chunk limit, or bytes beyond the
    /// declared size or `max_upload_bytes`; another call using the upload (`Overloaded`); a
    /// failed write (`Internal`; the upload keeps the bytes it had).
    pub(crate) fn append(
        &self,
        id: UploadId,
        offset: u64,
        data: &[u8],
    ) -> Result<u64, DatasetsError> {
        let (mut file, received) = {
            let mut entries = self.lock();
            let entry = entries.get_mut(&id).ok_or_else(|| self.unknown(id))?;
            if let Some(received) = entry.retried(offset, data.len()) {
                entry.touched = Instant::now();
                return Ok(received);
            }
            self.check_chunk(id, entry, offset, data.len())?;
            let file = match std::mem::replace(&mut entry.file, Slot::Appending) {
                Slot::Idle(file) => file,
                busy => {
                    let reason = busy.busy_reason();
                    entry.file = busy;
                    return Err(entry.busy(id, reason));
                }
            };
            (file, entry.received)
        };
        // The lock is released while the bytes are written: another upload's append, or a
        // sweep, does not wait for this one.
        let written = write_at_end(&mut file, received, data);
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&id) else {
            // Aborted meanwhile: the file goes with `file`.
            return Err(self.unknown(id));
        };
        entry.file = Slot::Idle(file);
        entry.touched = Instant::now();
        written.map_err(|cause| DatasetsError::Io {
            path: self.dir.display().to_string(),
            operation: "write upload",
            cause,
        })?;
        let length = data.len() as u64;
        entry.received += length;
        entry.last_chunk = Some((offset, data.len()));
        Ok(entry.received)
    }

    /// Removes an upload and its file. An import reading it keeps its copy until it ends.
    ///
    /// # Errors
    /// An unknown upload (`NotFound`).
    pub(crate) fn abort(&self, id: UploadId) -> Result<(), DatasetsError> {
        let removed = self.lock().remove(&id).ok_or_else(|| self.unknown(id))?;
        tracing::debug!(upload = %id, label = %removed.label, received = removed.received, "upload aborted");
        // The file (when idle) is removed as `removed` drops, outside the lock.
        drop(removed);
        Ok(())
    }

    /// The label of an upload, which names a dataset imported from it by default.
    ///
    /// # Errors
    /// An unknown upload (`NotFound`).
    pub(crate) fn label(&self, id: UploadId) -> Result<String, DatasetsError> {
        let entries = self.lock();
        let entry = entries.get(&id).ok_or_else(|| self.unknown(id))?;
        Ok(entry.label.clone())
    }

    /// Takes a complete upload for an import or update to read; see [`UploadLease`].
    ///
    /// # Errors
    /// An unknown upload (`NotFound`); an upload that has not received its declared size
    /// (naming both); an upload another call is using (`Overloaded`).
    pub(crate) fn lease(self: &Arc<Self>, id: UploadId) -> Result<UploadLease, DatasetsError> {
        let (mut file, label) = {
            let mut entries = self.lock();
            let entry = entries.get_mut(&id).ok_or_else(|| self.unknown(id))?;
            if let Some(declared) = entry
                .declared
                .filter(|declared| *declared != entry.received)
            {
                return Err(DatasetsError::UploadNotReady {
                    upload: id.to_string(),
                    label: entry.label.clone(),
                    reason: format!(
                        "incomplete: {} of its {declared} bytes were received",
                        entry.received
                    ),
                });
            }
            let file = match std::mem::replace(&mut entry.file, Slot::Leased) {
                Slot::Idle(file) => file,
                busy => {
                    let reason = busy.busy_reason();
                    entry.file = busy;
                    return Err(entry.busy(id, reason));
                }
            };
            (file, entry.label.clone())
        };
        let lease_error = file.seek(SeekFrom::Start(0)).err();
        let lease = UploadLease {
            uploads: Arc::clone(self),
            id,
            label,
            file: Some(file),
            committed: false,
        };
        if let Some(cause) = lease_error {
            return Err(DatasetsError::Io {
                path: self.dir.display().to_string(),
                operation: "read upload",
                cause,
            });
        }
        Ok(lease)
    }

    /// Removes the uploads untouched for the idle timeout at `now` (not those an append or
    /// an import is using) with their files; answers what it removed.
    pub(crate) fn sweep(&self, now: Instant) -> Vec<Expired> {
        let removed: Vec<(UploadId, Entry)> = {
            let mut entries = self.lock();
            let expired: Vec<UploadId> = entries
                .iter()
                .filter(|(_, entry)| {
                    matches!(entry.file, Slot::Idle(_))
                        && now.saturating_duration_since(entry.touched) >= self.idle_timeout
                })
                .map(|(id, _)| *id)
                .collect();
            expired
                .into_iter()
                .filter_map(|id| entries.remove(&id).map(|entry| (id, entry)))
                .collect()
        };
        // The files are removed as the entries drop, here, outside the lock.
        removed
            .into_iter()
            .map(|(id, entry)| Expired {
                id,
                label: entry.label,
                received: entry.received,
            })
            .collect()
    }

    /// Logs the uploads a sweep removed.
    pub(crate) fn log_expired(&self, expired: Vec<Expired>) {
        let idle_timeout_ms = u64::try_from(self.idle_timeout.as_millis()).unwrap_or(u64::MAX);
        for upload in expired {
            tracing::info!(
                upload = %upload.id, label = %upload.label, received = upload.received,
                idle_timeout_ms, "an abandoned upload was removed"
            );
        }
    }

    /// Open uploads (begun, not committed, aborted nor expired).
    pub(crate) fn open_count(&self) -> usize {
        self.lock().len()
    }

    fn check_chunk(
        &self,
        id: UploadId,
        entry: &Entry,
        offset: u64,
        length: usize,
    ) -> Result<(), DatasetsError> {
        if offset != entry.received {
            return Err(DatasetsError::UploadOffset {
                upload: id.to_string(),
                label: entry.label.clone(),
                offset,
                received: entry.received,
            });
        }
        let too_large = |reason: String| DatasetsError::UploadTooLarge {
            upload: id.to_string(),
            label: entry.label.clone(),
            reason,
        };
        if length > MAX_UPLOAD_CHUNK_BYTES {
            return Err(too_large(format!(
                "a chunk of {length} bytes exceeds the limit of {MAX_UPLOAD_CHUNK_BYTES} bytes a chunk"
            )));
        }
        let total = entry.received.saturating_add(length as u64);
        if let Some(declared) = entry.declared.filter(|declared| total > *declared) {
            return Err(too_large(format!(
                "{total} bytes exceed its declared size of {declared} bytes"
            )));
        }
        if total > self.max_bytes {
            return Err(too_large(format!(
                "{total} bytes exceed the limit of {} bytes (`max_upload_bytes`)",
                self.max_bytes
            )));
        }
        Ok(())
    }

    fn create_file(&self) -> Result<NamedTempFile, DatasetsError> {
        let io = |operation, cause| DatasetsError::Io {
            path: self.dir.display().to_string(),
            operation,
            cause,
        };
        std::fs::create_dir_all(&self.dir).map_err(|cause| io("create directory", cause))?;
        tempfile::Builder::new()
            .prefix(PREFIX)
            .suffix(".csv")
            .tempfile_in(&self.dir)
            .map_err(|cause| io("create upload file", cause))
    }

    fn unknown(&self, id: UploadId) -> DatasetsError {
        DatasetsError::UnknownUpload {
            upload: id.to_string(),
            idle_timeout_ms: u64::try_from(self.idle_timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn too_many(&self) -> DatasetsError {
        DatasetsError::TooManyUploads {
            limit: self.max_open,
            idle_timeout_ms: u64::try_from(self.idle_timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<UploadId, Entry>> {
        // A panic while holding the lock leaves the map consistent (every update is one
        // assignment), so a poisoned lock is used as it is.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Gives a leased file back (the import failed), or drops it with its entry (the import
    /// committed, or the upload was aborted meanwhile).
    fn give_back(&self, id: UploadId, file: NamedTempFile, committed: bool) {
        let mut entries = self.lock();
        if committed {
            let removed = entries.remove(&id);
            drop(entries);
            drop((removed, file));
            tracing::debug!(upload = %id, "upload committed and removed");
            return;
        }
        match entries.get_mut(&id) {
            Some(entry) => {
                entry.file = Slot::Idle(file);
                entry.touched = Instant::now();
            }
            None => {
                drop(entries);
                drop(file);
            }
        }
    }
}

impl Entry {
    /// The bytes received, when `offset` and `length` are those of the last chunk written
    /// (a retry whose first answer was lost).
    fn retried(&self, offset: u64, length: usize) -> Option<u64> {
        let (last_offset, last_length) = self.last_chunk?;
        let retry = last_offset == offset
            && last_length == length
            && offset + length as u64 == self.received
            && length > 0;
        retry.then_some(self.received)
    }

    fn busy(&self, id: UploadId, reason: &'static str) -> DatasetsError {
        DatasetsError::UploadBusy {
            upload: id.to_string(),
            label: self.label.clone(),
            reason,
        }
    }
}

impl Slot {
    fn busy_reason(&self) -> &'static str {
        match self {
            Slot::Appending => "another chunk is being written",
            Slot::Leased | Slot::Idle(_) => "an import or update is reading it",
        }
    }
}

/// Writes `data` after the first `received` bytes; on failure, cuts the file back to
/// `received` bytes so the upload stays as it was.
fn write_at_end(file: &mut NamedTempFile, received: u64, data: &[u8]) -> std::io::Result<()> {
    let written = file
        .seek(SeekFrom::Start(received))
        .and_then(|_| file.write_all(data))
        .and_then(|()| file.flush());
    if written.is_err() {
        let _ = file.as_file().set_len(received);
    }
    written
}

/// An upload taken by an import or update: it reads the file; dropped, the upload is
/// removed if [`UploadLease::commit`] was called, and otherwise given back as it was (so a
/// failed import, say for a taken name, can be retried without sending the bytes again).
#[derive(Debug)]
pub(crate) struct UploadLease {
    uploads: Arc<Uploads>,
    id: UploadId,
    label: String,
    file: Option<NamedTempFile>,
    committed: bool,
}

impl UploadLease {
    /// The upload's label.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// Marks the upload consumed: it is removed when the lease drops.
    pub(crate) fn commit(&mut self) {
        self.committed = true;
    }

    fn file(&mut self) -> std::io::Result<&mut NamedTempFile> {
        self.file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the upload's file was given back"))
    }
}

impl Read for UploadLease {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        self.file()?.read(buffer)
    }
}

impl Seek for UploadLease {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.file()?.seek(position)
    }
}

impl Drop for UploadLease {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            self.uploads.give_back(self.id, file, self.committed);
        }
    }
}

/// Removes the upload files a previous process left in `data_dir/uploads/`; answers how
/// many. (Its uploads died with it: their ids were only in its memory.)
pub(crate) fn remove_stale_uploads(config: &DatasetsConfig) -> usize {
    crate::leftovers::remove(&config.data_dir.join("uploads"), PREFIX)
}

/// Checks an upload's label: not empty, at most [`MAX_LABEL_BYTES`], no control
/// characters.
fn check_label(label: &str) -> Result<(), DatasetsError> {
    let reason = if label.trim().is_empty() {
        "a label cannot be empty"
    } else if label.len() > MAX_LABEL_BYTES {
        "a label is at most 255 bytes"
    } else if label.chars().any(char::is_control) {
        "a label cannot contain control characters"
    } else {
        return Ok(());
    };
    let shown: String = label
        .chars()
        .take(60)
        .flat_map(char::escape_debug)
        .collect();
    Err(DatasetsError::BadUploadLabel {
        label: shown,
        reason,
    })
}

/// 128 bits from the operating system's random source.
fn random_id() -> UploadId {
    let mut bytes = [0u8; 16];
    #[cfg(unix)]
    {
        let read = std::fs::File::open("/dev/urandom")
            .and_then(|mut random| random.read_exact(&mut bytes));
        if read.is_ok() {
            return UploadId(bytes);
        }
    }
    // No /dev/urandom: std's hasher keys, which it draws from the operating system's
    // random source once per process, hashing a counter and the time.
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static DRAWN: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    for half in bytes.chunks_mut(8) {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u64(DRAWN.fetch_add(1, Ordering::Relaxed));
        half.copy_from_slice(&hasher.finish().to_le_bytes());
    }
    UploadId(bytes)
}

#[cfg(test)]
#[path = "uploads_tests.rs"]
mod tests;
