//! Hostile CSV through the whole import: oversized records and headers, binary data,
//! odd delimiters and runs of empty lines are refused (or read) without memory growing
//! with them, each refusal naming the line and the limit.

mod common;

use common::{Harness, assert_error, bytes};
use mltools_core::ErrorKind;
use mltools_core::datasets::{CsvOptions, ImportRequest, Source};

fn raw(label: &str, data: Vec<u8>) -> ImportRequest {
    ImportRequest::new(Source::Bytes {
        label: format!("{label}.csv"),
        data,
    })
}

#[tokio::test]
async fn a_record_longer_than_the_limit_is_refused_naming_its_line() {
    let h = Harness::with(|config| config.max_record_bytes = 4096);
    let mut text = String::from("a,b\n1,2\n");
    text.push_str(&"9".repeat(10_000));
    text.push_str(",3\n");
    let result = h
        .state
        .import(ImportRequest::new(bytes("long", &text)))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &[
            "long.csv: line 3: the record is longer than 4096 bytes",
            "max_record_bytes",
        ],
    );
    // An unterminated quote makes the rest of the file one record: refused the same way.
    let mut open_quote = String::from("a,b\n1,\"");
    open_quote.push_str(&"x\n".repeat(5_000));
    let result = h
        .state
        .import(ImportRequest::new(bytes("quote", &open_quote)))
        .await;
    assert_error(result, ErrorKind::InvalidInput, &["quote.csv: line 2: "]);
    assert!(h.state.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn too_many_columns_are_refused_naming_the_limit() {
    let h = Harness::with(|config| config.max_columns = 100);
    let header: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
    let text = format!("{}\n{}\n", header.join(","), vec!["1"; 150].join(","));
    let result = h
        .state
        .import(ImportRequest::new(bytes("wide", &text)))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &[
            "wide.csv: line 1: 150 fields, over the limit of 100",
            "max_columns",
        ],
    );
    // A data row with a million delimiters stops at the limit too.
    let text = format!("a,b\n1,2\n{}\n", ",".repeat(1_000_000));
    let result = h
        .state
        .import(ImportRequest::new(bytes("commas", &text)))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["commas.csv: line 3: 1000001 fields, over the limit of 100"],
    );
    let fits: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
    let text = format!("{}\n{}\n", fits.join(","), vec!["1"; 100].join(","));
    let info = h
        .state
        .import(ImportRequest::new(bytes("fits", &text)))
        .await;
    assert_eq!(info.unwrap().schema.columns.len(), 100);
}

#[tokio::test]
async fn binary_data_and_odd_delimiters_are_refused() {
    let h = Harness::new();
    let options = |delimiter| CsvOptions {
        delimiter: Some(delimiter),
        ..CsvOptions::default()
    };
    let mut request = raw("key", b"-----BEGIN KEY-----\x01abc\n\x01def\n".to_vec());
    request.csv = options(0x01);
    assert_error(
        h.state.import(request).await,
        ErrorKind::InvalidInput,
        &["delimiter 0x01 is not accepted"],
    );
    // What `/proc/self/environ` looks like: NUL-separated, no line break.
    let environ = b"HOME=/root\0SECRET=hunter2\0PATH=/bin\0\n1\n".to_vec();
    assert_error(
        h.state.import(raw("environ", environ)).await,
        ErrorKind::InvalidInput,
        &["environ.csv: line 1, column 1: control character 0x00"],
    );
    let nul_field = b"a,b\n1,x\n2,y\0z\n".to_vec();
    assert_error(
        h.state.import(raw("nul", nul_field)).await,
        ErrorKind::InvalidInput,
        &["nul.csv: line 3, column 2 (`b`): control character 0x00"],
    );
    let bad_utf8 = b"a,\xff\xfe\n1,2\n".to_vec();
    assert_error(
        h.state.import(raw("utf8", bad_utf8)).await,
        ErrorKind::InvalidInput,
        &["utf8.csv: line 1, column 2: invalid UTF-8"],
    );
    let mut colon = raw("colon", b"a:b\n1:2\n".to_vec());
    colon.csv = options(b':');
    assert_eq!(h.state.import(colon).await.unwrap().schema.columns.len(), 2);
    assert_eq!(h.state.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn runs_of_empty_lines_and_empty_fields_are_read_in_bounded_memory() {
    let h = Harness::new();
    // Several columns: empty lines are no rows.
    let mut text = b"a,b\n1,2\n".to_vec();
    text.extend(std::iter::repeat_n(b'\n', 8 << 20));
    text.extend_from_slice(b"3,4\n");
    let info = h.state.import(raw("gaps", text)).await.unwrap();
    assert_eq!(info.rows, 2);
    // One column: empty lines at the end are dropped.
    let mut text = b"y\n1\n".to_vec();
    text.extend(std::iter::repeat_n(b'\n', 8 << 20));
    let info = h.state.import(raw("tail", text)).await.unwrap();
    assert_eq!(info.rows, 1);
    // Lines of delimiters only: a header of empty names is refused naming the column.
    let text = ",,,,\n".repeat(1000);
    assert_error(
        h.state
            .import(ImportRequest::new(bytes("commas", &text)))
            .await,
        ErrorKind::InvalidInput,
        &["commas.csv: column 1 has an empty name"],
    );
}
