//! The operations behind the interface: synchronous, run on blocking threads by the state.

use crate::blocks::{Block, BlockSink};
use crate::cancel::Cancel;
use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use crate::fetchers::{BlockLayout, ColumnPlan, CsvScan, OpenedSource, Streamed, quoted_list};
use crate::layout::{AppendTo, append_plans, check_name, fresh_layout};
use crate::stats::ColumnStats;
use crate::store::{self, ColumnAt, DatasetRow, NewVersion, Store};
use crate::uploads::Uploads;
use mltools_core::datasets::{
    DatasetInfo, DatasetPage, Deleted, Description, GetRequest, ImportRequest, Schema, Source,
    UpdateMode, UpdateRequest,
};
use mltools_core::frame::{Column, ColumnKind, Frame};
use mltools_core::{DatasetId, DatasetRef};
use rusqlite::Connection;
use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

/// What every operation works with.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) store: Store,
    pub(crate) config: DatasetsConfig,
    /// The open uploads.
    pub(crate) uploads: std::sync::Arc<Uploads>,
    /// Test-only observation points inside the work.
    #[cfg(test)]
    pub(crate) hooks: Hooks,
}

/// Called after each block is written, with the number of blocks written so far; an error
/// fails the write as a failing sink would.
#[cfg(test)]
pub(crate) type BlockHook = std::sync::Arc<dyn Fn(u64) -> Result<(), DatasetsError> + Send + Sync>;

/// Test-only observation points inside the work.
#[cfg(test)]
#[derive(Default, Clone)]
pub(crate) struct Hooks {
    /// See [`BlockHook`].
    pub(crate) after_block: Option<BlockHook>,
}

#[cfg(test)]
impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("after_block", &self.after_block.is_some())
            .finish()
    }
}

/// Imports a new dataset as version 1.
pub(crate) fn import(
    shared: &Shared,
    request: ImportRequest,
    cancel: Cancel<'_>,
) -> Result<DatasetInfo, DatasetsError> {
    let name = match &request.name {
        Some(name) => name.clone(),
        None => default_name(shared, &request.source)?,
    };
    check_name(&name)?;
    // Checked again under the write lock; this early look spares a download.
    if let Some(existing) = shared.store.read(|c| store::find_name(c, &name))? {
        return Err(taken(existing));
    }
    let mut opened = OpenedSource::open(request.source, &shared.config, &shared.uploads, cancel)?;
    let source = opened.stored().to_owned();
    let scan = opened.scan(request.csv.delimiter, cancel)?;
    let target = request
        .target
        .or_else(|| opened.builtin().map(|b| b.name.clone()));
    let (schema, plans) = fresh_layout(
        &scan,
        opened.label(),
        &request.csv.categorical,
        target,
        opened.builtin(),
    )?;
    let work = Work::new(shared, cancel);
    let info = shared.store.write(cancel, |transaction| {
        if let Some(existing) = store::find_name(transaction, &name)? {
            return Err(taken(existing));
        }
        let dataset = store::insert_dataset(transaction, &name, now_ms())?;
        let into = Destination {
            connection: transaction,
            dataset: dataset.id,
            version: 1,
            row_start: 0,
        };
        let streamed = work.write_rows(&mut opened, &scan, plans, into)?;
        finish(transaction, &dataset, 1, (schema, streamed), &source)
    })?;
    opened.committed();
    Ok(info)
}

/// The name of a dataset imported from `source` without one: for an upload, the stem of
/// its label.
fn default_name(shared: &Shared, source: &Source) -> Result<String, DatasetsError> {
    match source {
        Source::Upload { id } => {
            let label = shared.uploads.label(*id)?;
            Ok(Source::File { path: label }.default_name())
        }
        other => Ok(other.default_name()),
    }
}

