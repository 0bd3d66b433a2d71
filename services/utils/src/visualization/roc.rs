//! The ROC curve of a binary classifier, with its AUC and the chance diagonal.
//!
//! The curve is scikit-learn's `roc_curve`: one point per distinct score, taken from the
//! highest down, so tied scores move the curve diagonally in one step; the AUC is the
//! trapezoid rule over those points (scikit-learn's `auc`), which counts a tied
//! positive–negative pair as one half.

use super::axes;
use super::canvas::{DrawResult, Figure};
use super::theme::{PALETTE, REFERENCE, Theme};
use crate::error::UtilsError;
use plotters::coord::Shift;
use plotters::prelude::*;

/// A ROC curve: false and true positive rates, from (0, 0) to (1, 1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RocCurve {
    /// False positive rates, ascending.
    pub(crate) fpr: Vec<f64>,
    /// True positive rates, ascending.
    pub(crate) tpr: Vec<f64>,
    /// The area under the curve.
    pub(crate) auc: f64,
}

/// The ROC curve of `scores` against `labels` (1 positive, 0 negative); both classes must
/// be present and the scores finite (as [`Roc::new`] checks).
pub(crate) fn roc_curve(labels: &[u8], scores: &[f64]) -> RocCurve {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|&&label| label == 1).count() as f64;
    let negatives = labels.len() as f64 - positives;
    let (mut fpr, mut tpr) = (vec![0.0], vec![0.0]);
    let (mut true_positives, mut false_positives) = (0.0, 0.0);
    for (rank, &row) in order.iter().enumerate() {
        if labels[row] == 1 {
            true_positives += 1.0;
        } else {
            false_positives += 1.0;
        }
        // A point only where the score changes: ties are one step.
        let last_of_score = order
            .get(rank + 1)
            .is_none_or(|&next| scores[next] != scores[row]);
        if last_of_score {
            fpr.push(false_positives / negatives);
            tpr.push(true_positives / positives);
        }
    }
    let auc = fpr
        .windows(2)
        .zip(tpr.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum();
    RocCurve { fpr, tpr, auc }
}

/// A checked ROC plot.
#[derive(Debug)]
pub(crate) struct Roc {
    curve: RocCurve,
    positives: usize,
    negatives: usize,
}

impl Roc {
    /// Checks the data and computes the curve.
    ///
    /// # Errors
    /// [`UtilsError::LengthMismatch`] for different lengths; [`UtilsError::BadPlotData`]
    /// for a label other than 0 or 1, a non-finite score, or a class with no rows.
    pub(crate) fn new(labels: Vec<u8>, scores: Vec<f64>) -> Result<Self, UtilsError> {
        let bad = |reason: String| UtilsError::BadPlotData {
            plot: "roc",
            reason,
        };
        if labels.len() != scores.len() {
            return Err(UtilsError::LengthMismatch {
                context: "roc",
                first: "labels",
                first_len: labels.len(),
                second: "scores",
                second_len: scores.len(),
            });
        }
        if let Some(index) = labels.iter().position(|&label| label > 1) {
            return Err(bad(format!(
                "label {index} is {}; labels must be 0 or 1",
                labels[index]
            )));
        }
        if let Some(index) = scores.iter().position(|score| !score.is_finite()) {
            return Err(bad(format!(
                "score {index} is {}, not a finite number",
                scores[index]
            )));
        }
        let positives = labels.iter().filter(|&&label| label == 1).count();
        let negatives = labels.len() - positives;
        if positives == 0 || negatives == 0 {
            return Err(bad(format!(
                "{positives} positive and {negatives} negative rows; a ROC curve needs both classes"
            )));
        }
        Ok(Roc {
            curve: roc_curve(&labels, &scores),
            positives,
            negatives,
        })
    }
}

impl Figure for Roc {
    fn plot(&self) -> &'static str {
        "roc"
    }

    fn default_title(&self) -> String {
        format!(
            "ROC curve ({} positive, {} negative rows)",
            self.positives, self.negatives
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let mut chart = ChartBuilder::on(area)
            .margin(theme.size(15.0))
            .margin_right(theme.size(30.0))
            .x_label_area_size(theme.size(55.0))
            .y_label_area_size(theme.size(75.0))
            .build_cartesian_2d(-0.01..1.01, -0.01..1.01)?;
        axes::draw_mesh(
            &mut chart,
            theme,
            "false positive rate (1 − specificity)",
            "true positive rate (sensitivity)",
        )?;
        let curve = PALETTE[0].stroke_width(3);
        let points: Vec<(f64, f64)> = self
            .curve
            .fpr
            .iter()
            .copied()
            .zip(self.curve.tpr.iter().copied())
            .collect();
        chart
            .draw_series(std::iter::once(PathElement::new(points, curve)))?
            .label(format!("ROC curve (AUC = {:.3})", self.curve.auc))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], curve));
        let chance = REFERENCE.stroke_width(2);
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 0.0), (1.0, 1.0)],
                chance,
            )))?
            .label("chance (AUC = 0.500)")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], chance));
        axes::draw_legend(&mut chart, theme, SeriesLabelPosition::LowerRight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // scikit-learn: roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) gives
    // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1], and roc_auc_score 0.75.
    #[test]
    fn matches_scikit_learn_on_its_doc_example() {
        let curve = roc_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]);
        assert_eq!(curve.fpr, [0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(curve.tpr, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert!((curve.auc - 0.75).abs() < 1e-12);
    }

    // Ties: roc_auc_score([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9]) == 0.875 (the tied pair counts
    // one half), and roc_curve steps diagonally through the tie.
    #[test]
    fn ties_count_one_half() {
        let curve = roc_curve(&[0, 1, 0, 1], &[0.5, 0.5, 0.2, 0.9]);
        assert_eq!(curve.fpr, [0.0, 0.0, 0.5, 1.0]);
        assert_eq!(curve.tpr, [0.0, 0.5, 1.0, 1.0]);
        assert!((curve.auc - 0.875).abs() < 1e-12);
    }

    #[test]
    fn one_class_only_is_refused() {
        let error = Roc::new(vec![1, 1], vec![0.2, 0.4]).unwrap_err();
        assert!(
            error.to_string().contains("2 positive and 0 negative"),
            "{error}"
        );
    }
}
