//! A labelled grid of coloured cells with a colour bar, laid out in pixels: the confusion
//! matrix and the correlation plot share it.
//!
//! plotters' mesh picks its own tick positions and cannot rotate crowded category labels
//! sensibly, so this draws labels itself: row labels left of the grid, column labels below
//! it (turned to read upwards when they do not fit side by side), the axis descriptions
//! outside those, and a colour bar with its own ticks and description on the right.

use super::axes::shorten;
use super::canvas::{DrawError, DrawResult};
use super::theme::{FONT_FAMILY, INK, NO_VALUE, Theme, text_color_on};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The longest label drawn, in characters; longer ones are cut with an ellipsis.
const MAX_LABEL_CHARS: usize = 28;

/// What a heatmap shows.
pub(crate) struct Heatmap<'a> {
    /// One label per row, top to bottom.
    pub(crate) rows: &'a [String],
    /// One label per column, left to right.
    pub(crate) columns: &'a [String],
    /// `values[row][column]`; NaN draws as "no value".
    pub(crate) values: &'a [Vec<f64>],
    /// The colour of a value.
    pub(crate) color: &'a dyn Fn(f64) -> RGBColor,
    /// The text printed in a cell, when cells are large enough and this is set.
    pub(crate) cell_text: Option<&'a dyn Fn(f64) -> String>,
    /// The description of the column axis (below).
    pub(crate) x_desc: &'a str,
    /// The description of the row axis (left).
    pub(crate) y_desc: &'a str,
    /// The colour bar's range, low to high.
    pub(crate) scale: (f64, f64),
    /// The colour bar's tick values and their labels.
    pub(crate) scale_ticks: Vec<(f64, String)>,
    /// The colour bar's description.
    pub(crate) scale_desc: &'a str,
}

/// Where things go, in pixels of the drawing area.
struct Layout {
    grid_x: i32,
    grid_y: i32,
    cell: i32,
    label_font: f64,
    rotate_column_labels: bool,
    /// The widest row label.
    row_label_width: i32,
    /// The height of the column labels below the grid.
    column_label_height: i32,
    bar_x: i32,
}

