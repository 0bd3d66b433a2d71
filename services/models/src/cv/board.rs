//! Fold scores into leaderboard rows, and their ranking.

use super::{Candidate, FoldScore};
use crate::error::ModelsError;
use crate::metrics::Metric;
use mltools_core::ServiceError;
use mltools_core::models::{LeaderboardEntry, MetricValue};
use std::collections::BTreeMap;

/// One leaderboard row from a candidate's fold outcomes.
pub(super) fn entry(
    candidate: &Candidate,
    outcomes: &[Result<FoldScore, ModelsError>],
) -> LeaderboardEntry {
    let mut failed = LeaderboardEntry {
        model: candidate.spec.clone(),
        metrics: BTreeMap::new(),
        fit_ms: 0.0,
        predict_ms: 0.0,
        error: None,
    };
    let mut scores = Vec::with_capacity(outcomes.len());
    for outcome in outcomes {
        match outcome {
            Ok(score) => scores.push(score),
            Err(error) => {
                failed.error = Some(ServiceError::from(error.clone()));
                return failed;
            }
        }
    }
    let mut metrics = BTreeMap::new();
    for metric in Metric::of_task(candidate.estimator.id().task()) {
        let values: Vec<f64> = scores
            .iter()
            .filter_map(|s| s.metrics.get(metric).copied())
            .collect();
        // A metric missing on some fold (ROC AUC on a fold with one class) is left out.
        if !values.is_empty() && values.len() == scores.len() {
            metrics.insert(metric.as_str().to_owned(), mean_std(&values));
        }
    }
    LeaderboardEntry {
        model: candidate.spec.clone(),
        metrics,
        fit_ms: mean_std(&scores.iter().map(|s| s.fit_ms).collect::<Vec<_>>()).mean,
        predict_ms: mean_std(&scores.iter().map(|s| s.predict_ms).collect::<Vec<_>>()).mean,
        error: None,
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

/// Best first by `metric`; entries without it next; failed ones last; stable otherwise.
pub(super) fn rank(mut entries: Vec<LeaderboardEntry>, metric: Metric) -> Vec<LeaderboardEntry> {
    let key = |entry: &LeaderboardEntry| -> (u8, f64) {
        match (&entry.error, entry.metrics.get(metric.as_str())) {
            (Some(_), _) => (2, 0.0),
            (None, None) => (1, 0.0),
            (None, Some(value)) if metric.higher_is_better() => (0, -value.mean),
            (None, Some(value)) => (0, value.mean),
        }
    };
    entries.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        a.0.cmp(&b.0).then(a.1.total_cmp(&b.1))
    });
    entries
}
