//! Regression plots: predicted against actual values with the identity line, and residuals
//! against predicted values with the zero line.

use super::axes::{self, Chart};
use super::canvas::{DrawResult, Figure};
use super::theme::{PALETTE, REFERENCE, Theme};
use crate::error::UtilsError;
use plotters::coord::Shift;
use plotters::prelude::*;

/// The most points a scatter draws: past it every k-th pair is drawn (the axes, n and R²
/// still come from every pair), so an SVG's size stays bounded (a circle is about 100
/// bytes) however many rows the request sends.
const MAX_DRAWN_POINTS: usize = 20_000;

/// Checked pairs of actual and predicted values.
#[derive(Debug)]
struct Pairs {
    target: String,
    actual: Vec<f64>,
    predicted: Vec<f64>,
}

impl Pairs {
    fn new(
        plot: &'static str,
        target: Option<String>,
        actual: Vec<f64>,
        predicted: Vec<f64>,
    ) -> Result<Self, UtilsError> {
        if actual.len() != predicted.len() {
            return Err(UtilsError::LengthMismatch {
                context: plot,
                first: "actual",
                first_len: actual.len(),
                second: "predicted",
                second_len: predicted.len(),
            });
        }
        if actual.is_empty() {
            return Err(UtilsError::BadPlotData {
                plot,
                reason: "no values to plot".to_owned(),
            });
        }
        for (name, values) in [("actual", &actual), ("predicted", &predicted)] {
            if let Some(index) = values.iter().position(|value| !value.is_finite()) {
                return Err(UtilsError::BadPlotData {
                    plot,
                    reason: format!(
                        "`{name}` value {index} is {}, not a finite number",
                        values[index]
                    ),
                });
            }
        }
        let target = target
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "target".to_owned());
        Ok(Pairs {
            target,
            actual,
            predicted,
        })
    }

    /// R² of the predictions, when the actual values vary.
    fn r_squared(&self) -> Option<f64> {
        let mean = self.actual.iter().sum::<f64>() / self.actual.len() as f64;
        let total: f64 = self.actual.iter().map(|a| (a - mean).powi(2)).sum();
        let residual: f64 = self
            .actual
            .iter()
            .zip(&self.predicted)
            .map(|(a, p)| (a - p).powi(2))
            .sum();
        (total > 0.0).then(|| 1.0 - residual / total)
    }

    fn summary(&self) -> String {
        match self.r_squared() {
            Some(r2) => format!("n = {}, R² = {r2:.3}", self.actual.len()),
            None => format!("n = {}", self.actual.len()),
        }
    }

    fn marker_size(&self, theme: &Theme) -> u32 {
        let base = if self.actual.len() > 2000 { 2.0 } else { 3.5 };
        theme.size(base).max(2)
    }
}

/// Predicted against actual values, with the identity line.
#[derive(Debug)]
pub(crate) struct PredictedVsActual(Pairs);

impl PredictedVsActual {
    /// Checks the data.
    ///
    /// # Errors
    /// [`UtilsError::LengthMismatch`] for different lengths, [`UtilsError::BadPlotData`] for
    /// no values or a non-finite one.
    pub(crate) fn new(
        target: Option<String>,
        actual: Vec<f64>,
        predicted: Vec<f64>,
    ) -> Result<Self, UtilsError> {
        Pairs::new("predicted-vs-actual", target, actual, predicted).map(PredictedVsActual)
    }
}

