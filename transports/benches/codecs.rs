//! Encode + decode time and size of the remote codecs on a small message (a `list` reply of
//! five datasets) and a dataset-sized one (a `get` reply of 100,000 rows × 20 `f64`
//! columns, which cross as byte blocks), each wrapped in the tarpc response that actually
//! crosses the wire and encoded on the transport's own path.
//!
//! Run with `cargo bench -p mltools-transport --bench codecs`; prints a table.

use mltools_core::datasets::{ColumnSchema, DatasetInfo, DatasetPage, DatasetsResponse, Schema};
use mltools_core::frame::ColumnKind;
use mltools_core::{Column, DatasetId, Frame};
use mltools_transport::Codec;
use mltools_transport::codec::{Incoming, Outgoing};
use std::hint::black_box;
use std::time::{Duration, Instant};
use tarpc::Response;

type Reply = Response<DatasetsResponse>;

fn info(id: u64, columns: usize, rows: u64) -> DatasetInfo {
    let columns = (0..columns)
        .map(|c| ColumnSchema {
            name: format!("feature_{c}"),
            kind: ColumnKind::Numeric,
        })
        .collect();
    DatasetInfo {
        id: DatasetId(id),
        name: format!("dataset-{id}"),
        version: 3,
        latest_version: 3,
        rows,
        schema: Schema {
            columns,
            target: Some("feature_0".into()),
        },
        source: format!("file:///data/dataset-{id}.csv"),
        created_at_ms: 1_760_000_000_000 + id as i64,
    }
}

fn list_reply() -> Reply {
    let infos = (1..=5).map(|id| info(id, 6, 10_000 * id)).collect();
    Response {
        request_id: 42,
        message: Ok(DatasetsResponse::List(Ok(infos))),
    }
}

fn get_reply(rows: usize, columns: usize) -> Reply {
    let frame = Frame {
        columns: (0..columns)
            .map(|c| {
                let values = (0..rows)
                    .map(|r| (r * columns + c) as f64 * 0.37 - 11.0)
                    .collect();
                Column::numeric(format!("feature_{c}"), values)
            })
            .collect(),
    };
    let page = DatasetPage {
        info: info(9, columns, rows as u64),
        offset: 0,
        frame,
    };
    Response {
        request_id: 43,
        message: Ok(DatasetsResponse::Get(Ok(page))),
    }
}

/// Median of `rounds` runs of `batch` calls of `work`, per call.
fn median(rounds: usize, batch: usize, mut work: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                work();
            }
            started.elapsed() / batch as u32
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Median encode time, decode time, and the encoded size.
fn measure(
    codec: Codec,
    reply: &Reply,
    rounds: usize,
    batch: usize,
) -> (Duration, Duration, usize) {
    let bytes = reply.encode(codec).expect("encodes");
    let encode = median(rounds, batch, || {
        black_box(reply.encode(codec).expect("encodes"));
    });
    let decode = median(rounds, batch, || {
        black_box(Reply::decode(codec, black_box(&bytes)).expect("decodes"));
    });
    (encode, decode, bytes.len())
}

fn pretty_time(time: Duration) -> String {
    let micros = time.as_secs_f64() * 1e6;
    if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

fn pretty_size(bytes: usize) -> String {
    if bytes < 10_000 {
        format!("{bytes} B")
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

fn main() {
    let small = list_reply();
    let large = get_reply(100_000, 20);
    println!(
        "| codec | list reply: encode | decode | bytes | 100k × 20 get reply: encode | decode | bytes |"
    );
    println!("|---|---|---|---|---|---|---|");
    for codec in Codec::ALL {
        let (small_encode, small_decode, small_size) = measure(codec, &small, 31, 2000);
        // JSON turns every byte of the blocks into a number: a few rounds say enough.
        let rounds = if codec == Codec::Json { 3 } else { 15 };
        let (large_encode, large_decode, large_size) = measure(codec, &large, rounds, 1);
        println!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            codec.as_str(),
            pretty_time(small_encode),
            pretty_time(small_decode),
            pretty_size(small_size),
            pretty_time(large_encode),
            pretty_time(large_decode),
            pretty_size(large_size),
        );
    }
}
