//! High-cardinality categorical columns and outputs too large for memory: the default
//! pipelines cap categories, and every fit, transform and split over `max_matrix_bytes` is
//! refused before it allocates, naming the budget and the culprit.

use mltools_core::utils::{
    AlgorithmFamily, PipelineSpec, SplitKind, SplitRequest, Step, UnknownCategory, Utils as _,
};
use mltools_core::{Column, ErrorKind, Frame, ServiceError};
use mltools_transport::{Limits, RestartPolicy, Supervisor, UtilsClient};
use mltools_utils::preprocessing::{DEFAULT_MAX_CATEGORIES, default_pipeline, fit, transform};
use mltools_utils::{UtilsConfig, UtilsServer, UtilsState};

/// A utils service with a 1 MiB budget behind tarpc's channel transport (the dispatch path
/// remote calls take), and what keeps it running.
fn service_with_small_budget() -> (UtilsClient, Supervisor) {
    let config = UtilsConfig {
        max_matrix_bytes: 1 << 20,
        ..UtilsConfig::default()
    };
    let state = UtilsState::new(config).expect("a 1 MiB budget is valid");
    let service =
        mltools_transport::service!("utils", Limits::default(), UtilsServer::new(state).serve());
    let supervisor = Supervisor::new();
    let client =
        mltools_transport::channel::serve(&supervisor, RestartPolicy::default(), service).0;
    (UtilsClient::from(client), supervisor)
}

fn ctx() -> tarpc::context::Context {
    tarpc::context::current()
}

/// A categorical column whose row `i` has label `label(i)`.
fn categorical(name: &str, rows: usize, label: impl Fn(usize) -> String) -> Column {
    let categories: Vec<String> = (0..rows).map(label).collect();
    // One code per row, labels possibly repeated: the pipeline counts by label.
    Column::categorical(name, (0..rows as u32).collect(), categories)
}

/// 10,000 rows: an identifier (a label per row), a city (5,000 labels, two rows each), a
/// colour (3 labels) and a number.
fn wide_table() -> Frame {
    let rows = 10_000;
    Frame {
        columns: vec![
            categorical("customer_id", rows, |row| format!("C{row:05}")),
            categorical("city", rows, |row| format!("city {}", row % 5_000)),
            categorical("colour", rows, |row| {
                ["red", "green", "blue"][row % 3].to_owned()
            }),
            Column::numeric("x", (0..rows).map(|row| row as f64).collect()),
        ],
    }
}

fn invalid_input(result: Result<impl std::fmt::Debug, ServiceError>) -> String {
    let error = result.expect_err("refused");
    assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
    error.message
}

#[test]
fn default_pipelines_cap_every_categorical_column() {
    let table = wide_table();
    for family in [AlgorithmFamily::Linear, AlgorithmFamily::Tree] {
        let fitted = fit(&default_pipeline(family), table.clone()).unwrap();
        let width = |column: &str| {
            fitted
                .output_columns
                .iter()
                .filter(|name| name.starts_with(&format!("{column}=")))
                .count()
        };
        assert_eq!(
            width("customer_id"),
            DEFAULT_MAX_CATEGORIES + 1,
            "{family:?}"
        );
        assert_eq!(width("city"), DEFAULT_MAX_CATEGORIES + 1, "{family:?}");
        assert_eq!(width("colour"), 3, "{family:?}");
        assert!(fitted.output_columns.contains(&"city=(other)".to_owned()));
        let matrix = transform(&fitted, table.clone()).unwrap();
        assert_eq!(matrix.rows, 10_000);
        assert_eq!(matrix.columns.len(), 2 * 33 + 3 + 1);
    }
}

