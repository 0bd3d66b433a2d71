//! A 1,000,000 × 20 numeric CSV imports through an embedded node and reads back exactly.
//! (Its time and peak memory are measured by `cargo bench --bench import`, not here.)

use mltools::prelude::*;
use std::io::{BufWriter, Write};
use std::time::Duration;

const ROWS: usize = 1_000_000;
const COLUMNS: usize = 20;

fn value(row: usize, column: usize) -> f64 {
    ((row * 31 + column * 17) % 100_003) as f64 / 8.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_of_twenty_columns_import_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.csv");
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        let header: Vec<String> = (0..COLUMNS).map(|c| format!("f{c}")).collect();
        writeln!(out, "{}", header.join(",")).unwrap();
        for row in 0..ROWS {
            for column in 0..COLUMNS {
                let separator = if column + 1 == COLUMNS { '\n' } else { ',' };
                // Eighths print exactly, so the text round-trips to the same f64.
                write!(out, "{}{separator}", value(row, column)).unwrap();
            }
        }
        out.flush().unwrap();
    }

    let node = Node::builder()
        .data_dir(dir.path().join("data"))
        .start()
        .await
        .unwrap();
    let datasets = node.datasets().unwrap();
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + Duration::from_secs(600);
    let info = datasets
        .import(
            ctx,
            ImportRequest::new(Source::File {
                path: path.display().to_string(),
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(info.rows, ROWS as u64);
    assert_eq!(info.schema.columns.len(), COLUMNS);

    let page = datasets
        .get(ctx, GetRequest::all(info.id))
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(page.frame.rows(), ROWS);
    for (column_index, column) in page.frame.columns.iter().enumerate() {
        let mltools::core::ColumnData::Numeric(values) = &column.data else {
            panic!("column {} is not numeric", column.name);
        };
        for (row, read) in values.iter().enumerate() {
            assert_eq!(
                *read,
                value(row, column_index),
                "row {row}, column {column_index}"
            );
        }
    }

    // A page from the middle, across a chunk boundary, with a column subset.
    let page = datasets
        .get(
            ctx,
            GetRequest {
                offset: 65_530,
                limit: Some(20),
                columns: Some(vec!["f19".into(), "f3".into()]),
                ..GetRequest::all(info.id)
            },
        )
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(page.frame.names().collect::<Vec<_>>(), ["f19", "f3"]);
    let mltools::core::ColumnData::Numeric(values) = &page.frame.columns[1].data else {
        panic!("f3 is numeric");
    };
    let expected: Vec<f64> = (65_530..65_550).map(|row| value(row, 3)).collect();
    assert_eq!(values, &expected);
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}
