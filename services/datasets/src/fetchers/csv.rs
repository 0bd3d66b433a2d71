//! CSV reading in two passes over a seekable source.
//!
//! Pass 1 ([`scan`]) checks the structure (header, field counts, UTF-8) and learns which
//! columns hold only numbers. Pass 2 ([`stream`]) parses the values into typed blocks of
//! `chunk_rows` rows and hands each to a [`BlockSink`] while accumulating statistics. Only
//! one record and one block per column are ever in memory, so memory does not grow with
//! the file (a categorical column's dictionary grows with its distinct values). Both passes
//! stop within [`ROWS_PER_CHECK`] rows of a cancellation.
//!
//! Empty lines are no rows, except in a file of one column, where an empty line between
//! rows is a missing value (see [`BlankLines`]).

use crate::blocks::BlockSink;
use crate::cancel::{Cancel, ROWS_PER_CHECK};
use crate::error::DatasetsError;
pub(crate) use crate::fetchers::blank_lines::RecordLimits;
use crate::fetchers::blank_lines::{BlankLines, Oversized};
use crate::fetchers::columns::{ColumnBuilder, Rejected};
use crate::fetchers::detect::{
    check_delimiter, check_header, detect_delimiter, is_missing, parse_number,
};
use crate::stats::ColumnStats;
use csv::{ByteRecord, Reader, ReaderBuilder, Trim};
use mltools_core::frame::ColumnKind;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// How far delimiter detection looks for the end of the header line.
const HEADER_LINE_LIMIT: u64 = 1 << 20;

/// What the first pass learnt about a CSV source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CsvScan {
    /// The field delimiter, given or detected.
    pub(crate) delimiter: u8,
    /// The column names, trimmed.
    pub(crate) headers: Vec<String>,
    /// Data rows.
    pub(crate) rows: u64,
    /// Per column, the first present value that is not a number and its line; `None` for a
    /// column of numbers (or of missing values only).
    pub(crate) first_text: Vec<Option<(u64, String)>>,
}

/// How the second pass stores one source column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnPlan {
    /// The column's index in the stored version's schema.
    pub(crate) stored_index: usize,
    /// Numeric or categorical.
    pub(crate) kind: ColumnKind,
    /// The dictionary a categorical column starts from.
    pub(crate) labels: Vec<String>,
}

/// Where the second pass writes its rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockLayout {
    /// Rows per block.
    pub(crate) chunk_rows: usize,
    /// The stored row number of the source's first row (an append's old row count).
    pub(crate) row_start: u64,
}

/// What the second pass wrote.
#[derive(Debug)]
pub(crate) struct Streamed {
    /// Data rows read.
    pub(crate) rows: u64,
    /// Statistics per column, in stored order.
    pub(crate) stats: Vec<ColumnStats>,
}

/// Pass 1: validates the source and infers what each column holds.
///
/// # Errors
/// An empty source, a header-only source, a bad header, a ragged row, invalid UTF-8, a
/// NUL byte, a record past `limits`, a bad delimiter option, an I/O failure, a
/// cancellation.
pub(crate) fn scan<R: Read + Seek>(
    input: &mut R,
    file: &str,
    delimiter: Option<u8>,
    limits: RecordLimits,
    cancel: Cancel<'_>,
) -> Result<CsvScan, DatasetsError> {
    let delimiter = match delimiter {
        Some(delimiter) => check_delimiter(delimiter)?,
        None => detect_delimiter(&header_line(input, file)?),
    };
    let mut reader = open_reader(input, file, delimiter, limits)?;
    let headers = read_header(&mut reader, file)?;
    let mut first_text = vec![None; headers.len()];
    let mut record = ByteRecord::new();
    let mut rows = 0u64;
    while let Some(line) = next_row(&mut reader, &mut record, file, &headers)? {
        rows += 1;
        if rows.is_multiple_of(ROWS_PER_CHECK) {
            cancel.check()?;
        }
        for (column, field) in record.iter().enumerate() {
            let text = field_text(field, file, line, column, &headers)?;
            let slot = &mut first_text[column];
            if slot.is_none() && !is_missing(text) && parse_number(text).is_none() {
                *slot = Some((line, text.to_owned()));
            }
        }
    }
    if rows == 0 {
        return Err(DatasetsError::NoRows {
            file: file.to_owned(),
        });
    }
    Ok(CsvScan {
        delimiter,
        headers,
        rows,
        first_text,
    })
}

