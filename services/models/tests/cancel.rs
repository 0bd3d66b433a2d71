//! A cancel frees the fit thread, not just the future: an SVM fit, or a forest's, long
//! enough to take many seconds, cancelled once it started, ends as cancelled within a
//! couple of seconds, and the pool's only thread then runs the next fit.

use mltools_core::frame::{Column, Frame};
use mltools_core::utils::{Fold, Matrix};
use mltools_models::ModelsError;
use mltools_models::algorithms::AlgorithmId;
use mltools_models::cv::{Candidate, CvControl, CvRequest, cross_validate, fit_pool};
use mltools_models::metrics::Metric;
use mltools_models::task::Targets;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `rows` rows of `features` pseudo-random features with labels unrelated to them: a hard
/// problem, so the SMO solver runs many iterations (and Platt scaling five more fits), and
/// trees grow until nearly every row has its own leaf.
fn noise(rows: usize, features: usize) -> (Frame, Targets) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut columns: Vec<Vec<f64>> = (0..features).map(|_| Vec::with_capacity(rows)).collect();
    let mut codes = Vec::with_capacity(rows);
    for _ in 0..rows {
        for column in &mut columns {
            column.push(next());
        }
        codes.push(u32::from(next() < 0.5));
    }
    let frame = Frame {
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(index, values)| Column::numeric(format!("x{index}"), values))
            .collect(),
    };
    let targets = Targets::Classification {
        codes,
        classes: vec!["a".into(), "b".into()],
    };
    (frame, targets)
}

/// The numeric frame as a matrix, row-major.
fn matrix(frame: &Frame) -> Matrix {
    let columns: Vec<&[f64]> = frame
        .columns
        .iter()
        .map(|column| match &column.data {
            mltools_core::ColumnData::Numeric(values) => values.as_slice(),
            mltools_core::ColumnData::Categorical { .. } => unreachable!(),
        })
        .collect();
    let rows = columns.first().map_or(0, |column| column.len());
    Matrix {
        rows,
        columns: frame.columns.iter().map(|c| c.name.clone()).collect(),
        values: (0..rows)
            .flat_map(|row| columns.iter().map(move |column| column[row]))
            .collect(),
    }
}

fn two_folds(rows: u32) -> Vec<Fold> {
    (0..2)
        .map(|k| Fold {
            test: (0..rows).filter(|r| r % 2 == k).collect(),
            train: (0..rows).filter(|r| r % 2 != k).collect(),
        })
        .collect()
}

/// The same features with a target unrelated to them.
fn noise_values(rows: usize, features: usize) -> (Frame, Targets) {
    let (frame, targets) = noise(rows, features);
    let Targets::Classification { codes, .. } = targets else {
        unreachable!()
    };
    let values = codes
        .iter()
        .enumerate()
        .map(|(row, &code)| f64::from(code) + (row % 97) as f64 / 97.0)
        .collect();
    (frame, Targets::Regression(values))
}

/// Cross-validates `algorithm` (2 folds) on `features` in a pool of one thread, cancels
/// once the first fit started (after `pause`), and asserts the comparison ends as cancelled
/// within `within` of the cancel and the thread then runs a small comparison to its end.
fn a_cancel_frees_the_thread(
    algorithm: AlgorithmId,
    features: &Frame,
    targets: &Targets,
    pause: Duration,
    within: Duration,
) {
    let pool = fit_pool(Some(1)).unwrap();
    let rows = targets.len() as u32;
    let folds = two_folds(rows);
    let candidates = vec![Candidate::defaults(algorithm)];
    let (started, starts) = mpsc::channel();
    // The preprocessing runs right before each fit: it says the fit is starting.
    let prepare = move |_: &Candidate, train: &Frame, test: &Frame| {
        let _ = started.send(Instant::now());
        Ok((matrix(train), matrix(test)))
    };
    let control = CvControl::default();
    let request = CvRequest {
        features,
        targets,
        folds: &folds,
        candidates: &candidates,
        metric: if targets.task() == mltools_core::models::Task::Regression {
            Metric::R2
        } else {
            Metric::Accuracy
        },
        seed: 0,
    };
    let (cancelled_at, ended_at, outcome) = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            let outcome = cross_validate(&request, &prepare, &control, &pool);
            (Instant::now(), outcome)
        });
        starts
            .recv_timeout(Duration::from_secs(60))
            .expect("the first fit starts");
        // The cancel lands mid-fit: the pause is not synchronisation, the outcome is the
        // same if it lands earlier.
        std::thread::sleep(pause);
        let cancelled_at = Instant::now();
        control.cancel();
        let (ended_at, outcome) = run.join().unwrap();
        (cancelled_at, ended_at, outcome)
    });
    assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled, "{algorithm}");
    let stopped_within = ended_at - cancelled_at;
    assert!(
        stopped_within < within,
        "{algorithm}: the fit ran on for {stopped_within:?} after its cancel"
    );
    eprintln!("{algorithm}: stopped {stopped_within:?} after its cancel");
    assert_eq!(control.progress().0, 0, "no fit counts as done");

    // The pool's only thread is free: a small comparison runs to its end on it.
    let (small, small_targets) = noise(40, 2);
    let small_folds = two_folds(40);
    let quick = vec![Candidate::defaults(AlgorithmId::GaussianNb)];
    let plain = |_: &Candidate, train: &Frame, test: &Frame| Ok((matrix(train), matrix(test)));
    let request = CvRequest {
        features: &small,
        targets: &small_targets,
        folds: &small_folds,
        candidates: &quick,
        metric: Metric::Accuracy,
        seed: 0,
    };
    let board = cross_validate(&request, &plain, &CvControl::default(), &pool).unwrap();
    assert!(board.entries[0].error.is_none());
}

#[test]
fn a_cancelled_svm_fit_frees_its_thread_within_seconds() {
    // Uncancelled, this comparison takes about 16 s in a debug build.
    let (features, targets) = noise(10_000, 8);
    a_cancel_frees_the_thread(
        AlgorithmId::Svc,
        &features,
        &targets,
        Duration::from_millis(300),
        Duration::from_secs(5),
    );
}

// Uncancelled, each forest below takes tens of seconds: 100 trees grown until their
// leaves are pure on 100,000 training rows of noise. The cancel lands while the first trees are at
// their roots (every candidate feature of a node over 10,000 rows looks at it).

#[test]
fn a_cancelled_random_forest_classifier_frees_its_thread_within_a_second() {
    let (features, targets) = noise(200_000, 6);
    a_cancel_frees_the_thread(
        AlgorithmId::RandomForestClassifier,
        &features,
        &targets,
        Duration::from_millis(500),
        Duration::from_secs(2),
    );
}

#[test]
fn a_cancelled_random_forest_regressor_frees_its_thread_within_a_second() {
    let (features, targets) = noise_values(200_000, 6);
    a_cancel_frees_the_thread(
        AlgorithmId::RandomForestRegressor,
        &features,
        &targets,
        Duration::from_millis(500),
        Duration::from_secs(2),
    );
}

#[test]
fn a_cancelled_extra_trees_fit_frees_its_thread_within_a_second() {
    let (features, targets) = noise_values(200_000, 6);
    a_cancel_frees_the_thread(
        AlgorithmId::ExtraTreesRegressor,
        &features,
        &targets,
        Duration::from_millis(500),
        Duration::from_secs(2),
    );
}
