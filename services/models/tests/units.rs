//! A comparison spread over two models nodes as work units ([`Models::plan`],
//! [`Models::evaluate`], [`Models::assemble`]) over the in-process transport, each node with
//! its own data directory, both reading a stand-in datasets service and preprocessing through
//! a stand-in utils (standard scaling, stratified folds): the assembled leaderboard is the
//! single node's, bit for bit; a model's failure is a unit's outcome, a node's trouble an
//! error; the frame cache stays bounded.

mod support;

use mltools_core::datasets::{
    AppendUpload, BeginUpload, ColumnSchema, DatasetInfo, DatasetPage, Datasets, Deleted,
    Description, GetRequest, ImportRequest, Schema, UpdateRequest, UploadId,
};
use mltools_core::models::{
    CompareRequest, JobState, Leaderboard, ModelSpec, Models as _, ParamValue, Rows, TrainingData,
    UnitCandidate, UnitOutcome, UnitResult, WorkUnit,
};
use mltools_core::utils::{
    Affine, AlgorithmFamily, FittedPipeline, FittedStep, Fold, FoldMatrices, InputColumn, Matrix,
    PipelineSpec, Plot, PlotRequest, Scale, SplitKind, SplitRequest, Step, Utils,
};
use mltools_core::{
    Column, ColumnData, DatasetId, DatasetRef, ErrorKind, Frame, RpcResultExt, ServiceError,
};
use mltools_models::task::Targets;
use mltools_models::{ModelsConfig, ModelsServer, ModelsState};
use mltools_transport::{Client, DatasetsClient, Limits, ModelsClient, UtilsClient};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tarpc::client::RpcError;
use tarpc::context;