/// Appends to or replaces a dataset's rows as a new version.
pub(crate) fn update(
    shared: &Shared,
    request: UpdateRequest,
    cancel: Cancel<'_>,
) -> Result<DatasetInfo, DatasetsError> {
    let UpdateRequest {
        dataset: named,
        source,
        mode,
        target,
        csv,
    } = request;
    if mode == UpdateMode::Append {
        // An append keeps the stored schema: these would be silently ignored.
        if target.is_some() {
            return Err(DatasetsError::NotForAppend { option: "target" });
        }
        if !csv.categorical.is_empty() {
            return Err(DatasetsError::NotForAppend {
                option: "csv.categorical",
            });
        }
    }
    // Checked again under the write lock; this early look spares a download.
    shared.store.read(|c| store::find(c, &named))?;
    let mut opened = OpenedSource::open(source, &shared.config, &shared.uploads, cancel)?;
    let shown_source = opened.stored().to_owned();
    let scan = opened.scan(csv.delimiter, cancel)?;
    let work = Work::new(shared, cancel);
    let info = shared.store.write(cancel, |transaction| {
        let dataset = store::find(transaction, &named)?;
        let latest = store::info(transaction, &dataset, None)?;
        let version = latest
            .version
            .checked_add(1)
            .ok_or_else(|| DatasetsError::Corrupt(format!("{named}: no version number left")))?;
        let into = Destination {
            connection: transaction,
            dataset: dataset.id,
            version,
            row_start: 0,
        };
        let written = match mode {
            UpdateMode::Append => append(&work, &mut opened, &scan, &named, &latest, into)?,
            UpdateMode::Replace => {
                let target = replacement_target(target.clone(), &opened, &scan, &latest);
                let (schema, plans) = fresh_layout(
                    &scan,
                    opened.label(),
                    &csv.categorical,
                    target,
                    opened.builtin(),
                )?;
                (schema, work.write_rows(&mut opened, &scan, plans, into)?)
            }
        };
        finish(transaction, &dataset, version, written, &shown_source)
    })?;
    opened.committed();
    Ok(info)
}

/// The target of a replacement: the one asked for, else a built-in set's own, else the
/// old target if the new rows still have that column.
fn replacement_target(
    asked: Option<String>,
    opened: &OpenedSource,
    scan: &CsvScan,
    latest: &DatasetInfo,
) -> Option<String> {
    asked
        .or_else(|| opened.builtin().map(|builtin| builtin.name.clone()))
        .or_else(|| {
            latest
                .schema
                .target
                .clone()
                .filter(|old| scan.headers.contains(old))
        })
}

/// Writes the rows of an append: the old version's chunks are shared, the new rows follow
/// them, and the statistics merge.
fn append(
    work: &Work<'_>,
    opened: &mut OpenedSource,
    scan: &CsvScan,
    named: &DatasetRef,
    latest: &DatasetInfo,
    into: Destination<'_>,
) -> Result<(Schema, Streamed), DatasetsError> {
    let mut stats = store::stats(into.connection, into.dataset, latest.version)?;
    let dataset = named.to_string();
    let to = AppendTo {
        file: opened.label(),
        dataset: &dataset,
        schema: &latest.schema,
        stats: &stats,
    };
    let plans = append_plans(scan, to)?;
    store::share_chunks(into.connection, into.dataset, latest.version, into.version)?;
    let into = Destination {
        row_start: latest.rows,
        ..into
    };
    let streamed = work.write_rows(opened, scan, plans, into)?;
    for (old, new) in stats.iter_mut().zip(&streamed.stats) {
        old.merge(new)
            .map_err(|reason| DatasetsError::Corrupt(format!("{dataset}: {reason}")))?;
    }
    let rows = latest.rows + streamed.rows;
    Ok((latest.schema.clone(), Streamed { rows, stats }))
}

/// Writes the version row and answers with its info.
fn finish(
    connection: &Connection,
    dataset: &DatasetRow,
    version: u32,
    (schema, streamed): (Schema, Streamed),
    source: &str,
) -> Result<DatasetInfo, DatasetsError> {
    let new = NewVersion {
        dataset,
        version,
        rows: streamed.rows,
        schema: &schema,
        stats: &streamed.stats,
        source,
        created_at_ms: now_ms(),
    };
    store::insert_version(connection, &new)?;
    let dataset = DatasetRow {
        latest_version: version,
        ..dataset.clone()
    };
    store::info(connection, &dataset, Some(version))
}

