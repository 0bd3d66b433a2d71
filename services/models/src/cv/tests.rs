//! Cross-validation on small hand-made data: ranking, failures, determinism, control.

use super::*;
use mltools_core::ErrorKind;
use mltools_core::models::{MetricValue, ParamValue, Task};

/// `y = 2·x0 + noise-free x1` over 30 rows, 3 interleaved folds.
fn regression() -> (Frame, Targets, Vec<Fold>) {
    let x0: Vec<f64> = (0..30).map(|i| f64::from(i % 7)).collect();
    let x1: Vec<f64> = (0..30).map(|i| f64::from(i) * 0.5).collect();
    let y = x0.iter().zip(&x1).map(|(a, b)| 2.0 * a - b + 1.0).collect();
    let frame = Frame {
        columns: vec![Column::numeric("x0", x0), Column::numeric("x1", x1)],
    };
    (frame, Targets::Regression(y), folds(30, 3))
}

fn folds(rows: u32, k: u32) -> Vec<Fold> {
    (0..k)
        .map(|fold| Fold {
            train: (0..rows).filter(|row| row % k != fold).collect(),
            test: (0..rows).filter(|row| row % k == fold).collect(),
        })
        .collect()
}

/// The numeric columns as a matrix, untouched.
fn as_matrix(_: &Candidate, train: &Frame, test: &Frame) -> Result<(Matrix, Matrix), String> {
    let matrix = |frame: &Frame| {
        let rows = frame.rows();
        let mut values = Vec::with_capacity(rows * frame.columns.len());
        for row in 0..rows {
            for column in &frame.columns {
                match &column.data {
                    ColumnData::Numeric(numbers) => values.push(numbers[row]),
                    ColumnData::Categorical { .. } => return Err("categorical".to_owned()),
                }
            }
        }
        Ok(Matrix {
            rows,
            columns: frame.names().map(str::to_owned).collect(),
            values,
        })
    };
    Ok((matrix(train)?, matrix(test)?))
}

fn candidates(ids: &[AlgorithmId]) -> Vec<Candidate> {
    ids.iter().copied().map(Candidate::defaults).collect()
}

fn run(
    request: &CvRequest<'_>,
    preprocess: &dyn Preprocess,
    threads: usize,
) -> Result<Leaderboard, ModelsError> {
    cross_validate(
        request,
        preprocess,
        &CvControl::default(),
        &fit_pool(Some(threads)).unwrap(),
    )
}

fn order(board: &Leaderboard) -> Vec<&str> {
    board
        .entries
        .iter()
        .map(|e| e.model.algorithm.as_str())
        .collect()
}

#[test]
fn the_leaderboard_is_sorted_by_the_metric_and_its_direction() {
    let (features, targets, folds) = regression();
    let candidates = candidates(&[
        AlgorithmId::DecisionTreeRegressor,
        AlgorithmId::Lasso,
        AlgorithmId::LinearRegression,
    ]);
    let mut request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 0,
    };
    let board = run(&request, &as_matrix, 2).unwrap();
    assert_eq!(board.metric, "r2");
    assert_eq!(board.task, Task::Regression);
    assert_eq!(order(&board)[0], "linear_regression");
    let r2: Vec<f64> = board.entries.iter().map(|e| e.metrics["r2"].mean).collect();
    assert!(r2.windows(2).all(|pair| pair[0] >= pair[1]), "{r2:?}");
    assert!((r2[0] - 1.0).abs() < 1e-9);
    request.metric = Metric::Rmse;
    let board = run(&request, &as_matrix, 2).unwrap();
    let rmse: Vec<f64> = board
        .entries
        .iter()
        .map(|e| e.metrics["rmse"].mean)
        .collect();
    assert!(rmse.windows(2).all(|pair| pair[0] <= pair[1]), "{rmse:?}");
    assert!(
        board
            .entries
            .iter()
            .all(|e| e.fit_ms >= 0.0 && e.error.is_none())
    );
}

