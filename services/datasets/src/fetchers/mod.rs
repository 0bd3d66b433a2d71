//! Where rows come from: CSV text from a file, from bytes, from a download, or a built-in
//! set rendered as CSV.
//!
//! [`OpenedSource::open`] turns a [`Source`] into text that can be read from the start
//! more than once; [`OpenedSource::scan`] is the validating first pass and
//! [`OpenedSource::stream`] the second pass that writes typed blocks (see [`csv`]).

mod builtin;
mod columns;
mod csv;
mod detect;
mod http;

pub(crate) use self::csv::{BlockLayout, ColumnPlan, CsvScan, Streamed};
pub(crate) use detect::quoted_list;
pub(crate) use http::remove_stale_downloads;

use crate::blocks::BlockSink;
use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use mltools_core::datasets::Source;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use tempfile::NamedTempFile;

/// A source ready to be read (twice).
#[derive(Debug)]
pub(crate) struct OpenedSource {
    label: String,
    reader: SourceReader,
    builtin: Option<BuiltinTarget>,
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
}

impl OpenedSource {
    /// Opens a file, takes the bytes, downloads the URL or renders the built-in set.
    /// Blocking.
    ///
    /// # Errors
    /// A missing file (naming the path), a failed download, a broken built-in set.
    pub(crate) fn open(source: Source, config: &DatasetsConfig) -> Result<Self, DatasetsError> {
        let label = source.to_string();
        let (reader, builtin) = match source {
            Source::File { path } => (SourceReader::File(open_file(&path)?), None),
            Source::Bytes { label, data } => {
                return Ok(OpenedSource {
                    label,
                    reader: SourceReader::Memory(Cursor::new(data)),
                    builtin: None,
                });
            }
            Source::Url { url } => (SourceReader::Download(http::download(&url, config)?), None),
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
            reader,
            builtin,
        })
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
    pub(crate) fn scan(&mut self, delimiter: Option<u8>) -> Result<CsvScan, DatasetsError> {
        let delimiter = if self.builtin.is_some() {
            Some(b',')
        } else {
            delimiter
        };
        csv::scan(&mut self.reader, &self.label, delimiter)
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
    ) -> Result<Streamed, DatasetsError> {
        csv::stream(&mut self.reader, &self.label, scan, plans, layout, sink)
    }
}

fn open_file(path: &str) -> Result<File, DatasetsError> {
    let io = |operation, cause| DatasetsError::Io {
        path: path.to_owned(),
        operation,
        cause,
    };
    let file = File::open(path).map_err(|cause| match cause.kind() {
        std::io::ErrorKind::NotFound => DatasetsError::FileNotFound {
            path: path.to_owned(),
        },
        _ => io("open", cause),
    })?;
    let metadata = file.metadata().map_err(|cause| io("stat", cause))?;
    if !metadata.is_file() {
        return Err(DatasetsError::BadCsv {
            file: path.to_owned(),
            reason: "not a regular file".to_owned(),
        });
    }
    Ok(file)
}

impl Read for SourceReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        match self {
            SourceReader::File(file) => file.read(buffer),
            SourceReader::Memory(cursor) => cursor.read(buffer),
            SourceReader::Download(file) => file.read(buffer),
        }
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        match self {
            SourceReader::File(file) => file.seek(position),
            SourceReader::Memory(cursor) => cursor.seek(position),
            SourceReader::Download(file) => file.seek(position),
        }
    }
}
