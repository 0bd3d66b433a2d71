//! Horizontal bar charts: the leaderboard (with fold-to-fold error bars) and feature
//! importances. Bars run sideways so long model and feature names stay readable, first
//! entry at the top.

use super::axes::{self, shorten};
use super::canvas::{DrawError, DrawResult, Figure};
use super::theme::{INK, PALETTE, Theme};
use crate::error::UtilsError;
use mltools_core::utils::LeaderboardBar;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The most feature importances drawn, largest first.
pub(crate) const MAX_FEATURES: usize = 30;
/// The most leaderboard entries drawn.
pub(crate) const MAX_MODELS: usize = 40;
/// Values are printed beside the bars up to this many bars.
const MAX_PRINTED_VALUES: usize = 20;
/// The longest bar label drawn, in characters.
const MAX_LABEL_CHARS: usize = 32;

/// One bar.
#[derive(Debug, Clone)]
struct Bar {
    label: String,
    value: f64,
    /// Half the error bar's length, when it has one.
    error: Option<f64>,
}

/// What a bar chart shows.
struct BarChart<'a> {
    bars: &'a [Bar],
    value_desc: &'a str,
    category_desc: &'a str,
    /// Printed at each bar's end.
    value_text: &'a dyn Fn(&Bar) -> String,
    /// The legend below the chart, when there is more than one series.
    legend: Vec<(Swatch, String)>,
}

impl BarChart<'_> {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let chart_area = if self.legend.is_empty() {
            area.clone()
        } else {
            let (chart_area, legend_area) =
                area.split_vertically(area.dim_in_pixel().1 - theme.size(40.0));
            draw_legend_strip(&legend_area, theme, &self.legend)?;
            chart_area
        };
        let names: Vec<String> = self
            .bars
            .iter()
            .map(|bar| shorten(&bar.label, MAX_LABEL_CHARS))
            .collect();
        let label_width = widest(&chart_area, &names, &theme.tick())?;
        let count = self.bars.len();
        let label_area = label_width + theme.size(60.0);
        let value_range = self.value_range(&chart_area, theme, label_area)?;
        let mut chart = ChartBuilder::on(&chart_area)
            .margin(theme.size(15.0))
            .x_label_area_size(theme.size(55.0))
            .y_label_area_size(label_area)
            .build_cartesian_2d(value_range, axes::CategoryAxis::new(count))?;
        // Bar i sits at y = count - 1 - i, so the first bar is on top.
        let name_at = |y: &f64| axes::category_label(&names, count as f64 - 1.0 - y);
        chart
            .configure_mesh()
            .x_desc(self.value_desc)
            .y_desc(self.category_desc)
            .axis_desc_style(theme.axis_label())
            .label_style(theme.tick())
            .y_label_formatter(&name_at)
            .x_label_formatter(&axes::tidy)
            .bold_line_style(super::theme::GRID)
            .light_line_style(TRANSPARENT)
            .disable_y_mesh()
            .x_labels(8)
            .draw()?;
        self.draw_bars(&mut chart, theme)
    }

    /// The value axis: every bar and whisker, zero, and room on the right for the printed
    /// values (their width in pixels, turned into axis units over the plotting width).
    fn value_range<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
        label_area: u32,
    ) -> Result<std::ops::Range<f64>, DrawError> {
        let ends = self.bars.iter().flat_map(|bar| {
            let error = bar.error.unwrap_or(0.0);
            [bar.value - error, bar.value + error]
        });
        let (low, high) = axes::extent(ends.chain([0.0]));
        let text_room = if self.bars.len() <= MAX_PRINTED_VALUES {
            let texts: Vec<String> = self.bars.iter().map(|bar| (self.value_text)(bar)).collect();
            f64::from(widest(area, &texts, &theme.tick())? + theme.size(16.0))
        } else {
            0.0
        };
        let plot_width = f64::from(
            area.dim_in_pixel()
                .0
                .saturating_sub(label_area + theme.size(30.0))
                .max(1),
        );
        // All zero (no bar has length): a unit axis rather than a degenerate one.
        let span = if high > low { high - low } else { 1.0 };
        let pad = span * 0.02;
        let room = (span + 2.0 * pad) * text_room / (plot_width - text_room).max(plot_width * 0.25);
        Ok((low - pad)..(high + pad + room))
    }

    fn draw_bars<DB: DrawingBackend, C: CoordTranslate<From = (f64, f64)>>(
        &self,
        chart: &mut ChartContext<'_, DB, C>,
        theme: &Theme,
    ) -> DrawResult {
        let count = self.bars.len();
        let half = 0.35;
        let cap = 0.15;
        let text_style = theme.tick().pos(Pos::new(HPos::Left, VPos::Center));
        for (index, bar) in self.bars.iter().enumerate() {
            let y = (count - 1 - index) as f64;
            let color = if bar.value < 0.0 {
                PALETTE[3]
            } else {
                PALETTE[0]
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - half), (bar.value, y + half)],
                color.mix(0.85).filled(),
            )))?;
            let mut end = bar.value.max(0.0);
            if let Some(error) = bar.error.filter(|error| *error > 0.0) {
                let (left, right) = (bar.value - error, bar.value + error);
                let whisker = INK.stroke_width(2);
                let lines = [
                    vec![(left, y), (right, y)],
                    vec![(left, y - cap), (left, y + cap)],
                    vec![(right, y - cap), (right, y + cap)],
                ];
                chart.draw_series(
                    lines
                        .into_iter()
                        .map(|line| PathElement::new(line, whisker)),
                )?;
                end = end.max(right);
            }
            if count <= MAX_PRINTED_VALUES {
                // Anchored at the bar's (or whisker's) end, a few pixels to its right.
                let offset = (theme.size(8.0) as i32, 0);
                let label = EmptyElement::at((end, y))
                    + Text::new((self.value_text)(bar), offset, text_style.clone());
                chart.draw_series(std::iter::once(label))?;
            }
        }
        Ok(())
    }
}

