//! Reading a whole dataset version in pages, so that no single message exceeds a remote
//! transport's frame limit, however large the dataset.
//!
//! tarpc has no streaming calls, and a remote transport refuses a frame above its
//! `max_frame_bytes`; [`read_all`] asks the datasets service for one page of rows at a time
//! and joins them into a frame whose columns were allocated once, at their final size, from
//! the first page's row count. The reader holds the joined frame plus one page (and, over a
//! remote transport, that page's encoded bytes): about 1.1× the data at the default page
//! size, wherever the datasets service runs.
//!
//! ```
//! use mltools_transport::paging::{DEFAULT_PAGE_ROWS, page_rows_for};
//!
//! // 20 numeric columns fit 262,144 rows (40 MiB) in a 64 MiB frame...
//! assert_eq!(page_rows_for(20, 64 << 20), DEFAULT_PAGE_ROWS);
//! // ...and 1,000 columns fewer.
//! assert_eq!(page_rows_for(1_000, 64 << 20), 5_592);
//! ```

use crate::DatasetsClient;
use mltools_core::datasets::{DatasetPage, GetRequest};
use mltools_core::{Column, ColumnData, RpcResultExt, ServiceError};
use std::time::Duration;
use tarpc::context;

/// Rows per page by default: 262,144 rows × 20 f64 columns is 40 MiB, inside the default
/// 64 MiB frame.
pub const DEFAULT_PAGE_ROWS: u64 = 262_144;

/// The deadline of each page's call.
const PAGE_CALL: Duration = Duration::from_secs(300);

/// The rows per page that keep a page of `columns` numeric columns within `frame_bytes`,
/// with a third of the frame left for the dataset's description and categories; at most
/// [`DEFAULT_PAGE_ROWS`], at least 1.
pub fn page_rows_for(columns: usize, frame_bytes: u64) -> u64 {
    let per_row = 8 * columns.max(1) as u64;
    (frame_bytes / 3 * 2 / per_row).clamp(1, DEFAULT_PAGE_ROWS)
}

/// Reads every row of `request`'s dataset version (its `offset` and `limit` are ignored) in
/// pages of `page_rows` rows, and joins them. Every page after the first names the version
/// the first one read, so a concurrent update never mixes versions.
///
/// # Errors
/// What the datasets service answers (an unknown dataset, version or column), or a
/// transport failure; `InvalidInput` for `page_rows` = 0 or a dataset that changed shape
/// between pages.
pub async fn read_all(
    datasets: &DatasetsClient,
    request: GetRequest,
    page_rows: u64,
) -> Result<DatasetPage, ServiceError> {
    if page_rows == 0 {
        return Err(ServiceError::invalid_input("page_rows must be at least 1"));
    }
    let call = || {
        let mut ctx = context::current();
        ctx.deadline = std::time::Instant::now() + PAGE_CALL;
        ctx
    };
    let first = GetRequest {
        offset: 0,
        limit: Some(page_rows),
        ..request.clone()
    };
    let mut whole = datasets.get(call(), first).await.into_service("datasets")?;
    let version = Some(whole.info.version);
    let total = whole.info.rows;
    let mut read = whole.frame.rows() as u64;
    if read < total {
        // Allocated once at the final size: appending never reallocates (and never holds
        // an old and a new buffer of a column at once).
        let more = usize::try_from(total - read).unwrap_or(usize::MAX);
        for column in &mut whole.frame.columns {
            reserve(column, more);
        }
    }
    while read < total {
        let next = GetRequest {
            version,
            offset: read,
            limit: Some(page_rows),
            ..request.clone()
        };
        let page = datasets.get(call(), next).await.into_service("datasets")?;
        let rows = page.frame.rows() as u64;
        if rows == 0 || page.frame.columns.len() != whole.frame.columns.len() {
            return Err(ServiceError::invalid_input(format!(
                "dataset {} changed while it was read in pages (row {read} of {total})",
                whole.info.id
            )));
        }
        for (column, part) in whole.frame.columns.iter_mut().zip(page.frame.columns) {
            append(column, part)?;
        }
        read += rows;
    }
    whole.offset = 0;
    Ok(whole)
}

fn reserve(column: &mut Column, more: usize) {
    match &mut column.data {
        ColumnData::Numeric(values) => values.reserve_exact(more),
        ColumnData::Categorical { codes, .. } => codes.reserve_exact(more),
    }
}

fn append(column: &mut Column, part: Column) -> Result<(), ServiceError> {
    match (&mut column.data, part.data) {
        (ColumnData::Numeric(values), ColumnData::Numeric(more)) => values.extend(more),
        (
            ColumnData::Categorical { codes, categories },
            ColumnData::Categorical {
                codes: more,
                categories: later,
            },
        ) => {
            // A version's dictionary only grows; a later page carries the same prefix.
            if later.len() >= categories.len() {
                *categories = later;
            }
            codes.extend(more);
        }
        _ => {
            return Err(ServiceError::invalid_input(format!(
                "column `{}` changed type between pages",
                column.name
            )));
        }
    }
    Ok(())
}

/// The page size, in bytes of numeric data, [`read_all_within`] aims at by default: half the
/// default 64 MiB frame.
pub const DEFAULT_PAGE_BYTES: u64 = 32 << 20;

/// As [`read_all`], with pages sized from the dataset's width so that each page's numeric
/// data stays within `page_bytes` (see [`page_rows_for`]): a first call reads no row, only
/// the version's schema, and pins the version.
///
/// # Errors
/// As [`read_all`]; `InvalidInput` for `page_bytes` = 0.
pub async fn read_all_within(
    datasets: &DatasetsClient,
    request: GetRequest,
    page_bytes: u64,
) -> Result<DatasetPage, ServiceError> {
    if page_bytes == 0 {
        return Err(ServiceError::invalid_input("page_bytes must be at least 1"));
    }
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + PAGE_CALL;
    let probe = GetRequest {
        offset: 0,
        limit: Some(0),
        ..request.clone()
    };
    let schema = datasets.get(ctx, probe).await.into_service("datasets")?;
    let columns = request
        .columns
        .as_ref()
        .map_or(schema.info.schema.columns.len(), Vec::len);
    let pinned = GetRequest {
        version: Some(schema.info.version),
        ..request
    };
    read_all(datasets, pinned, page_rows_for(columns, page_bytes)).await
}
