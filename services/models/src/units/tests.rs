use super::*;
use mltools_core::models::{ModelSpec, Rows, Task};
use mltools_core::{Column, DatasetId};
use std::collections::BTreeMap;

fn spec(algorithm: &str) -> ModelSpec {
    ModelSpec {
        algorithm: algorithm.to_owned(),
        params: BTreeMap::new(),
        pipeline: None,
    }
}

/// A regression plan of 6 rows, 2 candidates, 2 folds (rows 0–2 and 3–5 held out).
fn plan() -> ComparePlan {
    ComparePlan {
        data: TrainingData {
            dataset: DatasetId(7),
            version: 1,
            rows: Rows::Stored,
            target: "y".to_owned(),
            task: Some(Task::Regression),
        },
        rows: 6,
        classes: None,
        features: vec!["x".to_owned()],
        candidates: vec![spec("linear_regression"), spec("ridge")],
        groups: vec![vec![0, 1]],
        folds: 2,
        test_fold: vec![0, 0, 0, 1, 1, 1],
        metric: "r2".to_owned(),
        higher_is_better: true,
        seed: 0,
        keep_best: false,
        warnings: vec!["column `id` left out".to_owned()],
    }
}

/// Scores whose R² is `r2`, predicting `row + error` for the fold's test rows.
fn scored(plan: &ComparePlan, fold: usize, r2: f64, error: f64) -> UnitOutcome {
    let test = &plan.fold(fold).test;
    UnitOutcome::Scored(UnitScores {
        metrics: BTreeMap::from([("r2".to_owned(), r2), ("rmse".to_owned(), error)]),
        fit_ms: 1.0,
        predict_ms: 1.0,
        actual: test.iter().map(|&row| f64::from(row)).collect(),
        predicted: test.iter().map(|&row| f64::from(row) + error).collect(),
        scores: None,
        warnings: vec![format!("fold {fold}: a note")],
    })
}

fn results(plan: &ComparePlan) -> Vec<UnitResult> {
    let mut results = Vec::new();
    for fold in [1, 0] {
        results.push(UnitResult {
            candidate: 0,
            fold,
            outcome: scored(plan, fold, 0.5, 0.25),
        });
        results.push(UnitResult {
            candidate: 1,
            fold,
            outcome: scored(plan, fold, 0.75 + fold as f64 * 0.125, 0.125),
        });
    }
    results
}

#[test]
fn results_in_any_order_assemble_into_the_ranked_board_with_the_plan_s_warnings() {
    let plan = plan();
    let board = assemble(&plan, results(&plan)).unwrap();
    let order: Vec<&str> = board
        .entries
        .iter()
        .map(|e| e.model.algorithm.as_str())
        .collect();
    assert_eq!(order, ["ridge", "linear_regression"]);
    assert_eq!(board.entries[0].metrics["r2"].mean, 0.8125);
    assert_eq!(board.entries[0].metrics["r2"].std, 0.0625);
    // Fold order, whatever order the results came in.
    assert_eq!(
        board.entries[0].warnings,
        ["fold 0: a note", "fold 1: a note"]
    );
    assert_eq!(board.warnings, plan.warnings);
    let out_of_fold = board.out_of_fold.unwrap();
    assert_eq!(out_of_fold.actual, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(
        out_of_fold.predicted,
        [0.125, 1.125, 2.125, 3.125, 4.125, 5.125]
    );
    assert_eq!(board.best, None);
}

#[test]
fn a_failed_unit_fails_its_candidate_on_the_board() {
    let plan = plan();
    let mut results = results(&plan);
    results[3].outcome = UnitOutcome::Failed(ServiceError::invalid_input("ridge: fit failed"));
    let board = assemble(&plan, results).unwrap();
    assert_eq!(board.entries[1].model.algorithm, "ridge");
    assert_eq!(
        board.entries[1].error.as_ref().unwrap().message,
        "ridge: fit failed"
    );
    assert!(board.entries[1].metrics.is_empty());
}

#[test]
fn a_missing_duplicated_or_stray_unit_is_refused_naming_it() {
    let plan = plan();
    let mut missing = results(&plan);
    missing.remove(1);
    let error = assemble(&plan, missing).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        error.to_string(),
        "work units: (candidate 1 `ridge`, fold 1) has no result"
    );

    let mut twice = results(&plan);
    twice.push(twice[2].clone());
    assert_eq!(
        assemble(&plan, twice).unwrap_err().to_string(),
        "work units: (candidate 0 `linear_regression`, fold 0) has two results"
    );

    let mut stray = results(&plan);
    stray[0].fold = 2;
    assert_eq!(
        assemble(&plan, stray).unwrap_err().to_string(),
        "work units: (candidate 0 `linear_regression`, fold 2) is not in the plan (2 \
         candidates, 2 folds)"
    );
    let mut stray = results(&plan);
    stray[0].candidate = 5;
    assert_eq!(
        assemble(&plan, stray).unwrap_err().to_string(),
        "work units: (candidate 5, fold 1) is not in the plan (2 candidates, 2 folds)"
    );
}

