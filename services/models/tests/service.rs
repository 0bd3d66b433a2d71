//! The models service end to end over the in-process transport, with a small stand-in for
//! the utils service (standard scaling, stratified folds): compare as a job, keep the best,
//! predict, the registry's life cycle, restarts, cancellation and bad input.

mod support;

use mltools_core::models::{
    CompareRequest, FitRequest, JobState, Leaderboard, ModelSpec, Models as _, TrainingData,
};
use mltools_core::utils::{
    Affine, AlgorithmFamily, FittedPipeline, FittedStep, Fold, InputColumn, Matrix, PipelineSpec,
    Plot, PlotRequest, Scale, SplitKind, SplitRequest, Step, Utils,
};
use mltools_core::{
    Column, ColumnData, DatasetId, ErrorKind, Frame, ModelId, RpcResultExt, ServiceError,
};
use mltools_models::task::Targets;
use mltools_models::{ModelsConfig, ModelsServer, ModelsState};
use mltools_transport::{Client, Limits, ModelsClient, UtilsClient};
use std::collections::BTreeMap;
use std::time::Duration;
use tarpc::context;

/// Standard scaling of numeric columns and stratified k folds: enough of utils for these
/// tests.
#[derive(Clone)]
struct StandInUtils;

fn numeric(column: &Column) -> Result<&[f64], ServiceError> {
    match &column.data {
        ColumnData::Numeric(values) => Ok(values),
        ColumnData::Categorical { .. } => Err(ServiceError::invalid_input(format!(
            "`{}` is categorical",
            column.name
        ))),
    }
}