impl Heatmap<'_> {
    /// Draws the heatmap filling `area`.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> DrawResult {
        let layout = self.layout(area, theme)?;
        self.draw_cells(area, theme, &layout)?;
        self.draw_labels(area, theme, &layout)?;
        self.draw_color_bar(area, theme, &layout)
    }

    fn layout<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
    ) -> Result<Layout, DrawError> {
        let (width, height) = area.dim_in_pixel();
        let (width, height) = (width as i32, height as i32);
        let pad = theme.px(12.0) as i32;
        let desc_height = theme.px(26.0) as i32;
        let bar_block = theme.px(130.0) as i32;
        let (n_rows, n_columns) = (
            self.rows.len().max(1) as i32,
            self.columns.len().max(1) as i32,
        );
        // Labels shrink with crowded cells, down to a floor that stays readable.
        let first_guess =
            ((height - 2 * desc_height) / n_rows).min((width - bar_block) / n_columns);
        let label_font = theme.px(15.0).min(f64::from(first_guess) * 0.8).max(9.0);
        let style = label_style(label_font);
        let row_label_width = self.widest(area, self.rows, &style)?;
        let column_label_width = self.widest(area, self.columns, &style)?;
        let line = (label_font * 1.3) as i32;
        let left = pad + desc_height + row_label_width + pad;
        let room_x = width - left - bar_block - pad;
        let cell_if_flat =
            (room_x / n_columns).min((height - 2 * pad - line - desc_height) / n_rows);
        let rotate_column_labels = column_label_width + pad / 2 > cell_if_flat;
        let below = if rotate_column_labels {
            column_label_width + pad
        } else {
            line + pad / 2
        };
        let room_y = height - pad - below - desc_height - pad;
        let cell = (room_x / n_columns).min(room_y / n_rows).max(1);
        let grid_width = cell * n_columns;
        let grid_x = left + (room_x - grid_width) / 2;
        let grid_y = pad + (room_y - cell * n_rows) / 2;
        Ok(Layout {
            grid_x,
            grid_y,
            cell,
            label_font,
            rotate_column_labels,
            row_label_width,
            column_label_height: if rotate_column_labels {
                column_label_width
            } else {
                line
            },
            bar_x: grid_x + grid_width + pad * 2,
        })
    }

    fn widest<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        labels: &[String],
        style: &TextStyle<'_>,
    ) -> Result<i32, DrawError> {
        let mut widest = 0;
        for label in labels {
            let (width, _) = area.estimate_text_size(&shorten(label, MAX_LABEL_CHARS), style)?;
            widest = widest.max(width as i32);
        }
        Ok(widest)
    }

    fn draw_cells<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
        layout: &Layout,
    ) -> DrawResult {
        let cell = layout.cell;
        let text_size = theme.px(16.0).min(f64::from(cell) * 0.32);
        let show_text = self.cell_text.is_some() && text_size >= 9.0;
        for (row, values) in self.values.iter().take(self.rows.len()).enumerate() {
            for (column, &value) in values.iter().take(self.columns.len()).enumerate() {
                let x = layout.grid_x + column as i32 * cell;
                let y = layout.grid_y + row as i32 * cell;
                let fill = if value.is_nan() {
                    NO_VALUE
                } else {
                    (self.color)(value)
                };
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    fill.filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    WHITE.stroke_width(1),
                ))?;
                if let (true, Some(text)) = (show_text, self.cell_text) {
                    let label = if value.is_nan() {
                        "–".to_owned()
                    } else {
                        text(value)
                    };
                    let style = (FONT_FAMILY, text_size)
                        .into_font()
                        .color(&text_color_on(fill))
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    area.draw_text(&label, &style, (x + cell / 2, y + cell / 2))?;
                }
            }
        }
        let (width, height) = (
            cell * self.columns.len() as i32,
            cell * self.rows.len() as i32,
        );
        let frame = [
            (layout.grid_x, layout.grid_y),
            (layout.grid_x + width, layout.grid_y + height),
        ];
        area.draw(&Rectangle::new(frame, INK.stroke_width(1)))?;
        Ok(())
    }

    fn draw_labels<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
        layout: &Layout,
    ) -> DrawResult {
        let (_, height) = area.dim_in_pixel();
        let cell = layout.cell;
        let gap = theme.px(6.0) as i32;
        let style = label_style(layout.label_font);
        let right = style.pos(Pos::new(HPos::Right, VPos::Center));
        for (row, label) in self.rows.iter().enumerate() {
            let y = layout.grid_y + row as i32 * cell + cell / 2;
            area.draw_text(
                &shorten(label, MAX_LABEL_CHARS),
                &right,
                (layout.grid_x - gap, y),
            )?;
        }
        let below_grid = layout.grid_y + cell * self.rows.len() as i32 + gap;
        let column_style = if layout.rotate_column_labels {
            style
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center))
        } else {
            style.pos(Pos::new(HPos::Center, VPos::Top))
        };
        for (column, label) in self.columns.iter().enumerate() {
            let x = layout.grid_x + column as i32 * cell + cell / 2;
            area.draw_text(
                &shorten(label, MAX_LABEL_CHARS),
                &column_style,
                (x, below_grid),
            )?;
        }
        // The axis descriptions sit just outside the labels, wherever the grid ended up.
        let desc = theme.axis_label();
        let desc_height = theme.px(24.0) as i32;
        let grid_middle_x = layout.grid_x + cell * self.columns.len() as i32 / 2;
        let top = desc.pos(Pos::new(HPos::Center, VPos::Top));
        let desc_y =
            (below_grid + layout.column_label_height + gap).min(height as i32 - desc_height);
        area.draw_text(self.x_desc, &top, (grid_middle_x, desc_y))?;
        let grid_middle_y = layout.grid_y + cell * self.rows.len() as i32 / 2;
        let left = desc
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let desc_x = (layout.grid_x - 2 * gap - layout.row_label_width - desc_height).max(gap);
        area.draw_text(self.y_desc, &left, (desc_x, grid_middle_y))?;
        Ok(())
    }

    fn draw_color_bar<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        theme: &Theme,
        layout: &Layout,
    ) -> DrawResult {
        let bar_width = theme.px(20.0) as i32;
        let top = layout.grid_y;
        let height = (layout.cell * self.rows.len() as i32).max(theme.px(120.0) as i32);
        let (low, high) = self.scale;
        let steps = 64;
        for step in 0..steps {
            let y0 = top + height - (step + 1) * height / steps;
            let y1 = top + height - step * height / steps;
            let value = low + (high - low) * (f64::from(step) + 0.5) / f64::from(steps);
            let color = (self.color)(value);
            area.draw(&Rectangle::new(
                [(layout.bar_x, y0), (layout.bar_x + bar_width, y1)],
                color.filled(),
            ))?;
        }
        let frame = [
            (layout.bar_x, top),
            (layout.bar_x + bar_width, top + height),
        ];
        area.draw(&Rectangle::new(frame, INK.stroke_width(1)))?;
        let tick_style = theme.small_tick().pos(Pos::new(HPos::Left, VPos::Center));
        let tick_x = layout.bar_x + bar_width;
        let mut widest = 0;
        for (value, label) in &self.scale_ticks {
            let fraction = if high > low {
                (value - low) / (high - low)
            } else {
                0.0
            };
            let y = top + height - (fraction * f64::from(height)).round() as i32;
            area.draw(&PathElement::new(
                vec![(tick_x, y), (tick_x + 5, y)],
                INK.stroke_width(1),
            ))?;
            area.draw_text(label, &tick_style, (tick_x + 8, y))?;
            widest = widest.max(area.estimate_text_size(label, &tick_style)?.0 as i32);
        }
        let desc = theme
            .axis_label()
            .transform(FontTransform::Rotate270)
            .pos(Pos::new(HPos::Center, VPos::Top));
        area.draw_text(
            self.scale_desc,
            &desc,
            (tick_x + 14 + widest, top + height / 2),
        )?;
        Ok(())
    }
}

fn label_style(size: f64) -> TextStyle<'static> {
    (FONT_FAMILY, size).into_font().color(&INK)
}
