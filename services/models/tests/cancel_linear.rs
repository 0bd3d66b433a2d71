//! A cancel frees the fit thread for the linear regressors too: least squares (QR + SVD)
//! and ridge (the blocked Gram matrix) on a 50,000 × 1,200 design (uncancelled, about 67 s
//! and 4 s in a debug build), and the lasso on a wide correlated design whose coordinate
//! descent crawls (minutes), each cancelled a second into its fit, end as cancelled well
//! within a second, and the pool's only thread then runs the next fit.

mod support;

use mltools_core::frame::Frame;
use mltools_core::models::{ModelSpec, ParamValue};
use mltools_core::utils::Fold;
use mltools_models::algorithms::AlgorithmId;
use mltools_models::cv::{Candidate, fit_pool};
use mltools_models::task::Targets;
use rayon::ThreadPool;
use std::collections::BTreeMap;
use std::time::Duration;
use support::XorShift;

/// `rows × features` pseudo-random features in [0, 1) (xorshift), each column from the
/// third on nearly a copy of the one two before it (so coordinate descent crawls), and a
/// noisy linear target.
fn correlated(rows: usize, features: usize) -> (Frame, Targets) {
    let mut random = XorShift::new();
    let mut columns: Vec<Vec<f64>> = (0..features).map(|_| Vec::with_capacity(rows)).collect();
    let mut y = Vec::with_capacity(rows);
    let mut row = vec![0.0; features];
    for _ in 0..rows {
        let mut target = random.uniform() - 0.5;
        for feature in 0..features {
            row[feature] = if feature >= 2 {
                row[feature - 2] + 0.01 * random.uniform()
            } else {
                random.uniform()
            };
            target += row[feature] * ((feature % 5) as f64 - 2.0);
            columns[feature].push(row[feature]);
        }
        y.push(target);
    }
    let frame = support::frame(columns);
    (frame, Targets::Regression(y))
}

/// One fold: train on all rows but the last tenth (at most 100).
fn one_fold(rows: u32) -> Vec<Fold> {
    let first_test = rows - (rows / 10).min(100);
    vec![Fold {
        train: (0..first_test).collect(),
        test: (first_test..rows).collect(),
    }]
}

fn candidate(algorithm: &str, params: &[(&str, ParamValue)]) -> Candidate {
    Candidate::new(ModelSpec {
        algorithm: algorithm.to_owned(),
        params: params
            .iter()
            .map(|(name, value)| ((*name).to_owned(), value.clone()))
            .collect::<BTreeMap<_, _>>(),
        pipeline: None,
    })
    .unwrap()
}

/// Runs `candidate` on `features` on `pool` (one fold), cancels it `after` its fit
/// started, and returns how long it ran on after the cancel.
fn cancel_mid_fit(
    pool: &ThreadPool,
    features: &Frame,
    targets: &Targets,
    candidate: Candidate,
    after: Duration,
) -> Duration {
    let folds = one_fold(targets.len() as u32);
    support::cancel_mid_fit(pool, features, targets, &folds, candidate, after)
}

/// The pool's only thread is free: a small comparison runs to its end on it.
fn next_fit_runs(pool: &ThreadPool) {
    let (small, small_targets) = correlated(60, 3);
    support::runs_to_its_end(
        pool,
        AlgorithmId::LinearRegression,
        &small,
        &small_targets,
        &one_fold(60),
    );
}

#[test]
fn cancelled_linear_fits_free_their_thread_within_a_second() {
    let pool = fit_pool(Some(1)).unwrap();

    // More columns than rows: coordinate descent reads the columns (no Gram matrix), about
    // 11 ms an epoch in a debug build, still short of a 1e-12 duality gap after 400
    // epochs; uncancelled, its 100,000 epochs would take some 18 minutes.
    let (features, targets) = correlated(2_000, 4_000);
    let lasso = candidate(
        "lasso",
        &[
            ("alpha", ParamValue::Number(1e-6)),
            ("tol", ParamValue::Number(1e-12)),
            ("max_iter", ParamValue::Integer(100_000)),
        ],
    );
    let ran_on = cancel_mid_fit(&pool, &features, &targets, lasso, Duration::from_secs(1));
    eprintln!("lasso: stopped {ran_on:?} after its cancel");
    assert!(
        ran_on < Duration::from_secs(2),
        "lasso ran on for {ran_on:?}"
    );
    next_fit_runs(&pool);
    drop((features, targets));

    // Uncancelled, least squares takes about 67 s on this in a debug build, ridge 4 s.
    let (features, targets) = correlated(50_000, 1_200);
    let solvers = [candidate("linear_regression", &[]), candidate("ridge", &[])];
    for candidate in solvers {
        let algorithm = candidate.spec.algorithm.clone();
        let ran_on = cancel_mid_fit(
            &pool,
            &features,
            &targets,
            candidate,
            Duration::from_secs(1),
        );
        eprintln!("{algorithm}: stopped {ran_on:?} after its cancel");
        assert!(
            ran_on < Duration::from_secs(2),
            "{algorithm} ran on for {ran_on:?}"
        );
        next_fit_runs(&pool);
    }
}