/// Pass 2: parses every row as `plans` say (one plan per source column, in source order)
/// and writes blocks of `layout.chunk_rows` rows to `sink`.
///
/// # Errors
/// Text in a numeric column (naming line and column), a source changed since [`scan`],
/// a full dictionary, the sink's failure, a cancellation.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stream<R: Read + Seek>(
    input: &mut R,
    file: &str,
    scan: &CsvScan,
    plans: Vec<ColumnPlan>,
    layout: BlockLayout,
    limits: RecordLimits,
    sink: &mut dyn BlockSink,
    cancel: Cancel<'_>,
) -> Result<Streamed, DatasetsError> {
    let mut reader = open_reader(input, file, scan.delimiter, limits)?;
    if read_header(&mut reader, file)? != scan.headers {
        return Err(changed(file));
    }
    let stored: Vec<usize> = plans.iter().map(|plan| plan.stored_index).collect();
    let mut builders: Vec<ColumnBuilder> = plans
        .into_iter()
        .map(|plan| ColumnBuilder::new(plan.kind, plan.labels, layout.chunk_rows))
        .collect();
    let mut record = ByteRecord::new();
    let (mut rows, mut in_block) = (0u64, 0usize);
    while let Some(line) = next_row(&mut reader, &mut record, file, &scan.headers)? {
        for (column, field) in record.iter().enumerate() {
            let text = field_text(field, file, line, column, &scan.headers)?;
            if let Err(rejected) = builders[column].push(text) {
                return Err(rejection(rejected, file, line, &scan.headers[column], text));
            }
        }
        rows += 1;
        in_block += 1;
        if rows.is_multiple_of(ROWS_PER_CHECK) {
            cancel.check()?;
        }
        if in_block == layout.chunk_rows {
            flush(
                &mut builders,
                &stored,
                layout.row_start + rows - in_block as u64,
                sink,
            )?;
            in_block = 0;
        }
    }
    if in_block > 0 {
        flush(
            &mut builders,
            &stored,
            layout.row_start + rows - in_block as u64,
            sink,
        )?;
    }
    let mut stats: Vec<(usize, ColumnStats)> = stored
        .into_iter()
        .zip(builders.into_iter().map(ColumnBuilder::finish))
        .collect();
    stats.sort_by_key(|(index, _)| *index);
    Ok(Streamed {
        rows,
        stats: stats.into_iter().map(|(_, stats)| stats).collect(),
    })
}

fn flush(
    builders: &mut [ColumnBuilder],
    stored: &[usize],
    row_start: u64,
    sink: &mut dyn BlockSink,
) -> Result<(), DatasetsError> {
    for (builder, &column) in builders.iter_mut().zip(stored) {
        sink.write(column, row_start, builder.block())?;
        builder.clear();
    }
    Ok(())
}

fn rejection(rejected: Rejected, file: &str, line: u64, column: &str, text: &str) -> DatasetsError {
    match rejected {
        Rejected::NotANumber => DatasetsError::NotANumber {
            file: file.to_owned(),
            line,
            column: column.to_owned(),
            value: text.to_owned(),
        },
        Rejected::TooManyCategories => DatasetsError::BadCsv {
            file: file.to_owned(),
            reason: format!("line {line}: column `{column}` has more categories than codes"),
        },
    }
}

fn changed(file: &str) -> DatasetsError {
    DatasetsError::BadCsv {
        file: file.to_owned(),
        reason: "the source changed while it was being read".to_owned(),
    }
}

/// The first line of the source, for delimiter detection.
fn header_line<R: Read + Seek>(input: &mut R, file: &str) -> Result<Vec<u8>, DatasetsError> {
    rewind(input, file)?;
    let mut line = Vec::new();
    BufReader::new(input.take(HEADER_LINE_LIMIT))
        .read_until(b'\n', &mut line)
        .map_err(|cause| io_error(file, cause))?;
    Ok(line)
}

