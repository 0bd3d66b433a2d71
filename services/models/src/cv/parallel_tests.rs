//! A comparison on one fit thread and on several gives the same leaderboard, bit for bit;
//! a solver that did not converge says so on it.

use super::*;
use mltools_core::models::{LeaderboardEntry, ParamValue};

/// 120 rows, 4 features, 3 overlapping classes, from a fixed generator (splitmix64).
fn three_classes() -> (Frame, Targets) {
    let mut state = 99u64;
    let mut uniform = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / 9_007_199_254_740_992.0
    };
    let mut columns = vec![Vec::new(); 4];
    let mut codes = Vec::new();
    for row in 0..120u32 {
        let class = row % 3;
        for (feature, column) in columns.iter_mut().enumerate() {
            let centre = f64::from(class) * if feature % 2 == 0 { 1.0 } else { -0.5 };
            column.push(centre + 2.0 * uniform() - 1.0);
        }
        codes.push(class);
    }
    let features = Frame {
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(index, values)| Column::numeric(format!("x{index}"), values))
            .collect(),
    };
    let classes = vec!["a".into(), "b".into(), "c".into()];
    (features, Targets::Classification { codes, classes })
}

/// 5 interleaved folds.
fn folds(rows: u32) -> Vec<Fold> {
    (0..5)
        .map(|fold| Fold {
            train: (0..rows).filter(|row| row % 5 != fold).collect(),
            test: (0..rows).filter(|row| row % 5 == fold).collect(),
        })
        .collect()
}

fn as_matrix(_: &Candidate, train: &Frame, test: &Frame) -> Result<(Matrix, Matrix), String> {
    let matrix = |frame: &Frame| {
        let rows = frame.rows();
        let mut values = Vec::with_capacity(rows * frame.columns.len());
        for row in 0..rows {
            for column in &frame.columns {
                let ColumnData::Numeric(numbers) = &column.data else {
                    return Err("categorical".to_owned());
                };
                values.push(numbers[row]);
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

/// Every classifier with its defaults, and a logistic regression cut short.
fn candidates() -> Vec<Candidate> {
    let mut candidates: Vec<Candidate> =
        AlgorithmId::of_task(mltools_core::models::Task::Classification)
            .map(Candidate::defaults)
            .collect();
    let short = ModelSpec {
        algorithm: "logistic_regression".to_owned(),
        params: BTreeMap::from([("max_iter".to_owned(), ParamValue::Integer(2))]),
        pipeline: None,
    };
    candidates.push(Candidate::new(short).unwrap());
    candidates
}

fn compare(threads: usize) -> Leaderboard {
    let (features, targets) = three_classes();
    let folds = folds(120);
    let candidates = candidates();
    let request = CvRequest {
        features: &features,
        targets: &targets,
        folds: &folds,
        candidates: &candidates,
        metric: Metric::LogLoss,
        seed: 17,
    };
    // A pool of its own, as the brief of the service has it: the fits run on rayon.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    cross_validate(&request, &as_matrix, &CvControl::default(), &pool).unwrap()
}

/// What must not depend on the scheduling: everything but the timings, floats as bits.
fn fingerprint(entry: &LeaderboardEntry) -> String {
    let metrics: Vec<String> = entry
        .metrics
        .iter()
        .map(|(name, value)| {
            format!(
                "{name}={:016x}±{:016x}",
                value.mean.to_bits(),
                value.std.to_bits()
            )
        })
        .collect();
    format!(
        "{:?} {:?} {} {:?} {:?}",
        entry.model.algorithm,
        entry.model.params,
        metrics.join(","),
        entry.error,
        entry.warnings
    )
}

#[test]
fn one_thread_and_three_give_the_same_leaderboard_bit_for_bit() {
    let one = compare(1);
    let three = compare(3);
    let prints = |board: &Leaderboard| board.entries.iter().map(fingerprint).collect::<Vec<_>>();
    assert_eq!(prints(&one), prints(&three));
    let bits = |values: &[f64]| values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let (one_oof, three_oof) = (one.out_of_fold.unwrap(), three.out_of_fold.unwrap());
    assert_eq!(bits(&one_oof.predicted), bits(&three_oof.predicted));
    assert_eq!(one.entries.len(), 8);
    assert!(one.entries.iter().all(|entry| entry.error.is_none()));
    // Every classifier has probabilities (SVC's by Platt scaling), so every one has ROC AUC
    // (one-vs-rest) and log loss.
    for entry in &one.entries {
        assert!(entry.metrics.contains_key("log_loss"), "{entry:?}");
        assert!(entry.metrics.contains_key("roc_auc"), "{entry:?}");
    }
}

#[test]
fn a_solver_that_did_not_converge_says_so_on_the_leaderboard() {
    let board = compare(2);
    let short = board
        .entries
        .iter()
        .find(|entry| entry.model.params.contains_key("max_iter"))
        .unwrap();
    assert_eq!(short.warnings.len(), 5, "{:?}", short.warnings);
    for (fold, warning) in short.warnings.iter().enumerate() {
        let prefix =
            format!("fold {fold}: logistic_regression did not converge in 2 iterations (gradient ");
        assert!(warning.starts_with(&prefix), "{warning}");
        assert!(
            warning.ends_with("> tol 1e-4); raise max_iter"),
            "{warning}"
        );
    }
    // The default logistic regression converges on this easy problem: no warning.
    let default = board
        .entries
        .iter()
        .find(|entry| {
            entry.model.algorithm == "logistic_regression" && entry.model.params.is_empty()
        })
        .unwrap();
    assert!(default.warnings.is_empty(), "{:?}", default.warnings);
    assert!(
        board
            .entries
            .iter()
            .filter(|e| !std::ptr::eq(*e, short))
            .all(|e| e.warnings.is_empty())
    );
}