fn widest<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &[String],
    style: &TextStyle<'_>,
) -> Result<u32, DrawError> {
    let mut widest = 0;
    for label in labels {
        widest = widest.max(area.estimate_text_size(label, style)?.0);
    }
    Ok(widest)
}

/// What a legend entry shows beside its text.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    /// A bar of this colour.
    Bar(RGBColor),
    /// An error bar.
    ErrorBar,
}

/// A one-line legend centred in `area`.
fn draw_legend_strip<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    theme: &Theme,
    entries: &[(Swatch, String)],
) -> DrawResult {
    let (width, height) = area.dim_in_pixel();
    let style = theme.legend().pos(Pos::new(HPos::Left, VPos::Center));
    let swatch = theme.size(26.0) as i32;
    let gap = theme.size(10.0) as i32;
    let mut widths = Vec::with_capacity(entries.len());
    for (_, text) in entries {
        widths.push(area.estimate_text_size(text, &style)?.0 as i32);
    }
    let total: i32 = widths.iter().map(|text| swatch + gap + text).sum::<i32>()
        + 3 * gap * (entries.len() as i32 - 1);
    let mut x = (width as i32 - total) / 2;
    let y = height as i32 / 2;
    let h = theme.size(7.0) as i32;
    for ((swatch_kind, text), text_width) in entries.iter().zip(widths) {
        match swatch_kind {
            Swatch::Bar(color) => {
                area.draw(&Rectangle::new(
                    [(x, y - h), (x + swatch, y + h)],
                    color.mix(0.85).filled(),
                ))?;
            }
            Swatch::ErrorBar => {
                let whisker = INK.stroke_width(2);
                area.draw(&PathElement::new(vec![(x, y), (x + swatch, y)], whisker))?;
                area.draw(&PathElement::new(vec![(x, y - h), (x, y + h)], whisker))?;
                area.draw(&PathElement::new(
                    vec![(x + swatch, y - h), (x + swatch, y + h)],
                    whisker,
                ))?;
            }
        }
        x += swatch + gap;
        area.draw_text(text, &style, (x, y))?;
        x += text_width + 3 * gap;
    }
    Ok(())
}

/// The leaderboard: each model's mean metric with ± one standard deviation over folds.
#[derive(Debug)]
pub(crate) struct Leaderboard {
    metric: String,
    bars: Vec<Bar>,
}