/// Every dataset at its latest version.
pub(crate) fn list(shared: &Shared) -> Result<Vec<DatasetInfo>, DatasetsError> {
    shared.store.read(store::list)
}

/// Every version of one dataset.
pub(crate) fn versions(
    shared: &Shared,
    dataset: &DatasetRef,
) -> Result<Vec<DatasetInfo>, DatasetsError> {
    shared
        .store
        .read(|c| store::versions(c, &store::find(c, dataset)?))
}

/// A page of rows and columns of a version.
pub(crate) fn get(shared: &Shared, request: &GetRequest) -> Result<DatasetPage, DatasetsError> {
    shared.store.read(|connection| {
        let dataset = store::find(connection, &request.dataset)?;
        let info = store::info(connection, &dataset, request.version)?;
        let stats = store::stats(connection, dataset.id, info.version)?;
        let indices = selected_columns(request, &info)?;
        let start = request.offset.min(info.rows);
        let end = request.limit.map_or(info.rows, |limit| {
            start.saturating_add(limit).min(info.rows)
        });
        // Before any chunk is read: a page over the limit would only be refused by the
        // transport after the server had built it (or take the server's memory with it).
        PageSize::of(&info, &stats, &indices).check(
            end - start,
            shared.config.max_page_bytes,
            &request.dataset,
            info.version,
        )?;
        let mut frame = Frame::default();
        for index in indices {
            let column = &info.schema.columns[index];
            let categories = match stats.get(index) {
                Some(ColumnStats::Categorical(stats)) => stats.labels.clone(),
                _ => Vec::new(),
            };
            let at = ColumnAt {
                dataset: dataset.id,
                version: info.version,
                column: index,
                kind: column.kind,
            };
            let data = store::read_column(connection, at, start..end, categories)?;
            frame.columns.push(Column {
                name: column.name.clone(),
                data,
            });
        }
        Ok(DatasetPage {
            info,
            offset: start,
            frame,
        })
    })
}

/// The bytes a page of rows of some columns takes, estimated from the schema and the
/// statistics alone: 8 per numeric cell, 4 per categorical code, and the labels of each
/// categorical column (a page carries its whole dictionary) with the names and the
/// version's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PageSize {
    /// Bytes whatever the row count.
    fixed: u64,
    /// Bytes per row.
    per_row: u64,
}

/// The bytes of a page's description, besides the names and labels counted one by one.
const PAGE_OVERHEAD: u64 = 4096;

/// The bytes counted for each name or label besides its text: its length prefix.
const PER_STRING: u64 = 8;

impl PageSize {
    fn of(info: &DatasetInfo, stats: &[ColumnStats], indices: &[usize]) -> PageSize {
        let text = |text: &str| text.len() as u64 + PER_STRING;
        let described: u64 = info.schema.columns.iter().map(|c| text(&c.name) + 8).sum();
        let mut size = PageSize {
            fixed: PAGE_OVERHEAD + text(&info.name) + text(&info.source) + described,
            per_row: 0,
        };
        for &index in indices {
            size.fixed += text(&info.schema.columns[index].name);
            match (info.schema.columns[index].kind, stats.get(index)) {
                (ColumnKind::Categorical, Some(ColumnStats::Categorical(stats))) => {
                    size.per_row += 4;
                    size.fixed += stats.labels.iter().map(|label| text(label)).sum::<u64>();
                }
                (ColumnKind::Categorical, _) => size.per_row += 4,
                (ColumnKind::Numeric, _) => size.per_row += 8,
            }
        }
        size
    }

    /// The rows that fit in `limit` bytes.
    fn rows_within(self, limit: u64) -> u64 {
        match limit.checked_sub(self.fixed) {
            None => 0,
            Some(room) => room.checked_div(self.per_row).unwrap_or(u64::MAX),
        }
    }