#[test]
fn a_model_that_errs_or_panics_is_reported_failed_and_the_others_go_on() {
    let (features, targets, folds) = regression();
    let candidates = candidates(&[
        AlgorithmId::Ridge,
        AlgorithmId::LinearRegression,
        AlgorithmId::KnnRegressor,
    ]);
    let flaky = |candidate: &Candidate, train: &Frame, test: &Frame| match candidate.estimator.id()
    {
        AlgorithmId::Ridge => panic!("the ridge fold exploded"),
        AlgorithmId::KnnRegressor => Err("no scaler for you".to_owned()),
        _ => as_matrix(candidate, train, test),
    };
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 0,
    };
    let board = run(&request, &flaky, 2).unwrap();
    assert_eq!(
        order(&board),
        ["linear_regression", "ridge", "knn_regressor"]
    );
    let ridge = board.entries[1].error.as_ref().unwrap();
    assert_eq!(ridge.kind, ErrorKind::Internal);
    // The board names the incident; the panic's message stays in the service's log.
    assert!(
        ridge
            .message
            .starts_with("ridge: failed unexpectedly (incident "),
        "{ridge}"
    );
    assert!(!ridge.message.contains("exploded"), "{ridge}");
    let knn = board.entries[2].error.as_ref().unwrap();
    assert_eq!(knn.message, "preprocessing failed: no scaler for you");
    assert!(board.entries[1].metrics.is_empty());
}

#[test]
fn the_same_seed_gives_the_same_leaderboard_on_any_pool() {
    let (features, targets, folds) = regression();
    let candidates = candidates(&[
        AlgorithmId::RandomForestRegressor,
        AlgorithmId::ExtraTreesRegressor,
        AlgorithmId::DecisionTreeRegressor,
    ]);
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 7,
    };
    let scores = |board: Leaderboard| -> Vec<(String, BTreeMap<String, MetricValue>)> {
        board
            .entries
            .into_iter()
            .map(|e| (e.model.algorithm, e.metrics))
            .collect()
    };
    let one = scores(run(&request, &as_matrix, 1).unwrap());
    let two = scores(run(&request, &as_matrix, 2).unwrap());
    assert_eq!(one, two);
}

#[test]
fn classification_ranks_by_accuracy_and_reports_auc_and_loss() {
    let x: Vec<f64> = (0..24).map(f64::from).collect();
    let codes: Vec<u32> = (0..24).map(|i| u32::from(i >= 12)).collect();
    let features = Frame {
        columns: vec![Column::numeric("x", x)],
    };
    let targets = Targets::Classification {
        codes,
        classes: vec!["no".into(), "yes".into()],
    };
    let folds = folds(24, 4);
    // SVC without probabilities has no log loss: it ranks after the model with one.
    let svc_scores_only = Candidate::new(ModelSpec {
        algorithm: "svc".into(),
        params: [("probability".to_owned(), ParamValue::Bool(false))].into(),
        pipeline: None,
    })
    .unwrap();
    let candidates = [
        svc_scores_only,
        Candidate::defaults(AlgorithmId::LogisticRegression),
    ];
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::LogLoss,
        seed: 0,
    };
    let board = run(&request, &as_matrix, 2).unwrap();
    assert_eq!(order(&board), ["logistic_regression", "svc"]);
    assert!(board.entries[0].metrics.contains_key("log_loss"));
    assert!(board.entries[1].metrics.contains_key("roc_auc"));
    assert!(!board.entries[1].metrics.contains_key("log_loss"));
    assert!(
        board
            .entries
            .iter()
            .all(|e| e.metrics["accuracy"].mean > 0.9)
    );
}

#[test]
fn bad_requests_are_typed_errors() {
    let (features, targets, folds) = regression();
    let classifiers = candidates(&[AlgorithmId::Svc]);
    let mut request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &classifiers,
        metric: Metric::R2,
        seed: 0,
    };
    let error = run(&request, &as_matrix, 1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "svc is a classification algorithm; the task is regression"
    );
    request.candidates = &[];
    assert!(matches!(
        run(&request, &as_matrix, 1),
        Err(ModelsError::NoModels { .. })
    ));
    let regressors = candidates(&[AlgorithmId::Ridge]);
    request.candidates = &regressors;
    request.metric = Metric::Accuracy;
    assert!(matches!(
        run(&request, &as_matrix, 1),
        Err(ModelsError::UnknownMetric { .. })
    ));
    request.metric = Metric::R2;
    let past_the_end = [
        Fold {
            train: vec![0, 1],
            test: vec![30],
        },
        Fold {
            train: vec![0],
            test: vec![1],
        },
    ];
    request.folds = &past_the_end;
    let error = run(&request, &as_matrix, 1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad folds: fold 0: row 30 is past the last row (30 rows)"
    );
    let error = check_fold_count(3, 5).unwrap_err();
    assert_eq!(
        error.to_string(),
        "too few rows: 5 folds need at least 5 rows, the data has 3"
    );
}

