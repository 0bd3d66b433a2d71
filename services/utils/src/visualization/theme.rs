//! What every plot shares: the font, text sizes scaled to the image, colours and colour
//! maps.

use plotters::style::{FontStyle, IntoFont, RGBColor, TextStyle};

/// The family the shipped font is registered under. `sans-serif` is also what an SVG
/// viewer falls back to, so SVG text looks alike without the font.
pub(crate) const FONT_FAMILY: &str = "sans-serif";

/// The series colours, in order (Tableau 10).
pub(crate) const PALETTE: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(127, 127, 127),
];
/// Text and axes.
pub(crate) const INK: RGBColor = RGBColor(33, 33, 33);
/// Grid lines.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
/// A reference line (identity, chance, zero).
pub(crate) const REFERENCE: RGBColor = RGBColor(110, 110, 110);
/// A heatmap cell with no value.
pub(crate) const NO_VALUE: RGBColor = RGBColor(200, 200, 200);

/// Matplotlib's "Blues": white to dark blue, for counts.
pub(crate) const BLUES: [RGBColor; 9] = [
    RGBColor(247, 251, 255),
    RGBColor(222, 235, 247),
    RGBColor(198, 219, 239),
    RGBColor(158, 202, 225),
    RGBColor(107, 174, 214),
    RGBColor(66, 146, 198),
    RGBColor(33, 113, 181),
    RGBColor(8, 81, 156),
    RGBColor(8, 48, 107),
];
/// ColorBrewer's "RdBu" reversed: blue (−1) through white (0) to red (+1), for
/// correlations.
pub(crate) const BLUE_WHITE_RED: [RGBColor; 9] = [
    RGBColor(33, 102, 172),
    RGBColor(67, 147, 195),
    RGBColor(146, 197, 222),
    RGBColor(209, 229, 240),
    RGBColor(247, 247, 247),
    RGBColor(253, 219, 199),
    RGBColor(244, 165, 130),
    RGBColor(214, 96, 77),
    RGBColor(178, 24, 43),
];

/// The colour at `t` in [0, 1] along `stops` (linear between neighbours).
pub(crate) fn color_at(stops: &[RGBColor], t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let position = t * (stops.len() - 1) as f64;
    let below = (position.floor() as usize).min(stops.len() - 2);
    let fraction = position - below as f64;
    let (a, b) = (stops[below], stops[below + 1]);
    let mix =
        |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * fraction).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black or white, whichever reads better on `background`.
pub(crate) fn text_color_on(background: RGBColor) -> RGBColor {
    let luminance = 0.299 * f64::from(background.0)
        + 0.587 * f64::from(background.1)
        + 0.114 * f64::from(background.2);
    if luminance > 140.0 {
        INK
    } else {
        RGBColor(255, 255, 255)
    }
}

/// The title's size at 800×600, in pixels. Sizes are ab_glyph's pixel scale (ascent to
/// descent), about 1.16 times the em size a browser would use for the same number.
pub(crate) const TITLE_SIZE: f64 = 26.0;

/// Text sizes for one image, in pixels: set for 800×600 and scaled with the image, never
/// below what stays legible.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    scale: f64,
}

impl Theme {
    /// The theme of a `width` × `height` image.
    pub(crate) fn for_size(width: u32, height: u32) -> Self {
        let scale = (f64::from(width) / 800.0).min(f64::from(height) / 600.0);
        Theme {
            scale: scale.clamp(0.75, 4.0),
        }
    }

    /// This theme with every size multiplied by `factor`, never below legibility.
    pub(crate) fn shrunk(&self, factor: f64) -> Self {
        Theme {
            scale: (self.scale * factor).max(0.7),
        }
    }

    /// `base` pixels at 800×600, scaled.
    pub(crate) fn px(&self, base: f64) -> f64 {
        base * self.scale
    }

    /// `base` pixels at 800×600, scaled and rounded, for margins and areas.
    pub(crate) fn size(&self, base: f64) -> u32 {
        self.px(base).round() as u32
    }

    fn text(&self, base: f64) -> TextStyle<'static> {
        (FONT_FAMILY, self.px(base), FontStyle::Normal)
            .into_font()
            .color(&INK)
    }

    /// The plot's title.
    pub(crate) fn title(&self) -> TextStyle<'static> {
        self.text(TITLE_SIZE)
    }

    /// An axis's description in a grid of panels.
    pub(crate) fn panel_title(&self) -> TextStyle<'static> {
        self.text(17.0)
    }

    /// An axis's description.
    pub(crate) fn axis_label(&self) -> TextStyle<'static> {
        self.text(20.0)
    }

    /// Tick labels.
    pub(crate) fn tick(&self) -> TextStyle<'static> {
        self.text(16.0)
    }

    /// Small tick labels, in a grid of panels.
    pub(crate) fn small_tick(&self) -> TextStyle<'static> {
        self.text(14.0)
    }

    /// Legend entries.
    pub(crate) fn legend(&self) -> TextStyle<'static> {
        self.text(17.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_maps_hit_their_ends_and_middle() {
        assert_eq!(color_at(&BLUE_WHITE_RED, 0.0), BLUE_WHITE_RED[0]);
        assert_eq!(color_at(&BLUE_WHITE_RED, 0.5), BLUE_WHITE_RED[4]);
        assert_eq!(color_at(&BLUE_WHITE_RED, 1.0), BLUE_WHITE_RED[8]);
        assert_eq!(color_at(&BLUES, f64::NAN), BLUES[0]);
        assert_eq!(text_color_on(BLUES[8]), RGBColor(255, 255, 255));
        assert_eq!(text_color_on(BLUES[0]), INK);
    }
}
