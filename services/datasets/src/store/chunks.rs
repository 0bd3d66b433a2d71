//! Column chunks: writing blocks, sharing them between versions, reading row ranges.

use crate::blocks::{Block, BlockSink, decode_f64, decode_u32};
use crate::error::DatasetsError;
use mltools_core::frame::{ColumnData, ColumnKind};
use rusqlite::{Connection, params};
use std::ops::Range;

/// Writes the blocks of one version as chunks (inside the caller's transaction).
#[derive(Debug)]
pub(crate) struct ChunkWriter<'c> {
    connection: &'c Connection,
    dataset: u64,
    version: u32,
    /// Reused between blocks so encoding does not allocate each time.
    bytes: Vec<u8>,
}

impl<'c> ChunkWriter<'c> {
    /// A writer for version `version` of dataset `dataset`.
    pub(crate) fn new(connection: &'c Connection, dataset: u64, version: u32) -> Self {
        ChunkWriter {
            connection,
            dataset,
            version,
            bytes: Vec::new(),
        }
    }
}

impl BlockSink for ChunkWriter<'_> {
    fn write(
        &mut self,
        column: usize,
        row_start: u64,
        block: Block<'_>,
    ) -> Result<(), DatasetsError> {
        self.bytes.clear();
        block.encode_into(&mut self.bytes);
        self.connection
            .prepare_cached("INSERT INTO chunks (data) VALUES (?1)")?
            .execute([&self.bytes])?;
        let chunk_id = self.connection.last_insert_rowid();
        self.connection
            .prepare_cached(
                "INSERT INTO version_chunks (dataset_id, version, column_index, row_start, \
                 row_count, chunk_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                self.dataset,
                self.version,
                column,
                row_start,
                block.len(),
                chunk_id
            ])?;
        Ok(())
    }
}

/// Makes version `to` refer to every chunk of version `from`: the rows an append keeps.
///
/// # Errors
/// A database failure.
pub(crate) fn share_chunks(
    connection: &Connection,
    dataset: u64,
    from: u32,
    to: u32,
) -> Result<(), DatasetsError> {
    connection
        .prepare_cached(
            "INSERT INTO version_chunks (dataset_id, version, column_index, row_start, row_count, \
             chunk_id) SELECT dataset_id, ?3, column_index, row_start, row_count, chunk_id \
             FROM version_chunks WHERE dataset_id = ?1 AND version = ?2",
        )?
        .execute(params![dataset, from, to])?;
    Ok(())
}

/// Which column of which version to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ColumnAt {
    pub(crate) dataset: u64,
    pub(crate) version: u32,
    pub(crate) column: usize,
    pub(crate) kind: ColumnKind,
}

/// Rows `rows` of one column, reading only the chunks that overlap them. A categorical
/// column gets `categories` as its dictionary.
///
/// # Errors
/// A database failure; chunks that do not cover the rows or have the wrong size.
pub(crate) fn read_column(
    connection: &Connection,
    at: ColumnAt,
    rows: Range<u64>,
    categories: Vec<String>,
) -> Result<ColumnData, DatasetsError> {
    let wanted = usize::try_from(rows.end - rows.start)
        .map_err(|_| DatasetsError::Corrupt("a page too large for memory".to_owned()))?;
    let mut data = match at.kind {
        ColumnKind::Numeric => ColumnData::Numeric(Vec::with_capacity(wanted)),
        ColumnKind::Categorical => ColumnData::Categorical {
            codes: Vec::with_capacity(wanted),
            categories,
        },
    };
    if wanted == 0 {
        return Ok(data);
    }
    let mut statement = connection.prepare_cached(
        "SELECT vc.row_start, vc.row_count, c.data FROM version_chunks vc \
         JOIN chunks c ON c.id = vc.chunk_id \
         WHERE vc.dataset_id = ?1 AND vc.version = ?2 AND vc.column_index = ?3 \
         AND vc.row_start < ?5 AND vc.row_start + vc.row_count > ?4 ORDER BY vc.row_start",
    )?;
    let mut chunks = statement.query(params![
        at.dataset, at.version, at.column, rows.start, rows.end
    ])?;
    let mut next = rows.start;
    while let Some(chunk) = chunks.next()? {
        let (start, count): (u64, u64) = (chunk.get(0)?, chunk.get(1)?);
        let bytes = chunk.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
        if start > next {
            return Err(gap(at, next));
        }
        let local = (next - start)..(rows.end.min(start + count) - start);
        if local.is_empty() {
            return Err(gap(at, next));
        }
        next = start + local.end;
        append_rows(&mut data, bytes, count, local, at)?;
    }
    if next != rows.end {
        return Err(gap(at, next));
    }
    Ok(data)
}

/// Decodes rows `local` (relative to the chunk) of a chunk holding `count` rows.
fn append_rows(
    data: &mut ColumnData,
    bytes: &[u8],
    count: u64,
    local: Range<u64>,
    at: ColumnAt,
) -> Result<(), DatasetsError> {
    let width: u64 = match data {
        ColumnData::Numeric(_) => 8,
        ColumnData::Categorical { .. } => 4,
    };
    if count.checked_mul(width) != Some(bytes.len() as u64) || local.end > count {
        return Err(DatasetsError::Corrupt(format!(
            "dataset {} version {} column {}: a chunk of {count} rows holds {} bytes",
            at.dataset,
            at.version,
            at.column,
            bytes.len()
        )));
    }
    // In range: `local.end <= count` and the length was checked above.
    let slice = &bytes[(local.start * width) as usize..(local.end * width) as usize];
    match data {
        ColumnData::Numeric(values) => decode_f64(slice, values),
        ColumnData::Categorical { codes, .. } => decode_u32(slice, codes),
    }
    Ok(())
}

fn gap(at: ColumnAt, row: u64) -> DatasetsError {
    DatasetsError::Corrupt(format!(
        "dataset {} version {} column {}: no chunk holds row {row}",
        at.dataset, at.version, at.column
    ))
}