#[test]
fn predictions_that_do_not_fit_their_fold_are_refused() {
    let plan = plan();
    let mut short = results(&plan);
    if let UnitOutcome::Scored(scores) = &mut short[0].outcome {
        scores.predicted.pop();
    }
    assert_eq!(
        assemble(&plan, short).unwrap_err().to_string(),
        "work units: (candidate 0 `linear_regression`, fold 1) has 2 predicted values for the \
         fold's 3 test rows"
    );
}

#[test]
fn a_plan_that_is_not_one_is_refused() {
    let mut no_task = plan();
    no_task.data.task = None;
    assert!(matches!(
        assemble(&no_task, Vec::new()),
        Err(ModelsError::BadUnits { .. })
    ));
    let mut wrong_metric = plan();
    wrong_metric.metric = "accuracy".to_owned();
    assert!(matches!(
        assemble(&wrong_metric, Vec::new()),
        Err(ModelsError::UnknownMetric { .. })
    ));
    let mut longer = plan();
    longer.test_fold.push(1);
    assert_eq!(
        assemble(&longer, Vec::new()).unwrap_err().to_string(),
        "bad folds: the folds mark 7 rows, the plan has 6"
    );
    let mut past = plan();
    past.test_fold[4] = 2;
    assert_eq!(
        assemble(&past, Vec::new()).unwrap_err().to_string(),
        "bad folds: row 4 is in fold 2, the plan has 2"
    );
    let mut empty = plan();
    empty.test_fold = vec![0; 6];
    assert_eq!(
        assemble(&empty, Vec::new()).unwrap_err().to_string(),
        "bad folds: fold 0: an empty training or test set"
    );
    let mut nobody = plan();
    nobody.candidates.clear();
    assert!(matches!(
        assemble(&nobody, Vec::new()),
        Err(ModelsError::NoModels { .. })
    ));
}

#[test]
fn the_node_s_troubles_are_errors_and_the_model_s_are_outcomes() {
    for trouble in [
        ModelsError::Cancelled,
        ModelsError::UtilsTimeout {
            call: "transform",
            timeout_ms: 10,
        },
        ModelsError::Upstream(ServiceError::unavailable("utils is down")),
    ] {
        let kind = trouble.kind();
        assert!(
            matches!(outcome(Err(trouble)), Err(error) if error.kind() == kind),
            "{kind:?}"
        );
    }
    let failed = outcome(Err(ModelsError::Fit {
        algorithm: "svc",
        reason: "no convergence".to_owned(),
    }))
    .unwrap();
    assert!(
        matches!(&failed, UnitOutcome::Failed(error) if error.message == "svc: fit failed: no convergence"),
        "{failed:?}"
    );
}

fn frame() -> Frame {
    Frame {
        columns: vec![
            Column::numeric("x", vec![1.0, 2.0, 3.0, 4.0]),
            Column::numeric("z", vec![0.0, 0.0, 1.0, 1.0]),
            Column::numeric("y", vec![2.0, 4.0, 6.0, 8.0]),
        ],
    }
}

