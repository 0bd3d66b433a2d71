//! Shared by the integration tests: the service behind each in-process transport, and the
//! small data set whose scikit-learn results the tests compare against.

#![allow(dead_code, unreachable_pub)]

use mltools_core::utils::Utils as _;
use mltools_core::{Column, Frame, MISSING_CODE};
use mltools_transport::{Client, Limits, RestartPolicy, Supervisor, UtilsClient};
use mltools_utils::{UtilsConfig, UtilsServer, UtilsState};

/// How the test reaches the service.
#[derive(Debug, Clone, Copy)]
pub enum Transport {
    /// The direct in-process stub (the default).
    Direct,
    /// tarpc's in-process channel transport, the dispatch path remote calls take.
    Channel,
}

/// A client of a fresh utils service, and what keeps it running.
pub struct Harness {
    pub client: UtilsClient,
    supervisor: Supervisor,
}

impl Harness {
    pub async fn new(transport: Transport) -> Harness {
        let state = UtilsState::new(UtilsConfig::default()).expect("the default config is valid");
        let service = mltools_transport::service!(
            "utils",
            Limits::default(),
            UtilsServer::new(state).serve()
        );
        let supervisor = Supervisor::new();
        let client = match transport {
            Transport::Direct => Client::direct(service),
            Transport::Channel => {
                mltools_transport::channel::serve(&supervisor, RestartPolicy::default(), service).0
            }
        };
        Harness {
            client: UtilsClient::from(client),
            supervisor,
        }
    }
}

/// Stamps out each async test body `fn(Harness)` once per in-process transport.
#[macro_export]
macro_rules! over_transports {
    ($($test:ident),* $(,)?) => {
        mod direct {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::common::Harness::new($crate::common::Transport::Direct).await).await;
                }
            )*
        }
        mod channel {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test($crate::common::Harness::new($crate::common::Transport::Channel).await).await;
                }
            )*
        }
    };
}

pub const NAN: f64 = f64::NAN;

/// Eight rows: three numeric columns with gaps, a constant one, and a categorical one
/// with a gap. The expected values in the tests are scikit-learn 1.9.1's output on exactly
/// these rows (computed once, written in as numbers).
pub fn sample() -> Frame {
    let colours = ["red", "blue", "green", "Green"].map(String::from).to_vec();
    Frame {
        columns: vec![
            Column::numeric("age", vec![23.5, NAN, 41.0, 35.2, 29.9, NAN, 62.1, 41.0]),
            Column::numeric(
                "income",
                vec![
                    40100.0, 52300.5, NAN, 61000.0, 38750.25, 90500.0, 47000.0, 52300.5,
                ],
            ),
            Column::numeric(
                "score",
                vec![0.12, 0.85, 0.33, 0.33, 0.97, 0.05, 0.61, 0.33],
            ),
            Column::numeric("flat", vec![7.0; 8]),
            Column::categorical("colour", vec![0, 1, 2, 1, MISSING_CODE, 0, 1, 3], colours),
        ],
    }
}

/// The numeric columns of [`sample`] only.
pub fn numeric_sample() -> Frame {
    let mut frame = sample();
    frame
        .columns
        .retain(|column| matches!(column.name.as_str(), "age" | "income" | "score"));
    frame
}

/// Rows `rows` of `frame`.
pub fn rows(frame: &Frame, rows: std::ops::Range<usize>) -> Frame {
    use mltools_core::ColumnData;
    let columns = frame
        .columns
        .iter()
        .map(|column| Column {
            name: column.name.clone(),
            data: match &column.data {
                ColumnData::Numeric(values) => ColumnData::Numeric(values[rows.clone()].to_vec()),
                ColumnData::Categorical { codes, categories } => ColumnData::Categorical {
                    codes: codes[rows.clone()].to_vec(),
                    categories: categories.clone(),
                },
            },
        })
        .collect();
    Frame { columns }
}

/// Asserts `got` equals `expected` to 1e-9, element by element.
pub fn assert_close(got: &[f64], expected: &[f64]) {
    assert_eq!(
        got.len(),
        expected.len(),
        "lengths differ: {got:?} vs {expected:?}"
    );
    for (index, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-9,
            "value {index}: got {g}, expected {e}\n got {got:?}\n expected {expected:?}"
        );
    }
}
