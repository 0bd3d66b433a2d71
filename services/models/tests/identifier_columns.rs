//! A comparison on a table with an identifier column (a label per row), a high-cardinality
//! category, a column without values and a constant one, through the models service with a
//! stand-in utils that records the columns it is sent. The identifier and the empty column
//! never reach preprocessing and are named in the leaderboard's warnings; the rest is
//! compared, kept and predicted with. (Capping the high-cardinality column is the utils
//! service's default pipeline, tested in the utils crate on the same shape of table: a
//! service crate may not depend on another.)

use mltools_core::models::{CompareRequest, JobState, ModelSpec, Models as _, Rows, TrainingData};
use mltools_core::utils::{
    AlgorithmFamily, FittedPipeline, Fold, FoldMatrices, InputColumn, Matrix, PipelineSpec, Plot,
    PlotRequest, SplitKind, SplitRequest, Utils,
};
use mltools_core::{
    Column, ColumnData, DatasetId, ErrorKind, Frame, MISSING_CODE, RpcResultExt, ServiceError,
};
use mltools_models::{ModelsConfig, ModelsServer, ModelsState};
use mltools_transport::{Client, Limits, ModelsClient, UtilsClient};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use tarpc::context;

/// Enough of utils for a comparison: numbers pass through, a category becomes its code;
/// every column name `fit_pipeline` is sent is recorded.
#[derive(Clone, Default)]
struct RecordingUtils {
    seen: Arc<Mutex<BTreeSet<String>>>,
}

impl Utils for RecordingUtils {
    async fn fit_pipeline(
        self,
        _: context::Context,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<FittedPipeline, ServiceError> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| ServiceError::internal("poisoned"))?;
        seen.extend(data.names().map(str::to_owned));
        Ok(FittedPipeline {
            spec,
            input_columns: data
                .columns
                .iter()
                .map(|column| InputColumn {
                    name: column.name.clone(),
                    kind: column.data.kind(),
                })
                .collect(),
            steps: Vec::new(),
            output_columns: data.names().map(str::to_owned).collect(),
        })
    }

    async fn fit_transform(
        self,
        ctx: context::Context,
        spec: PipelineSpec,
        train: Frame,
        test: Frame,
    ) -> Result<FoldMatrices, ServiceError> {
        let fitted = self.clone().fit_pipeline(ctx, spec, train.clone()).await?;
        let test = self.clone().transform(ctx, fitted.clone(), test).await?;
        let train = self.transform(ctx, fitted, train).await?;
        Ok(FoldMatrices { train, test })
    }

    async fn transform(
        self,
        _: context::Context,
        pipeline: FittedPipeline,
        data: Frame,
    ) -> Result<Matrix, ServiceError> {
        let rows = data.rows();
        let mut values = Vec::with_capacity(rows * data.columns.len());
        for row in 0..rows {
            for column in &data.columns {
                values.push(match &column.data {
                    ColumnData::Numeric(values) => values[row],
                    ColumnData::Categorical { codes, .. } => f64::from(codes[row]),
                });
            }
        }
        Ok(Matrix {
            rows,
            columns: pipeline.output_columns,
            values,
        })
    }

    async fn split(
        self,
        _: context::Context,
        request: SplitRequest,
    ) -> Result<Vec<Fold>, ServiceError> {
        let SplitKind::KFold { k } = request.kind else {
            return Err(ServiceError::invalid_input("k-fold only"));
        };
        // Runs of three rows dealt round the folds: every colour, so every class, in every
        // fold.
        Ok((0..k)
            .map(|fold| {
                let (test, train) =
                    (0..request.rows as u32).partition(|row| *row as usize / 3 % k == fold);
                Fold { train, test }
            })
            .collect())
    }

    async fn default_pipeline(
        self,
        _: context::Context,
        _: AlgorithmFamily,
    ) -> Result<PipelineSpec, ServiceError> {
        Ok(PipelineSpec::default())
    }

    async fn plot(self, _: context::Context, _: PlotRequest) -> Result<Plot, ServiceError> {
        Err(ServiceError::invalid_input("no plots here"))
    }
}

fn service(dir: &std::path::Path, utils: RecordingUtils) -> (ModelsState, ModelsClient) {
    let utils = UtilsClient::from(Client::direct(mltools_transport::service!(
        "utils",
        Limits::default(),
        utils.serve()
    )));
    let config = ModelsConfig {
        fit_threads: Some(2),
        ..ModelsConfig::with_data_dir(dir)
    };
    let state = ModelsState::open(config, utils, None).unwrap();
    let client = ModelsClient::from(Client::direct(mltools_transport::service!(
        "models",
        Limits::default(),
        ModelsServer::new(state.clone()).serve()
    )));
    (state, client)
}

