//! A cancel frees the fit thread for the linear regressors too: least squares (QR + SVD)
//! and ridge (the blocked Gram matrix) on a 50,000 × 1,200 design (uncancelled, about 67 s
//! and 4 s in a debug build), and the lasso on a wide correlated design whose coordinate
//! descent crawls (minutes), each cancelled a second into its fit, end as cancelled well
//! within a second, and the pool's only thread then runs the next fit.

use mltools_core::frame::{Column, Frame};
use mltools_core::models::{ModelSpec, ParamValue};
use mltools_core::utils::{Fold, Matrix};
use mltools_models::ModelsError;
use mltools_models::algorithms::AlgorithmId;
use mltools_models::cv::{Candidate, CvControl, CvRequest, cross_validate, fit_pool};
use mltools_models::metrics::Metric;
use mltools_models::task::Targets;
use rayon::ThreadPool;
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `rows × features` pseudo-random features in [0, 1) (xorshift), each column from the
/// third on nearly a copy of the one two before it (so coordinate descent crawls), and a
/// noisy linear target.
fn correlated(rows: usize, features: usize) -> (Frame, Targets) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut columns: Vec<Vec<f64>> = (0..features).map(|_| Vec::with_capacity(rows)).collect();
    let mut y = Vec::with_capacity(rows);
    let mut row = vec![0.0; features];
    for _ in 0..rows {
        let mut target = next() - 0.5;
        for feature in 0..features {
            row[feature] = if feature >= 2 {
                row[feature - 2] + 0.01 * next()
            } else {
                next()
            };
            target += row[feature] * ((feature % 5) as f64 - 2.0);
            columns[feature].push(row[feature]);
        }
        y.push(target);
    }
    let frame = Frame {
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(index, values)| Column::numeric(format!("x{index}"), values))
            .collect(),
    };
    (frame, Targets::Regression(y))
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
    let width = columns.len();
    let mut values = vec![0.0; rows * width];
    for (index, column) in columns.iter().enumerate() {
        for (row, &value) in column.iter().enumerate() {
            values[row * width + index] = value;
        }
    }
    Matrix {
        rows,
        columns: frame.columns.iter().map(|c| c.name.clone()).collect(),
        values,
    }
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

/// Runs `candidate` on `features` on `pool`, cancels it `after` its fit started (the
/// preprocessing signals once the matrices are built, right before the fit), and returns
/// how long it ran on after the cancel.
fn cancel_mid_fit(
    pool: &ThreadPool,
    features: &Frame,
    targets: &Targets,
    candidate: Candidate,
    after: Duration,
) -> Duration {
    let folds = one_fold(targets.len() as u32);
    let candidates = vec![candidate];
    let (started, starts) = mpsc::channel();
    let prepare = move |_: &Candidate, train: &Frame, test: &Frame| {
        let matrices = (matrix(train), matrix(test));
        let _ = started.send(Instant::now());
        Ok(matrices)
    };
    let control = CvControl::default();
    let request = CvRequest {
        features,
        targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::R2,
        seed: 0,
    };
    let (cancelled_at, ended_at, outcome) = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            let outcome = cross_validate(&request, &prepare, &control, pool);
            (Instant::now(), outcome)
        });
        starts
            .recv_timeout(Duration::from_secs(120))
            .expect("the fit starts");
        // The pause lets the fit get into its loops; the outcome is the same if the
        // cancel lands earlier.
        std::thread::sleep(after);
        let cancelled_at = Instant::now();
        control.cancel();
        let (ended_at, outcome) = run.join().unwrap();
        (cancelled_at, ended_at, outcome)
    });
    let algorithm = &candidates[0].spec.algorithm;
    assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled, "{algorithm}");
    assert_eq!(
        control.progress().0,
        0,
        "{algorithm}: no fit counts as done"
    );
    ended_at - cancelled_at
}

/// The pool's only thread is free: a small comparison runs to its end on it.
fn next_fit_runs(pool: &ThreadPool) {
    let (small, small_targets) = correlated(60, 3);
    let folds = one_fold(60);
    let quick = vec![Candidate::defaults(AlgorithmId::LinearRegression)];
    let plain = |_: &Candidate, train: &Frame, test: &Frame| Ok((matrix(train), matrix(test)));
    let request = CvRequest {
        features: &small,
        targets: &small_targets,
        folds: &folds,
        candidates: &quick,
        metric: Metric::R2,
        seed: 0,
    };
    let board = cross_validate(&request, &plain, &CvControl::default(), pool).unwrap();
    assert!(board.entries[0].error.is_none(), "{board:?}");
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
