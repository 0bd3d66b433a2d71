//! Sending a caller's own file to the datasets service, wherever it runs: as an upload in
//! chunks, never as a path (a path names the *service's* disk).
//!
//! [`upload_file`] reads the local file one chunk at a time (only one chunk is in memory),
//! sends each with `append_upload` at the offset the service has received, and answers the
//! [`Source::Upload`] to import or update from. A chunk whose call fails as `Unavailable`
//! or `Timeout` is sent again at the same offset (the service accepts the last chunk twice);
//! any other failure aborts the upload.
//!
//! ```no_run
//! # async fn demo(datasets: mltools_transport::DatasetsClient) -> Result<(), mltools_core::ServiceError> {
//! use mltools_core::RpcResultExt;
//! use mltools_core::datasets::ImportRequest;
//! use mltools_transport::upload::{DEFAULT_CHUNK_BYTES, upload_file};
//!
//! let source = upload_file(&datasets, "./houses.csv", DEFAULT_CHUNK_BYTES).await?;
//! let info = datasets
//!     .import(tarpc::context::current(), ImportRequest::new(source))
//!     .await
//!     .into_service("datasets")?;
//! # let _ = info;
//! # Ok(()) }
//! ```

use crate::DatasetsClient;
use mltools_core::datasets::{AppendUpload, BeginUpload, MAX_UPLOAD_CHUNK_BYTES, Source, UploadId};
use mltools_core::{ErrorKind, RpcResultExt, ServiceError};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tarpc::context;

/// The chunk size [`upload_file`] is usually given: 8 MiB, well inside the default 64 MiB
/// frame (a transport configured with frames under ~9 MiB needs smaller chunks).
pub const DEFAULT_CHUNK_BYTES: usize = 8 * 1024 * 1024;

/// The deadline of each chunk's call.
const CHUNK_CALL: Duration = Duration::from_secs(120);

/// How many times a chunk is sent when its call fails as `Unavailable` or `Timeout`.
const CHUNK_ATTEMPTS: u32 = 3;

/// Uploads the local file at `path` in chunks of `chunk_bytes` and answers the
/// [`Source::Upload`] naming it; the upload's label is the file's name. Holds one chunk in
/// memory at a time.
///
/// # Errors
/// A `chunk_bytes` of 0 or over 16 MiB; a local file that is missing (`NotFound`) or
/// unreadable; what the service answers (too large, too many uploads open, ...) or a
/// transport failure. Every message names the local path. The upload is aborted on
/// failure.
///
/// # Cancel safety
/// Dropped midway, the upload is left on the service, which removes it once it has been
/// idle for its `upload_idle_timeout_ms`.
pub async fn upload_file(
    client: &DatasetsClient,
    path: impl AsRef<Path>,
    chunk_bytes: usize,
) -> Result<Source, ServiceError> {
    let path = path.as_ref().to_owned();
    let named = |error: ServiceError| ServiceError {
        message: format!("uploading {}: {}", path.display(), error.message),
        ..error
    };
    if !(1..=MAX_UPLOAD_CHUNK_BYTES).contains(&chunk_bytes) {
        return Err(named(ServiceError::invalid_input(format!(
            "a chunk of {chunk_bytes} bytes is not between 1 and {MAX_UPLOAD_CHUNK_BYTES}"
        ))));
    }
    let (file, size) = blocking(open_local(path.clone())).await.map_err(named)?;
    let label = path.file_name().map_or_else(
        || "upload".to_owned(),
        |name| name.to_string_lossy().into_owned(),
    );
    let mut upload = Upload::begin(client, label, Some(size))
        .await
        .map_err(named)?;
    match send_file(&mut upload, file, &path, chunk_bytes).await {
        Ok(()) => Ok(upload.finish()),
        Err(error) => {
            upload.abort().await;
            Err(named(error))
        }
    }
}

/// An upload in progress: chunks are appended in order, each at the offset the service has
/// received; [`Upload::finish`] answers the [`Source::Upload`] to import or update from.
/// [`upload_file`] drives one from a local file; the HTTP gateway from a request's body.
///
/// # Cancel safety
/// Dropped unfinished, the upload is left on the service, which removes it once it has been
/// idle for its `upload_idle_timeout_ms`; [`Upload::abort`] removes it at once.
#[derive(Debug)]
pub struct Upload<'a> {
    client: &'a DatasetsClient,
    id: UploadId,
    offset: u64,
}