/// A categorical column whose row `i` has label `label(i)`, the labels listed once each in
/// order of first appearance.
fn categorical(name: &str, rows: usize, label: impl Fn(usize) -> String) -> Column {
    let mut categories = Vec::new();
    let mut codes_of: HashMap<String, u32> = HashMap::new();
    let codes = (0..rows)
        .map(|row| {
            *codes_of.entry(label(row)).or_insert_with_key(|label| {
                categories.push(label.clone());
                (categories.len() - 1) as u32
            })
        })
        .collect();
    Column::categorical(name, codes, categories)
}

/// 10,000 rows: `customer_id` with 9,998 distinct labels, `city` with 5,000, `colour` with
/// 3, an empty `notes`, a constant `plan`, a number, and the target `churned`, which is
/// the colour's parity.
fn customers() -> Frame {
    let rows = 10_000;
    Frame {
        columns: vec![
            categorical("customer_id", rows, |row| format!("C{:05}", row.min(9_997))),
            categorical("city", rows, |row| format!("city {}", row % 5_000)),
            categorical("colour", rows, |row| {
                ["red", "green", "blue"][row % 3].to_owned()
            }),
            Column::categorical("notes", vec![MISSING_CODE; rows], Vec::new()),
            Column::numeric("plan", vec![1.0; rows]),
            Column::numeric("spend", (0..rows).map(|row| (row % 97) as f64).collect()),
            categorical("churned", rows, |row| ["no", "yes"][row % 3 % 2].to_owned()),
        ],
    }
}

fn request(frame: Frame, keep_best: bool) -> CompareRequest {
    CompareRequest {
        data: TrainingData {
            dataset: DatasetId(1),
            version: 1,
            rows: Rows::Inline(frame),
            target: "churned".to_owned(),
            task: None,
        },
        models: ["gaussian_nb", "decision_tree_classifier"]
            .map(|algorithm| ModelSpec {
                algorithm: algorithm.to_owned(),
                params: BTreeMap::new(),
                pipeline: None,
            })
            .to_vec(),
        overrides: BTreeMap::new(),
        folds: 3,
        seed: 7,
        metric: None,
        keep_best,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identifier_is_left_out_with_a_warning_and_the_compare_completes() {
    let dir = tempfile::tempdir().unwrap();
    let recording = RecordingUtils::default();
    let (state, client) = service(dir.path(), recording.clone());
    let job = client
        .submit(context::current(), request(customers(), true))
        .await
        .into_service("models")
        .unwrap();
    // Each wait within the default RPC deadline; a minute in all.
    let mut board = None;
    for _ in 0..60 {
        let status = client
            .wait(context::current(), job, 1_000)
            .await
            .into_service("models")
            .unwrap();
        match status.state {
            JobState::Queued | JobState::Running => continue,
            JobState::Finished(finished) => {
                board = Some(finished);
                break;
            }
            other => panic!("the job ended as {other:?}"),
        }
    }
    let board = board.expect("the comparison finishes within a minute");
    assert_eq!(
        board.warnings,
        [
            "column `customer_id` looks like an identifier (9,998 distinct values in 10,000 \
             rows): left out of the features",
            "column `notes` has no values: left out of the features",
        ]
    );
    for entry in &board.entries {
        assert_eq!(entry.error, None, "{}", entry.model.algorithm);
        // The target is a function of the colour: learnable once the id is out of the way.
        assert!(entry.metrics["accuracy"].mean > 0.99, "{entry:?}");
    }
    let seen = recording.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        ["city", "colour", "plan", "spend"]
            .map(str::to_owned)
            .into()
    );

    // The kept model takes rows with every column, the identifier included, and ignores it.
    let best = board.best.expect("the best model is kept");
    let info = client
        .get(context::current(), best)
        .await
        .into_service("models")
        .unwrap();
    let inputs: Vec<&str> = info
        .pipeline
        .input_columns
        .iter()
        .map(|column| column.name.as_str())
        .collect();
    assert_eq!(inputs, ["city", "colour", "plan", "spend"]);
    let predictions = client
        .predict(context::current(), best, customers())
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(predictions.values.len(), 10_000);
    state.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_but_identifiers_is_refused_before_a_job_exists() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client) = service(dir.path(), RecordingUtils::default());
    let rows = 50;
    let frame = Frame {
        columns: vec![
            categorical("order", rows, |row| format!("O{row}")),
            Column::numeric("blank", vec![f64::NAN; rows]),
            categorical("churned", rows, |row| ["no", "yes"][row % 2].to_owned()),
        ],
    };
    let error = client
        .submit(context::current(), request(frame, false))
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(
        error.message,
        "no feature column is left besides the target `churned`: column `order` looks like an \
         identifier (50 distinct values in 50 rows): left out of the features; column `blank` \
         has no values: left out of the features"
    );
    state.shutdown().await;
}
