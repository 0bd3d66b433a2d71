//! A dataset's overview: histograms of the numeric columns and their correlation heatmap.

use super::axes::{self, shorten};
use super::canvas::{DrawResult, Figure};
use super::heatmap::Heatmap;
use super::theme::{BLUE_WHITE_RED, GRID, PALETTE, Theme, color_at};
use crate::error::UtilsError;
use mltools_core::{ColumnData, Frame};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The most histogram panels drawn (a 4 × 4 grid); the title says when columns are left out.
pub(crate) const MAX_PANELS: usize = 16;
/// The most columns in a correlation heatmap; the title says when columns are left out.
pub(crate) const MAX_CORRELATION_COLUMNS: usize = 40;
/// Coefficients are printed in the cells up to this many columns.
const VALUES_IN_CELLS_UP_TO: usize = 12;

/// The numeric columns of `frame` (name, values), after checking its shape.
fn numeric_columns<'a>(
    plot: &'static str,
    frame: &'a Frame,
    at_least: usize,
) -> Result<Vec<(&'a str, &'a [f64])>, UtilsError> {
    let rows = frame.rows();
    if let Some(column) = frame
        .columns
        .iter()
        .find(|column| column.data.len() != rows)
    {
        return Err(UtilsError::RaggedFrame {
            first: frame.columns[0].name.clone(),
            expected: rows,
            column: column.name.clone(),
            got: column.data.len(),
        });
    }
    if rows == 0 {
        return Err(UtilsError::BadPlotData {
            plot,
            reason: "the data has no rows".to_owned(),
        });
    }
    let numeric: Vec<(&str, &[f64])> = frame
        .columns
        .iter()
        .filter_map(|column| match &column.data {
            ColumnData::Numeric(values) => Some((column.name.as_str(), values.as_slice())),
            ColumnData::Categorical { .. } => None,
        })
        .collect();
    if numeric.len() < at_least {
        let names: Vec<&str> = frame.names().collect();
        return Err(UtilsError::BadPlotData {
            plot,
            reason: format!(
                "{} numeric columns, at least {at_least} needed; the columns are: {}",
                numeric.len(),
                if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        });
    }
    Ok(numeric)
}

/// One histogram panel.
#[derive(Debug)]
struct Panel {
    name: String,
    /// `(low edge, high edge, count)` per bin.
    bins: Vec<(f64, f64, u64)>,
    missing: usize,
}

impl Panel {
    fn new(name: &str, values: &[f64]) -> Self {
        let finite: Vec<f64> = values
            .iter()
            .copied()
            .filter(|value| value.is_finite())
            .collect();
        let missing = values.len() - finite.len();
        let (low, high) = axes::extent(finite.iter().copied());
        let (low, high) = if low == high {
            (low - 0.5, high + 0.5)
        } else {
            (low, high)
        };
        // Sturges' rule, as numpy's `bins="sturges"`.
        let count = if finite.is_empty() {
            0
        } else {
            ((finite.len() as f64).log2() + 1.0).ceil().clamp(1.0, 50.0) as usize
        };
        let width = (high - low) / count.max(1) as f64;
        let mut counts = vec![0u64; count];
        for value in &finite {
            // The last bin is closed on the right, as numpy's.
            let bin = (((value - low) / width) as usize).min(count - 1);
            counts[bin] += 1;
        }
        let bins = counts
            .into_iter()
            .enumerate()
            .map(|(bin, n)| (low + width * bin as f64, low + width * (bin + 1) as f64, n))
            .collect();
        Panel {
            name: name.to_owned(),
            bins,
            missing,
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
        x_ticks: usize,
    ) -> DrawResult {
        let low = self.bins.first().map_or(0.0, |bin| bin.0);
        let high = self.bins.last().map_or(1.0, |bin| bin.1);
        let most = self.bins.iter().map(|bin| bin.2).max().unwrap_or(0).max(1) as f64;
        let mut chart = ChartBuilder::on(area)
            .margin(theme.size(8.0))
            .margin_right(theme.size(14.0))
            .x_label_area_size(theme.size(44.0))
            .y_label_area_size(theme.size(52.0))
            .build_cartesian_2d(low..high, 0.0..most * 1.08)?;
        let mut desc = shorten(&self.name, 30);
        if self.missing > 0 {
            desc = format!("{desc} ({} missing)", self.missing);
        }
        // Counts are whole: ticks between them (0.5 on a short axis) stay unlabelled.
        let whole = |value: &f64| {
            if (value - value.round()).abs() < 1e-9 {
                format!("{value:.0}")
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_desc(desc)
            .y_desc("count")
            .axis_desc_style(theme.panel_title())
            .label_style(theme.small_tick())
            .y_label_formatter(&whole)
            .x_label_formatter(&axes::tidy)
            .bold_line_style(GRID)
            .light_line_style(TRANSPARENT)
            .disable_x_mesh()
            .x_labels(x_ticks)
            .y_labels(5)
            .draw()?;
        self.draw_bars(&mut chart, theme, (low + high) / 2.0, most)
    }

    fn draw_bars<DB: DrawingBackend>(
        &self,
        chart: &mut axes::Chart<'_, DB>,
        theme: &Theme,
        middle: f64,
        most: f64,
    ) -> DrawResult {
        if self.bins.is_empty() {
            let style = theme
                .panel_title()
                .pos(Pos::new(HPos::Center, VPos::Center));
            let note = Text::new("no finite values", (middle, most * 0.54), style);
            chart.draw_series(std::iter::once(note))?;
            return Ok(());
        }
        let fill = PALETTE[0].mix(0.85).filled();
        let bar = |&(from, to, n): &(f64, f64, u64)| [(from, 0.0), (to, n as f64)];
        chart.draw_series(self.bins.iter().map(|bin| Rectangle::new(bar(bin), fill)))?;
        chart.draw_series(
            self.bins
                .iter()
                .map(|bin| Rectangle::new(bar(bin), WHITE.stroke_width(1))),
        )?;
        Ok(())
    }
}

/// Histograms of the numeric columns, one panel each, in a grid.
#[derive(Debug)]
pub(crate) struct Histograms {
    panels: Vec<Panel>,
    numeric_total: usize,
    rows: usize,
}

impl Histograms {
    /// Bins the first [`MAX_PANELS`] numeric columns of `frame`.
    ///
    /// # Errors
    /// [`UtilsError::RaggedFrame`] for columns of different lengths,
    /// [`UtilsError::BadPlotData`] for no rows or no numeric column.
    pub(crate) fn new(frame: &Frame) -> Result<Self, UtilsError> {
        let numeric = numeric_columns("histograms", frame, 1)?;
        let numeric_total = numeric.len();
        let panels = numeric
            .into_iter()
            .take(MAX_PANELS)
            .map(|(name, values)| Panel::new(name, values))
            .collect();
        Ok(Histograms {
            panels,
            numeric_total,
            rows: frame.rows(),
        })
    }
}

impl Figure for Histograms {
    fn plot(&self) -> &'static str {
        "histograms"
    }

    fn default_title(&self) -> String {
        if self.numeric_total > self.panels.len() {
            format!(
                "Histograms: first {} of {} numeric columns ({} rows)",
                self.panels.len(),
                self.numeric_total,
                self.rows
            )
        } else {
            format!("Histograms of numeric columns ({} rows)", self.rows)
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let count = self.panels.len();
        let columns = (count as f64).sqrt().ceil() as usize;
        let rows = count.div_ceil(columns);
        // Smaller panels get slightly smaller text and fewer ticks, so labels never collide.
        let panel_theme = theme.shrunk(match columns {
            0..=2 => 1.0,
            3 => 0.9,
            _ => 0.8,
        });
        for (panel, cell) in self.panels.iter().zip(area.split_evenly((rows, columns))) {
            let (width, _) = cell.dim_in_pixel();
            let ticks = (f64::from(width) / (panel_theme.px(14.0) * 5.0))
                .floor()
                .clamp(2.0, 6.0) as usize;
            panel.draw(&cell, &panel_theme, ticks)?;
        }
        Ok(())
    }
}

/// The Pearson correlations of the numeric columns.
#[derive(Debug)]
pub(crate) struct Correlation {
    names: Vec<String>,
    matrix: Vec<Vec<f64>>,
    numeric_total: usize,
    rows: usize,
}

impl Correlation {
    /// Correlates the first [`MAX_CORRELATION_COLUMNS`] numeric columns of `frame`, each
    /// pair over the rows where both are finite; a pair without two such rows, or where
    /// either column is constant, has no value (NaN).
    ///
    /// # Errors
    /// [`UtilsError::RaggedFrame`] for columns of different lengths,
    /// [`UtilsError::BadPlotData`] for no rows or fewer than two numeric columns.
    pub(crate) fn new(frame: &Frame) -> Result<Self, UtilsError> {
        let numeric = numeric_columns("correlation", frame, 2)?;
        let numeric_total = numeric.len();
        let kept = &numeric[..numeric_total.min(MAX_CORRELATION_COLUMNS)];
        let matrix = kept
            .iter()
            .map(|(_, a)| kept.iter().map(|(_, b)| pearson(a, b)).collect())
            .collect();
        Ok(Correlation {
            names: kept.iter().map(|(name, _)| (*name).to_owned()).collect(),
            matrix,
            numeric_total,
            rows: frame.rows(),
        })
    }
}

/// The Pearson correlation of `a` and `b` over the rows where both are finite.
fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(&x, &y)| (x, y))
        .collect();
    if pairs.len() < 2 {
        return f64::NAN;
    }
    let n = pairs.len() as f64;
    let (mean_a, mean_b) = pairs
        .iter()
        .fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x / n, sb + y / n));
    let (mut cov, mut var_a, mut var_b) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        cov += (x - mean_a) * (y - mean_b);
        var_a += (x - mean_a).powi(2);
        var_b += (y - mean_b).powi(2);
    }
    if var_a == 0.0 || var_b == 0.0 {
        return f64::NAN;
    }
    (cov / (var_a.sqrt() * var_b.sqrt())).clamp(-1.0, 1.0)
}

