//! Visualization: plots rendered to SVG or PNG bytes with plotters. Plain synchronous
//! functions on plain data.
//!
//! | module | what it draws |
//! |---|---|
//! | `overview` | a dataset: histograms of the numeric columns (a grid of up to 16 panels), their Pearson correlation heatmap (values in the cells up to 12 columns) |
//! | `bars` | the leaderboard (bars with ± one standard deviation over folds) and feature importances (the 30 largest) |
//! | `regression` | predicted vs actual with the identity line; residuals vs predicted with the zero line |
//! | `classification` | the confusion matrix, coloured by count with the counts printed |
//! | `roc` | the ROC curve with its AUC and the chance diagonal |
//! | `heatmap`, `axes`, `theme`, `canvas` | the shared pieces: labelled cell grids with a colour bar; ranges, meshes and legends; fonts, sizes and colours; backends, title and PNG encoding |
//!
//! Every plot has a title (the request's, or one describing the data), labelled axes, and a
//! legend wherever it draws more than one series. Text sizes are set for 800×600 and scale
//! with the image. The font is DejaVu Sans, shipped in the crate: rendering never reads
//! system fonts.
//!
//! ```
//! use mltools_core::utils::{ImageFormat, PlotKind};
//! use mltools_utils::visualization::render;
//!
//! let kind = PlotKind::Roc { labels: vec![0, 0, 1, 1], scores: vec![0.1, 0.4, 0.35, 0.8] };
//! let plot = render(kind, ImageFormat::Svg, (800, 600), None)?;
//! assert!(String::from_utf8(plot.bytes).unwrap().contains("AUC = 0.750"));
//! # Ok::<(), mltools_utils::UtilsError>(())
//! ```

mod axes;
mod bars;
mod canvas;
mod classification;
mod heatmap;
mod overview;
mod regression;
mod roc;
mod theme;

use crate::config::MIN_PLOT_SIDE;
use crate::error::UtilsError;
use mltools_core::utils::{ImageFormat, Plot, PlotKind};

/// The largest side any plot may have, whatever the configuration says.
const MAX_SIDE: u32 = 16_384;

/// Renders `kind` at `width` × `height` pixels as `format`, titled `title` or by the plot's
/// own description of its data.
///
/// # Errors
/// [`UtilsError::BadPlotSize`] for a side outside 200..=16384 pixels; the plot's checks of
/// its data ([`UtilsError::LengthMismatch`], [`UtilsError::BadPlotData`],
/// [`UtilsError::RaggedFrame`]); [`UtilsError::Render`] when drawing fails.
pub fn render(
    kind: PlotKind,
    format: ImageFormat,
    (width, height): (u32, u32),
    title: Option<&str>,
) -> Result<Plot, UtilsError> {
    check_size(width, height, MAX_SIDE)?;
    // Each arm checks its data into a figure, then draws it.
    macro_rules! draw {
        ($figure:expr) => {
            canvas::render(&$figure?, format, (width, height), title)
        };
    }
    let bytes = match kind {
        PlotKind::Histograms { frame } => draw!(overview::Histograms::new(&frame)),
        PlotKind::Correlation { frame } => draw!(overview::Correlation::new(&frame)),
        PlotKind::Leaderboard { metric, entries } => draw!(bars::Leaderboard::new(metric, entries)),
        PlotKind::PredictedVsActual {
            target,
            actual,
            predicted,
        } => {
            draw!(regression::PredictedVsActual::new(
                target, actual, predicted
            ))
        }
        PlotKind::Residuals {
            target,
            actual,
            predicted,
        } => {
            draw!(regression::Residuals::new(target, actual, predicted))
        }
        PlotKind::ConfusionMatrix { labels, counts } => {
            draw!(classification::ConfusionMatrix::new(labels, counts))
        }
        PlotKind::Roc { labels, scores } => draw!(roc::Roc::new(labels, scores)),
        PlotKind::FeatureImportance { names, importances } => {
            draw!(bars::FeatureImportance::new(names, importances))
        }
    }?;
    Ok(Plot {
        format,
        width,
        height,
        bytes,
    })
}

/// Checks a requested size against [`MIN_PLOT_SIDE`] and `max`.
///
/// # Errors
/// [`UtilsError::BadPlotSize`] naming the size and the bounds.
pub(crate) fn check_size(width: u32, height: u32, max: u32) -> Result<(), UtilsError> {
    let allowed = MIN_PLOT_SIDE..=max;
    if allowed.contains(&width) && allowed.contains(&height) {
        Ok(())
    } else {
        Err(UtilsError::BadPlotSize {
            width,
            height,
            min: MIN_PLOT_SIDE,
            max,
        })
    }
}

/// The name of a plot kind, as in errors and logs.
pub fn kind_name(kind: &PlotKind) -> &'static str {
    match kind {
        PlotKind::Histograms { .. } => "histograms",
        PlotKind::Correlation { .. } => "correlation",
        PlotKind::Leaderboard { .. } => "leaderboard",
        PlotKind::PredictedVsActual { .. } => "predicted-vs-actual",
        PlotKind::Residuals { .. } => "residuals",
        PlotKind::ConfusionMatrix { .. } => "confusion-matrix",
        PlotKind::Roc { .. } => "roc",
        PlotKind::FeatureImportance { .. } => "feature-importance",
    }
}
