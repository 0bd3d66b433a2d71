//! Fold scores into leaderboard rows, their ranking, and the whole leaderboard: the one
//! assembly both a comparison on one node and a comparison spread over many use.

use crate::metrics::{Metric, below_log_domain};
use mltools_core::ServiceError;
use mltools_core::models::{
    Leaderboard, LeaderboardEntry, MetricValue, ModelSpec, OutOfFold, Task, UnitScores,
};
use mltools_core::utils::Fold;
use std::collections::BTreeMap;

/// What the assembly of a leaderboard needs besides the units' outcomes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoardPlan<'a> {
    /// The task.
    pub(crate) task: Task,
    /// The metric the entries are ranked by.
    pub(crate) metric: Metric,
    /// The candidates, in tie order.
    pub(crate) candidates: &'a [ModelSpec],
    /// The folds (their test rows place the out-of-fold predictions).
    pub(crate) folds: &'a [Fold],
    /// Rows in the data.
    pub(crate) rows: usize,
    /// The class labels, for classification.
    pub(crate) classes: Option<&'a [String]>,
}

/// The leaderboard from every (candidate, fold) outcome, candidate by candidate, each
/// candidate's in fold order (`outcomes.len()` is candidates × folds; the caller checks
/// it). Pure: the same outcomes give the same board, bit for bit, wherever they were
/// computed. The comparison's warnings and kept model are the caller's to add.
pub(crate) fn assemble(
    plan: &BoardPlan<'_>,
    outcomes: &[Result<UnitScores, ServiceError>],
) -> Leaderboard {
    let per_candidate: Vec<&[Result<UnitScores, ServiceError>]> =
        outcomes.chunks(plan.folds.len().max(1)).collect();
    let entries = per_candidate
        .iter()
        .zip(plan.candidates)
        .map(|(scores, spec)| entry(spec, plan.task, scores))
        .collect();
    let warnings = rmsle_left_out(plan, &per_candidate);
    let entries = rank(entries, plan.metric);
    let out_of_fold = entries
        .first()
        .filter(|best| best.error.is_none())
        .and_then(|best| plan.candidates.iter().position(|spec| *spec == best.model))
        .and_then(|index| per_candidate.get(index))
        .and_then(|scores| out_of_fold(plan, scores));
    Leaderboard {
        task: plan.task,
        metric: plan.metric.as_str().to_owned(),
        entries,
        best: None,
        out_of_fold,
        importances: None,
        warnings,
    }
}

/// Why RMSLE is missing from a regression board: the target has a value at or below −1
/// (named with its row), or the candidates named predicted one; empty when it is on every
/// board entry that did not fail.
fn rmsle_left_out(
    plan: &BoardPlan<'_>,
    per_candidate: &[&[Result<UnitScores, ServiceError>]],
) -> Vec<String> {
    const UNDEFINED: &str = "where ln(1 + y) is undefined";
    if plan.task != Task::Regression {
        return Vec::new();
    }
    let truth = per_candidate.iter().find_map(|outcomes| {
        plan.folds
            .iter()
            .zip(*outcomes)
            .find_map(|(fold, outcome)| {
                let (index, value) = below_log_domain(&outcome.as_ref().ok()?.actual)?;
                Some((fold.test.get(index).copied()?, value))
            })
    });
    if let Some((row, value)) = truth {
        return vec![format!(
            "rmsle is left out: the target is {value} at row {row}, {UNDEFINED}"
        )];
    }
    let predicted: Vec<String> = per_candidate
        .iter()
        .zip(plan.candidates)
        .filter(|(outcomes, _)| {
            outcomes.iter().all(Result::is_ok)
                && outcomes.iter().any(|outcome| {
                    outcome
                        .as_ref()
                        .is_ok_and(|scores| below_log_domain(&scores.predicted).is_some())
                })
        })
        .map(|(_, spec)| mltools_core::report::model_label(spec))
        .collect();
    if predicted.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "rmsle is left out for {}: a prediction at or below −1, {UNDEFINED}",
        predicted.join(", ")
    )]
}

/// Every row's held-out prediction by one candidate, in row order (a row in no test set
/// is `NaN` throughout; a k-fold split leaves none).
fn out_of_fold(
    plan: &BoardPlan<'_>,
    outcomes: &[Result<UnitScores, ServiceError>],
) -> Option<OutOfFold> {
    let mut actual = vec![f64::NAN; plan.rows];
    let mut predicted = vec![f64::NAN; plan.rows];
    let mut scores = Some(vec![f64::NAN; plan.rows]);
    for (fold, outcome) in plan.folds.iter().zip(outcomes) {
        let score = outcome.as_ref().ok()?;
        let place = |all: &mut Vec<f64>, values: &[f64]| {
            for (&row, &value) in fold.test.iter().zip(values) {
                if let Some(slot) = all.get_mut(row as usize) {
                    *slot = value;
                }
            }
        };
        place(&mut actual, &score.actual);
        place(&mut predicted, &score.predicted);
        match (&mut scores, &score.scores) {
            (Some(all), Some(fold_scores)) => place(all, fold_scores),
            _ => scores = None,
        }
    }
    Some(OutOfFold {
        actual,
        predicted,
        scores,
        classes: plan.classes.map(<[String]>::to_vec),
    })
}

