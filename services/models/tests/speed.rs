//! Fit + predict time of our logistic regression and k-NN over 5 stratified folds, on one
//! thread, with the accuracy, ROC AUC and log loss scikit-learn's would be compared with.
//! Run under `--release`:
//!
//! ```text
//! cargo test -p mltools-models --release --test speed -- --ignored --nocapture
//! ```
//!
//! With `MLTOOLS_SPEED_EXPORT=<dir>` set it also writes each set and its folds as CSV
//! (`<set>.csv`: the features, then the class; `<set>.folds`: each row's test fold), for
//! timing scikit-learn on identical splits.

mod support;

use mltools_core::ColumnData;
use mltools_core::models::Leaderboard;
use mltools_models::algorithms::AlgorithmId;
use mltools_models::cv::{Candidate, CvControl, CvRequest, cross_validate, fit_pool};
use mltools_models::metrics::Metric;
use mltools_models::task::Targets;
use std::fmt::Write as _;
use support::Set;

/// 20,000 rows of 20 features and a noisy linear binary target (splitmix64, seed 7).
fn generated() -> Set {
    let mut random = support::SplitMix::new(7);
    let (rows, features) = (20_000, 20);
    let mut columns = vec![Vec::with_capacity(rows); features];
    let mut codes = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut score = 0.0;
        for (feature, column) in columns.iter_mut().enumerate() {
            let value = 4.0 * random.uniform() - 2.0;
            score += value * (feature as f64 - 9.5) / 10.0;
            column.push(value);
        }
        codes.push(u32::from(score + 2.0 * (random.uniform() - 0.5) > 0.0));
    }
    Set {
        features: support::frame(columns),
        targets: Targets::Classification {
            codes,
            classes: vec!["no".into(), "yes".into()],
        },
    }
}

fn export(name: &str, set: &Set, folds: &[mltools_core::utils::Fold]) {
    let Ok(dir) = std::env::var("MLTOOLS_SPEED_EXPORT") else {
        return;
    };
    let Targets::Classification { codes, .. } = &set.targets else {
        return;
    };
    let mut csv = String::new();
    for (row, code) in codes.iter().enumerate() {
        for column in &set.features.columns {
            if let ColumnData::Numeric(values) = &column.data {
                write!(csv, "{:?},", values[row]).unwrap();
            }
        }
        writeln!(csv, "{code}").unwrap();
    }
    std::fs::write(format!("{dir}/{name}.csv"), csv).unwrap();
    let mut fold_of = vec![0; codes.len()];
    for (index, fold) in folds.iter().enumerate() {
        for &row in &fold.test {
            fold_of[row as usize] = index;
        }
    }
    let lines: Vec<String> = fold_of.iter().map(ToString::to_string).collect();
    std::fs::write(format!("{dir}/{name}.folds"), lines.join("\n")).unwrap();
}

fn measure(name: &str, set: &Set, ids: &[AlgorithmId]) -> Leaderboard {
    let folds = support::k_folds(&set.targets, 5, 0);
    export(name, set, &folds);
    let candidates: Vec<Candidate> = ids.iter().copied().map(Candidate::defaults).collect();
    let request = CvRequest {
        features: &set.features,
        targets: &set.targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::Accuracy,
        seed: 0,
    };
    let pool = fit_pool(Some(1)).unwrap();
    let run = || {
        cross_validate(
            &request,
            &support::standard_scaled,
            &CvControl::default(),
            &pool,
        )
        .unwrap()
    };
    let board = run();
    // The best of 5 runs, as the scikit-learn side is timed.
    let mut best: Vec<f64> = vec![f64::INFINITY; board.entries.len()];
    for _ in 0..5 {
        for (entry, best) in run().entries.iter().zip(&mut best) {
            *best = best.min(5.0 * (entry.fit_ms + entry.predict_ms));
        }
    }
    for (entry, best) in board.entries.iter().zip(&best) {
        let metric = |name: &str| entry.metrics.get(name).map_or(f64::NAN, |m| m.mean);
        eprintln!(
            "{name:<14} {:<20} fit+predict over 5 folds, best of 5 {:>9.1} ms  accuracy {:.4}  roc_auc {:.4}  log_loss {:.4}  {:?}",
            entry.model.algorithm,
            best,
            metric("accuracy"),
            metric("roc_auc"),
            metric("log_loss"),
            entry.warnings,
        );
    }
    board
}

#[test]
#[ignore = "a measurement: run under --release"]
fn logistic_regression_and_knn_speed() {
    let both = [AlgorithmId::LogisticRegression, AlgorithmId::KnnClassifier];
    measure("breast_cancer", &support::breast_cancer(), &both);
    measure("digits", &support::digits(), &both);
    measure("generated", &generated(), &both);
}