impl Utils for StandInUtils {
    async fn fit_pipeline(
        self,
        _: context::Context,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<FittedPipeline, ServiceError> {
        let mut affines = Vec::new();
        for column in &data.columns {
            let values = numeric(column)?;
            let count = values.len() as f64;
            let center = values.iter().sum::<f64>() / count;
            let std = (values.iter().map(|v| (v - center).powi(2)).sum::<f64>() / count).sqrt();
            affines.push(Some(Affine {
                center,
                scale: if std > 0.0 { std } else { 1.0 },
            }));
        }
        Ok(FittedPipeline {
            spec,
            input_columns: data
                .columns
                .iter()
                .map(|c| InputColumn {
                    name: c.name.clone(),
                    kind: c.data.kind(),
                })
                .collect(),
            steps: vec![FittedStep::Scale {
                method: Scale::Standard,
                columns: affines,
            }],
            output_columns: data.names().map(str::to_owned).collect(),
        })
    }

    async fn transform(
        self,
        _: context::Context,
        pipeline: FittedPipeline,
        data: Frame,
    ) -> Result<Matrix, ServiceError> {
        let names: Vec<&str> = data.names().collect();
        let expected: Vec<&str> = pipeline
            .input_columns
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        if names != expected {
            return Err(ServiceError::invalid_input(format!(
                "columns {names:?}, expected {expected:?}"
            )));
        }
        let affines = affines(&pipeline);
        let columns: Vec<&[f64]> = data.columns.iter().map(numeric).collect::<Result<_, _>>()?;
        let rows = data.rows();
        let mut values = Vec::with_capacity(rows * columns.len());
        for row in 0..rows {
            for (column, affine) in columns.iter().zip(&affines) {
                values.push((column[row] - affine.center) / affine.scale);
            }
        }
        Ok(Matrix {
            rows,
            columns: pipeline.output_columns.clone(),
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
        let targets = match request.stratify {
            Some(codes) => {
                let classes = codes.iter().max().map_or(0, |&m| m as usize + 1);
                Targets::Classification {
                    codes,
                    classes: (0..classes).map(|c| c.to_string()).collect(),
                }
            }
            None => Targets::Regression(vec![0.0; request.rows]),
        };
        Ok(support::k_folds(&targets, k, request.seed))
    }

    async fn default_pipeline(
        self,
        _: context::Context,
        _: AlgorithmFamily,
    ) -> Result<PipelineSpec, ServiceError> {
        Ok(PipelineSpec {
            steps: vec![Step::Scale(Scale::Standard)],
        })
    }

    async fn plot(self, _: context::Context, _: PlotRequest) -> Result<Plot, ServiceError> {
        Err(ServiceError::invalid_input("no plots here"))
    }
}

/// The scaler's centre and scale per column.
fn affines(pipeline: &FittedPipeline) -> Vec<Affine> {
    match pipeline.steps.first() {
        Some(FittedStep::Scale { columns, .. }) => columns
            .iter()
            .map(|affine| {
                affine.unwrap_or(Affine {
                    center: 0.0,
                    scale: 1.0,
                })
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn utils() -> UtilsClient {
    UtilsClient::from(Client::direct(mltools_transport::service!(
        "utils",
        Limits::default(),
        StandInUtils.serve()
    )))
}

fn models(dir: &std::path::Path) -> (ModelsState, ModelsClient) {
    let config = ModelsConfig {
        fit_threads: Some(2),
        ..ModelsConfig::with_data_dir(dir)
    };
    let state = ModelsState::open(config, utils()).unwrap();
    let service = mltools_transport::service!(
        "models",
        Limits::default(),
        ModelsServer::new(state.clone()).serve()
    );
    (state, ModelsClient::from(Client::direct(service)))
}

/// breast_cancer with its target as a categorical `diagnosis` column.
fn breast_cancer() -> Frame {
    let set = support::breast_cancer();
    let Targets::Classification { codes, classes } = set.targets else {
        unreachable!()
    };
    let mut frame = set.features;
    frame
        .columns
        .push(Column::categorical("diagnosis", codes, classes));
    frame
}

fn training(frame: Frame, target: &str) -> TrainingData {
    TrainingData {
        dataset: DatasetId(1),
        version: 1,
        frame,
        target: target.to_owned(),
        task: None,
    }
}

fn spec(algorithm: &str) -> ModelSpec {
    ModelSpec {
        algorithm: algorithm.to_owned(),
        params: BTreeMap::new(),
        pipeline: None,
    }
}

fn compare(frame: Frame, models: &[&str], keep_best: bool) -> CompareRequest {
    CompareRequest {
        data: training(frame, "diagnosis"),
        models: models.iter().map(|m| spec(m)).collect(),
        overrides: Default::default(),
        folds: 5,
        seed: 0,
        metric: None,
        keep_best,
    }
}

async fn finished(client: &ModelsClient, job: mltools_core::JobId) -> Leaderboard {
    for _ in 0..60 {
        let status = client
            .wait(context::current(), job, 1000)
            .await
            .into_service("models")
            .unwrap();
        match status.state {
            JobState::Finished(board) => {
                assert_eq!(status.done, status.total);
                return *board;
            }
            JobState::Queued | JobState::Running => continue,
            other => panic!("the job ended as {other:?}"),
        }
    }
    panic!("the job did not finish within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_keeps_the_best_which_predicts_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client) = models(dir.path());
    let ctx = context::current();
    let request = compare(
        breast_cancer(),
        &[
            "gaussian_nb",
            "logistic_regression",
            "decision_tree_classifier",
        ],
        true,
    );
    let job = client
        .submit(ctx, request)
        .await
        .into_service("models")
        .unwrap();
    let board = finished(&client, job).await;
    assert_eq!(board.metric, "accuracy");
    assert_eq!(board.entries[0].model.algorithm, "logistic_regression");
    assert!(board.entries[0].metrics["accuracy"].mean > 0.96);
    let best = board.best.expect("the best model is kept");
    let info = client.get(ctx, best).await.into_service("models").unwrap();
    assert_eq!(info.spec.algorithm, "logistic_regression");
    assert_eq!(
        info.classes,
        Some(vec!["benign".to_owned(), "malignant".to_owned()])
    );
    assert!(info.metrics.contains_key("roc_auc"));

    // Predict with the rows as stored, target column included (it is ignored).
    let rows = breast_cancer();
    let predictions = client
        .predict(ctx, best, rows.clone())
        .await
        .into_service("models")
        .unwrap();
    let ColumnData::Categorical { codes, categories } = &rows.column("diagnosis").unwrap().data
    else {
        unreachable!()
    };
    let labels = predictions.classes.clone().unwrap();
    let right = predictions
        .values
        .iter()
        .zip(codes)
        .filter(|(predicted, code)| labels[**predicted as usize] == categories[**code as usize])
        .count();
    assert!(
        right as f64 / codes.len() as f64 > 0.95,
        "{right} of {}",
        codes.len()
    );

    // A restart keeps the registry.
    state.shutdown().await;
    drop((state, client));
    let (_state, client) = models(dir.path());
    let again = client
        .predict(ctx, best, rows)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(again.values, predictions.values);
    let exported = client
        .export(ctx, best)
        .await
        .into_service("models")
        .unwrap();
    let deleted = client
        .delete(ctx, best)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(deleted.id, best);
    let error = client
        .get(ctx, best)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    let imported = client
        .import(ctx, exported)
        .await
        .into_service("models")
        .unwrap();
    assert_ne!(imported.id, best);
    assert_eq!(
        client.list(ctx).await.into_service("models").unwrap().len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fit_stores_one_model_and_predict_checks_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client) = models(dir.path());
    let ctx = context::current();
    let request = FitRequest {
        data: training(breast_cancer(), "diagnosis"),
        model: spec("gaussian_nb"),
        seed: 0,
    };
    let info = client
        .fit(ctx, request)
        .await
        .into_service("models")
        .unwrap();
    let mut rows = breast_cancer();
    rows.columns.retain(|c| c.name != "x3" && c.name != "x7");
    let error = client
        .predict(ctx, info.id, rows)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error
            .message
            .starts_with("the rows lack the model's columns x3, x7; it needs: x0, x1"),
        "{error}"
    );
    let error = client
        .predict(ctx, ModelId(99), breast_cancer())
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(
        (error.kind, error.message.as_str()),
        (ErrorKind::NotFound, "model 99 does not exist")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_comparisons_are_refused_before_any_job_exists() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client) = models(dir.path());
    let ctx = context::current();
    let refuse = |request: CompareRequest| {
        let client = client.clone();
        async move {
            client
                .submit(context::current(), request)
                .await
                .into_service("models")
                .unwrap_err()
        }
    };
    let mut no_target = compare(breast_cancer(), &[], false);
    no_target.data.target = "outcome".to_owned();
    let error = refuse(no_target).await;
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error
            .message
            .starts_with("no target: the data has no column `outcome`"),
        "{error}"
    );

    let tiny = Frame {
        columns: vec![
            Column::numeric("x", vec![1.0, 2.0, 3.0]),
            Column::categorical("diagnosis", vec![0, 1, 0], vec!["a".into(), "b".into()]),
        ],
    };
    let error = refuse(compare(tiny, &[], false)).await;
    assert_eq!(
        error.message,
        "too few rows: 5 folds need at least 5 rows, the data has 3"
    );

    let one_class = Frame {
        columns: vec![
            Column::numeric("x", (0..10).map(f64::from).collect()),
            Column::categorical("diagnosis", vec![0; 10], vec!["a".into()]),
        ],
    };
    let error = refuse(compare(one_class, &[], false)).await;
    assert!(
        error.message.contains("has one class only (`a`)"),
        "{error}"
    );

    let error = refuse(compare(breast_cancer(), &["xgboost"], false)).await;
    assert!(
        error
            .message
            .starts_with("unknown algorithm `xgboost`; the algorithms are:"),
        "{error}"
    );
    let error = refuse(compare(breast_cancer(), &["ridge"], false)).await;
    assert_eq!(
        error.message,
        "ridge is a regression algorithm; the task is classification"
    );
    let mut bad_metric = compare(breast_cancer(), &[], false);
    bad_metric.metric = Some("r2".to_owned());
    assert!(
        refuse(bad_metric)
            .await
            .message
            .starts_with("unknown classification metric `r2`")
    );
    let mut stray = compare(breast_cancer(), &["gaussian_nb"], false);
    stray
        .overrides
        .entry("knn_classifier".to_owned())
        .or_default()
        .insert("k".to_owned(), mltools_core::models::ParamValue::Integer(7));
    let error = refuse(stray).await;
    assert!(
        error
            .message
            .contains("`knn_classifier`, which is not among the candidates (gaussian_nb)"),
        "{error}"
    );
    let mut bad_value = compare(breast_cancer(), &["knn_classifier"], false);
    bad_value
        .overrides
        .entry("knn_classifier".to_owned())
        .or_default()
        .insert("k".to_owned(), mltools_core::models::ParamValue::Integer(0));
    let error = refuse(bad_value).await;
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(error.message.contains('k'), "{error}");
    let error = client
        .status(ctx, mltools_core::JobId(77))
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_ends_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client) = models(dir.path());
    let ctx = context::current();
    let request = compare(
        breast_cancer(),
        &["random_forest_classifier", "svc", "knn_classifier"],
        false,
    );
    let job = client
        .submit(ctx, request)
        .await
        .into_service("models")
        .unwrap();
    let status = client
        .cancel(ctx, job)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Cancelled);
    assert_eq!(status.total, 15);
    let status = client
        .wait(ctx, job, 100)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Cancelled);
    // The job's task ends: shutdown waits for it, within a bound.
    tokio::time::timeout(Duration::from_secs(60), state.shutdown())
        .await
        .expect("the job stops");
    assert!(status.done <= status.total);
}