impl Figure for PredictedVsActual {
    fn plot(&self) -> &'static str {
        "predicted-vs-actual"
    }

    fn default_title(&self) -> String {
        format!(
            "Predicted vs actual {} ({})",
            self.0.target,
            self.0.summary()
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let pairs = &self.0;
        // One range for both axes, so the identity line is the diagonal.
        let (low, high) = axes::extent(pairs.actual.iter().chain(&pairs.predicted).copied());
        let range = axes::padded(low, high, 0.05);
        let mut chart = ChartBuilder::on(area)
            .margin(theme.size(15.0))
            .x_label_area_size(theme.size(55.0))
            .y_label_area_size(theme.size(75.0))
            .build_cartesian_2d(range.clone(), range.clone())?;
        axes::draw_mesh(
            &mut chart,
            theme,
            &format!("actual {}", pairs.target),
            &format!("predicted {}", pairs.target),
        )?;
        draw_points(
            &mut chart,
            theme,
            pairs,
            &pairs.actual,
            &pairs.predicted,
            "predictions",
        )?;
        let ends = vec![(range.start, range.start), (range.end, range.end)];
        chart
            .draw_series(std::iter::once(PathElement::new(
                ends,
                REFERENCE.stroke_width(2),
            )))?
            .label("identity: predicted = actual")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], REFERENCE.stroke_width(2))
            });
        axes::draw_legend(&mut chart, theme, SeriesLabelPosition::UpperLeft)
    }
}

/// Residuals (actual − predicted) against predicted values.
#[derive(Debug)]
pub(crate) struct Residuals(Pairs);

impl Residuals {
    /// Checks the data.
    ///
    /// # Errors
    /// As [`PredictedVsActual::new`].
    pub(crate) fn new(
        target: Option<String>,
        actual: Vec<f64>,
        predicted: Vec<f64>,
    ) -> Result<Self, UtilsError> {
        Pairs::new("residuals", target, actual, predicted).map(Residuals)
    }
}

impl Figure for Residuals {
    fn plot(&self) -> &'static str {
        "residuals"
    }

    fn default_title(&self) -> String {
        format!(
            "Residuals vs predicted {} ({})",
            self.0.target,
            self.0.summary()
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let pairs = &self.0;
        let residuals: Vec<f64> = pairs
            .actual
            .iter()
            .zip(&pairs.predicted)
            .map(|(a, p)| a - p)
            .collect();
        let (x_low, x_high) = axes::extent(pairs.predicted.iter().copied());
        let (y_low, y_high) = axes::extent(residuals.iter().copied());
        // Symmetric about zero, so over- and under-prediction compare at a glance.
        let reach = y_low.abs().max(y_high.abs());
        let x_range = axes::padded(x_low, x_high, 0.05);
        let mut chart = ChartBuilder::on(area)
            .margin(theme.size(15.0))
            .x_label_area_size(theme.size(55.0))
            .y_label_area_size(theme.size(75.0))
            .build_cartesian_2d(x_range.clone(), axes::padded(-reach, reach, 0.08))?;
        axes::draw_mesh(
            &mut chart,
            theme,
            &format!("predicted {}", pairs.target),
            &format!("residual: actual − predicted {}", pairs.target),
        )?;
        draw_points(
            &mut chart,
            theme,
            pairs,
            &pairs.predicted,
            &residuals,
            "residuals",
        )?;
        let zero = vec![(x_range.start, 0.0), (x_range.end, 0.0)];
        chart
            .draw_series(std::iter::once(PathElement::new(
                zero,
                REFERENCE.stroke_width(2),
            )))?
            .label("zero residual")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], REFERENCE.stroke_width(2))
            });
        axes::draw_legend(&mut chart, theme, SeriesLabelPosition::UpperRight)
    }
}

fn draw_points<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    theme: &Theme,
    pairs: &Pairs,
    xs: &[f64],
    ys: &[f64],
    label: &str,
) -> DrawResult {
    let size = pairs.marker_size(theme);
    let style = PALETTE[0].mix(0.55).filled();
    let every = xs.len().div_ceil(MAX_DRAWN_POINTS).max(1);
    chart
        .draw_series(
            xs.iter()
                .zip(ys)
                .step_by(every)
                .map(|(&x, &y)| Circle::new((x, y), size, style)),
        )?
        .label(label)
        .legend(move |(x, y)| Circle::new((x + 10, y), size, style));
    Ok(())
}
