//! Chart pieces shared by the figures: padded ranges, the styled mesh, the legend box,
//! category tick labels.

use super::canvas::DrawResult;
use super::theme::{GRID, INK, Theme};
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::{
    Cartesian2d, ChartContext, Color, DrawingBackend, SeriesLabelPosition, TRANSPARENT, WHITE,
};
use std::ops::Range;

/// A chart over two plain `f64` axes.
pub(crate) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// `low..high` widened by `fraction` of its span on each side; a zero span becomes ±0.5
/// (or ±5 % of the value), so a constant series still gets a drawable axis.
pub(crate) fn padded(low: f64, high: f64, fraction: f64) -> Range<f64> {
    let span = high - low;
    if span > 0.0 && span.is_finite() {
        let pad = span * fraction;
        (low - pad)..(high + pad)
    } else {
        let pad = (low.abs() * 0.05).max(0.5);
        (low - pad)..(high + pad)
    }
}

/// The smallest and largest of finite `values` (`(0, 0)` for none).
pub(crate) fn extent(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .into_iter()
        .filter(|value| value.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if low > high { (0.0, 0.0) } else { (low, high) }
}

/// Draws the grid, axes, tick labels and axis descriptions of a numeric chart.
pub(crate) fn draw_mesh<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    theme: &Theme,
    x_desc: &str,
    y_desc: &str,
) -> DrawResult {
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .axis_desc_style(theme.axis_label())
        .label_style(theme.tick())
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&tidy)
        .y_label_formatter(&tidy)
        .draw()?;
    Ok(())
}

/// Draws the legend of the labelled series in a box at `position`.
pub(crate) fn draw_legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    theme: &Theme,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(theme.legend())
        .background_style(WHITE.mix(0.9))
        .border_style(INK.mix(0.5))
        .margin(theme.size(10.0))
        .legend_area_size(theme.size(30.0))
        .draw()?;
    Ok(())
}

/// A category axis: values `-0.5..count - 0.5`, one tick at each category's centre
/// `0, 1, .., count - 1` whatever the label-count hint (plotters' own `f64` axis picks
/// "nice" numbers instead, and its key-point wrapper has no label formatter).
#[derive(Clone)]
pub(crate) struct CategoryAxis {
    count: usize,
    linear: RangedCoordf64,
}

impl CategoryAxis {
    /// An axis of `count` categories.
    pub(crate) fn new(count: usize) -> Self {
        CategoryAxis {
            count,
            linear: (-0.5..count as f64 - 0.5).into(),
        }
    }
}

impl Ranged for CategoryAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            (0..self.count).map(|index| index as f64).collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

impl ValueFormatter<f64> for CategoryAxis {
    fn format(value: &f64) -> String {
        format!("{value}")
    }
}

/// The category name at tick `value`, or nothing between categories.
pub(crate) fn category_label(names: &[String], value: f64) -> String {
    let index = value.round();
    if (value - index).abs() > 1e-6 || index < 0.0 {
        return String::new();
    }
    names.get(index as usize).cloned().unwrap_or_default()
}

/// `text` cut to at most `max_chars` characters, with an ellipsis when cut.
pub(crate) fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// A tick value without noise: `2000` rather than `2000.0`, `0.05` rather than
/// `0.05000000000000001`, `0` rather than the `-5.55e-17` a sum of steps leaves behind,
/// scientific notation for the very small and very large.
pub(crate) fn tidy(value: &f64) -> String {
    let value = *value;
    if value.abs() < 1e-10 {
        return "0".to_owned();
    }
    let magnitude = value.abs();
    if !(1e-4..1e9).contains(&magnitude) {
        return format!("{value:.2e}");
    }
    let fixed = format!("{value:.6}");
    let trimmed = fixed.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}
