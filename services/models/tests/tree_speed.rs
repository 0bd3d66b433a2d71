//! Fit time of the tree family on one thread (the best of three fits, the machine being
//! shared), with a held-out score (every fifth row held out), on digits (1797 × 64, 10 classes; the regressors predict the digit as a number)
//! and on 20,000 generated rows of 20 features. Run under `--release`:
//!
//! ```text
//! cargo test -p mltools-models --release --test tree_speed -- --ignored --nocapture
//! ```

mod support;

use mltools_core::utils::Matrix;
use mltools_models::algorithms::{AlgorithmId, Estimator};
use mltools_models::cv::fit_pool;
use mltools_models::metrics;
use mltools_models::prediction::Prediction;
use mltools_models::task::Targets;
use std::time::Instant;

/// `rows` rows of `features` uniform features in [-2, 2), a noisy linear score, its sign
/// as the class (splitmix64, seed 7).
fn generated(rows: usize, features: usize) -> (Matrix, Vec<f64>, Vec<u32>) {
    let mut random = support::SplitMix::new(7);
    let mut values = Vec::with_capacity(rows * features);
    let mut scores = Vec::with_capacity(rows);
    let mut codes = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut score = 0.0;
        for feature in 0..features {
            let value = 4.0 * random.uniform() - 2.0;
            score += value * (feature as f64 - 9.5) / 10.0;
            values.push(value);
        }
        let noisy = score + 2.0 * (random.uniform() - 0.5);
        scores.push(noisy);
        codes.push(u32::from(noisy > 0.0));
    }
    let columns = (0..features).map(|f| format!("x{f}")).collect();
    (
        Matrix {
            rows,
            columns,
            values,
        },
        scores,
        codes,
    )
}

fn digits() -> (Matrix, Vec<f64>, Vec<u32>) {
    let set = support::digits();
    let Targets::Classification { codes, .. } = set.targets else {
        unreachable!()
    };
    let numbers = codes.iter().map(|&code| f64::from(code)).collect();
    (support::matrix(&set.features), numbers, codes)
}

fn split(x: &Matrix, held_out: bool) -> Matrix {
    let width = x.columns.len();
    let rows: Vec<usize> = (0..x.rows)
        .filter(|row| (row % 5 == 0) == held_out)
        .collect();
    Matrix {
        rows: rows.len(),
        columns: x.columns.clone(),
        values: rows
            .iter()
            .flat_map(|&row| x.values[row * width..(row + 1) * width].iter().copied())
            .collect(),
    }
}

fn pick<T: Copy>(values: &[T], held_out: bool) -> Vec<T> {
    (0..values.len())
        .filter(|row| (row % 5 == 0) == held_out)
        .map(|row| values[row])
        .collect()
}

fn time(name: &str, x: &Matrix, numbers: &[f64], codes: &[u32], classes: usize) {
    let pool = fit_pool(Some(1)).unwrap();
    let (train, test) = (split(x, false), split(x, true));
    let ids = [
        AlgorithmId::DecisionTreeClassifier,
        AlgorithmId::RandomForestClassifier,
        AlgorithmId::DecisionTreeRegressor,
        AlgorithmId::RandomForestRegressor,
        AlgorithmId::ExtraTreesRegressor,
        AlgorithmId::ExtraTreesClassifier,
    ];
    for id in ids {
        let (targets, truth) = match id.task() {
            mltools_core::models::Task::Classification => (
                Targets::Classification {
                    codes: pick(codes, false),
                    classes: (0..classes).map(|c| c.to_string()).collect(),
                },
                Targets::Classification {
                    codes: pick(codes, true),
                    classes: Vec::new(),
                },
            ),
            mltools_core::models::Task::Regression => (
                Targets::Regression(pick(numbers, false)),
                Targets::Regression(pick(numbers, true)),
            ),
        };
        let mut fitted = std::time::Duration::MAX;
        let mut model = None;
        for _ in 0..3 {
            let started = Instant::now();
            model = Some(
                pool.install(|| Estimator::defaults(id).fit(&train, &targets, 0))
                    .unwrap(),
            );
            fitted = fitted.min(started.elapsed());
        }
        let model = model.unwrap();
        let score = match (model.predict(&test).unwrap(), truth) {
            (Prediction::Classification(p), Targets::Classification { codes, .. }) => {
                let right = p.labels.iter().zip(&codes).filter(|(a, b)| a == b).count();
                right as f64 / codes.len() as f64
            }
            (Prediction::Regression(p), Targets::Regression(truth)) => metrics::r2(&truth, &p),
            _ => unreachable!(),
        };
        eprintln!(
            "{name:<10} {:<26} fit {:>9.1} ms  held-out {}: {score:.4}",
            id.as_str(),
            fitted.as_secs_f64() * 1000.0,
            if id.task() == mltools_core::models::Task::Classification {
                "accuracy"
            } else {
                "R²"
            }
        );
    }
}

#[test]
#[ignore = "timing: run under --release with --ignored --nocapture"]
fn tree_family_fit_times_on_one_thread() {
    let (x, numbers, codes) = digits();
    time("digits", &x, &numbers, &codes, 10);
    let (x, scores, codes) = generated(20_000, 20);
    time("20k×20", &x, &scores, &codes, 2);
}
