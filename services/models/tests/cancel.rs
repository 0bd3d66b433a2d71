//! A cancel frees the fit thread, not just the future: an SVM fit, or a forest's, long
//! enough to take many seconds, cancelled once it started, ends as cancelled within a
//! couple of seconds, and the pool's only thread then runs the next fit.

mod support;

use mltools_core::frame::Frame;
use mltools_core::utils::Fold;
use mltools_models::algorithms::AlgorithmId;
use mltools_models::cv::{Candidate, fit_pool};
use mltools_models::task::Targets;
use std::time::Duration;
use support::XorShift;

/// `rows` rows of `features` pseudo-random features with labels unrelated to them: a hard
/// problem, so the SMO solver runs many iterations (and Platt scaling five more fits), and
/// trees grow until nearly every row has its own leaf.
fn noise(rows: usize, features: usize) -> (Frame, Targets) {
    let mut random = XorShift::new();
    let mut columns: Vec<Vec<f64>> = (0..features).map(|_| Vec::with_capacity(rows)).collect();
    let mut codes = Vec::with_capacity(rows);
    for _ in 0..rows {
        for column in &mut columns {
            column.push(random.uniform());
        }
        codes.push(u32::from(random.uniform() < 0.5));
    }
    let frame = support::frame(columns);
    let targets = Targets::Classification {
        codes,
        classes: vec!["a".into(), "b".into()],
    };
    (frame, targets)
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
/// `pause` after the first fit started, and asserts the comparison ends as cancelled
/// within `within` of the cancel and the thread then runs a small comparison to its end.
fn a_cancel_frees_the_thread(
    algorithm: AlgorithmId,
    features: &Frame,
    targets: &Targets,
    pause: Duration,
    within: Duration,
) {
    let pool = fit_pool(Some(1)).unwrap();
    let folds = two_folds(targets.len() as u32);
    let candidate = Candidate::defaults(algorithm);
    let stopped_within =
        support::cancel_mid_fit(&pool, features, targets, &folds, candidate, pause);
    assert!(
        stopped_within < within,
        "{algorithm}: the fit ran on for {stopped_within:?} after its cancel"
    );
    eprintln!("{algorithm}: stopped {stopped_within:?} after its cancel");
    let (small, small_targets) = noise(40, 2);
    support::runs_to_its_end(
        &pool,
        AlgorithmId::GaussianNb,
        &small,
        &small_targets,
        &two_folds(40),
    );
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
