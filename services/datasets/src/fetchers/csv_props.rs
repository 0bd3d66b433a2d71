//! Property tests of the CSV reader: whatever the bytes, the two passes never panic,
//! agree with each other, and refuse with a typed error naming the file (and the line
//! where there is one); a valid table reads back exactly. Bounded: a few hundred small
//! cases each, well under a second.

use super::*;
use crate::blocks::Block;
use mltools_core::MISSING_CODE;
use proptest::prelude::*;
use std::io::Cursor;

const DEFAULT_LIMITS: RecordLimits = RecordLimits {
    max_bytes: 1 << 20,
    max_fields: 16_384,
};

/// Small enough for generated text to pass them.
const TIGHT_LIMITS: RecordLimits = RecordLimits {
    max_bytes: 48,
    max_fields: 6,
};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Every block written, by source column.
#[derive(Default)]
struct Columns {
    numeric: Vec<Vec<f64>>,
    codes: Vec<Vec<u32>>,
}

impl BlockSink for Columns {
    fn write(&mut self, column: usize, _: u64, block: Block<'_>) -> Result<(), DatasetsError> {
        match block {
            Block::Numeric(values) => {
                grow(&mut self.numeric, column).extend_from_slice(values);
            }
            Block::Codes(codes) => grow(&mut self.codes, column).extend_from_slice(codes),
        }
        Ok(())
    }
}

fn grow<T>(columns: &mut Vec<Vec<T>>, column: usize) -> &mut Vec<T> {
    if columns.len() <= column {
        columns.resize_with(column + 1, Vec::new);
    }
    &mut columns[column]
}

/// Both passes over `data`; what the second pass stored, or the first error.
fn import(
    data: &[u8],
    limits: RecordLimits,
) -> Result<(CsvScan, Columns, Streamed), DatasetsError> {
    let never = Cancel::never("import");
    let mut input = Cursor::new(data);
    let scanned = scan(&mut input, "t.csv", None, limits, never)?;
    let plans = scanned
        .first_text
        .iter()
        .enumerate()
        .map(|(index, text)| ColumnPlan {
            stored_index: index,
            kind: if text.is_none() {
                ColumnKind::Numeric
            } else {
                ColumnKind::Categorical
            },
            labels: Vec::new(),
        })
        .collect();
    let layout = BlockLayout {
        chunk_rows: 7,
        row_start: 0,
    };
    let mut columns = Columns::default();
    let streamed = stream(
        &mut input,
        "t.csv",
        &scanned,
        plans,
        layout,
        limits,
        &mut columns,
        never,
    )
    .expect("a source the first pass accepts streams");
    Ok((scanned, columns, streamed))
}

/// The outcome of any input: read (both passes agreeing), or refused as the caller's
/// fault with a message naming the file, and a line ≥ 1 where the error has one.
fn check_outcome(data: &[u8], limits: RecordLimits) -> Result<(), TestCaseError> {
    match import(data, limits) {
        Ok((scanned, _, streamed)) => {
            prop_assert_eq!(scanned.rows, streamed.rows);
            prop_assert!(scanned.rows > 0);
            prop_assert!(scanned.headers.len() <= limits.max_fields);
        }
        Err(error) => {
            prop_assert_eq!(
                error.kind(),
                mltools_core::ErrorKind::InvalidInput,
                "{}",
                error
            );
            prop_assert!(error.to_string().starts_with("t.csv: "), "{}", error);
            let line = match &error {
                DatasetsError::RaggedRow { line, .. }
                | DatasetsError::InvalidUtf8 { line, .. }
                | DatasetsError::ControlCharacter { line, .. }
                | DatasetsError::RecordTooLong { line, .. }
                | DatasetsError::TooManyFields { line, .. } => Some(*line),
                _ => None,
            };
            if let Some(line) = line {
                prop_assert!(line >= 1, "{}", error);
                prop_assert!(
                    error.to_string().contains(&format!("line {line}")),
                    "{}",
                    error
                );
            }
        }
    }
    Ok(())
}

/// Pieces of almost-CSV: values, missing tokens, quotes, delimiters, line breaks.
const TOKENS: &[&str] = &[
    "1", "2.5", "-3e2", "NA", "null", "", "a", "b c", " x ", "\"q\"", "\"x,y\"", "\"", "\"\"",
    "\"a\nb\"", ",", ",", ",", ";", "\t", "|", "\n", "\n", "\r\n", "\r", "\u{feff}", "é", "\0",
    "\u{1}",
];

fn limits() -> impl Strategy<Value = RecordLimits> {
    prop_oneof![Just(DEFAULT_LIMITS), Just(TIGHT_LIMITS)]
}

/// One cell of a valid table: a number, a missing value, or a label.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(f64),
    Missing,
    Label(String),
}

fn cell(labels: bool) -> BoxedStrategy<Cell> {
    let number = (-1_000_000i64..1_000_000, 0u32..4)
        .prop_map(|(units, scale)| Cell::Number(units as f64 / 10f64.powi(scale as i32)));
    if labels {
        let label = prop::sample::select(vec!["red", "green", "blue sky", "a,b", "say \"hi\""])
            .prop_map(|label| Cell::Label(label.to_owned()));
        prop_oneof![4 => label, 1 => Just(Cell::Missing), 1 => number].boxed()
    } else {
        prop_oneof![5 => number, 1 => Just(Cell::Missing)].boxed()
    }
}