    /// Checks that `rows` rows fit in `limit` bytes.
    ///
    /// # Errors
    /// [`DatasetsError::PageTooLarge`] saying how many rows fit.
    fn check(
        self,
        rows: u64,
        limit: u64,
        dataset: &DatasetRef,
        version: u32,
    ) -> Result<(), DatasetsError> {
        let bytes = self.fixed.saturating_add(rows.saturating_mul(self.per_row));
        if bytes <= limit {
            return Ok(());
        }
        Err(DatasetsError::PageTooLarge {
            dataset: dataset.to_string(),
            version,
            rows,
            bytes,
            limit,
            fit: self.rows_within(limit),
        })
    }
}

/// The indices of the requested columns, in the requested order.
fn selected_columns(request: &GetRequest, info: &DatasetInfo) -> Result<Vec<usize>, DatasetsError> {
    let columns = &info.schema.columns;
    let Some(names) = &request.columns else {
        return Ok((0..columns.len()).collect());
    };
    let mut seen = HashSet::with_capacity(names.len());
    if let Some(repeated) = names.iter().find(|name| !seen.insert(name.as_str())) {
        return Err(DatasetsError::RepeatedColumn {
            column: repeated.clone(),
        });
    }
    names
        .iter()
        .map(|name| {
            columns
                .iter()
                .position(|column| column.name == *name)
                .ok_or_else(|| DatasetsError::UnknownColumn {
                    dataset: DatasetRef::Name(info.name.clone()).to_string(),
                    version: info.version,
                    column: name.clone(),
                    columns: quoted_list(columns.iter().map(|column| column.name.as_str())),
                })
        })
        .collect()
}

/// The statistics of every column of a version.
pub(crate) fn describe(
    shared: &Shared,
    dataset: &DatasetRef,
    version: Option<u32>,
) -> Result<Description, DatasetsError> {
    shared.store.read(|connection| {
        let row = store::find(connection, dataset)?;
        let info = store::info(connection, &row, version)?;
        let stats = store::stats(connection, row.id, info.version)?;
        if stats.len() != info.schema.columns.len() {
            return Err(DatasetsError::Corrupt(format!(
                "{dataset} version {}: statistics for {} of {} columns",
                info.version,
                stats.len(),
                info.schema.columns.len()
            )));
        }
        let columns = info
            .schema
            .columns
            .iter()
            .zip(&stats)
            .map(|(c, s)| s.summary(&c.name))
            .collect();
        Ok(Description { info, columns })
    })
}

/// Deletes a dataset with its versions and its chunks, then gives the freed pages back to
/// the file system. Once started, it completes: it ignores cancellation.
pub(crate) fn delete(shared: &Shared, dataset: &DatasetRef) -> Result<Deleted, DatasetsError> {
    let deleted = shared.store.write(Cancel::never("delete"), |transaction| {
        let row = store::find(transaction, dataset)?;
        let versions = store::delete(transaction, &row)?;
        Ok(Deleted {
            id: DatasetId(row.id),
            name: row.name,
            versions,
        })
    })?;
    // The delete is committed: a failure here only leaves the pages free inside the file,
    // where later writes reuse them (and the next delete reclaims them).
    match shared.store.reclaim() {
        Ok(pages) => tracing::debug!(pages, "freed pages returned to the file system"),
        Err(error) => tracing::warn!(%error, "deleted, but the freed pages stay in the file"),
    }
    Ok(deleted)
}

fn taken(existing: DatasetRow) -> DatasetsError {
    DatasetsError::DuplicateName {
        name: existing.name,
        id: existing.id,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

/// Where the rows of a version go.
#[derive(Clone, Copy)]
struct Destination<'a> {
    connection: &'a Connection,
    dataset: u64,
    version: u32,
    /// The stored row number of the first new row.
    row_start: u64,
}

/// A long write that stops at the next block once its caller has gone away.
struct Work<'a> {
    chunk_rows: usize,
    cancel: Cancel<'a>,
    #[cfg(test)]
    hooks: &'a Hooks,
}

