//! The models service end to end over the in-process transport, with a small stand-in for
//! the utils service (standard scaling, stratified folds): compare as a job, keep the best,
//! predict, the registry's life cycle, restarts, cancellation, limits, deadlines and bad
//! input. The stand-in can hold its `fit_pipeline` calls until released, so a test can catch
//! a job mid-work without sleeping.

mod support;

use mltools_core::models::{
    CompareRequest, FitRequest, JobState, Leaderboard, ModelSpec, Models as _, ParamValue, Rows,
    TrainingData,
};
use mltools_core::utils::{
    Affine, AlgorithmFamily, FittedPipeline, FittedStep, Fold, FoldMatrices, InputColumn, Matrix,
    PipelineSpec, Plot, PlotRequest, Scale, SplitKind, SplitRequest, Step, Utils,
};
use mltools_core::{
    Column, ColumnData, DatasetId, ErrorKind, Frame, ModelId, RpcResultExt, ServiceError,
};
use mltools_models::task::Targets;
use mltools_models::{ModelsConfig, ModelsServer, ModelsState};
use mltools_transport::{Client, Limits, ModelsClient, UtilsClient};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tarpc::context;
use tokio::sync::{Semaphore, watch};

/// Standard scaling of numeric columns and stratified k folds: enough of utils for these
/// tests.
#[derive(Clone, Default)]
struct StandInUtils {
    behaviour: Arc<Behaviour>,
}

/// What the stand-in does besides its work: hold `fit_pipeline` and `fit_transform` calls
/// of at least `hold_rows` rows while the gate is shut, take `delay_ms` over each call
/// (a slow preprocessing), and count the `fit_transform` calls.
struct Behaviour {
    hold_rows: AtomicUsize,
    open: watch::Sender<bool>,
    /// One permit per held call that has arrived.
    entered: Semaphore,
    delay_ms: AtomicU64,
    /// `fit_transform` calls answered so far.
    fit_transforms: AtomicUsize,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            hold_rows: AtomicUsize::new(0),
            open: watch::channel(true).0,
            entered: Semaphore::new(0),
            delay_ms: AtomicU64::new(0),
            fit_transforms: AtomicUsize::new(0),
        }
    }
}

impl Behaviour {
    /// From now on, `fit_pipeline` and `fit_transform` calls of `rows` rows or more wait for
    /// [`Behaviour::release`].
    fn hold(&self, rows: usize) {
        self.hold_rows.store(rows, Ordering::SeqCst);
        self.open.send_replace(false);
    }

    /// Lets every held call (and every later one) through.
    fn release(&self) {
        self.open.send_replace(true);
    }

    /// Waits (a minute at most) until a held call has arrived.
    async fn entered(&self) {
        tokio::time::timeout(Duration::from_secs(60), self.entered.acquire())
            .await
            .expect("a held utils call arrives within a minute")
            .unwrap()
            .forget();
    }

    async fn gate(&self, rows: usize) {
        let mut open = self.open.subscribe();
        if !*open.borrow() && rows >= self.hold_rows.load(Ordering::SeqCst) {
            self.entered.add_permits(1);
            let _ = open.wait_for(|open| *open).await;
        }
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }
}

fn numeric(column: &Column) -> Result<&[f64], ServiceError> {
    match &column.data {
        ColumnData::Numeric(values) => Ok(values),
        ColumnData::Categorical { .. } => Err(ServiceError::invalid_input(format!(
            "`{}` is categorical",
            column.name
        ))),
    }
}