/// A CSV reader from the start of the source. Headers are read by hand and rows may be
/// ragged so that the errors can name the culprit in our own words; [`BlankLines`] refuses
/// a record past `limits` before the reader buffers it.
fn open_reader<'a, R: Read + Seek>(
    input: &'a mut R,
    file: &str,
    delimiter: u8,
    limits: RecordLimits,
) -> Result<Reader<BlankLines<&'a mut R>>, DatasetsError> {
    rewind(input, file)?;
    Ok(ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(Trim::All)
        .from_reader(BlankLines::new(input, delimiter, limits)))
}

fn read_header<R: Read>(reader: &mut Reader<R>, file: &str) -> Result<Vec<String>, DatasetsError> {
    let mut record = ByteRecord::new();
    if !reader
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(file, e))?
    {
        return Err(DatasetsError::EmptyFile {
            file: file.to_owned(),
        });
    }
    let line = record_line(&record);
    let mut names = Vec::with_capacity(record.len());
    for (position, field) in record.iter().enumerate() {
        let name = std::str::from_utf8(field).map_err(|_| DatasetsError::InvalidUtf8 {
            file: file.to_owned(),
            line,
            position: position + 1,
            column: String::new(),
        })?;
        // csv-core strips a BOM only when its first buffer holds all three bytes; a source
        // that hands out its first bytes one at a time would leave it on the first name.
        let name = match position {
            0 => name.strip_prefix('\u{feff}').unwrap_or(name).trim(),
            _ => name,
        };
        if let Some(control) = name.bytes().find(|&byte| byte.is_ascii_control()) {
            return Err(DatasetsError::ControlCharacter {
                file: file.to_owned(),
                line,
                position: position + 1,
                column: String::new(),
                code: control,
            });
        }
        names.push(name.to_owned());
    }
    check_header(file, &names)?;
    Ok(names)
}

/// Reads the next data row into `record`; its line number, or `None` at the end.
fn next_row<R: Read>(
    reader: &mut Reader<R>,
    record: &mut ByteRecord,
    file: &str,
    headers: &[String],
) -> Result<Option<u64>, DatasetsError> {
    if !reader
        .read_byte_record(record)
        .map_err(|e| csv_error(file, e))?
    {
        return Ok(None);
    }
    let line = record_line(record);
    if record.len() != headers.len() {
        return Err(DatasetsError::RaggedRow {
            file: file.to_owned(),
            line,
            expected: headers.len(),
            got: record.len(),
        });
    }
    Ok(Some(line))
}

/// A field as text: valid UTF-8 without NUL bytes (which only binary data holds).
fn field_text<'a>(
    field: &'a [u8],
    file: &str,
    line: u64,
    column: usize,
    headers: &[String],
) -> Result<&'a str, DatasetsError> {
    if field.contains(&0) {
        return Err(DatasetsError::ControlCharacter {
            file: file.to_owned(),
            line,
            position: column + 1,
            column: headers[column].clone(),
            code: 0,
        });
    }
    std::str::from_utf8(field).map_err(|_| DatasetsError::InvalidUtf8 {
        file: file.to_owned(),
        line,
        position: column + 1,
        column: headers[column].clone(),
    })
}

/// The 1-based line a record starts on (the reader always records positions).
fn record_line(record: &ByteRecord) -> u64 {
    record.position().map_or(0, |position| position.line())
}

fn rewind<R: Seek>(input: &mut R, file: &str) -> Result<(), DatasetsError> {
    input
        .seek(SeekFrom::Start(0))
        .map(drop)
        .map_err(|cause| io_error(file, cause))
}

fn io_error(file: &str, cause: std::io::Error) -> DatasetsError {
    DatasetsError::Io {
        path: file.to_owned(),
        operation: "read",
        cause,
    }
}

fn csv_error(file: &str, error: csv::Error) -> DatasetsError {
    let reason = error.to_string();
    match error.into_kind() {
        csv::ErrorKind::Io(cause) => match Oversized::carried_by(&cause) {
            Some(Oversized::Bytes { line, limit }) => DatasetsError::RecordTooLong {
                file: file.to_owned(),
                line,
                limit,
            },
            Some(Oversized::Fields {
                line,
                count,
                whole,
                limit,
            }) => DatasetsError::TooManyFields {
                file: file.to_owned(),
                line,
                count,
                whole,
                limit,
            },
            None => io_error(file, cause),
        },
        _ => DatasetsError::BadCsv {
            file: file.to_owned(),
            reason,
        },
    }
}

#[cfg(test)]
#[path = "csv_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "csv_props.rs"]
mod props;