#[test]
fn a_cancelled_run_stops_and_counts_its_progress() {
    let (features, targets, folds) = regression();
    let candidates = candidates(&[AlgorithmId::LinearRegression, AlgorithmId::Ridge]);
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 0,
    };
    let control = CvControl::default();
    let pool = fit_pool(Some(1)).unwrap();
    cross_validate(&request, &as_matrix, &control, &pool).unwrap();
    assert_eq!(control.progress(), (6, 6));
    let control = CvControl::default();
    control.cancel();
    let error = cross_validate(&request, &as_matrix, &control, &pool).unwrap_err();
    assert_eq!(error, ModelsError::Cancelled);
    // Skipped fits are not done.
    assert_eq!(control.progress(), (0, 6));

    // Cancelled from inside the second fit: the fits after it are skipped, and the
    // interrupted one (answering `Cancelled`) does not count either.
    let control = CvControl::default();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let cancelling = |candidate: &Candidate, train: &Frame, test: &Frame| {
        if calls.fetch_add(1, Ordering::SeqCst) == 1 {
            control.cancel();
            return Err(ModelsError::Cancelled);
        }
        Preprocess::prepare(&as_matrix, candidate, train, test)
    };
    let error = cross_validate(&request, &Typed(cancelling), &control, &pool).unwrap_err();
    assert_eq!(error, ModelsError::Cancelled);
    assert_eq!(control.progress(), (1, 6));
}

/// A preprocessing closure with typed errors.
struct Typed<F>(F);

impl<F> Preprocess for Typed<F>
where
    F: Fn(&Candidate, &Frame, &Frame) -> Result<(Matrix, Matrix), ModelsError> + Sync,
{
    fn prepare(
        &self,
        candidate: &Candidate,
        train: &Frame,
        test: &Frame,
    ) -> Result<(Matrix, Matrix), ModelsError> {
        (self.0)(candidate, train, test)
    }
}

#[test]
fn a_preprocessing_timeout_keeps_its_kind_and_roc_auc_ranks_three_classes() {
    let (features, targets, regression_folds) = regression();
    let linear = candidates(&[AlgorithmId::LinearRegression]);
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &regression_folds,
        candidates: &linear,
        metric: Metric::R2,
        seed: 0,
    };
    let timing_out = Typed(|_: &Candidate, _: &Frame, _: &Frame| {
        Err(ModelsError::UtilsTimeout {
            call: "fit_pipeline",
            timeout_ms: 5,
        })
    });
    let board = run(&request, &timing_out, 1).unwrap();
    let error = board.entries[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::Timeout);
    assert_eq!(
        error.message,
        "utils `fit_pipeline` did not answer within 5 ms (models setting `utils_call_timeout_ms`)"
    );

    let x: Vec<f64> = (0..12).map(f64::from).collect();
    let features = Frame {
        columns: vec![Column::numeric("x", x)],
    };
    let targets = Targets::Classification {
        codes: (0..12).map(|i| i % 3).collect(),
        classes: vec!["a".into(), "b".into(), "c".into()],
    };
    let three_folds = self::folds(12, 3);
    let classifiers = candidates(&[AlgorithmId::KnnClassifier]);
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &three_folds,
        candidates: &classifiers,
        metric: Metric::RocAuc,
        seed: 0,
    };
    // Three classes may rank by one-vs-rest ROC AUC (here no test fold holds every class,
    // so the metric is missing, and the board keeps no winner rather than failing).
    let board = run(&request, &as_matrix, 1).unwrap();
    assert_eq!(board.metric, "roc_auc");
    assert!(board.entries[0].error.is_none(), "{board:?}");
    assert_eq!(board.best, None);
}

#[test]
fn more_folds_than_the_cap_are_refused() {
    let error = check_fold_count(10_000, MAX_FOLDS + 1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad folds: 101 folds; at most 100 are allowed"
    );
    assert!(check_fold_count(10_000, MAX_FOLDS).is_ok());
}

#[test]
fn the_best_model_s_out_of_fold_predictions_cover_every_row() {
    let (frame, targets, folds) = regression();
    let candidates = candidates(&[
        AlgorithmId::DecisionTreeRegressor,
        AlgorithmId::LinearRegression,
    ]);
    let request = CvRequest {
        features: &frame,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 0,
    };
    let board = run(&request, &as_matrix, 2).unwrap();
    assert_eq!(board.entries[0].model.algorithm, "linear_regression");
    let out_of_fold = board.out_of_fold.expect("the best model's predictions");
    let Targets::Regression(truth) = &targets else {
        unreachable!()
    };
    assert_eq!(&out_of_fold.actual, truth);
    // A noise-free linear target: every held-out row is predicted exactly.
    for (row, (actual, predicted)) in out_of_fold
        .actual
        .iter()
        .zip(&out_of_fold.predicted)
        .enumerate()
    {
        assert!(
            (actual - predicted).abs() < 1e-6,
            "row {row}: {actual} vs {predicted}"
        );
    }
    assert_eq!(out_of_fold.scores, None);
    assert_eq!(out_of_fold.classes, None);
}

