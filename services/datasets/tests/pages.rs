//! A `get` larger than `max_page_bytes` is refused before anything is read, saying how many
//! rows fit; pages of that many rows read the whole version.

mod common;

use common::{Harness, assert_error, bytes};
use mltools_core::ErrorKind;
use mltools_core::datasets::{GetRequest, ImportRequest};
use mltools_core::frame::ColumnData;

/// The number after `at most ` in a refusal.
fn rows_that_fit(message: &str) -> u64 {
    let after = message
        .split("at most ")
        .nth(1)
        .expect("the refusal says how many fit");
    after
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a row count")
}

#[tokio::test]
async fn a_page_over_the_limit_is_refused_saying_how_many_rows_fit() {
    let h = Harness::with(|config| config.max_page_bytes = 64 << 10);
    let mut text = String::from("x,y,kind\n");
    for row in 0..10_000 {
        text.push_str(&format!("{row},{},k{}\n", row * 2, row % 3));
    }
    let info = h
        .state
        .import(ImportRequest::new(bytes("wide", &text)).name("wide"))
        .await
        .unwrap();

    let error = h
        .state
        .get(GetRequest::all(info.id))
        .await
        .expect_err("10,000 rows of 20 bytes are over 64 KiB");
    assert_eq!(error.kind(), ErrorKind::InvalidInput, "{error}");
    let message = error.to_string();
    for needle in [
        "version 1: a page of 10000 rows",
        "over the limit of 65536",
        "max_page_bytes",
        "`offset` and `limit`",
    ] {
        assert!(message.contains(needle), "`{message}` lacks `{needle}`");
    }
    let fit = rows_that_fit(&message);
    assert!((1_000..3_276).contains(&fit), "{fit} rows of 20 bytes");

    // One row more than fits is refused; that many rows are read, page after page.
    let page = |offset, limit| GetRequest {
        offset,
        limit: Some(limit),
        ..GetRequest::all(info.id)
    };
    assert_error(
        h.state.get(page(0, fit + 1)).await,
        ErrorKind::InvalidInput,
        &[&format!("at most {fit} rows")],
    );
    let mut xs = Vec::new();
    while (xs.len() as u64) < info.rows {
        let read = h.state.get(page(xs.len() as u64, fit)).await.unwrap();
        let ColumnData::Numeric(values) = &read.frame.columns[0].data else {
            panic!("x is numeric");
        };
        xs.extend_from_slice(values);
    }
    assert_eq!(xs.len(), 10_000);
    assert!(xs.iter().enumerate().all(|(row, &x)| x == row as f64));

    // Fewer columns fit more rows; a page past the end is empty, not refused.
    let narrow = GetRequest {
        columns: Some(vec!["kind".into()]),
        ..GetRequest::all(info.id)
    };
    let rows = h.state.get(narrow).await.map(|page| page.frame.rows());
    assert_eq!(rows.unwrap(), 10_000, "10,000 codes of 4 bytes fit");
    let past = h.state.get(page(10_000, 1_000_000)).await.unwrap();
    assert_eq!(past.frame.rows(), 0);
}
