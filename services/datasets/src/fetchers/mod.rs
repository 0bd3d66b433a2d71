//! Where rows come from: CSV text from a file, from bytes, from a download, or a built-in
//! set rendered as CSV.
//!
//! [`OpenedSource::open`] turns a [`Source`] into text that can be read from the start
//! more than once; [`OpenedSource::scan`] is the validating first pass and
//! [`OpenedSource::stream`] the second pass that writes typed blocks (see [`csv`]). A
//! source is named by [`source_text`], which keeps a URL's credentials and query string
//! out of messages, logs and the database.

mod address;
mod blank_lines;
mod builtin;
mod columns;
mod csv;
mod detect;
mod http;
mod redact;
mod roots;

pub(crate) use self::csv::{BlockLayout, ColumnPlan, CsvScan, RecordLimits, Streamed};
pub(crate) use address::Network;
pub(crate) use blank_lines::field_count;
pub(crate) use detect::quoted_list;
pub(crate) use http::remove_stale_downloads;
pub(crate) use redact::source_text;

use crate::blocks::BlockSink;
use crate::cancel::Cancel;
use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use crate::uploads::{UploadLease, Uploads};
use mltools_core::datasets::Source;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use tempfile::NamedTempFile;

/// A source ready to be read (twice).
#[derive(Debug)]
pub(crate) struct OpenedSource {
    label: String,
    /// What a version made from it records as its source.
    stored: String,
    reader: SourceReader,
    builtin: Option<BuiltinTarget>,
    /// `max_record_bytes` and `max_columns`.
    limits: RecordLimits,
}

/// What a built-in set says of its target column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuiltinTarget {
    /// The target column.
    pub(crate) name: String,
    /// Its classes in code order, for a classification set.
    pub(crate) classes: Option<Vec<String>>,
}

#[derive(Debug)]
enum SourceReader {
    File(File),
    Memory(Cursor<Vec<u8>>),
    /// Removed from disk when dropped.
    Download(NamedTempFile),
    /// Given back to its upload when dropped, unless committed.
    Upload(UploadLease),
}

impl OpenedSource {
    /// Opens a file (under `import_roots`, when set), takes the bytes, downloads the URL,
    /// leases the upload or renders the built-in set. Blocking; a download stops soon
    /// after `cancel` is raised.
    ///
    /// # Errors
    /// A missing or unreadable file (naming the path), a file outside the import roots, a
    /// failed or cancelled download, an unknown, incomplete or busy upload, a broken
    /// built-in set.
    pub(crate) fn open(
        source: Source,
        config: &DatasetsConfig,
        uploads: &std::sync::Arc<Uploads>,
        cancel: Cancel<'_>,
    ) -> Result<Self, DatasetsError> {
        let label = source_text(&source);
        let limits = RecordLimits {
            max_bytes: config.max_record_bytes,
            max_fields: config.max_columns,
        };
        let stored = label.clone();
        let (reader, builtin) = match source {
            Source::File { path } => (
                SourceReader::File(open_file(&path, config.import_roots.as_deref())?),
                None,
            ),
            Source::Bytes { label, data } => {
                return Ok(OpenedSource {
                    label,
                    stored,
                    reader: SourceReader::Memory(Cursor::new(data)),
                    builtin: None,
                    limits,
                });
            }
            Source::Upload { id } => {
                let lease = uploads.lease(id)?;
                return Ok(OpenedSource {
                    label: lease.label().to_owned(),
                    stored: format!("{} (uploaded)", lease.label()),
                    reader: SourceReader::Upload(lease),
                    builtin: None,
                    limits,
                });
            }
            Source::Url { url } => {
                let download = http::download(&url, config, cancel)?;
                (SourceReader::Download(download), None)
            }
            Source::Builtin { name } => {
                let table = builtin::load(name)?;
                let target = BuiltinTarget {
                    name: table.target,
                    classes: table.classes,
                };
                (SourceReader::Memory(Cursor::new(table.csv)), Some(target))
            }
        };
        Ok(OpenedSource {
            label,
            stored,
            reader,
            builtin,
            limits,
        })
    }

