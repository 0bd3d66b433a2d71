//! Fit time of the linear regressors (OLS with each solver, ridge with each solver, lasso,
//! elastic net) on one thread, with the training R² and mean absolute coefficient, on
//! diabetes (442 × 10), a generated 20,000 × 20 and a generated 100,000 × 100 set. Run
//! under `--release`:
//!
//! ```text
//! cargo test -p mltools-models --release --test linear_speed -- --ignored --nocapture
//! ```

mod support;

use mltools_core::models::ParamValue;
use mltools_core::utils::Matrix;
use mltools_models::algorithms::{Estimator, ParamMap};
use mltools_models::prediction::Prediction;
use mltools_models::task::Targets;
use std::time::Instant;

/// `rows × features` uniform features in [−2, 2] (splitmix64, seed 11) and a linear target
/// with Gaussian-ish noise; a few columns are near-copies of others, as real data has.
fn generated(rows: usize, features: usize) -> (Matrix, Vec<f64>) {
    let mut random = support::SplitMix::new(11);
    let mut values = Vec::with_capacity(rows * features);
    let mut y = Vec::with_capacity(rows);
    for _ in 0..rows {
        let start = values.len();
        let mut target = 3.0;
        for feature in 0..features {
            let value = if feature % 10 == 9 {
                values[start + feature - 1] + 0.1 * (random.uniform() - 0.5)
            } else {
                4.0 * random.uniform() - 2.0
            };
            target += value * ((feature % 7) as f64 - 3.0) / 3.0;
            values.push(value);
        }
        let noise: f64 = (0..4).map(|_| random.uniform() - 0.5).sum();
        y.push(target + noise);
    }
    let matrix = Matrix {
        rows,
        columns: (0..features).map(|index| format!("x{index}")).collect(),
        values,
    };
    (matrix, y)
}

fn diabetes() -> (Matrix, Vec<f64>) {
    let set = support::diabetes();
    let Targets::Regression(y) = set.targets else {
        unreachable!()
    };
    (support::matrix(&set.features), y)
}

fn r2(predicted: &[f64], y: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let residual: f64 = predicted.iter().zip(y).map(|(p, t)| (p - t).powi(2)).sum();
    let total: f64 = y.iter().map(|t| (t - mean).powi(2)).sum();
    1.0 - residual / total
}

fn candidates() -> Vec<(&'static str, Estimator)> {
    let text = |name: &str, value: &str| {
        ParamMap::from([(name.to_owned(), ParamValue::Text(value.to_owned()))])
    };
    let build = |id: &str, params: ParamMap| Estimator::new(id, &params).unwrap();
    vec![
        ("ols svd", build("linear_regression", text("solver", "svd"))),
        ("ols qr", build("linear_regression", text("solver", "qr"))),
        ("ridge cholesky", build("ridge", ParamMap::new())),
        ("ridge svd", build("ridge", text("solver", "svd"))),
        (
            "lasso α=0.1",
            build(
                "lasso",
                ParamMap::from([("alpha".to_owned(), ParamValue::Number(0.1))]),
            ),
        ),
        (
            "elastic_net α=0.1",
            build(
                "elastic_net",
                ParamMap::from([("alpha".to_owned(), ParamValue::Number(0.1))]),
            ),
        ),
    ]
}

#[test]
#[ignore = "timing; run under --release with --ignored --nocapture"]
fn linear_fit_times() {
    let sets = [
        ("diabetes 442×10", diabetes()),
        ("generated 20000×20", generated(20_000, 20)),
        ("generated 100000×100", generated(100_000, 100)),
    ];
    for (name, (x, y)) in &sets {
        eprintln!("{name}:");
        let targets = Targets::Regression(y.clone());
        for (label, estimator) in candidates() {
            let started = Instant::now();
            let fitted = estimator.fit(x, &targets, 0);
            let elapsed = started.elapsed();
            match fitted {
                Ok(model) => {
                    let Ok(Prediction::Regression(predicted)) = model.predict(x) else {
                        unreachable!()
                    };
                    eprintln!(
                        "  {label:<20} fit {:>10.2} ms  train R² {:.6}  {}",
                        elapsed.as_secs_f64() * 1e3,
                        r2(&predicted, y),
                        model.warnings().join("; ")
                    );
                }
                Err(error) => eprintln!(
                    "  {label:<20} fit {:>10.2} ms  failed: {error}",
                    elapsed.as_secs_f64() * 1e3
                ),
            }
        }
    }
}