impl<'a> Work<'a> {
    fn new(shared: &'a Shared, cancel: Cancel<'a>) -> Self {
        Work {
            chunk_rows: shared.config.chunk_rows,
            cancel,
            #[cfg(test)]
            hooks: &shared.hooks,
        }
    }

    fn write_rows(
        &self,
        opened: &mut OpenedSource,
        scan: &CsvScan,
        plans: Vec<ColumnPlan>,
        into: Destination<'_>,
    ) -> Result<Streamed, DatasetsError> {
        let mut sink = Checked {
            work: self,
            inner: store::ChunkWriter::new(into.connection, into.dataset, into.version),
            #[cfg(test)]
            written: 0,
        };
        let layout = BlockLayout {
            chunk_rows: self.chunk_rows,
            row_start: into.row_start,
        };
        opened.stream(scan, plans, layout, &mut sink, self.cancel)
    }
}

/// A sink that checks for cancellation before each block.
struct Checked<'w, S> {
    work: &'w Work<'w>,
    inner: S,
    /// Blocks written, for the test hook.
    #[cfg(test)]
    written: u64,
}

impl<S: BlockSink> BlockSink for Checked<'_, S> {
    fn write(
        &mut self,
        column: usize,
        row_start: u64,
        block: Block<'_>,
    ) -> Result<(), DatasetsError> {
        self.work.cancel.check()?;
        self.inner.write(column, row_start, block)?;
        #[cfg(test)]
        {
            self.written += 1;
            if let Some(hook) = &self.work.hooks.after_block {
                hook(self.written)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod page_size_tests {
    use super::*;
    use crate::stats::{CategoricalStats, NumericStats};
    use mltools_core::datasets::ColumnSchema;

    fn info(columns: &[(&str, ColumnKind)]) -> DatasetInfo {
        DatasetInfo {
            id: DatasetId(1),
            name: "d".into(),
            version: 1,
            latest_version: 1,
            rows: 1_000_000,
            schema: Schema {
                columns: columns
                    .iter()
                    .map(|(name, kind)| ColumnSchema {
                        name: (*name).into(),
                        kind: *kind,
                    })
                    .collect(),
                target: None,
            },
            source: "s".into(),
            created_at_ms: 0,
        }
    }

    #[test]
    fn a_page_is_costed_per_cell_and_per_label_before_reading() {
        let info = info(&[("x", ColumnKind::Numeric), ("k", ColumnKind::Categorical)]);
        let stats = vec![
            ColumnStats::Numeric(NumericStats::default()),
            ColumnStats::Categorical(CategoricalStats::with_labels(vec![
                "a".repeat(92),
                "b".repeat(92),
            ])),
        ];
        let both = PageSize::of(&info, &stats, &[0, 1]);
        let numeric = PageSize::of(&info, &stats, &[0]);
        assert_eq!(both.per_row, 12);
        assert_eq!(numeric.per_row, 8);
        assert_eq!(both.fixed - numeric.fixed, 2 * 100 + 1 + PER_STRING);
        let limit = numeric.fixed + 8 * 1000;
        assert_eq!(numeric.rows_within(limit), 1000);
        assert!(numeric.check(1000, limit, &"d".into(), 1).is_ok());
        let error = numeric.check(1001, limit, &"d".into(), 1).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        let message = error.to_string();
        for needle in [
            "dataset `d` version 1",
            "1001 rows",
            "at most 1000 rows",
            "max_page_bytes",
        ] {
            assert!(message.contains(needle), "{message} lacks {needle}");
        }
        assert_eq!(
            both.rows_within(both.fixed - 1),
            0,
            "the labels alone overflow"
        );
        assert_eq!(
            PageSize::of(&info, &stats, &[]).rows_within(1 << 20),
            u64::MAX
        );
    }
}