#[test]
fn a_unit_s_fold_keeps_the_plan_s_columns_and_refuses_what_does_not_fit() {
    let data = plan().data;
    let test_fold = [0, 0, 1, 1];
    let features = vec!["z".to_owned(), "x".to_owned()];
    let fold = fold_data(&frame(), &data, &features, &test_fold, 1).unwrap();
    assert_eq!(fold.index, 1);
    let names: Vec<&str> = fold.test.names().collect();
    assert_eq!(names, ["z", "x"]);
    assert_eq!(fold.test_targets, Targets::Regression(vec![6.0, 8.0]));
    assert_eq!(fold.train_targets, Targets::Regression(vec![2.0, 4.0]));

    let error = fold_data(&frame(), &data, &["w".to_owned()], &test_fold, 1).unwrap_err();
    assert!(
        matches!(error, ModelsError::MissingColumns { .. }),
        "{error}"
    );
    let error = fold_data(&frame(), &data, &features, &[0, 1, 0], 1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad folds: the folds mark 3 rows, the data has 4"
    );
    let error = fold_data(&frame(), &data, &features, &test_fold, 3).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad folds: fold 3: an empty training or test set"
    );
}

#[test]
fn k_folds_become_one_byte_a_row_and_come_back_exactly() {
    let folds = vec![
        Fold {
            train: vec![1, 3],
            test: vec![0, 2],
        },
        Fold {
            train: vec![0, 2],
            test: vec![1, 3],
        },
    ];
    let marks = test_fold(&folds, 4).unwrap();
    assert_eq!(marks, [0, 1, 0, 1]);
    assert_eq!(fold_rows(&marks, 0), folds[0]);
    assert_eq!(fold_rows(&marks, 1), folds[1]);

    let twice = vec![folds[0].clone(), folds[0].clone()];
    assert_eq!(
        test_fold(&twice, 4).unwrap_err().to_string(),
        "bad folds: row 0 is in the test sets of folds 0 and 1"
    );
    assert_eq!(
        test_fold(&folds[..1], 4).unwrap_err().to_string(),
        "bad folds: row 1 is in no fold's test set"
    );
    let mut short_train = folds.clone();
    short_train[1].train.pop();
    assert_eq!(
        test_fold(&short_train, 4).unwrap_err().to_string(),
        "bad folds: fold 1 does not train on exactly the rows the others test on"
    );
    assert_eq!(
        test_fold(&folds, 3).unwrap_err().to_string(),
        "bad folds: fold 1: row 3 is past the last row (3 rows)"
    );
}

#[test]
fn the_frame_cache_keeps_two_frames_and_drops_the_least_recently_used_or_idle() {
    let cache = FrameCache::new(2, Duration::from_secs(60));
    let start = Instant::now();
    let at = |seconds: u64| start + Duration::from_secs(seconds);
    let fill = |key: (DatasetId, u32), now: Instant| {
        let slot = cache.slot(key, now);
        slot.set(Arc::new(frame())).unwrap();
    };
    fill((DatasetId(1), 1), at(0));
    fill((DatasetId(2), 1), at(1));
    // Dataset 1 used again: dataset 2 is now the least recently used.
    assert!(cache.slot((DatasetId(1), 1), at(2)).initialized());
    fill((DatasetId(3), 1), at(3));
    assert_eq!(cache.keys(), [(DatasetId(1), 1), (DatasetId(3), 1)]);
    assert!(cache.peek((DatasetId(2), 1)).is_none());
    // Another version is another frame.
    assert!(!cache.slot((DatasetId(3), 2), at(4)).initialized());
    assert_eq!(cache.keys(), [(DatasetId(3), 1)]);
    // A minute unused, and it goes at the next touch.
    assert!(!cache.slot((DatasetId(9), 1), at(64)).initialized());
    assert!(cache.keys().is_empty());
    // A read that failed leaves no entry behind; a read frame stays.
    fill((DatasetId(4), 1), at(65));
    cache.forget_unread((DatasetId(9), 1));
    cache.forget_unread((DatasetId(4), 1));
    assert_eq!(cache.entries.lock().unwrap().len(), 1);
    assert_eq!(cache.keys(), [(DatasetId(4), 1)]);
}

#[test]
fn a_shape_leaves_the_target_out() {
    let shape = shape_of(&frame(), "y");
    assert_eq!(
        shape,
        DataShape {
            rows: 4,
            numeric: 2,
            categorical: 0
        }
    );
}
