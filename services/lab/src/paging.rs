//! Reading a whole dataset version in pages, so that no single message exceeds a remote
//! transport's frame limit, however large the dataset.

use mltools_core::datasets::{DatasetPage, GetRequest};
use mltools_core::{Column, ColumnData, RpcResultExt, ServiceError};
use mltools_transport::DatasetsClient;
use std::time::Duration;
use tarpc::context;

/// Rows per page: 256k rows × 20 f64 columns is 40 MiB, inside the 64 MiB default frame.
pub const DEFAULT_PAGE_ROWS: u64 = 262_144;

/// Reads every row of `request`'s dataset version (its `offset` and `limit` are ignored)
/// in pages of `page_rows` rows, and joins them. The caller holds the joined frame and one
/// page at a time.
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
        ctx.deadline = std::time::Instant::now() + Duration::from_secs(300);
        ctx
    };
    let first = GetRequest {
        offset: 0,
        limit: Some(page_rows),
        ..request.clone()
    };
    let mut whole = datasets.get(call(), first).await.into_service("datasets")?;
    // Every later page names the version read first, so pages never mix versions.
    let version = Some(whole.info.version);
    let total = whole.info.rows;
    let mut read = whole.frame.rows() as u64;
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