impl Figure for Correlation {
    fn plot(&self) -> &'static str {
        "correlation"
    }

    fn default_title(&self) -> String {
        if self.numeric_total > self.names.len() {
            format!(
                "Correlation (Pearson): first {} of {} numeric columns ({} rows)",
                self.names.len(),
                self.numeric_total,
                self.rows
            )
        } else {
            format!(
                "Correlation (Pearson) of numeric columns ({} rows)",
                self.rows
            )
        }
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult {
        let color = |r: f64| color_at(&BLUE_WHITE_RED, (r + 1.0) / 2.0);
        let text = |r: f64| format!("{r:.2}");
        let ticks = [-1.0, -0.5, 0.0, 0.5, 1.0]
            .into_iter()
            .map(|r| (r, format!("{r:.1}")))
            .collect();
        Heatmap {
            rows: &self.names,
            columns: &self.names,
            values: &self.matrix,
            color: &color,
            cell_text: (self.names.len() <= VALUES_IN_CELLS_UP_TO)
                .then_some(&text as &dyn Fn(f64) -> String),
            x_desc: "column",
            y_desc: "column",
            scale: (-1.0, 1.0),
            scale_ticks: ticks,
            scale_desc: "correlation coefficient r",
        }
        .draw(area, theme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::Column;

    #[test]
    fn pearson_of_known_pairs() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // np.corrcoef([1, 2, 3, 4], [1, 3, 2, 4])[0, 1] == 0.8
        assert!((pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]) - 0.8).abs() < 1e-12);
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn bins_cover_every_finite_value() {
        let values: Vec<f64> = (0..100).map(f64::from).chain([f64::NAN]).collect();
        let panel = Panel::new("x", &values);
        assert_eq!(panel.bins.len(), 8); // ceil(log2(100) + 1)
        assert_eq!(panel.bins.iter().map(|bin| bin.2).sum::<u64>(), 100);
        assert_eq!(panel.missing, 1);
    }

    #[test]
    fn too_few_numeric_columns_are_named() {
        let frame = Frame {
            columns: vec![
                Column::numeric("x", vec![1.0, 2.0]),
                Column::categorical("c", vec![0, 0], vec!["a".into()]),
            ],
        };
        let error = Correlation::new(&frame).unwrap_err();
        assert!(
            error.to_string().contains("the columns are: x, c"),
            "{error}"
        );
    }
}
