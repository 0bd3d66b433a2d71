//! The report's plots, rendered by the utils service as SVG.

use crate::compare::Sample;
use mltools_core::models::{Leaderboard, LeaderboardEntry, OutOfFold, Task};
use mltools_core::utils::{ImageFormat, LeaderboardBar, Plot, PlotKind, PlotRequest};
use mltools_core::{ColumnData, Frame, RpcResultExt, ServiceError};
use mltools_transport::UtilsClient;
use std::time::Duration;
use tarpc::context;

pub use mltools_core::report::model_label;

/// The plots of a report, and the ones that could not be drawn with why.
pub(crate) type Plots = (Vec<(String, Plot)>, Vec<(String, ServiceError)>);

/// The plots drawn from the leaderboard: the leaderboard itself, the best model's
/// out-of-fold diagnostics and its importances.
pub(crate) fn result_plots(target: &str, leaderboard: &Leaderboard) -> Vec<(String, PlotKind)> {
    let mut kinds = Vec::new();
    let entries = bars(&leaderboard.metric, &leaderboard.entries);
    if !entries.is_empty() {
        kinds.push((
            "Leaderboard".to_owned(),
            PlotKind::Leaderboard {
                metric: leaderboard.metric.clone(),
                entries,
            },
        ));
    }
    if let Some(out_of_fold) = &leaderboard.out_of_fold {
        kinds.extend(diagnostics(leaderboard.task, target, out_of_fold));
    }
    if let Some(importances) = &leaderboard.importances {
        kinds.push((
            "Feature importance of the best model".to_owned(),
            PlotKind::FeatureImportance {
                names: importances.iter().map(|(name, _)| name.clone()).collect(),
                importances: importances.iter().map(|(_, value)| *value).collect(),
            },
        ));
    }
    kinds
}

/// The features' overview plots (distributions, correlations), drawn from the sample
/// alone: they need no leaderboard, so they render while the models are compared.
pub(crate) fn overview_plots(sample: &Sample) -> Vec<(String, PlotKind)> {
    let mut kinds = Vec::new();
    let numeric = numeric_columns(&sample.frame);
    if !numeric.columns.is_empty() {
        let rows = numeric.rows() as u64;
        let of = if rows < sample.of_rows {
            format!(
                " ({rows} of {} rows, in evenly spaced blocks)",
                sample.of_rows
            )
        } else {
            String::new()
        };
        kinds.push((
            format!("Feature distributions{of}"),
            PlotKind::Histograms {
                frame: numeric.clone(),
            },
        ));
        if numeric.columns.len() >= 2 {
            kinds.push((
                format!("Feature correlations{of}"),
                PlotKind::Correlation { frame: numeric },
            ));
        }
    }
    kinds
}

/// Renders plots by the utils service, all asked for at once (the service draws as many
/// at a time as its `render_concurrency` allows), in the order given. Best effort: a plot
/// the utils service refuses (too many classes, nothing finite to draw) is listed as
/// skipped with why, and the report keeps the rest — the comparison itself has succeeded.
pub(crate) async fn render(utils: &UtilsClient, kinds: Vec<(String, PlotKind)>) -> Plots {
    let rendered = futures::future::join_all(kinds.into_iter().map(|(title, kind)| async move {
        let mut ctx = context::current();
        ctx.deadline = std::time::Instant::now() + Duration::from_secs(60);
        let request = PlotRequest {
            kind,
            format: ImageFormat::Svg,
            width: None,
            height: None,
            title: None,
        };
        (title, utils.plot(ctx, request).await.into_service("utils"))
    }))
    .await;
    let mut plots = Vec::with_capacity(rendered.len());
    let mut skipped = Vec::new();
    for (title, outcome) in rendered {
        match outcome {
            Ok(plot) => plots.push((title, plot)),
            Err(error) => {
                tracing::warn!(plot = %title, %error, "a report plot was skipped");
                skipped.push((title, error));
            }
        }
    }
    (plots, skipped)
}

fn bars(metric: &str, entries: &[LeaderboardEntry]) -> Vec<LeaderboardBar> {
    entries
        .iter()
        .filter_map(|entry| {
            let value = entry.metrics.get(metric)?;
            Some(LeaderboardBar {
                model: model_label(&entry.model),
                mean: value.mean,
                std: value.std,
            })
        })
        .collect()
}

fn diagnostics(task: Task, target: &str, out_of_fold: &OutOfFold) -> Vec<(String, PlotKind)> {
    match task {
        Task::Regression => vec![
            (
                "Best model: predicted vs actual (out of fold)".to_owned(),
                PlotKind::PredictedVsActual {
                    target: Some(target.to_owned()),
                    actual: out_of_fold.actual.clone(),
                    predicted: out_of_fold.predicted.clone(),
                },
            ),
            (
                "Best model: residuals (out of fold)".to_owned(),
                PlotKind::Residuals {
                    target: Some(target.to_owned()),
                    actual: out_of_fold.actual.clone(),
                    predicted: out_of_fold.predicted.clone(),
                },
            ),
        ],
        Task::Classification => {
            let labels = out_of_fold.classes.clone().unwrap_or_default();
            let mut plots = vec![(
                "Best model: confusion matrix (out of fold)".to_owned(),
                PlotKind::ConfusionMatrix {
                    counts: confusion(&labels, &out_of_fold.actual, &out_of_fold.predicted),
                    labels: labels.clone(),
                },
            )];
            if let (2, Some(scores)) = (labels.len(), &out_of_fold.scores) {
                plots.push((
                    // Pooled over folds, so its AUC can differ from the table's mean of
                    // per-fold AUCs (decision scores are on each fold's own scale).
                    format!(
                        "Best model: ROC of the pooled out-of-fold scores, positive class `{}`",
                        labels[1]
                    ),
                    PlotKind::Roc {
                        labels: out_of_fold
                            .actual
                            .iter()
                            .map(|&code| u8::from(code == 1.0))
                            .collect(),
                        scores: scores.clone(),
                    },
                ));
            }
            plots
        }
    }
}

/// `counts[actual][predicted]` from class codes.
fn confusion(labels: &[String], actual: &[f64], predicted: &[f64]) -> Vec<Vec<u64>> {
    let classes = labels.len();
    let mut counts = vec![vec![0u64; classes]; classes];
    for (&truth, &guess) in actual.iter().zip(predicted) {
        let (row, column) = (truth as usize, guess as usize);
        if row < classes && column < classes {
            counts[row][column] += 1;
        }
    }
    counts
}

fn numeric_columns(frame: &Frame) -> Frame {
    Frame {
        columns: frame
            .columns
            .iter()
            .filter(|column| matches!(column.data, ColumnData::Numeric(_)))
            .cloned()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confusion_counts_by_actual_then_predicted() {
        let labels = vec!["a".to_owned(), "b".to_owned()];
        let counts = confusion(&labels, &[0.0, 0.0, 1.0, 1.0], &[0.0, 1.0, 1.0, 1.0]);
        assert_eq!(counts, vec![vec![1, 1], vec![0, 2]]);
    }
}
