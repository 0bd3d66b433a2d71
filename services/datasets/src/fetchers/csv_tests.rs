use super::*;
use crate::blocks::Block;
use mltools_core::MISSING_CODE;
use std::io::Cursor;
use std::sync::atomic::{AtomicBool, Ordering};

/// The default limits.
const LIMITS: RecordLimits = RecordLimits {
    max_bytes: 1 << 20,
    max_fields: 16_384,
};

fn never() -> Cancel<'static> {
    Cancel::never("import")
}

fn scan_text(text: &str) -> Result<CsvScan, DatasetsError> {
    scan(
        &mut Cursor::new(text.as_bytes()),
        "t.csv",
        None,
        LIMITS,
        never(),
    )
}

fn numeric_columns(scan: &CsvScan) -> Vec<bool> {
    scan.first_text.iter().map(Option::is_none).collect()
}

#[derive(Default)]
struct Collected {
    numeric: Vec<(usize, u64, Vec<f64>)>,
    codes: Vec<(usize, u64, Vec<u32>)>,
}

impl BlockSink for Collected {
    fn write(
        &mut self,
        column: usize,
        row_start: u64,
        block: Block<'_>,
    ) -> Result<(), DatasetsError> {
        match block {
            Block::Numeric(values) => self.numeric.push((column, row_start, values.to_vec())),
            Block::Codes(codes) => self.codes.push((column, row_start, codes.to_vec())),
        }
        Ok(())
    }
}

#[test]
fn quoted_fields_keep_their_delimiters() {
    let scan = scan_text("name,score\n\"Smith, J\",1\n\"a \"\"q\"\" b\",2\n").unwrap();
    assert_eq!(scan.delimiter, b',');
    assert_eq!(scan.headers, ["name", "score"]);
    assert_eq!(scan.rows, 2);
    assert_eq!(scan.first_text[0], Some((2, "Smith, J".to_owned())));
    assert_eq!(numeric_columns(&scan), [false, true]);
}

#[test]
fn semicolon_and_tab_delimiters_are_detected() {
    let semicolon = scan_text("a;b\n1,5;x\n").unwrap();
    assert_eq!(semicolon.delimiter, b';');
    assert_eq!(semicolon.first_text[0], Some((2, "1,5".to_owned())));
    let tab = scan_text("a\tb\tc\n1\t2\t3\n").unwrap();
    assert_eq!((tab.delimiter, tab.headers.len()), (b'\t', 3));
    let given = scan(
        &mut Cursor::new(b"a;b\n1;2\n"),
        "t.csv",
        Some(b','),
        LIMITS,
        never(),
    )
    .unwrap();
    assert_eq!(given.headers, ["a;b"]);
}

#[test]
fn bom_is_stripped_and_fields_trimmed() {
    let scan = scan_text("\u{feff}a , b\n 1 ,  x \n").unwrap();
    assert_eq!(scan.headers, ["a", "b"]);
    assert_eq!(scan.first_text[1], Some((2, "x".to_owned())));
}

#[test]
fn missing_tokens_keep_a_column_numeric() {
    let scan = scan_text("a,b,c\n1,NA,\n2,null,N/A\n,NaN,NULL\n").unwrap();
    assert_eq!(numeric_columns(&scan), [true, true, true]);
}

#[test]
fn structural_errors_name_the_culprit() {
    let text = "a,b,c,d\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3,4\n1,2,3\n";
    let error = scan_text(text).unwrap_err();
    assert_eq!(error.to_string(), "t.csv: line 7: expected 4 fields, got 3");
    assert!(matches!(
        scan_text(""),
        Err(DatasetsError::EmptyFile { .. })
    ));
    assert!(matches!(
        scan_text("a,b\n"),
        Err(DatasetsError::NoRows { .. })
    ));
    let bytes = b"a,b\n1,2\n3,\xff\xfe\n";
    let error = scan(&mut Cursor::new(bytes), "t.csv", None, LIMITS, never()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "t.csv: line 3, column 2 (`b`): invalid UTF-8"
    );
}

