//! A real call: `datasets.get` of a whole 100 000 × 20 numeric dataset over each transport,
//! beside tonic carrying as many bytes.
//!
//! The datasets service runs as a node runs it (a [`DatasetsState`] on its own temp dir,
//! behind [`DatasetsServer`] and the service's default limits), hosted by `loopback` over
//! direct, tcp, tls-tcp and quic. The dataset is imported once from CSV bytes; every call
//! then reads all of it back (`GetRequest::all`: one page, as 16 MB is under the service's
//! default `max_page_bytes` of 48 MiB), so a call is the store's read, the page's encoding,
//! the transport and the decoding. The tonic row carries the postcard-encoded page (encoded
//! once, held by the server) for an empty request: the wire alone, no store and no
//! decoding.

use crate::grpc::{PAGE, Tonic, grpc_server};
use crate::measure::{Latency, percentiles};
use crate::{Result, failed};
use bytes::Bytes;
use mltools::DatasetsClient;
use mltools::core::datasets::{DatasetPage, Datasets, GetRequest, ImportRequest, Source};
use mltools::core::frame::ColumnData;
use mltools::transport::conformance::{LoopbackOptions, TransportKind, loopback};
use mltools::transport::{Codec, Limits, service};
use mltools_datasets::{DatasetsConfig, DatasetsServer, DatasetsState};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// Rows of the dataset.
pub(crate) const ROWS: usize = 100_000;
/// Numeric columns of the dataset.
pub(crate) const COLUMNS: usize = 20;
/// Untimed reads before the timed ones.
pub(crate) const GET_WARM_UPS: usize = 2;
/// Timed reads per row of the table.
pub(crate) const GET_CALLS: usize = 10;
/// The transports the datasets service is hosted over.
const KINDS: [TransportKind; 4] = [
    TransportKind::Direct,
    TransportKind::Tcp,
    TransportKind::TlsTcp,
    TransportKind::Quic,
];

/// One row of the datasets table.
pub(crate) struct GetRow {
    pub(crate) name: String,
    pub(crate) latency: Latency,
}

/// The datasets table: its rows (ours, then tonic's), and the bytes a call carries back.
pub(crate) struct GetTable {
    pub(crate) rows: Vec<GetRow>,
    /// The postcard-encoded page, in bytes.
    pub(crate) page_bytes: usize,
}

/// Imports the dataset, then times a whole read of it over every transport and over tonic.
pub(crate) async fn datasets_get(
    options: &LoopbackOptions,
    tasks: &mut JoinSet<()>,
) -> Result<GetTable> {
    let dir = tempfile::tempdir().map_err(|error| failed("a temp dir for the datasets", error))?;
    let config = DatasetsConfig::with_data_dir(dir.path());
    let state = tokio::task::spawn_blocking(move || DatasetsState::open(config))
        .await
        .map_err(|error| failed("opening the datasets store", error))?
        .map_err(|error| failed("opening the datasets store", error))?;
    eprintln!("datasets: importing {ROWS} × {COLUMNS}");
    let csv = tokio::task::spawn_blocking(numeric_csv)
        .await
        .map_err(|error| failed("making the CSV", error))?;
    let source = Source::Bytes {
        label: "bench.csv".to_owned(),
        data: csv,
    };
    let info = state
        .import(ImportRequest::new(source).name("bench"))
        .await
        .map_err(|error| failed("importing the dataset", error))?;
    let request = GetRequest::all(info.id);
    let page = state
        .get(request.clone())
        .await
        .map_err(|error| failed("reading the dataset back", error))?;
    check(&page)?;
    // The transports' own encoder, as the wire uses it.
    let encoded = Codec::Postcard
        .encode(&page)
        .map_err(|error| failed("encoding the page with postcard", error))?;
    let page_bytes = encoded.len();

    let mut rows = Vec::new();
    for kind in KINDS {
        let service = service!(
            "datasets",
            Limits::default(),
            DatasetsServer::new(state.clone()).serve()
        );
        let host = loopback(kind, service, options)
            .await
            .map_err(|error| failed(&format!("a loopback {kind} datasets host"), error))?;
        let client = DatasetsClient::from(host.client());
        let name = format!("{kind}");
        let latency = timed(&name, || async {
            let page = client
                .get(tarpc::context::current(), request.clone())
                .await
                .map_err(|error| failed(&format!("datasets.get over {kind}"), error))?
                .map_err(|error| failed(&format!("datasets.get over {kind}"), error))?;
            check(&page)
        })
        .await?;
        rows.push(GetRow { name, latency });
    }

    let address = grpc_server(Bytes::from(encoded), tasks)?;
    let tonic = Tonic::connect(address, PAGE).await?;
    let latency = timed(crate::TONIC, || async {
        let answer = tonic.unary(Bytes::new()).await?;
        if answer.len() == page_bytes {
            Ok(())
        } else {
            Err(format!("tonic answered {} bytes, not {page_bytes}", answer.len()).into())
        }
    })
    .await?;
    rows.push(GetRow {
        name: crate::TONIC.to_owned(),
        latency,
    });
    state.close();
    state.idle().await;
    Ok(GetTable { rows, page_bytes })
}

/// p50 and p99 of [`GET_CALLS`] calls after [`GET_WARM_UPS`].
async fn timed<F, Fut>(name: &str, mut call: F) -> Result<Latency>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<()>>,
{
    eprintln!("datasets.get: {name}");
    for _ in 0..GET_WARM_UPS {
        call().await?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(GET_CALLS);
    for _ in 0..GET_CALLS {
        let started = Instant::now();
        call().await?;
        times.push(started.elapsed());
    }
    percentiles(times, &format!("datasets.get over {name}"))
}

/// Whether a page holds the whole dataset.
fn check(page: &DatasetPage) -> Result<()> {
    let columns = &page.frame.columns;
    let whole = page.info.rows == ROWS as u64
        && columns.len() == COLUMNS
        && columns.iter().all(
            |column| matches!(&column.data, ColumnData::Numeric(values) if values.len() == ROWS),
        );
    if whole {
        Ok(())
    } else {
        Err(format!(
            "a page of {} rows × {} columns, not {ROWS} × {COLUMNS} numeric",
            page.info.rows,
            columns.len()
        )
        .into())
    }
}

/// The dataset as CSV: a header `c0..c19`, then [`ROWS`] rows of varied values (signs,
/// magnitudes and fractions, so that no column compresses to a constant).
fn numeric_csv() -> Vec<u8> {
    use std::fmt::Write;
    let mut text = String::with_capacity(ROWS * COLUMNS * 12);
    let header: Vec<String> = (0..COLUMNS).map(|column| format!("c{column}")).collect();
    text.push_str(&header.join(","));
    text.push('\n');
    for row in 0..ROWS {
        for column in 0..COLUMNS {
            if column > 0 {
                text.push(',');
            }
            let sign = if (row ^ column) & 1 == 0 { 1.0 } else { -1.0 };
            let value = sign * (row as f64 * 1.25 + column as f64 / 8.0 + (row % 13) as f64 * 1e-3);
            // Writing to a String cannot fail.
            let _ = write!(text, "{value}");
        }
        text.push('\n');
    }
    text.into_bytes()
}