    /// What a version made from this source records as its source: the source's text, or
    /// an upload's label.
    pub(crate) fn stored(&self) -> &str {
        &self.stored
    }

    /// Marks the source consumed by a committed write: an upload is removed when this
    /// source drops (it is given back otherwise).
    pub(crate) fn committed(&mut self) {
        if let SourceReader::Upload(lease) = &mut self.reader {
            lease.commit();
        }
    }

    /// The name messages give the source: its path, URL, label or `builtin:NAME`.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    /// The target of a built-in set.
    pub(crate) fn builtin(&self) -> Option<&BuiltinTarget> {
        self.builtin.as_ref()
    }

    /// The first pass (see [`csv::scan`]); a built-in set is always comma-separated.
    ///
    /// # Errors
    /// As [`csv::scan`].
    pub(crate) fn scan(
        &mut self,
        delimiter: Option<u8>,
        cancel: Cancel<'_>,
    ) -> Result<CsvScan, DatasetsError> {
        let delimiter = if self.builtin.is_some() {
            Some(b',')
        } else {
            delimiter
        };
        csv::scan(
            &mut self.reader,
            &self.label,
            delimiter,
            self.limits,
            cancel,
        )
    }

    /// The second pass (see [`csv::stream`]).
    ///
    /// # Errors
    /// As [`csv::stream`].
    pub(crate) fn stream(
        &mut self,
        scan: &CsvScan,
        plans: Vec<ColumnPlan>,
        layout: BlockLayout,
        sink: &mut dyn BlockSink,
        cancel: Cancel<'_>,
    ) -> Result<Streamed, DatasetsError> {
        csv::stream(
            &mut self.reader,
            &self.label,
            scan,
            plans,
            layout,
            self.limits,
            sink,
            cancel,
        )
    }
}

/// Opens the caller's file, confined to `roots` when set. Whatever stops it from being
/// opened is about the path the caller gave, so it is the caller's to fix: not found, or
/// invalid input naming the path.
fn open_file(path: &str, roots: Option<&[std::path::PathBuf]>) -> Result<File, DatasetsError> {
    let file = roots::open(path, roots)?;
    let metadata = file.metadata().map_err(|cause| open_error(path, &cause))?;
    if metadata.is_dir() {
        return Err(DatasetsError::Unreadable {
            path: path.to_owned(),
            reason: "it is a directory".to_owned(),
        });
    }
    if !metadata.is_file() {
        return Err(DatasetsError::Unreadable {
            path: path.to_owned(),
            reason: "not a regular file".to_owned(),
        });
    }
    Ok(file)
}

fn open_error(path: &str, cause: &std::io::Error) -> DatasetsError {
    match cause.kind() {
        std::io::ErrorKind::NotFound => DatasetsError::FileNotFound {
            path: path.to_owned(),
        },
        _ => DatasetsError::Unreadable {
            path: path.to_owned(),
            reason: cause.to_string(),
        },
    }
}

impl Read for SourceReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            SourceReader::File(file) => file.read(buffer),
            SourceReader::Memory(cursor) => cursor.read(buffer),
            SourceReader::Download(file) => file.read(buffer),
            SourceReader::Upload(lease) => lease.read(buffer),
        }
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        match self {
            SourceReader::File(file) => file.seek(position),
            SourceReader::Memory(cursor) => cursor.seek(position),
            SourceReader::Download(file) => file.seek(position),
            SourceReader::Upload(lease) => lease.seek(position),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::ErrorKind;

    #[test]
    fn a_path_that_cannot_be_opened_is_the_callers_to_fix() {
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let error = open_error("/data/x.csv", &denied);
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(
            error
                .to_string()
                .starts_with("file `/data/x.csv` cannot be read: "),
            "{error}"
        );
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(open_error("x", &missing).kind(), ErrorKind::NotFound);
    }
}