#[test]
fn stream_cuts_blocks_and_keeps_statistics() {
    let text = "x,kind\n1,a\n2,b\nNA,a\n4,\n5,c\n";
    let mut input = Cursor::new(text.as_bytes());
    let scan = scan(&mut input, "t.csv", None, LIMITS, never()).unwrap();
    let plans = vec![
        ColumnPlan {
            stored_index: 0,
            kind: ColumnKind::Numeric,
            labels: Vec::new(),
        },
        ColumnPlan {
            stored_index: 1,
            kind: ColumnKind::Categorical,
            labels: Vec::new(),
        },
    ];
    let layout = BlockLayout {
        chunk_rows: 2,
        row_start: 10,
    };
    let mut sink = Collected::default();
    let streamed = stream(
        &mut input,
        "t.csv",
        &scan,
        plans,
        layout,
        LIMITS,
        &mut sink,
        never(),
    )
    .unwrap();
    assert_eq!(streamed.rows, 5);
    let starts: Vec<u64> = sink.numeric.iter().map(|(_, start, _)| *start).collect();
    assert_eq!(starts, [10, 12, 14]);
    assert_eq!(sink.codes[1].2, [0, MISSING_CODE]);
    let ColumnStats::Numeric(x) = &streamed.stats[0] else {
        panic!("x is numeric")
    };
    assert_eq!((x.count, x.missing, x.mean), (4, 1, 3.0));
    let ColumnStats::Categorical(kind) = &streamed.stats[1] else {
        panic!("kind is categorical")
    };
    assert_eq!(kind.labels, ["a", "b", "c"]);
}

#[test]
fn stream_names_text_in_a_numeric_column() {
    let mut input = Cursor::new(b"x\n1\noops\n".as_slice());
    let scan = scan(&mut input, "t.csv", None, LIMITS, never()).unwrap();
    let plans = vec![ColumnPlan {
        stored_index: 0,
        kind: ColumnKind::Numeric,
        labels: Vec::new(),
    }];
    let layout = BlockLayout {
        chunk_rows: 8,
        row_start: 0,
    };
    let error = stream(
        &mut input,
        "t.csv",
        &scan,
        plans,
        layout,
        LIMITS,
        &mut Collected::default(),
        never(),
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "t.csv: line 3, column `x`: `oops` is not a number, and the column is numeric"
    );
}

#[test]
fn header_names_must_be_utf8() {
    let bytes = b"a,\xffb\n1,2\n";
    let error = scan(&mut Cursor::new(bytes), "t.csv", None, LIMITS, never()).unwrap_err();
    assert_eq!(error.to_string(), "t.csv: line 1, column 2: invalid UTF-8");
}

#[test]
fn an_empty_line_is_a_missing_value_only_in_a_file_of_one_column() {
    let one = "y\n1\n\n3\n\n";
    let mut input = Cursor::new(one.as_bytes());
    let scanned = scan(&mut input, "t.csv", None, LIMITS, never()).unwrap();
    assert_eq!(scanned.rows, 3);
    let plans = vec![ColumnPlan {
        stored_index: 0,
        kind: ColumnKind::Numeric,
        labels: Vec::new(),
    }];
    let layout = BlockLayout {
        chunk_rows: 8,
        row_start: 0,
    };
    let mut sink = Collected::default();
    let streamed = stream(
        &mut input,
        "t.csv",
        &scanned,
        plans,
        layout,
        LIMITS,
        &mut sink,
        never(),
    )
    .unwrap();
    assert_eq!(streamed.rows, 3);
    let values = &sink.numeric[0].2;
    assert_eq!((values[0], values[2]), (1.0, 3.0));
    assert!(values[1].is_nan());

    let two = scan_text("a,b\n1,2\n\n3,4\n").unwrap();
    assert_eq!(two.rows, 2, "several columns: an empty line is no row");
    // Line numbers count the empty lines.
    let error = scan_text("y\n1\n\n\nx,z\n").unwrap_err();
    assert_eq!(error.to_string(), "t.csv: line 5: expected 1 fields, got 2");
}

/// A source that raises a cancel flag once `after` bytes have been read from it.
struct RaisesAfter<'a> {
    inner: Cursor<Vec<u8>>,
    after: u64,
    flag: &'a AtomicBool,
}

impl Read for RaisesAfter<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.position() >= self.after {
            self.flag.store(true, Ordering::Relaxed);
        }
        let limit = buffer.len().min(4096);
        self.inner.read(&mut buffer[..limit])
    }
}

impl Seek for RaisesAfter<'_> {
    fn seek(&mut self, position: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(position)
    }
}

#[test]
fn a_cancelled_scan_stops_before_the_end_of_the_source() {
    let text: String = std::iter::once("a,b\n".to_owned())
        .chain((0..100_000).map(|i| format!("{i},{}\n", i % 7)))
        .collect();
    let flag = AtomicBool::new(false);
    let mut input = RaisesAfter {
        inner: Cursor::new(text.into_bytes()),
        after: 64 * 1024,
        flag: &flag,
    };
    let error = scan(
        &mut input,
        "t.csv",
        None,
        LIMITS,
        Cancel::new(&flag, "import"),
    )
    .unwrap_err();
    assert!(matches!(error, DatasetsError::Cancelled { .. }), "{error}");
    assert!(
        input.inner.position() < 256 * 1024,
        "stopped at byte {} of {}",
        input.inner.position(),
        input.inner.get_ref().len()
    );
}