/// Standard scaling of numeric columns, stratified k folds; `fit_pipeline` takes
/// `delay_ms` first (a stuck utils, for the cancel test).
#[derive(Clone, Default)]
struct StandInUtils {
    delay_ms: Arc<AtomicU64>,
    /// `fit_transform` calls: one per fold and distinct pipeline of a unit.
    fit_transforms: Arc<AtomicU64>,
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

impl Utils for StandInUtils {
    async fn fit_pipeline(
        self,
        _: context::Context,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<FittedPipeline, ServiceError> {
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
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

    async fn fit_transform(
        self,
        ctx: context::Context,
        spec: PipelineSpec,
        train: Frame,
        test: Frame,
    ) -> Result<FoldMatrices, ServiceError> {
        self.fit_transforms.fetch_add(1, Ordering::SeqCst);
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
        let affines: Vec<Affine> = match pipeline.steps.first() {
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
        };
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

/// Stored datasets, version 1 each, read in pages; counts the reads of rows (not the
/// schema probes) per dataset.
#[derive(Clone, Default)]
struct StandInDatasets {
    frames: Arc<HashMap<DatasetId, Frame>>,
    reads: Arc<Mutex<HashMap<DatasetId, usize>>>,
}

impl StandInDatasets {
    fn with(frames: impl IntoIterator<Item = (u64, Frame)>) -> Self {
        StandInDatasets {
            frames: Arc::new(
                frames
                    .into_iter()
                    .map(|(id, frame)| (DatasetId(id), frame))
                    .collect(),
            ),
            reads: Arc::default(),
        }
    }

    /// Reads of the rows of `dataset` that started at its first row.
    fn reads(&self, dataset: u64) -> usize {
        let reads = self.reads.lock().unwrap();
        reads.get(&DatasetId(dataset)).copied().unwrap_or(0)
    }
}

/// Rows `offset..offset + limit` of `frame`.
fn page(frame: &Frame, offset: usize, limit: usize) -> Frame {
    let end = (offset + limit).min(frame.rows());
    let start = offset.min(end);
    let columns = frame
        .columns
        .iter()
        .map(|column| Column {
            name: column.name.clone(),
            data: match &column.data {
                ColumnData::Numeric(values) => ColumnData::Numeric(values[start..end].to_vec()),
                ColumnData::Categorical { codes, categories } => ColumnData::Categorical {
                    codes: codes[start..end].to_vec(),
                    categories: categories.clone(),
                },
            },
        })
        .collect();
    Frame { columns }
}

fn not_here() -> ServiceError {
    ServiceError::invalid_input("not in this stand-in")
}

impl Datasets for StandInDatasets {
    async fn import(
        self,
        _: context::Context,
        _: ImportRequest,
    ) -> Result<DatasetInfo, ServiceError> {
        Err(not_here())
    }
    async fn list(self, _: context::Context) -> Result<Vec<DatasetInfo>, ServiceError> {
        Err(not_here())
    }
    async fn versions(
        self,
        _: context::Context,
        _: DatasetRef,
    ) -> Result<Vec<DatasetInfo>, ServiceError> {
        Err(not_here())
    }
    async fn get(
        self,
        _: context::Context,
        request: GetRequest,
    ) -> Result<DatasetPage, ServiceError> {
        let DatasetRef::Id(id) = request.dataset else {
            return Err(not_here());
        };
        let Some(frame) = self.frames.get(&id) else {
            return Err(ServiceError::not_found(format!(
                "dataset {id} does not exist"
            )));
        };
        let limit = request.limit.map_or(usize::MAX, |limit| limit as usize);
        if request.offset == 0 && limit > 0 {
            *self.reads.lock().unwrap().entry(id).or_default() += 1;
        }
        let info = DatasetInfo {
            id,
            name: format!("set {id}"),
            version: 1,
            latest_version: 1,
            rows: frame.rows() as u64,
            schema: Schema {
                columns: frame
                    .columns
                    .iter()
                    .map(|column| ColumnSchema {
                        name: column.name.clone(),
                        kind: column.data.kind(),
                    })
                    .collect(),
                target: None,
            },
            source: "test".to_owned(),
            created_at_ms: 0,
        };
        Ok(DatasetPage {
            info,
            offset: request.offset,
            frame: page(frame, request.offset as usize, limit),
        })
    }
    async fn describe(
        self,
        _: context::Context,
        _: DatasetRef,
        _: Option<u32>,
    ) -> Result<Description, ServiceError> {
        Err(not_here())
    }
    async fn update(
        self,
        _: context::Context,
        _: UpdateRequest,
    ) -> Result<DatasetInfo, ServiceError> {
        Err(not_here())
    }
    async fn delete(self, _: context::Context, _: DatasetRef) -> Result<Deleted, ServiceError> {
        Err(not_here())
    }
    async fn begin_upload(
        self,
        _: context::Context,
        _: BeginUpload,
    ) -> Result<UploadId, ServiceError> {
        Err(not_here())
    }
    async fn append_upload(
        self,
        _: context::Context,
        _: AppendUpload,
    ) -> Result<u64, ServiceError> {
        Err(not_here())
    }
    async fn abort_upload(self, _: context::Context, _: UploadId) -> Result<(), ServiceError> {
        Err(not_here())
    }
}

/// A models node with its own data directory and two fit threads, reading `datasets`.
fn node(
    dir: &std::path::Path,
    datasets: &StandInDatasets,
    utils: StandInUtils,
) -> (ModelsState, ModelsClient) {
    node_with(dir, datasets, utils, |_| {})
}

/// [`node`], its settings changed by `change`.
fn node_with(
    dir: &std::path::Path,
    datasets: &StandInDatasets,
    utils: StandInUtils,
    change: impl FnOnce(&mut ModelsConfig),
) -> (ModelsState, ModelsClient) {
    let mut config = ModelsConfig {
        fit_threads: Some(2),
        ..ModelsConfig::with_data_dir(dir)
    };
    change(&mut config);
    let utils = UtilsClient::from(Client::direct(mltools_transport::service!(
        "utils",
        Limits::default(),
        utils.serve()
    )));
    let datasets = DatasetsClient::from(Client::direct(mltools_transport::service!(
        "datasets",
        Limits::default(),
        datasets.clone().serve()
    )));
    let state = ModelsState::open(config, utils, Some(datasets)).unwrap();
    let service = mltools_transport::service!(
        "models",
        Limits::default(),
        ModelsServer::new(state.clone()).serve()
    );
    (state, ModelsClient::from(Client::direct(service)))
}

/// A context with a minute's deadline: a unit of a forest takes longer than a ping.
fn ctx() -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = Instant::now() + Duration::from_secs(60);
    ctx
}

/// breast_cancer (569 rows, 30 features, 2 classes) with its target `diagnosis`.
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

/// diabetes (442 rows, 10 features) with its numeric target `y`.
fn diabetes() -> Frame {
    let set = support::diabetes();
    let Targets::Regression(values) = set.targets else {
        unreachable!()
    };
    let mut frame = set.features;
    frame.columns.push(Column::numeric("y", values));
    frame
}

fn spec(algorithm: &str) -> ModelSpec {
    ModelSpec {
        algorithm: algorithm.to_owned(),
        params: BTreeMap::new(),
        pipeline: None,
    }
}

fn compare(dataset: u64, target: &str, models: Vec<ModelSpec>) -> CompareRequest {
    CompareRequest {
        data: TrainingData {
            dataset: DatasetId(dataset),
            version: 1,
            rows: Rows::Stored,
            target: target.to_owned(),
            task: None,
        },
        models,
        overrides: BTreeMap::new(),
        folds: 5,
        seed: 17,
        metric: None,
        keep_best: false,
    }
}

/// `items` in an order fixed by `seed` (Fisher–Yates over splitmix64).
fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed;
    for i in (1..items.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let j = ((z ^ (z >> 31)) % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    items
}

async fn evaluate_all(node: &ModelsClient, units: Vec<WorkUnit>) -> Vec<UnitResult> {
    let mut results = Vec::with_capacity(units.len());
    for unit in units {
        let result = node.evaluate(ctx(), unit).await.into_service("models");
        results.extend(result.unwrap());
    }
    results
}

async fn finished(client: &ModelsClient, job: mltools_core::JobId) -> Leaderboard {
    for _ in 0..120 {
        let status = client
            .wait(context::current(), job, 1000)
            .await
            .into_service("models")
            .unwrap();
        match status.state {
            JobState::Finished(board) => return *board,
            JobState::Queued | JobState::Running => continue,
            other => panic!("the job ended as {other:?}"),
        }
    }
    panic!("the job did not finish within two minutes");
}

/// `board` with its timings zeroed, as bytes: equal bytes are equal boards bit for bit
/// (every `f64` is written as its bits, NaN included).
fn bits_without_timings(board: &Leaderboard) -> Vec<u8> {
    let mut board = board.clone();
    for entry in &mut board.entries {
        entry.fit_ms = 0.0;
        entry.predict_ms = 0.0;
    }
    postcard::to_allocvec(&board).unwrap()
}

fn order(board: &Leaderboard) -> Vec<&str> {
    board
        .entries
        .iter()
        .map(|entry| entry.model.algorithm.as_str())
        .collect()
}

/// Plans `request` on node A, evaluates its units shuffled, alternately on A and B (at
/// once), assembles them (given in yet another order) on B, and checks the board against
/// A's own comparison of the same request. `candidates` in `groups` of one pipeline each:
/// a unit per group and fold, each fold prepared once per group. Returns the spread board.
async fn spread_equals_single(
    request: CompareRequest,
    candidates: usize,
    groups: usize,
) -> Leaderboard {
    let data = StandInDatasets::with([(1, breast_cancer()), (2, diabetes())]);
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (utils_a, utils_b) = (StandInUtils::default(), StandInUtils::default());
    let prepared = [
        Arc::clone(&utils_a.fit_transforms),
        Arc::clone(&utils_b.fit_transforms),
    ];
    let (_state_a, a) = node(dir_a.path(), &data, utils_a);
    let (_state_b, b) = node(dir_b.path(), &data, utils_b);
    let plan = a
        .plan(ctx(), request.clone())
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(plan.candidates.len(), candidates);
    assert_eq!(plan.groups.len(), groups, "{:?}", plan.groups);
    assert_eq!(plan.fits(), candidates * 5);
    assert_eq!(plan.folds, 5);
    let units = shuffled(plan.units(), 5);
    assert_eq!(units.len(), groups * 5);
    let (to_a, to_b): (Vec<_>, Vec<_>) = units
        .into_iter()
        .enumerate()
        .partition(|(index, _)| index % 2 == 0);
    let strip = |units: Vec<(usize, WorkUnit)>| units.into_iter().map(|(_, u)| u).collect();
    let (from_a, from_b) =
        tokio::join!(evaluate_all(&a, strip(to_a)), evaluate_all(&b, strip(to_b)));
    let dataset = request.data.dataset.0;
    // Each node read the rows once for all its units (A once for the plan too).
    assert_eq!(data.reads(dataset), 2);
    let calls: u64 = prepared.iter().map(|n| n.load(Ordering::SeqCst)).sum();
    assert_eq!(
        calls,
        groups as u64 * 5,
        "one preparation per group and fold"
    );
    let results = shuffled(from_a.into_iter().chain(from_b).collect(), 99);
    let spread = b
        .assemble(ctx(), plan, results)
        .await
        .into_service("models")
        .unwrap();

    let job = a
        .submit(ctx(), request)
        .await
        .into_service("models")
        .unwrap();
    let single = finished(&a, job).await;
    assert_eq!(order(&spread), order(&single));
    for (spread, single) in spread.entries.iter().zip(&single.entries) {
        for (name, value) in &single.metrics {
            let other = spread.metrics[name];
            assert_eq!(
                (other.mean.to_bits(), other.std.to_bits()),
                (value.mean.to_bits(), value.std.to_bits()),
                "{} {name}",
                single.model.algorithm
            );
        }
    }
    assert_eq!(bits_without_timings(&spread), bits_without_timings(&single));
    spread
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_classification_spread_over_two_nodes_gives_the_single_node_board_bit_for_bit() {
    let models = [
        "logistic_regression",
        "random_forest_classifier",
        "gaussian_nb",
        "decision_tree_classifier",
    ];
    let mut candidates: Vec<ModelSpec> = models.iter().map(|m| spec(m)).collect();
    // One with a pipeline of its own: a second group.
    candidates.push(ModelSpec {
        pipeline: Some(PipelineSpec {
            steps: vec![Step::Scale(Scale::MinMax)],
        }),
        ..spec("gaussian_nb")
    });
    let request = compare(1, "diagnosis", candidates);
    let board = spread_equals_single(request, 5, 2).await;
    let out_of_fold = board.out_of_fold.expect("the best model's predictions");
    assert_eq!(out_of_fold.predicted.len(), 569);
    assert!(out_of_fold.predicted.iter().all(|value| value.is_finite()));
    assert!(board.entries.iter().all(|entry| entry.error.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_regression_of_the_default_candidates_spread_over_two_nodes_gives_the_same_board() {
    let request = compare(2, "y", Vec::new());
    let candidates =
        mltools_models::algorithms::AlgorithmId::of_task(mltools_core::models::Task::Regression)
            .count();
    // The stand-in utils gives every family the same default pipeline: one group.
    let board = spread_equals_single(request, candidates, 1).await;
    assert_eq!(board.metric, "r2");
    assert_eq!(board.out_of_fold.unwrap().predicted.len(), 442);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_s_failure_is_its_unit_s_outcome_and_its_board_row() {
    let mut knn = spec("knn_classifier");
    knn.params.insert("k".to_owned(), ParamValue::Integer(1000));
    let request = compare(1, "diagnosis", vec![knn, spec("gaussian_nb")]);
    let data = StandInDatasets::with([(1, breast_cancer())]);
    let dir = tempfile::tempdir().unwrap();
    let (_state, a) = node(dir.path(), &data, StandInUtils::default());
    let plan = a
        .plan(ctx(), request.clone())
        .await
        .into_service("models")
        .unwrap();
    let mut results = evaluate_all(&a, plan.units()).await;
    let UnitOutcome::Failed(error) = results[0].outcome.clone() else {
        panic!("k = 1000 on 455 rows fits: {:?}", results[0].outcome);
    };
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(
        error
            .message
            .contains("knn_classifier with k = 1000 needs at least 1000 training rows"),
        "{error}"
    );
    results.reverse();
    let board = a
        .assemble(ctx(), plan, results)
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(order(&board), ["gaussian_nb", "knn_classifier"]);
    assert_eq!(board.entries[1].error.as_ref(), Some(&error));
    let job = a
        .submit(ctx(), request)
        .await
        .into_service("models")
        .unwrap();
    let single = finished(&a, job).await;
    assert_eq!(bits_without_timings(&board), bits_without_timings(&single));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assemble_refuses_a_missing_and_a_duplicated_unit_naming_it() {
    let data = StandInDatasets::with([(1, breast_cancer())]);
    let dir = tempfile::tempdir().unwrap();
    let (_state, a) = node(dir.path(), &data, StandInUtils::default());
    let request = compare(
        1,
        "diagnosis",
        vec![spec("gaussian_nb"), spec("decision_tree_classifier")],
    );
    let plan = a.plan(ctx(), request).await.into_service("models").unwrap();
    let results = evaluate_all(&a, plan.units()).await;

    let at = |candidate: usize, fold: usize| {
        results
            .iter()
            .position(|r| (r.candidate, r.fold) == (candidate, fold))
            .unwrap()
    };
    let mut missing = results.clone();
    missing.remove(at(1, 2));
    let error = a
        .assemble(ctx(), plan.clone(), missing)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(
        error.message,
        "work units: (candidate 1 `decision_tree_classifier`, fold 2) has no result"
    );

    let mut twice = results.clone();
    twice.push(results[at(0, 3)].clone());
    let error = a
        .assemble(ctx(), plan, twice)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(
        error.message,
        "work units: (candidate 0 `gaussian_nb`, fold 3) has two results"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_of_an_unknown_dataset_or_on_a_node_shutting_down_is_an_error_of_its_kind() {
    let data = StandInDatasets::with([(1, breast_cancer())]);
    let dir = tempfile::tempdir().unwrap();
    let (state, a) = node(dir.path(), &data, StandInUtils::default());
    let plan = a
        .plan(ctx(), compare(1, "diagnosis", vec![spec("gaussian_nb")]))
        .await
        .into_service("models")
        .unwrap();
    let mut unknown = plan.unit(0, 0).unwrap();
    unknown.data.dataset = DatasetId(99);
    let error = a
        .evaluate(ctx(), unknown)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::NotFound);
    assert!(error.message.contains("dataset 99"), "{error}");
    // A unit of no candidates is refused, naming it.
    let mut empty = plan.unit(0, 0).unwrap();
    empty.candidates.clear();
    let error = a
        .evaluate(ctx(), empty)
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(
        error.message,
        "no models to compare: the work unit names no candidate"
    );

    state.shutdown().await;
    let error = a
        .evaluate(ctx(), plan.unit(0, 1).unwrap())
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_is_bounded_and_stops_at_its_node_s_first_trouble() {
    let data = StandInDatasets::with([(1, breast_cancer())]);
    let dir = tempfile::tempdir().unwrap();
    let utils = StandInUtils::default();
    let (delay, calls) = (
        Arc::clone(&utils.delay_ms),
        Arc::clone(&utils.fit_transforms),
    );
    let (_state, a) = node_with(dir.path(), &data, utils, |config| {
        config.utils_call_timeout_ms = 200;
        config.max_models_per_comparison = 3;
    });
    // Three candidates of one pipeline: one unit a fold.
    let models = vec![
        spec("gaussian_nb"),
        spec("logistic_regression"),
        spec("knn_classifier"),
    ];
    let plan = a
        .plan(ctx(), compare(1, "diagnosis", models))
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(plan.groups, [vec![0, 1, 2]]);
    let unit = plan.unit(0, 0).unwrap();
    let refused = |unit: WorkUnit| {
        let a = a.clone();
        async move {
            a.evaluate(ctx(), unit)
                .await
                .into_service("models")
                .unwrap_err()
        }
    };
    // A candidate twice, and more candidates than the cap: refused before any work.
    let mut twice = unit.clone();
    twice.candidates[2] = twice.candidates[0].clone();
    let error = refused(twice).await;
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert_eq!(
        error.message,
        "work units: candidate 0 appears twice in one unit"
    );
    let mut many = unit.clone();
    many.candidates.push(UnitCandidate {
        candidate: 3,
        model: spec("gaussian_nb"),
    });
    let error = refused(many).await;
    assert_eq!(error.kind, ErrorKind::InvalidInput);
    assert!(error.message.contains("model count = 4"), "{error}");
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // Utils past the node's deadline for its calls: the unit ends at the first candidate's
    // timeout, the others not tried (a timeout each would follow).
    delay.store(2_000, Ordering::SeqCst);
    let error = refused(unit).await;
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// Waits until `condition` holds, polling; fails after `within`.
async fn eventually(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_past_its_deadline_is_cancelled_and_frees_its_slot() {
    let data = StandInDatasets::with([(1, breast_cancer())]);
    let dir = tempfile::tempdir().unwrap();
    let utils = StandInUtils::default();
    let delay = Arc::clone(&utils.delay_ms);
    let (state, a) = node(dir.path(), &data, utils);
    let plan = a
        .plan(ctx(), compare(1, "diagnosis", vec![spec("gaussian_nb")]))
        .await
        .into_service("models")
        .unwrap();
    // Preprocessing now takes 30 s: only the cancel ends the unit sooner.
    delay.store(30_000, Ordering::SeqCst);
    let mut short = context::current();
    short.deadline = Instant::now() + Duration::from_millis(500);
    let answer = a.evaluate(short, plan.unit(0, 0).unwrap()).await;
    assert!(
        matches!(answer, Err(RpcError::DeadlineExceeded)),
        "{answer:?}"
    );
    eventually(
        "the unit lets go of its fit thread and memory",
        Duration::from_secs(10),
        || {
            let load = state.load();
            load.fits_running == 0 && load.memory_reserved_mb == 0
        },
    )
    .await;
    delay.store(0, Ordering::SeqCst);
    let result = a
        .evaluate(ctx(), plan.unit(0, 0).unwrap())
        .await
        .into_service("models")
        .unwrap();
    assert!(matches!(result[0].outcome, UnitOutcome::Scored(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frame_cache_holds_two_datasets_and_a_unit_after_eviction_still_works() {
    let data = StandInDatasets::with((1..=3).map(|id| (id, breast_cancer())));
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The plan on one node; the units on another, which has read nothing yet.
    let (_planner, p) = node(dir_a.path(), &data, StandInUtils::default());
    let (state, a) = node(dir_b.path(), &data, StandInUtils::default());
    let plan = p
        .plan(ctx(), compare(1, "diagnosis", vec![spec("gaussian_nb")]))
        .await
        .into_service("models")
        .unwrap();
    let unit_of = |dataset: u64, fold: usize| {
        let mut unit = plan.unit(0, fold).unwrap();
        unit.data.dataset = DatasetId(dataset);
        unit
    };
    for dataset in [1, 2, 3] {
        let result = a
            .evaluate(ctx(), unit_of(dataset, 0))
            .await
            .into_service("models");
        assert!(matches!(result.unwrap()[0].outcome, UnitOutcome::Scored(_)));
    }
    let held = |keys: &[u64]| -> Vec<(DatasetId, u32)> {
        keys.iter().map(|&id| (DatasetId(id), 1)).collect()
    };
    assert_eq!(state.cached_frames(), held(&[2, 3]));
    // Dataset 3 is cached: its next unit reads nothing.
    a.evaluate(ctx(), unit_of(3, 1))
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(
        (data.reads(1), data.reads(2), data.reads(3)),
        (2, 1, 1),
        "dataset 1 read by the planner and the node"
    );
    // Dataset 1 was evicted: read again, and its unit is the same as before.
    let again = a
        .evaluate(ctx(), unit_of(1, 0))
        .await
        .into_service("models")
        .unwrap();
    assert_eq!(data.reads(1), 3);
    assert_eq!(state.cached_frames(), held(&[3, 1]));
    let UnitOutcome::Scored(scores) = &again[0].outcome else {
        panic!("{again:?}");
    };
    assert_eq!(scores.predicted.len(), plan.fold(0).test.len());
}

/// The wire size (postcard, as the transports send it) of a plan and of one unit for a
/// stored 100 000-row dataset of 10 numeric features, 5 folds: printed for the record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_size_of_a_plan_and_a_unit_for_100_000_rows() {
    let rows = 100_000;
    let mut columns: Vec<Column> = (0..10)
        .map(|feature| {
            Column::numeric(
                format!("x{feature}"),
                (0..rows)
                    .map(|row| ((row * (feature + 3)) % 101) as f64)
                    .collect(),
            )
        })
        .collect();
    columns.push(Column::numeric(
        "y",
        (0..rows).map(|row| (row % 97) as f64).collect(),
    ));
    let data = StandInDatasets::with([(1, Frame { columns })]);
    let dir = tempfile::tempdir().unwrap();
    let (_state, a) = node(dir.path(), &data, StandInUtils::default());
    let plan = a
        .plan(ctx(), compare(1, "y", Vec::new()))
        .await
        .into_service("models")
        .unwrap();
    let plan_bytes = postcard::to_allocvec(&plan).unwrap().len();
    let unit_bytes = postcard::to_allocvec(&plan.unit(0, 0).unwrap())
        .unwrap()
        .len();
    eprintln!(
        "100,000 rows, {} candidates, 5 folds: plan {plan_bytes} bytes, unit {unit_bytes} bytes",
        plan.candidates.len()
    );
    // One byte a row for the folds, however many: the plan and a unit about 100 kB.
    assert!(plan_bytes < 102_000, "{plan_bytes}");
    assert!(unit_bytes < 102_000, "{unit_bytes}");
}

/// Evaluates `units` on `nodes`, each node taking the next unit as soon as it is free (the
/// lab's least-busy scheduling in miniature).
async fn evaluate_pulled(nodes: &[ModelsClient], units: Vec<WorkUnit>) -> Vec<UnitResult> {
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::from(units)));
    let mut workers = tokio::task::JoinSet::new();
    for node in nodes {
        let (node, queue) = (node.clone(), Arc::clone(&queue));
        workers.spawn(async move {
            let mut results = Vec::new();
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some(unit) = next else {
                    return results;
                };
                let result = node.evaluate(ctx(), unit).await.into_service("models");
                results.extend(result.unwrap());
            }
        });
    }
    let mut results = Vec::new();
    while let Some(done) = workers.join_next().await {
        results.extend(done.unwrap());
    }
    results
}

/// The digits comparison (1797 rows, 64 features, 10 classes, the default candidates, 5
/// folds) on nodes of one fit thread each: a job on one node, its units on one node, its
/// units on two. Prints the times; the boards are checked equal. Run it alone (it times):
///
/// ```text
/// cargo test -p mltools-models --test units -- --ignored --nocapture digits_timing
/// ```
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a timing, run by hand"]
async fn digits_timing_one_job_one_node_of_units_two_nodes_of_units() {
    let set = support::digits();
    let Targets::Classification { codes, classes } = set.targets else {
        unreachable!()
    };
    let mut frame = set.features;
    frame
        .columns
        .push(Column::categorical("digit", codes, classes));
    let data = StandInDatasets::with([(1, frame)]);
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let one_thread = |dir: &tempfile::TempDir| {
        let config = ModelsConfig {
            fit_threads: Some(1),
            ..ModelsConfig::with_data_dir(dir.path())
        };
        let utils = UtilsClient::from(Client::direct(mltools_transport::service!(
            "utils",
            Limits::default(),
            StandInUtils::default().serve()
        )));
        let datasets = DatasetsClient::from(Client::direct(mltools_transport::service!(
            "datasets",
            Limits::default(),
            data.clone().serve()
        )));
        let state = ModelsState::open(config, utils, Some(datasets)).unwrap();
        ModelsClient::from(Client::direct(mltools_transport::service!(
            "models",
            Limits::default(),
            ModelsServer::new(state).serve()
        )))
    };
    let nodes: Vec<ModelsClient> = dirs.iter().map(one_thread).collect();
    let request = compare(1, "digit", Vec::new());

    let started = Instant::now();
    let job = nodes[0]
        .submit(ctx(), request.clone())
        .await
        .into_service("models")
        .unwrap();
    let single = finished(&nodes[0], job).await;
    let job_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let plan = nodes[1]
        .plan(ctx(), request.clone())
        .await
        .into_service("models")
        .unwrap();
    let results = evaluate_pulled(&nodes[1..2], plan.units()).await;
    let one = nodes[1]
        .assemble(ctx(), plan, results)
        .await
        .into_service("models")
        .unwrap();
    let one_node_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let plan = nodes[1]
        .plan(ctx(), request)
        .await
        .into_service("models")
        .unwrap();
    let units = plan.units().len();
    let results = evaluate_pulled(&nodes[1..3], plan.units()).await;
    let fit_ms: Vec<f64> = results
        .iter()
        .filter_map(|result| match &result.outcome {
            UnitOutcome::Scored(scores) => Some(scores.fit_ms + scores.predict_ms),
            UnitOutcome::Failed(_) => None,
        })
        .collect();
    let (sum_ms, max_ms) = (
        fit_ms.iter().sum::<f64>(),
        fit_ms.iter().copied().fold(0.0, f64::max),
    );
    let two = nodes[2]
        .assemble(ctx(), plan, results)
        .await
        .into_service("models")
        .unwrap();
    let two_nodes_s = started.elapsed().as_secs_f64();

    assert_eq!(bits_without_timings(&one), bits_without_timings(&single));
    assert_eq!(bits_without_timings(&two), bits_without_timings(&single));
    eprintln!(
        "digits, {units} units, one fit thread a node: one job {job_s:.2} s; units on one \
         node {one_node_s:.2} s; units on two nodes {two_nodes_s:.2} s ({:.2}× one node); \
         fit + predict {sum_ms:.0} ms in all, {max_ms:.0} ms the longest fit",
        two_nodes_s / one_node_s
    );
}

/// What `submit` says of `request`: refused at once, or its job failed.
async fn submit_error(node: &ModelsClient, request: CompareRequest) -> ServiceError {
    let job = match node.submit(ctx(), request).await.into_service("models") {
        Err(error) => return error,
        Ok(job) => job,
    };
    for _ in 0..60 {
        let status = node
            .wait(context::current(), job, 1000)
            .await
            .into_service("models")
            .unwrap();
        match status.state {
            JobState::Failed(error) => return error,
            JobState::Queued | JobState::Running => continue,
            other => panic!("the job ended as {other:?}"),
        }
    }
    panic!("the job did not end within a minute");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_refuses_bad_requests_with_submit_s_errors() {
    let data = StandInDatasets::with([(1, breast_cancer())]);
    let dir = tempfile::tempdir().unwrap();
    let (_state, a) = node(dir.path(), &data, StandInUtils::default());
    let good = || compare(1, "diagnosis", vec![spec("gaussian_nb")]);
    let mut bad_k = spec("knn_classifier");
    bad_k.params.insert("k".to_owned(), ParamValue::Integer(0));
    let cases: Vec<(CompareRequest, &str)> = vec![
        (
            CompareRequest {
                metric: Some("r2".to_owned()),
                ..good()
            },
            "unknown classification metric `r2`",
        ),
        (CompareRequest { folds: 1, ..good() }, "bad folds: 1 folds"),
        (
            CompareRequest {
                models: vec![bad_k],
                ..good()
            },
            "knn_classifier: parameter `k`",
        ),
        (
            CompareRequest {
                models: vec![spec("ridge")],
                ..good()
            },
            "ridge is a regression algorithm",
        ),
        (
            compare(1, "nope", Vec::new()),
            "no target: the data has no column `nope`",
        ),
        (
            CompareRequest {
                overrides: BTreeMap::from([(
                    "svc".to_owned(),
                    BTreeMap::from([("c".to_owned(), ParamValue::Number(2.0))]),
                )]),
                ..good()
            },
            "parameters are set for `svc`",
        ),
    ];
    for (request, says) in cases {
        let planned = a
            .plan(ctx(), request.clone())
            .await
            .into_service("models")
            .unwrap_err();
        assert_eq!(planned.kind, ErrorKind::InvalidInput, "{planned}");
        assert!(planned.message.starts_with(says), "{planned}");
        assert_eq!(planned, submit_error(&a, request).await);
    }
    let unknown = a
        .plan(ctx(), compare(42, "diagnosis", Vec::new()))
        .await
        .into_service("models")
        .unwrap_err();
    assert_eq!(unknown.kind, ErrorKind::NotFound, "{unknown}");
}