impl<'a> Upload<'a> {
    /// Starts an upload labelled `label` (a file name, for messages and the dataset's
    /// default name), of `size` bytes when known.
    ///
    /// # Errors
    /// What the service answers (a size over its limit, too many uploads open, a bad
    /// label) or a transport failure.
    pub async fn begin(
        client: &'a DatasetsClient,
        label: String,
        size: Option<u64>,
    ) -> Result<Upload<'a>, ServiceError> {
        let id = client
            .begin_upload(call_context(), BeginUpload { label, size })
            .await
            .into_service("datasets")?;
        Ok(Upload {
            client,
            id,
            offset: 0,
        })
    }

    /// The bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.offset
    }

    /// Sends the next chunk (at most [`MAX_UPLOAD_CHUNK_BYTES`]); again, at the same
    /// offset, after an `Unavailable` or `Timeout`.
    ///
    /// # Errors
    /// What the service answers (past the size limit, say) or a transport failure; the
    /// caller then aborts.
    pub async fn send(&mut self, chunk: Vec<u8>) -> Result<(), ServiceError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let expected = self.offset + chunk.len() as u64;
        let request = AppendUpload {
            upload: self.id,
            offset: self.offset,
            data: chunk,
        };
        let received = append_with_retries(self.client, request).await?;
        if received != expected {
            return Err(ServiceError::internal(format!(
                "the service has {received} bytes of upload {} after a chunk ending at {expected}",
                self.id
            )));
        }
        self.offset = received;
        Ok(())
    }

    /// The source naming the upload, for the import or update that commits it.
    pub fn finish(self) -> Source {
        Source::Upload { id: self.id }
    }

    /// Drops the upload and its bytes on the service (best effort: one left behind expires
    /// there anyway).
    pub async fn abort(self) {
        let _ = self.client.abort_upload(call_context(), self.id).await;
    }
}

/// Reads and sends every chunk of `file`.
async fn send_file(
    upload: &mut Upload<'_>,
    mut file: File,
    path: &Path,
    chunk_bytes: usize,
) -> Result<(), ServiceError> {
    loop {
        let shown = path.to_owned();
        let (returned, chunk) = blocking(move || {
            let chunk = read_chunk(&mut file, chunk_bytes, &shown)?;
            Ok((file, chunk))
        })
        .await?;
        file = returned;
        if chunk.is_empty() {
            return Ok(());
        }
        upload.send(chunk).await?;
    }
}

/// Sends one chunk; again, at the same offset, after an `Unavailable` or `Timeout`.
async fn append_with_retries(
    client: &DatasetsClient,
    request: AppendUpload,
) -> Result<u64, ServiceError> {
    let mut attempt = 1;
    loop {
        let answer = client
            .append_upload(call_context(), request.clone())
            .await
            .into_service("datasets");
        match answer {
            Err(error)
                if attempt < CHUNK_ATTEMPTS
                    && matches!(error.kind, ErrorKind::Unavailable | ErrorKind::Timeout) =>
            {
                tracing::debug!(upload = %request.upload, offset = request.offset, %error, "sending the chunk again");
                // Give a reconnecting client a moment to redial.
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// Opens the local file and reads its size.
fn open_local(path: PathBuf) -> impl FnOnce() -> Result<(File, u64), ServiceError> {
    move || {
        let failed = |cause: std::io::Error| match cause.kind() {
            std::io::ErrorKind::NotFound => ServiceError::not_found("no such file"),
            _ => ServiceError::invalid_input(format!("cannot read the file: {cause}")),
        };
        let file = File::open(&path).map_err(failed)?;
        let metadata = file.metadata().map_err(failed)?;
        if !metadata.is_file() {
            return Err(ServiceError::invalid_input("not a regular file"));
        }
        Ok((file, metadata.len()))
    }
}

/// Reads up to `chunk_bytes` (fewer only at the end of the file).
fn read_chunk(file: &mut File, chunk_bytes: usize, path: &Path) -> Result<Vec<u8>, ServiceError> {
    let mut chunk = Vec::with_capacity(chunk_bytes);
    file.take(chunk_bytes as u64)
        .read_to_end(&mut chunk)
        .map_err(|cause| {
            ServiceError::invalid_input(format!("cannot read {}: {cause}", path.display()))
        })?;
    Ok(chunk)
}

/// Runs file work on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| {
            Err(ServiceError::internal(format!(
                "reading the file failed: {error}"
            )))
        })
}

fn call_context() -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + CHUNK_CALL;
    ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_read_whole_until_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, b"0123456789").unwrap();
        let mut file = File::open(&path).unwrap();
        let sizes: Vec<usize> = std::iter::from_fn(|| {
            let chunk = read_chunk(&mut file, 4, &path).unwrap();
            (!chunk.is_empty()).then_some(chunk.len())
        })
        .collect();
        assert_eq!(sizes, [4, 4, 2]);
    }

    #[test]
    fn a_missing_local_file_is_not_found() {
        let error = open_local(PathBuf::from("/nonexistent/x.csv"))().unwrap_err();
        assert_eq!(error.kind, ErrorKind::NotFound);
        let dir = tempfile::tempdir().unwrap();
        let error = open_local(dir.path().to_owned())().unwrap_err();
        assert_eq!(error.kind, ErrorKind::InvalidInput);
    }
}