/// A table of 1 to 4 columns and 1 to 30 rows; each column holds labels or not.
fn table() -> impl Strategy<Value = Vec<Vec<Cell>>> {
    (prop::collection::vec(any::<bool>(), 1..5), 1usize..30).prop_flat_map(|(kinds, rows)| {
        kinds
            .into_iter()
            .map(|labels| prop::collection::vec(cell(labels), rows))
            .collect::<Vec<_>>()
    })
}

/// The table as CSV; a missing value is written `NA` in a one-column table (where an empty
/// line at the end would be no row), and alternately empty or `NA` elsewhere.
fn render(columns: &[Vec<Cell>], delimiter: char, crlf: bool) -> String {
    let header: Vec<String> = (0..columns.len()).map(|c| format!("c{c}")).collect();
    let mut text = header.join(&delimiter.to_string());
    let end = if crlf { "\r\n" } else { "\n" };
    text.push_str(end);
    for row in 0..columns[0].len() {
        let fields: Vec<String> = columns
            .iter()
            .map(|column| match &column[row] {
                Cell::Number(value) => value.to_string(),
                Cell::Missing if columns.len() == 1 || row % 2 == 0 => "NA".to_owned(),
                Cell::Missing => String::new(),
                Cell::Label(label) => format!("\"{}\"", label.replace('"', "\"\"")),
            })
            .collect();
        text.push_str(&fields.join(&delimiter.to_string()));
        text.push_str(end);
    }
    text
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..400),
        limits in limits(),
    ) {
        check_outcome(&data, limits)?;
    }

    #[test]
    fn almost_csv_never_panics(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..80),
        limits in limits(),
    ) {
        let text: String = tokens.concat();
        check_outcome(text.as_bytes(), limits)?;
    }

    #[test]
    fn record_limits_agree_with_the_csv_reader(
        tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..120),
    ) {
        let text: String = tokens.concat();
        let limits = TIGHT_LIMITS;
        // What csv-core itself makes of the text: each record's field count.
        let mut raw = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = ByteRecord::new();
        let mut widths = Vec::new();
        while raw.read_byte_record(&mut record).unwrap_or(false) {
            widths.push(record.len());
        }
        let mut bounded = ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(BlankLines::new(text.as_bytes(), b',', limits));
        let mut outcome = Ok(());
        while outcome.is_ok() {
            match bounded.read_byte_record(&mut record) {
                Ok(true) => prop_assert!(record.len() <= limits.max_fields),
                Ok(false) => break,
                Err(error) => outcome = Err(error),
            }
        }
        match outcome {
            Ok(()) => prop_assert!(widths.iter().all(|&width| width <= limits.max_fields)),
            Err(error) => {
                let csv::ErrorKind::Io(cause) = error.into_kind() else {
                    return Err(TestCaseError::fail("only the limits fail a read"));
                };
                match Oversized::carried_by(&cause) {
                    Some(Oversized::Fields { count, whole: true, .. }) => {
                        prop_assert!(widths.contains(&count), "{} fields in {:?}", count, widths);
                    }
                    Some(Oversized::Fields { count, whole: false, .. }) => {
                        prop_assert!(widths.iter().any(|&width| width >= count));
                    }
                    Some(Oversized::Bytes { .. }) => {}
                    None => return Err(TestCaseError::fail(cause.to_string())),
                }
            }
        }
    }

    #[test]
    fn a_valid_table_reads_back_exactly(
        columns in table(),
        delimiter in prop::sample::select(vec![',', ';', '\t', '|']),
        crlf in any::<bool>(),
    ) {
        let text = render(&columns, delimiter, crlf);
        let (scanned, stored, streamed) = import(text.as_bytes(), DEFAULT_LIMITS)
            .map_err(|error| TestCaseError::fail(format!("{error}\n{text}")))?;
        if columns.len() > 1 {
            // One column has no delimiter to detect.
            prop_assert_eq!(scanned.delimiter, delimiter as u8);
        }
        prop_assert_eq!(scanned.rows as usize, columns[0].len());
        for (index, column) in columns.iter().enumerate() {
            let labelled = column.iter().any(|cell| matches!(cell, Cell::Label(_)));
            if !labelled {
                let values = &stored.numeric[index];
                for (cell, value) in column.iter().zip(values) {
                    match cell {
                        Cell::Number(expected) => prop_assert_eq!(value, expected),
                        _ => prop_assert!(value.is_nan()),
                    }
                }
                prop_assert_eq!(values.len(), column.len());
                continue;
            }
            let ColumnStats::Categorical(stats) = &streamed.stats[index] else {
                return Err(TestCaseError::fail(format!("column {index} is not categorical")));
            };
            let codes = &stored.codes[index];
            prop_assert_eq!(codes.len(), column.len());
            for (cell, &code) in column.iter().zip(codes) {
                let read = (code != MISSING_CODE).then(|| stats.labels[code as usize].clone());
                let expected = match cell {
                    Cell::Number(value) => Some(value.to_string()),
                    Cell::Label(label) => Some(label.trim().to_owned()),
                    Cell::Missing => None,
                };
                prop_assert_eq!(read, expected);
            }
        }
    }
}