/// Shares each fold's preparation among candidates by a pipeline per algorithm (k-NN on
/// one, the others on another), counting the preparations; `fault` decides, from the
/// preparation's number, whether it fails (and how) instead.
struct Sharing<F> {
    fault: F,
    calls: AtomicUsize,
}

impl<F> Preprocess for Sharing<F>
where
    F: Fn(usize) -> Option<ModelsError> + Sync,
{
    fn prepare(
        &self,
        candidate: &Candidate,
        train: &Frame,
        test: &Frame,
    ) -> Result<(Matrix, Matrix), ModelsError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(error) = (self.fault)(call) {
            return Err(error);
        }
        Preprocess::prepare(&as_matrix, candidate, train, test)
    }

    fn shared_pipeline(&self, candidate: &Candidate) -> Option<PipelineSpec> {
        let steps = match candidate.estimator.id() {
            AlgorithmId::KnnRegressor => vec![mltools_core::utils::Step::DropConstant],
            _ => Vec::new(),
        };
        Some(PipelineSpec { steps })
    }
}

fn sharing<F: Fn(usize) -> Option<ModelsError> + Sync>(fault: F) -> Sharing<F> {
    Sharing {
        fault,
        calls: AtomicUsize::new(0),
    }
}

#[test]
fn candidates_on_one_pipeline_share_each_fold_s_preparation() {
    let (features, targets, folds) = regression();
    // Pipelines A, B, A: the two on A need not be neighbours in the candidate list.
    let candidates = candidates(&[
        AlgorithmId::LinearRegression,
        AlgorithmId::KnnRegressor,
        AlgorithmId::Ridge,
    ]);
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 0,
    };
    let alone = run(&request, &as_matrix, 1).unwrap();
    let metrics = |board: &Leaderboard| -> Vec<(String, BTreeMap<String, MetricValue>)> {
        board
            .entries
            .iter()
            .map(|e| (e.model.algorithm.clone(), e.metrics.clone()))
            .collect()
    };
    for threads in [1, 3] {
        let shared = sharing(|_| None);
        let board = run(&request, &shared, threads).unwrap();
        // Two pipelines × three folds, not three candidates × three folds.
        assert_eq!(
            shared.calls.load(Ordering::SeqCst),
            2 * 3,
            "{threads} threads"
        );
        assert_eq!(metrics(&board), metrics(&alone), "{threads} threads");
    }

    // A refusal of the rows is the pipeline's on that fold, for every candidate on it
    // (one preparation, not one per candidate).
    let refused = sharing(|call| {
        (call == 0).then(|| ModelsError::Preprocess {
            reason: "no scaler for you".into(),
        })
    });
    let board = run(&request, &refused, 1).unwrap();
    assert_eq!(refused.calls.load(Ordering::SeqCst), 2 * 3);
    let failed: Vec<&str> = board
        .entries
        .iter()
        .filter(|e| e.error.is_some())
        .map(|e| e.model.algorithm.as_str())
        .collect();
    assert_eq!(failed, ["linear_regression", "ridge"]);

    // A timeout or a panic is the one candidate's: the next on the pipeline prepares
    // again, and only the first fails.
    let flaky = |fault: fn() -> ModelsError| {
        let preprocess = sharing(move |call| (call == 0).then(fault));
        let board = run(&request, &preprocess, 1).unwrap();
        assert_eq!(preprocess.calls.load(Ordering::SeqCst), 2 * 3 + 1);
        board
            .entries
            .iter()
            .filter(|e| e.error.is_some())
            .map(|e| e.model.algorithm.clone())
            .collect::<Vec<_>>()
    };
    let timeout = || ModelsError::UtilsTimeout {
        call: "fit_transform",
        timeout_ms: 5,
    };
    assert_eq!(flaky(timeout), ["linear_regression"]);
    let panics = || -> ModelsError { panic!("the shared preparation exploded") };
    assert_eq!(flaky(panics), ["linear_regression"]);
}