/// One leaderboard row from a candidate's fold outcomes.
fn entry(
    spec: &ModelSpec,
    task: Task,
    outcomes: &[Result<UnitScores, ServiceError>],
) -> LeaderboardEntry {
    let mut failed = LeaderboardEntry {
        model: spec.clone(),
        metrics: BTreeMap::new(),
        fit_ms: 0.0,
        predict_ms: 0.0,
        error: None,
        warnings: Vec::new(),
    };
    let mut scores = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Ok(score) => scores.push(score),
            Err(error) => {
                failed.error = Some(error.clone());
                return failed;
            }
        }
    }
    let mut metrics = BTreeMap::new();
    for metric in Metric::of_task(task) {
        let values: Vec<f64> = scores
            .iter()
            .filter_map(|s| s.metrics.get(metric.as_str()).copied())
            .collect();
        // A metric missing on some fold (ROC AUC on a fold with one class) is left out.
        if !values.is_empty() && values.len() == scores.len() {
            metrics.insert(metric.as_str().to_owned(), mean_std(&values));
        }
    }
    LeaderboardEntry {
        model: spec.clone(),
        metrics,
        fit_ms: mean_std(&scores.iter().map(|s| s.fit_ms).collect::<Vec<_>>()).mean,
        predict_ms: mean_std(&scores.iter().map(|s| s.predict_ms).collect::<Vec<_>>()).mean,
        error: None,
        // In fold order: a model that did not converge says so, fold by fold.
        warnings: scores.iter().flat_map(|s| s.warnings.clone()).collect(),
    }
}

/// Mean and population standard deviation (as NumPy's `std`, which scikit-learn's
/// reports use).
fn mean_std(values: &[f64]) -> MetricValue {
    let count = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / count;
    let variance = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count;
    MetricValue {
        mean,
        std: variance.sqrt(),
    }
}

/// The entry a comparison keeps: the top-ranked one, if it did not fail and has a finite
/// `metric` (a board whose best model lacks the metric has no winner to keep).
pub(crate) fn best(entries: &[LeaderboardEntry], metric: Metric) -> Option<&LeaderboardEntry> {
    entries.first().filter(|entry| {
        entry.error.is_none()
            && entry
                .metrics
                .get(metric.as_str())
                .is_some_and(|value| value.mean.is_finite())
    })
}

