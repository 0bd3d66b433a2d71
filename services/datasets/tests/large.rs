//! A large import, read back exactly. (The 1,000,000 × 20 import and its peak memory are
//! covered by the workspace's `tests/large_import.rs` and `benches/import.rs`.)

mod common;

use common::Harness;
use mltools_core::datasets::{GetRequest, ImportRequest, Source};
use mltools_core::frame::ColumnData;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

const COLUMNS: usize = 20;

/// The value of row `row`, column `column`: varied signs, magnitudes and fractions, with
/// an occasional missing value.
fn value(row: usize, column: usize) -> Option<f64> {
    if (row + column).is_multiple_of(97) {
        return None;
    }
    let sign = if (row ^ column) & 1 == 0 { 1.0 } else { -1.0 };
    Some(sign * (row as f64 * 1.25 + column as f64 / 8.0 + (row % 13) as f64 * 1e-3))
}

fn write_csv(path: &Path, rows: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let header: Vec<String> = (0..COLUMNS).map(|c| format!("c{c}")).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    let mut line = String::new();
    for row in 0..rows {
        line.clear();
        for column in 0..COLUMNS {
            if column > 0 {
                line.push(',');
            }
            if let Some(v) = value(row, column) {
                line.push_str(&v.to_string());
            }
        }
        line.push('\n');
        out.write_all(line.as_bytes()).unwrap();
    }
    out.flush().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_thousand_rows_read_back_exactly() {
    const ROWS: usize = 200_000;
    let h = Harness::new();
    let path = h.dir.path().join("big.csv");
    write_csv(&path, ROWS);
    let started = Instant::now();
    let source = Source::File {
        path: path.display().to_string(),
    };
    let info = h.state.import(ImportRequest::new(source)).await.unwrap();
    let imported = started.elapsed();
    assert_eq!(
        (info.rows, info.schema.columns.len()),
        (ROWS as u64, COLUMNS)
    );
    let page = h.state.get(GetRequest::all(info.id)).await.unwrap();
    let read = started.elapsed() - imported;
    for (column, data) in page.frame.columns.iter().enumerate() {
        let ColumnData::Numeric(values) = &data.data else {
            panic!("c{column} is numeric")
        };
        assert_eq!(values.len(), ROWS);
        for (row, &got) in values.iter().enumerate() {
            match value(row, column) {
                Some(want) => assert_eq!(got, want, "row {row}, column {column}"),
                None => assert!(got.is_nan(), "row {row}, column {column}"),
            }
        }
    }
    eprintln!("200k x 20: import {imported:?}, read {read:?}");
}