/// Standard scaling learnt from `data`'s numeric columns.
fn fit_scaling(spec: PipelineSpec, data: &Frame) -> Result<FittedPipeline, ServiceError> {
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

/// `data` scaled by `pipeline`, whose columns it must have.
fn scaled(pipeline: &FittedPipeline, data: &Frame) -> Result<Matrix, ServiceError> {
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
    let affines = affines(pipeline);
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

impl Utils for StandInUtils {
    async fn fit_pipeline(
        self,
        _: context::Context,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<FittedPipeline, ServiceError> {
        self.behaviour.gate(data.rows()).await;
        fit_scaling(spec, &data)
    }

    /// Held and delayed as one call, as `fit_pipeline` is.
    async fn fit_transform(
        self,
        _: context::Context,
        spec: PipelineSpec,
        train: Frame,
        test: Frame,
    ) -> Result<FoldMatrices, ServiceError> {
        self.behaviour.fit_transforms.fetch_add(1, Ordering::SeqCst);
        self.behaviour.gate(train.rows()).await;
        let fitted = fit_scaling(spec, &train)?;
        Ok(FoldMatrices {
            train: scaled(&fitted, &train)?,
            test: scaled(&fitted, &test)?,
        })
    }

    async fn transform(
        self,
        _: context::Context,
        pipeline: FittedPipeline,
        data: Frame,
    ) -> Result<Matrix, ServiceError> {
        let delay = self.behaviour.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        scaled(&pipeline, &data)
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

fn utils(stand_in: StandInUtils) -> UtilsClient {
    UtilsClient::from(Client::direct(mltools_transport::service!(
        "utils",
        Limits::default(),
        stand_in.serve()
    )))
}

fn models(dir: &std::path::Path) -> (ModelsState, ModelsClient) {
    let (state, client, _) = models_with(dir, |_| {});
    (state, client)
}

/// The service over a stand-in utils whose behaviour the test steers, with `configure`
/// applied to a config of two fit threads.
fn models_with(
    dir: &std::path::Path,
    configure: impl FnOnce(&mut ModelsConfig),
) -> (ModelsState, ModelsClient, Arc<Behaviour>) {
    let mut config = ModelsConfig {
        fit_threads: Some(2),
        ..ModelsConfig::with_data_dir(dir)
    };
    configure(&mut config);
    let stand_in = StandInUtils::default();
    let behaviour = Arc::clone(&stand_in.behaviour);
    let state = ModelsState::open(config, utils(stand_in), None).unwrap();
    let service = mltools_transport::service!(
        "models",
        Limits::default(),
        ModelsServer::new(state.clone()).serve()
    );
    (
        state,
        ModelsClient::from(Client::direct(service)),
        behaviour,
    )
}

/// Waits until `condition` holds, polling; fails after `within`.
async fn eventually(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
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
        rows: Rows::Inline(frame),
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
        .submit(context::current(), request)
        .await
        .into_service("models")
        .unwrap();
    let board = finished(&client, job).await;
    assert_eq!(board.metric, "accuracy");
    assert_eq!(board.entries[0].model.algorithm, "logistic_regression");
    assert!(board.entries[0].metrics["accuracy"].mean > 0.96);
    let best = board.best.expect("the best model is kept");
    let info = client
        .get(context::current(), best)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(info.spec.algorithm, "logistic_regression");
    assert_eq!(
        info.classes,
        Some(vec!["benign".to_owned(), "malignant".to_owned()])
    );
    assert!(info.metrics.contains_key("roc_auc"));

    // Predict with the rows as stored, target column included (it is ignored).
    let rows = breast_cancer();
    let predictions = client
        .predict(context::current(), best, rows.clone())
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
        .predict(context::current(), best, rows)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(again.values, predictions.values);
    let exported = client
        .export(context::current(), best)
        .await
        .into_service("models")
        .unwrap();
    let deleted = client
        .delete(context::current(), best)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(deleted.id, best);
    let error = client
        .get(context::current(), best)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    let imported = client
        .import(context::current(), exported)
        .await
        .into_service("models")
        .unwrap();
    assert_ne!(imported.id, best);
    assert_eq!(
        client
            .list(context::current())
            .await
            .into_service("models")
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fit_stores_one_model_and_predict_checks_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client) = models(dir.path());
    let request = FitRequest {
        data: training(breast_cancer(), "diagnosis"),
        model: spec("gaussian_nb"),
        seed: 0,
    };
    let info = client
        .fit(context::current(), request)
        .await
        .into_service("models")
        .unwrap();
    let mut rows = breast_cancer();
    rows.columns.retain(|c| c.name != "x3" && c.name != "x7");
    let error = client
        .predict(context::current(), info.id, rows)
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
        .predict(context::current(), ModelId(99), breast_cancer())
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
    // Stored rows on a models service that reaches no datasets service.
    let mut stored = compare(breast_cancer(), &[], false);
    stored.data.rows = Rows::Stored;
    let error = refuse(stored).await;
    assert_eq!(error.kind, ErrorKind::Unavailable);
    assert!(
        error.message.starts_with(
            "the rows are stored dataset 1, and this models node reaches no datasets service"
        ),
        "{error}"
    );

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
        .status(context::current(), mltools_core::JobId(77))
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_mid_work_stops_the_fits_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client, utils) = models_with(dir.path(), |_| {});
    utils.hold(0);
    let request = compare(
        breast_cancer(),
        &["random_forest_classifier", "svc", "knn_classifier"],
        true,
    );
    let job = client
        .submit(context::current(), request)
        .await
        .into_service("models")
        .unwrap();
    // A fold's preprocessing is under way: the job is mid-work.
    utils.entered().await;
    let status = client
        .cancel(context::current(), job)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Cancelled);
    assert_eq!(status.total, 15);
    utils.release();
    eventually("the job's task ends", Duration::from_secs(60), || {
        state.job_tasks() == 0
    })
    .await;
    let status = client
        .status(context::current(), job)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Cancelled);
    assert!(
        status.done < status.total,
        "{} of {} fits ran after the cancel",
        status.done,
        status.total
    );
    assert!(
        client
            .list(context::current())
            .await
            .into_service("models")
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_queued_job_ends_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client, utils) = models_with(dir.path(), |config| config.max_running_jobs = 1);
    utils.hold(0);
    let submit = |models: &[&str]| {
        let request = compare(breast_cancer(), models, false);
        let client = client.clone();
        async move {
            client
                .submit(context::current(), request)
                .await
                .into_service("models")
                .unwrap()
        }
    };
    let running = submit(&["gaussian_nb"]).await;
    utils.entered().await;
    let queued = submit(&["knn_classifier"]).await;
    let status = client
        .status(context::current(), queued)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Queued);
    assert_eq!(state.job_tasks(), 2);
    client
        .cancel(context::current(), queued)
        .await
        .into_service("models")
        .unwrap();
    // The queued job's task (and its copy of the data) goes at once, while the first job
    // still holds the only slot.
    eventually(
        "the queued job's task ends",
        Duration::from_secs(10),
        || state.job_tasks() == 1,
    )
    .await;
    let status = client
        .status(context::current(), running)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Running);
    utils.release();
    let board = finished(&client, running).await;
    assert_eq!(board.entries.len(), 1);
    tokio::time::timeout(Duration::from_secs(60), state.shutdown())
        .await
        .expect("the jobs stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_during_the_refit_keeps_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client, utils) = models_with(dir.path(), |_| {});
    let frame = breast_cancer();
    // Only a call on every row is held: the refit of the best model, after the folds.
    utils.hold(frame.rows());
    let job = client
        .submit(context::current(), compare(frame, &["gaussian_nb"], true))
        .await
        .into_service("models")
        .unwrap();
    utils.entered().await;
    let status = client
        .status(context::current(), job)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!((status.done, status.total), (5, 5), "the folds are done");
    client
        .cancel(context::current(), job)
        .await
        .into_service("models")
        .unwrap();
    utils.release();
    eventually("the job's task ends", Duration::from_secs(60), || {
        state.job_tasks() == 0
    })
    .await;
    let status = client
        .status(context::current(), job)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(status.state, JobState::Cancelled);
    assert!(
        client
            .list(context::current())
            .await
            .into_service("models")
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ranking_metric_no_best_model_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client) = models(dir.path());
    // SVC without probabilities gives no log loss: the board has no winner by it.
    let mut request = compare(breast_cancer(), &["svc"], true);
    request.models[0]
        .params
        .insert("probability".to_owned(), ParamValue::Bool(false));
    request.metric = Some("log_loss".to_owned());
    let job = client
        .submit(context::current(), request)
        .await
        .into_service("models")
        .unwrap();
    let board = finished(&client, job).await;
    assert_eq!(board.entries.len(), 1);
    assert!(board.entries[0].error.is_none());
    assert!(!board.entries[0].metrics.contains_key("log_loss"));
    assert_eq!(board.best, None);
    assert!(
        client
            .list(context::current())
            .await
            .into_service("models")
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_utils_call_has_its_own_deadline_and_a_stuck_one_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client, utils) =
        models_with(dir.path(), |config| config.utils_call_timeout_ms = 1000);
    let two_folds = |models: &[&str], keep_best: bool| CompareRequest {
        folds: 2,
        ..compare(breast_cancer(), models, keep_best)
    };

    // Slow calls, each within its deadline though the refit's two together are not: a
    // fold's preparation is one call, the kept model's refit a fit and a transform.
    utils.delay_ms.store(700, Ordering::SeqCst);
    let job = client
        .submit(context::current(), two_folds(&["gaussian_nb"], true))
        .await
        .into_service("models")
        .unwrap();
    let board = finished(&client, job).await;
    assert!(
        board.entries[0].error.is_none(),
        "{:?}",
        board.entries[0].error
    );
    assert!(board.best.is_some(), "the refit kept its model: {board:?}");
    utils.delay_ms.store(0, Ordering::SeqCst);

    // A stuck utils: every fold fails as timed out, naming the setting.
    utils.hold(0);
    let job = client
        .submit(context::current(), two_folds(&["gaussian_nb"], true))
        .await
        .into_service("models")
        .unwrap();
    let board = finished(&client, job).await;
    let error = board.entries[0].error.clone().expect("the folds time out");
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert_eq!(
        error.message,
        "utils `fit_transform` did not answer within 1000 ms (models setting `utils_call_timeout_ms`)"
    );
    assert_eq!(board.best, None);

    // A fit on all rows too.
    let request = FitRequest {
        data: training(breast_cancer(), "diagnosis"),
        model: spec("gaussian_nb"),
        seed: 0,
    };
    let error = client
        .fit(context::current(), request)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    utils.release();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fits_beyond_the_limit_queue_then_are_refused_and_predict_runs_on_the_fit_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client, utils) = models_with(dir.path(), |config| {
        config.max_running_fits = 1;
        config.fit_threads = Some(1);
        config.max_queued = 1;
    });
    let fit = |model: &str| {
        let request = FitRequest {
            data: training(breast_cancer(), "diagnosis"),
            model: spec(model),
            seed: 0,
        };
        let client = client.clone();
        async move {
            client
                .fit(context::current(), request)
                .await
                .into_service("models")
        }
    };
    let stored = fit("gaussian_nb").await.unwrap();

    // One fit held in its preprocessing: a second waits in the queue for its slot, and a
    // third, finding the queue full, is refused at once with a hint of when to retry.
    utils.hold(0);
    let first = tokio::spawn(fit("logistic_regression"));
    utils.entered().await;
    let second = tokio::spawn(fit("gaussian_nb"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.load().queued == 0 {
        assert!(Instant::now() < deadline, "the second fit queues");
        tokio::task::yield_now().await;
    }
    let error = tokio::time::timeout(Duration::from_secs(10), fit("gaussian_nb"))
        .await
        .expect("refused at once")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Overloaded);
    assert!(error.message.contains("max_queued"), "{error}");
    assert!(error.retry_after().is_some(), "{error:?}");
    assert!(!second.is_finished());
    utils.release();
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    let load = state.load();
    assert_eq!(
        (load.fits_running, load.queued, load.memory_reserved_mb),
        (0, 0, 0)
    );
    assert_eq!(load.fits_peak, 1);

    // The only fit thread busy (a fold blocked in its preprocessing): a prediction waits
    // for it instead of running on tokio's blocking threads.
    utils.hold(0);
    let job = client
        .submit(
            context::current(),
            CompareRequest {
                folds: 2,
                ..compare(breast_cancer(), &["gaussian_nb"], false)
            },
        )
        .await
        .into_service("models")
        .unwrap();
    utils.entered().await;
    let predict = {
        let client = client.clone();
        tokio::spawn(async move {
            client
                .predict(context::current(), stored.id, breast_cancer())
                .await
                .into_service("models")
        })
    };
    let mut predict = std::pin::pin!(predict);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut predict)
            .await
            .is_err(),
        "the prediction ran while every fit thread was busy"
    );
    utils.release();
    let predictions = tokio::time::timeout(Duration::from_secs(60), predict)
        .await
        .expect("the prediction runs once the thread is free")
        .unwrap()
        .unwrap();
    assert_eq!(predictions.values.len(), breast_cancer().rows());
    finished(&client, job).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_above_the_node_s_caps_are_refused_before_fitting() {
    let dir = tempfile::tempdir().unwrap();
    let (state, client, _) = models_with(dir.path(), |config| {
        config.max_trees = 10;
        config.max_leaf_nodes = 64;
        config.max_iterations = 500;
        config.max_models_per_comparison = 2;
    });
    let with = |algorithm: &str, param: &str, value: ParamValue| ModelSpec {
        params: BTreeMap::from([(param.to_owned(), value)]),
        ..spec(algorithm)
    };
    let refused = |error: ServiceError, expected: &str| {
        assert_eq!(error.kind, ErrorKind::InvalidInput, "{error}");
        assert_eq!(error.message, expected);
    };
    // A forest's trees; boosting's iterations capped as trees are, its leaves by their own
    // cap (its iterations kept below theirs).
    for (algorithm, param, value, cap, setting) in [
        ("random_forest_classifier", "n_trees", 11, 10, "max_trees"),
        (
            "hist_gradient_boosting_classifier",
            "max_iter",
            11,
            10,
            "max_trees",
        ),
        (
            "hist_gradient_boosting_classifier",
            "max_leaf_nodes",
            65,
            64,
            "max_leaf_nodes",
        ),
    ] {
        let mut model = with(algorithm, param, ParamValue::Integer(value));
        if algorithm.starts_with("hist_") {
            model
                .params
                .entry("max_iter".to_owned())
                .or_insert(ParamValue::Integer(5));
        }
        let fit = FitRequest {
            data: training(breast_cancer(), "diagnosis"),
            model,
            seed: 0,
        };
        let error = client
            .fit(context::current(), fit)
            .await
            .into_service("models")
            .unwrap_err();
        refused(
            error,
            &format!(
                "{algorithm}: parameter `{param}` = {value} is above this node's cap of {cap} \
                 (models setting `{setting}`)"
            ),
        );
    }
    let mut request = compare(breast_cancer(), &[], false);
    request.models = vec![with(
        "logistic_regression",
        "max_iter",
        ParamValue::Integer(501),
    )];
    let error = client
        .submit(context::current(), request)
        .await
        .into_service("models")
        .unwrap_err();
    refused(
        error,
        "logistic_regression: parameter `max_iter` = 501 is above this node's cap of 500 \
         (models setting `max_iterations`)",
    );
    // Every classifier by default: seven models, over the cap of two.
    let error = client
        .submit(context::current(), compare(breast_cancer(), &[], false))
        .await
        .into_service("models")
        .unwrap_err();
    refused(
        error,
        "the comparison's model count = 7 is above this node's cap of 2 (models setting \
         `max_models_per_comparison`)",
    );
    assert_eq!(state.job_tasks(), 0, "no job was started");
    assert!(state.list().await.unwrap().is_empty(), "nothing was fitted");
}

