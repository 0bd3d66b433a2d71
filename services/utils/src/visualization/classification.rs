//! The confusion matrix: a heatmap of counts, actual classes down, predicted classes across,
//! each cell coloured by its count and printed with it.

use super::canvas::{DrawResult, Figure};
use super::heatmap::Heatmap;
use super::theme::{BLUES, Theme, color_at};
use crate::error::UtilsError;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The most classes drawn: past this the cells are too small to read.
pub(crate) const MAX_CLASSES: usize = 40;

/// A checked confusion matrix.
#[derive(Debug)]
pub(crate) struct ConfusionMatrix {
    labels: Vec<String>,
    counts: Vec<Vec<f64>>,
    total: u64,
    correct: u64,
}

impl ConfusionMatrix {
    /// Checks that `counts` is square with one row and column per label.
    ///
    /// # Errors
    /// [`UtilsError::BadPlotData`] for no labels, too many, or no counts at all;
    /// [`UtilsError::LengthMismatch`] for a row count or row length that is not the number
    /// of labels.
    pub(crate) fn new(labels: Vec<String>, counts: Vec<Vec<u64>>) -> Result<Self, UtilsError> {
        let bad = |reason: String| UtilsError::BadPlotData {
            plot: "confusion-matrix",
            reason,
        };
        if labels.is_empty() {
            return Err(bad("no class labels".to_owned()));
        }
        if labels.len() > MAX_CLASSES {
            return Err(bad(format!(
                "{} classes; at most {MAX_CLASSES} can be drawn",
                labels.len()
            )));
        }
        let mismatch = |second, second_len| UtilsError::LengthMismatch {
            context: "confusion-matrix",
            first: "labels",
            first_len: labels.len(),
            second,
            second_len,
        };
        if counts.len() != labels.len() {
            return Err(mismatch("counts", counts.len()));
        }
        if let Some((row, _)) = counts
            .iter()
            .enumerate()
            .find(|(_, row)| row.len() != labels.len())
        {
            return Err(bad(format!(
                "counts row {row} (actual `{}`) has {} values, but there are {} labels",
                labels[row],
                counts[row].len(),
                labels.len()
            )));
        }
        // Checked: the counts come from the request, and a wrapped (or, with overflow checks,
        // panicking) sum would misreport or fail the plot.
        let total = counts
            .iter()
            .flatten()
            .try_fold(0u64, |sum, &count| sum.checked_add(count))
            .ok_or_else(|| bad("the counts add up to more than 2^64".to_owned()))?;
        if total == 0 {
            return Err(bad("every count is zero".to_owned()));
        }
        let correct = (0..labels.len()).map(|class| counts[class][class]).sum();
        let counts = counts
            .into_iter()
            .map(|row| row.into_iter().map(|count| count as f64).collect())
            .collect();
        Ok(ConfusionMatrix {
            labels,
            counts,
            total,
            correct,
        })
    }
}

impl Figure for ConfusionMatrix {
    fn plot(&self) -> &'static str {
        "confusion-matrix"
    }

    fn default_title(&self) -> String {
        let accuracy = self.correct as f64 / self.total as f64;
        format!(
            "Confusion matrix (n = {}, accuracy = {accuracy:.3})",
            self.total
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let most = self.counts.iter().flatten().copied().fold(0.0, f64::max);
        let color = move |count: f64| color_at(&BLUES, count / most);
        let text = |count: f64| format!("{count:.0}");
        Heatmap {
            rows: &self.labels,
            columns: &self.labels,
            values: &self.counts,
            color: &color,
            cell_text: Some(&text),
            x_desc: "predicted class",
            y_desc: "actual class",
            scale: (0.0, most),
            scale_ticks: count_ticks(most),
            scale_desc: "count",
        }
        .draw(area, theme)
    }
}

/// Up to six round tick values from 0 to `most`.
fn count_ticks(most: f64) -> Vec<(f64, String)> {
    let raw_step = (most / 5.0).max(1.0);
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw_step)
        .unwrap_or(raw_step);
    let mut ticks = Vec::new();
    let mut value = 0.0;
    while value <= most + 1e-9 {
        ticks.push((value, format!("{value:.0}")));
        value += step;
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        let values: Vec<f64> = count_ticks(47.0).into_iter().map(|(v, _)| v).collect();
        assert_eq!(values, [0.0, 10.0, 20.0, 30.0, 40.0]);
        assert_eq!(count_ticks(3.0).len(), 4);
    }

    #[test]
    fn ragged_counts_name_the_row() {
        let labels = vec!["cat".to_owned(), "dog".to_owned()];
        let error = ConfusionMatrix::new(labels, vec![vec![1, 2], vec![3]]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("counts row 1 (actual `dog`) has 1 values"),
            "{error}"
        );
    }

    #[test]
    fn counts_adding_past_u64_are_refused_not_wrapped() {
        let labels = vec!["cat".to_owned(), "dog".to_owned()];
        let error = ConfusionMatrix::new(labels, vec![vec![u64::MAX, 1], vec![0, 0]]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "confusion-matrix plot: the counts add up to more than 2^64"
        );
    }
}