impl Leaderboard {
    /// Checks the entries.
    ///
    /// # Errors
    /// [`UtilsError::BadPlotData`] for no entries, too many, or a mean or deviation that is
    /// not a finite number (a negative deviation included), naming the model.
    pub(crate) fn new(metric: String, entries: Vec<LeaderboardBar>) -> Result<Self, UtilsError> {
        let bad = |reason: String| UtilsError::BadPlotData {
            plot: "leaderboard",
            reason,
        };
        if entries.is_empty() {
            return Err(bad("no models to plot".to_owned()));
        }
        if entries.len() > MAX_MODELS {
            return Err(bad(format!(
                "{} models; at most {MAX_MODELS} can be drawn",
                entries.len()
            )));
        }
        for entry in &entries {
            if !entry.mean.is_finite() || !entry.std.is_finite() || entry.std < 0.0 {
                return Err(bad(format!(
                    "model `{}` has mean {} and standard deviation {}; both must be finite, the deviation not negative",
                    entry.model, entry.mean, entry.std
                )));
            }
        }
        let bars = entries
            .into_iter()
            .map(|entry| Bar {
                label: entry.model,
                value: entry.mean,
                error: Some(entry.std),
            })
            .collect();
        let metric = if metric.is_empty() {
            "score".to_owned()
        } else {
            metric
        };
        Ok(Leaderboard { metric, bars })
    }
}

impl Figure for Leaderboard {
    fn plot(&self) -> &'static str {
        "leaderboard"
    }

    fn default_title(&self) -> String {
        format!(
            "Model comparison: {} over folds ({} models)",
            self.metric,
            self.bars.len()
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let text = |bar: &Bar| format!("{:.3} ± {:.3}", bar.value, bar.error.unwrap_or(0.0));
        BarChart {
            bars: &self.bars,
            value_desc: &self.metric,
            category_desc: "model",
            value_text: &text,
            legend: vec![
                (
                    Swatch::Bar(PALETTE[0]),
                    format!("mean {} over folds", self.metric),
                ),
                (
                    Swatch::ErrorBar,
                    "± 1 standard deviation over folds".to_owned(),
                ),
            ],
        }
        .draw(area, theme)
    }
}

/// Feature importances, largest first.
#[derive(Debug)]
pub(crate) struct FeatureImportance {
    bars: Vec<Bar>,
    total: usize,
}

impl FeatureImportance {
    /// Checks the data and keeps the [`MAX_FEATURES`] largest (by absolute value).
    ///
    /// # Errors
    /// [`UtilsError::LengthMismatch`] for different lengths; [`UtilsError::BadPlotData`]
    /// for no features or a non-finite importance, naming the feature.
    pub(crate) fn new(names: Vec<String>, importances: Vec<f64>) -> Result<Self, UtilsError> {
        if names.len() != importances.len() {
            return Err(UtilsError::LengthMismatch {
                context: "feature-importance",
                first: "names",
                first_len: names.len(),
                second: "importances",
                second_len: importances.len(),
            });
        }
        let bad = |reason: String| UtilsError::BadPlotData {
            plot: "feature-importance",
            reason,
        };
        if names.is_empty() {
            return Err(bad("no features to plot".to_owned()));
        }
        if let Some(index) = importances.iter().position(|value| !value.is_finite()) {
            return Err(bad(format!(
                "feature `{}` has importance {}",
                names[index], importances[index]
            )));
        }
        let total = names.len();
        let mut bars: Vec<Bar> = names
            .into_iter()
            .zip(importances)
            .map(|(label, value)| Bar {
                label,
                value,
                error: None,
            })
            .collect();
        bars.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
        bars.truncate(MAX_FEATURES);
        Ok(FeatureImportance { bars, total })
    }
}

impl Figure for FeatureImportance {
    fn plot(&self) -> &'static str {
        "feature-importance"
    }

    fn default_title(&self) -> String {
        if self.total > self.bars.len() {
            format!(
                "Feature importance (top {} of {} features)",
                self.bars.len(),
                self.total
            )
        } else {
            format!("Feature importance ({} features)", self.total)
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let text = |bar: &Bar| format!("{:.3}", bar.value);
        BarChart {
            bars: &self.bars,
            value_desc: "importance",
            category_desc: "feature",
            value_text: &text,
            // Signed importances (coefficients, say) come in two colours: say which is which.
            legend: if self.bars.iter().any(|bar| bar.value < 0.0) {
                vec![
                    (Swatch::Bar(PALETTE[0]), "positive".to_owned()),
                    (Swatch::Bar(PALETTE[3]), "negative".to_owned()),
                ]
            } else {
                Vec::new()
            },
        }
        .draw(area, theme)
    }
}