/// Best first by `metric`; entries without it, or with a non-finite mean, next; failed ones
/// last; stable otherwise.
fn rank(mut entries: Vec<LeaderboardEntry>, metric: Metric) -> Vec<LeaderboardEntry> {
    // A NaN mean sorts before every number under `total_cmp` (and −NaN after), so a
    // non-finite mean is ranked as a missing metric, never as a score.
    let key = |entry: &LeaderboardEntry| -> (u8, f64) {
        match (&entry.error, entry.metrics.get(metric.as_str())) {
            (Some(_), _) => (2, 0.0),
            (None, Some(value)) if value.mean.is_finite() => {
                if metric.higher_is_better() {
                    (0, -value.mean)
                } else {
                    (0, value.mean)
                }
            }
            (None, _) => (1, 0.0),
        }
    };
    entries.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
    });
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(algorithm: &str, metric: Metric, mean: Option<f64>) -> LeaderboardEntry {
        LeaderboardEntry {
            model: ModelSpec {
                algorithm: algorithm.to_owned(),
                params: BTreeMap::new(),
                pipeline: None,
            },
            metrics: mean
                .map(|mean| {
                    BTreeMap::from([(metric.as_str().to_owned(), MetricValue { mean, std: 0.0 })])
                })
                .unwrap_or_default(),
            fit_ms: 0.0,
            predict_ms: 0.0,
            error: None,
            warnings: Vec::new(),
        }
    }

    fn order(entries: &[LeaderboardEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.model.algorithm.as_str()).collect()
    }

    #[test]
    fn a_non_finite_mean_ranks_as_missing_after_every_finite_one() {
        for (metric, finite) in [
            (Metric::R2, ["high", "low"]),
            (Metric::Rmse, ["low", "high"]),
        ] {
            let failed = LeaderboardEntry {
                error: Some(ServiceError::internal("boom")),
                ..scored("failed", metric, None)
            };
            let entries = vec![
                failed,
                scored("nan", metric, Some(f64::NAN)),
                scored("negative_nan", metric, Some(-f64::NAN)),
                scored("inf", metric, Some(f64::INFINITY)),
                scored("low", metric, Some(0.1)),
                scored("missing", metric, None),
                scored("high", metric, Some(0.9)),
            ];
            let ranked = rank(entries, metric);
            let mut expected = finite.to_vec();
            expected.extend(["nan", "negative_nan", "inf", "missing", "failed"]);
            assert_eq!(order(&ranked), expected, "{metric}");
            assert_eq!(best(&ranked, metric).unwrap().model.algorithm, finite[0]);
        }
    }

    fn regression_unit(actual: &[f64], predicted: &[f64]) -> Result<UnitScores, ServiceError> {
        Ok(UnitScores {
            metrics: crate::metrics::regression_scores(actual, predicted)
                .into_iter()
                .map(|(metric, value)| (metric.as_str().to_owned(), value))
                .collect(),
            fit_ms: 1.0,
            predict_ms: 1.0,
            actual: actual.to_vec(),
            predicted: predicted.to_vec(),
            scores: None,
            warnings: Vec::new(),
        })
    }

    fn spec(algorithm: &str) -> ModelSpec {
        ModelSpec {
            algorithm: algorithm.to_owned(),
            params: BTreeMap::new(),
            pipeline: None,
        }
    }

    // Rows 0–1 are fold 0's test rows, rows 2–3 fold 1's.
    fn two_folds() -> Vec<Fold> {
        vec![
            Fold {
                train: vec![2, 3],
                test: vec![0, 1],
            },
            Fold {
                train: vec![0, 1],
                test: vec![2, 3],
            },
        ]
    }

    #[test]
    fn rmsle_is_left_out_where_undefined_with_the_reason() {
        let folds = two_folds();
        let candidates = [spec("ridge"), spec("lasso"), spec("svr")];
        let plan = BoardPlan {
            task: Task::Regression,
            metric: Metric::R2,
            candidates: &candidates,
            folds: &folds,
            rows: 4,
            classes: None,
        };
        // A positive target: lasso predicts −2 on fold 1, svr failed on fold 0.
        let outcomes = vec![
            regression_unit(&[1.0, 2.0], &[1.5, 2.0]),
            regression_unit(&[3.0, 4.0], &[3.0, 3.5]),
            regression_unit(&[1.0, 2.0], &[1.0, 2.0]),
            regression_unit(&[3.0, 4.0], &[-2.0, 4.0]),
            Err(ServiceError::internal("boom")),
            regression_unit(&[3.0, 4.0], &[-2.0, 4.0]),
        ];
        let board = assemble(&plan, &outcomes);
        let by_name = |name: &str| {
            board
                .entries
                .iter()
                .find(|entry| entry.model.algorithm == name)
                .unwrap()
        };
        assert!(by_name("ridge").metrics.contains_key("rmsle"));
        assert!(by_name("ridge").metrics.contains_key("mape"));
        assert!(!by_name("lasso").metrics.contains_key("rmsle"));
        assert!(by_name("lasso").metrics.contains_key("mape"));
        // The failed candidate is not named: its failure is its own story.
        assert_eq!(
            board.warnings,
            [
                "rmsle is left out for lasso: a prediction at or below −1, where ln(1 + y) \
                 is undefined"
            ]
        );

        // A target at or below −1 (row 3, in fold 1): one warning naming the row, whatever
        // the models predicted.
        let outcomes: Vec<_> = (0..3)
            .flat_map(|_| {
                [
                    regression_unit(&[1.0, 2.0], &[1.0, 2.0]),
                    regression_unit(&[3.0, -4.0], &[3.0, 0.0]),
                ]
            })
            .collect();
        let board = assemble(&plan, &outcomes);
        assert!(
            board
                .entries
                .iter()
                .all(|e| !e.metrics.contains_key("rmsle"))
        );
        assert_eq!(
            board.warnings,
            ["rmsle is left out: the target is -4 at row 3, where ln(1 + y) is undefined"]
        );

        // Defined everywhere: no warning.
        let outcomes: Vec<_> = (0..6)
            .map(|_| regression_unit(&[1.0, 2.0], &[1.0, 2.5]))
            .collect();
        assert!(assemble(&plan, &outcomes).warnings.is_empty());
    }

    #[test]
    fn no_best_when_the_top_entry_lacks_the_metric() {
        let metric = Metric::R2;
        let ranked = rank(
            vec![
                scored("missing", metric, None),
                scored("nan", metric, Some(f64::NAN)),
            ],
            metric,
        );
        assert_eq!(order(&ranked), ["missing", "nan"]);
        assert_eq!(best(&ranked, metric), None);
        assert_eq!(best(&[], metric), None);
    }
}
