//! Turning a figure into SVG or PNG bytes: the shipped font, the backends, the title, PNG
//! encoding.
//!
//! Text is drawn with plotters' `ab_glyph` feature and DejaVu Sans, embedded in the binary
//! and registered on first use, so rendering never looks for system fonts (no fontconfig:
//! a slim container without fonts renders the same images).

use super::theme::{FONT_FAMILY, INK, TITLE_SIZE, Theme};
use crate::error::UtilsError;
use mltools_core::utils::ImageFormat;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::sync::OnceLock;

/// DejaVu Sans; its licence is `assets/DejaVuSans.LICENSE.txt`.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// A drawing failure inside plotters, as text (its error type is generic over the backend).
#[derive(Debug)]
pub(crate) struct DrawError(pub(crate) String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawError {
    fn from(error: DrawingAreaErrorKind<E>) -> Self {
        DrawError(error.to_string())
    }
}

/// What a figure's drawing returns.
pub(crate) type DrawResult = Result<(), DrawError>;

/// A plot with checked data, drawable on any plotters backend.
pub(crate) trait Figure {
    /// The plot kind, for errors (`histograms`, `roc`).
    fn plot(&self) -> &'static str;

    /// The title used when the request gives none.
    fn default_title(&self) -> String;

    /// Draws the figure below its title.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, theme: &Theme) -> DrawResult;
}

/// Renders `figure` at `width` × `height` with `title` (or its own) as `format` bytes.
///
/// # Errors
/// [`UtilsError::Render`] when plotters fails or the PNG cannot be encoded.
pub(crate) fn render(
    figure: &impl Figure,
    format: ImageFormat,
    (width, height): (u32, u32),
    title: Option<&str>,
) -> Result<Vec<u8>, UtilsError> {
    register_font()?;
    let title = title.map_or_else(|| figure.default_title(), str::to_owned);
    let theme = Theme::for_size(width, height);
    let failed = |error: DrawError| UtilsError::Render {
        plot: figure.plot(),
        reason: error.0,
    };
    match format {
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
                draw_page(figure, &root, &title, &theme).map_err(failed)?;
            }
            Ok(svg.into_bytes())
        }
        ImageFormat::Png => {
            let mut rgb = vec![0u8; width as usize * height as usize * 3];
            {
                let root =
                    BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
                draw_page(figure, &root, &title, &theme).map_err(failed)?;
            }
            encode_png(&rgb, width, height).map_err(|reason| UtilsError::Render {
                plot: figure.plot(),
                reason,
            })
        }
    }
}

fn draw_page<DB: DrawingBackend>(
    figure: &impl Figure,
    root: &DrawingArea<DB, Shift>,
    title: &str,
    theme: &Theme,
) -> DrawResult {
    root.fill(&WHITE)?;
    let body = draw_title(root, title, theme)?;
    figure.draw(&body, theme)?;
    root.present()?;
    Ok(())
}

/// Draws `title` centred at the top, shrunk to fit the width; returns the area below it.
fn draw_title<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    theme: &Theme,
) -> Result<DrawingArea<DB, Shift>, DrawError> {
    let (width, _) = root.dim_in_pixel();
    let mut size = theme.px(TITLE_SIZE);
    let mut style = theme.title();
    let room = f64::from(width) * 0.95;
    let (text_width, _) = root.estimate_text_size(title, &style)?;
    if f64::from(text_width) > room {
        size = (size * room / f64::from(text_width)).max(theme.px(12.0));
        style = (FONT_FAMILY, size).into_font().color(&INK);
    }
    let band = (size * 1.9).round() as u32;
    let (top, body) = root.split_vertically(band);
    let centred = style.pos(Pos::new(HPos::Center, VPos::Center));
    top.draw_text(title, &centred, (width as i32 / 2, band as i32 / 2 + 2))?;
    Ok(body)
}

fn register_font() -> Result<(), UtilsError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let registered = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_ok()
    });
    if registered {
        Ok(())
    } else {
        Err(UtilsError::Render {
            plot: "any",
            reason: "the embedded font does not parse".to_owned(),
        })
    }
}

fn encode_png(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|error| error.to_string())?;
    writer
        .write_image_data(rgb)
        .map_err(|error| error.to_string())?;
    writer.finish().map_err(|error| error.to_string())?;
    Ok(bytes)
}