#[test]
fn a_capped_column_sends_rare_and_unseen_labels_to_other() {
    // `a` 3 times, `b` twice, `c` and `d` once: a cap of 2 keeps `a` and `b`.
    let labels = ["a", "b", "a", "c", "b", "a", "d"];
    let frame = |labels: &[&str]| Frame {
        columns: vec![categorical("shop", labels.len(), |row| {
            labels[row].to_owned()
        })],
    };
    let spec = PipelineSpec {
        steps: vec![
            Step::CapCategories { max_categories: 2 },
            Step::OneHot {
                unknown: UnknownCategory::Error,
            },
        ],
    };
    let fitted = fit(&spec, frame(&labels)).unwrap();
    assert_eq!(fitted.output_columns, ["shop=(other)", "shop=a", "shop=b"]);
    // An unseen label goes to `(other)`, even under the one-hot step's `Error` policy.
    let matrix = transform(&fitted, frame(&["never seen", "c", "b"])).unwrap();
    assert_eq!(matrix.values, [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
}

#[tokio::test]
async fn an_uncapped_one_hot_over_the_budget_is_refused_naming_it_and_the_column() {
    let (client, _supervisor) = service_with_small_budget();
    // 2,000 rows × 2,001 indicator columns × 8 bytes = 32 MB, over 1 MiB.
    let rows = 2_000;
    let frame = Frame {
        columns: vec![
            categorical("customer_id", rows, |row| format!("C{row}")),
            Column::numeric("x", vec![1.0; rows]),
        ],
    };
    let uncapped = PipelineSpec {
        steps: vec![Step::OneHot {
            unknown: UnknownCategory::Ignore,
        }],
    };
    let message = invalid_input(
        client
            .fit_pipeline(ctx(), uncapped, frame.clone())
            .await
            .unwrap(),
    );
    assert_eq!(
        message,
        "step 0 (one-hot): 2000 rows × 2001 columns of 8 bytes would be 30.5 MiB, over the \
         1.0 MiB budget (`max_matrix_bytes`); the widest column is `customer_id` with 2000 \
         categories: cap it with a cap-categories step before the one-hot step (the default \
         pipelines keep 32), or leave it out"
    );
    // The default pipeline caps it and fits within the budget.
    let spec = client
        .default_pipeline(ctx(), AlgorithmFamily::Tree)
        .await
        .unwrap()
        .unwrap();
    let fitted = client
        .fit_pipeline(ctx(), spec, frame.clone())
        .await
        .unwrap()
        .unwrap();
    let matrix = client
        .transform(ctx(), fitted, frame)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(matrix.columns.len(), DEFAULT_MAX_CATEGORIES + 1 + 1);
}

#[tokio::test]
async fn a_transform_over_the_budget_is_refused_though_the_fit_was_not() {
    let (client, _supervisor) = service_with_small_budget();
    let spec = PipelineSpec {
        steps: vec![Step::OneHot {
            unknown: UnknownCategory::Ignore,
        }],
    };
    let small = Frame {
        columns: vec![categorical("word", 40, |row| format!("w{row}"))],
    };
    let fitted = client
        .fit_pipeline(ctx(), spec, small)
        .await
        .unwrap()
        .unwrap();
    // 5,000 rows × 40 columns × 8 bytes = 1.6 MB: the same pipeline, many more rows.
    let many = Frame {
        columns: vec![categorical("word", 5_000, |row| format!("w{}", row % 40))],
    };
    let message = invalid_input(client.transform(ctx(), fitted, many).await.unwrap());
    assert!(
        message.starts_with(
            "step 0 (one-hot): 5000 rows × 40 columns of 8 bytes would be 1.5 MiB, over the \
             1.0 MiB budget (`max_matrix_bytes`)"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn a_wide_numeric_output_matrix_is_refused() {
    let (client, _supervisor) = service_with_small_budget();
    // 2,000 rows × 100 numeric columns × 8 bytes = 1.6 MB, no one-hot step at all.
    let frame = Frame {
        columns: (0..100)
            .map(|column| Column::numeric(format!("x{column}"), vec![column as f64; 2_000]))
            .collect(),
    };
    let message = invalid_input(
        client
            .fit_pipeline(ctx(), PipelineSpec::default(), frame)
            .await
            .unwrap(),
    );
    assert!(
        message.starts_with("the output matrix: 2000 rows × 100 columns"),
        "{message}"
    );
}

#[tokio::test]
async fn a_split_over_the_budget_is_refused_naming_it() {
    let (client, _supervisor) = service_with_small_budget();
    let request = |rows| SplitRequest {
        rows,
        kind: SplitKind::KFold { k: 10 },
        seed: 1,
        stratify: None,
    };
    // 10 folds × 30,000 rows × 4 bytes = 1.2 MB.
    let message = invalid_input(client.split(ctx(), request(30_000)).await.unwrap());
    assert!(
        message.contains("over the 1.0 MiB budget (`max_matrix_bytes`)"),
        "{message}"
    );
    let folds = client.split(ctx(), request(20_000)).await.unwrap().unwrap();
    assert_eq!(folds.len(), 10);
}

#[tokio::test]
async fn a_cap_below_two_is_refused_naming_the_step() {
    let (client, _supervisor) = service_with_small_budget();
    let spec = PipelineSpec {
        steps: vec![Step::CapCategories { max_categories: 0 }],
    };
    let frame = Frame {
        columns: vec![categorical("word", 3, |row| format!("w{row}"))],
    };
    let message = invalid_input(client.fit_pipeline(ctx(), spec, frame).await.unwrap());
    assert_eq!(
        message,
        "step 0 (cap categories): max_categories = 0; it must be at least 2"
    );
}

#[test]
fn a_scatter_of_many_rows_stays_a_bounded_svg() {
    use mltools_core::utils::{ImageFormat, PlotKind};
    let rows = 200_000;
    let actual: Vec<f64> = (0..rows).map(|row| (row % 1_000) as f64).collect();
    let predicted: Vec<f64> = actual.iter().map(|value| value * 0.9 + 3.0).collect();
    let kind = PlotKind::PredictedVsActual {
        target: Some("price".to_owned()),
        actual,
        predicted,
    };
    let plot =
        mltools_utils::visualization::render(kind, ImageFormat::Svg, (800, 600), None).unwrap();
    // 20,000 circles drawn of 200,000, about 100 bytes each.
    assert!(plot.bytes.len() < 4 << 20, "{} bytes", plot.bytes.len());
    let svg = String::from_utf8(plot.bytes).unwrap();
    assert!(svg.contains("n = 200000"), "the summary counts every row");
}