/// `rows` rows of eight pseudo-random features and a `diagnosis` unrelated to them: a hard
/// problem for an SVM (many solver iterations).
fn noise(rows: usize) -> Frame {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut columns: Vec<Vec<f64>> = (0..8).map(|_| Vec::with_capacity(rows)).collect();
    let mut codes = Vec::with_capacity(rows);
    for _ in 0..rows {
        for column in &mut columns {
            column.push(next());
        }
        codes.push(u32::from(next() < 0.5));
    }
    let mut frame = Frame {
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(index, values)| Column::numeric(format!("x{index}"), values))
            .collect(),
    };
    frame.columns.push(Column::categorical(
        "diagnosis",
        codes,
        vec!["a".into(), "b".into()],
    ));
    frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fit_past_its_deadline_is_cancelled_and_frees_its_slot_and_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client, _) = models_with(dir.path(), |config| {
        config.max_running_fits = 1;
        config.fit_threads = Some(1);
    });
    // An SVM on 6000 noisy rows: tens of seconds in a debug build, past its 2 s deadline.
    let mut ctx = context::current();
    ctx.deadline = Instant::now() + Duration::from_secs(2);
    let slow = FitRequest {
        data: training(noise(6000), "diagnosis"),
        model: spec("svc"),
        seed: 0,
    };
    let started = Instant::now();
    let outcome = client.fit(ctx, slow).await;
    assert!(outcome.is_err() || outcome.as_ref().unwrap().is_err());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the deadline held"
    );
    // The cancelled fit lets go of the only fit slot and thread: a small fit soon runs.
    let quick = || FitRequest {
        data: training(breast_cancer(), "diagnosis"),
        model: spec("gaussian_nb"),
        seed: 0,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let result = client
            .fit(context::current(), quick())
            .await
            .into_service("models");
        match result {
            Ok(_) => break,
            Err(error) if error.kind == ErrorKind::Overloaded => {
                assert!(
                    Instant::now() < deadline,
                    "the cancelled fit still holds its slot 5 s after its deadline"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(error) => panic!("{error}"),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "the quick fit waited for the slow one: {:?}",
        started.elapsed()
    );
}

/// Candidates whose rows go through the same pipeline share each fold's preparation: one
/// `fit_transform` call per (pipeline, fold), however many candidates use it, and each
/// candidate scores as it would alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_utils_call_per_pipeline_and_fold() {
    let dir = tempfile::tempdir().unwrap();
    let (_state, client, utils) = models_with(dir.path(), |_| {});
    // Three candidates on the (stand-in's) default pipeline, one with its own.
    let mut request = compare(
        breast_cancer(),
        &["logistic_regression", "gaussian_nb", "knn_classifier"],
        false,
    );
    let own = ModelSpec {
        pipeline: Some(PipelineSpec {
            steps: vec![Step::Scale(Scale::MinMax)],
        }),
        ..spec("gaussian_nb")
    };
    request.models.push(own.clone());
    let job = client
        .submit(context::current(), request)
        .await
        .into_service("models")
        .unwrap();
    let board = finished(&client, job).await;
    assert!(
        board.entries.iter().all(|entry| entry.error.is_none()),
        "{board:?}"
    );
    assert_eq!(utils.fit_transforms.load(Ordering::SeqCst), 2 * 5);

    // Alone, the same candidate gets the same scores as beside the others.
    let job = client
        .submit(
            context::current(),
            compare(breast_cancer(), &["knn_classifier"], false),
        )
        .await
        .into_service("models")
        .unwrap();
    let alone = finished(&client, job).await;
    let beside = board
        .entries
        .iter()
        .find(|entry| entry.model == spec("knn_classifier"))
        .unwrap();
    assert_eq!(alone.entries[0].metrics, beside.metrics);
    assert_eq!(utils.fit_transforms.load(Ordering::SeqCst), 2 * 5 + 5);
}
