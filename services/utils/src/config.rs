//! The utils service's settings, embedded in the node's TOML file under `[utils]`.

use crate::error::UtilsError;
use serde::{Deserialize, Serialize};

/// The smallest side of a plot, in pixels: below it the text cannot stay legible.
pub const MIN_PLOT_SIDE: u32 = 200;
/// The largest `max_plot_side` a configuration may set: a 16384² RGB buffer is 768 MiB.
const MAX_PLOT_SIDE_LIMIT: u32 = 16_384;
/// The default `max_matrix_bytes`: 2 GiB, 268 million values.
pub const DEFAULT_MAX_MATRIX_BYTES: u64 = 2 << 30;
/// The smallest `max_matrix_bytes` a configuration may set: below it, a typo (`2` meant as
/// gigabytes) would refuse every pipeline.
const MIN_MAX_MATRIX_BYTES: u64 = 1 << 20;

/// Settings of the utils service.
///
/// ```toml
/// [utils]
/// plot_width = 800
/// plot_height = 600
/// max_plot_side = 4096
/// render_concurrency = 2
/// compute_concurrency = 4
/// max_matrix_bytes = 2147483648
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UtilsConfig {
    /// The width of a plot whose request names none, in pixels. Default 800.
    pub plot_width: u32,
    /// The height of a plot whose request names none, in pixels. Default 600.
    pub plot_height: u32,
    /// The largest width or height a request may ask for, in pixels; a PNG's buffer is
    /// 3 bytes a pixel. Default 4096.
    pub max_plot_side: u32,
    /// How many plots render at once; further requests wait for a slot (the transport's
    /// in-flight limit bounds how many wait). Default 2, one per core of a small node.
    pub render_concurrency: usize,
    /// How many pipeline fits, transforms and splits run at once on blocking threads;
    /// further requests wait for a slot. Default 4.
    pub compute_concurrency: usize,
    /// The largest output a pipeline fit or transform may build, in bytes: every step that
    /// widens the data (one-hot encoding) and the output matrix are checked, rows ×
    /// columns × 8, before they are allocated, and refused over it; so are a split's row
    /// indices, folds × rows × 4. The peak memory of one fit or transform is about twice
    /// this (the last step's columns and the matrix laid out from them), times
    /// `compute_concurrency`. Default 2 GiB; at least 1 MiB.
    pub max_matrix_bytes: u64,
}

impl Default for UtilsConfig {
    fn default() -> Self {
        UtilsConfig {
            plot_width: 800,
            plot_height: 600,
            max_plot_side: 4096,
            render_concurrency: 2,
            compute_concurrency: 4,
            max_matrix_bytes: DEFAULT_MAX_MATRIX_BYTES,
        }
    }
}

impl UtilsConfig {
    /// Checks the values that cannot be expressed in the types.
    ///
    /// # Errors
    /// [`UtilsError::BadConfig`] naming the field: a `max_plot_side` outside
    /// [`MIN_PLOT_SIDE`]..=16384, a default plot side outside
    /// [`MIN_PLOT_SIDE`]..=`max_plot_side`, a zero concurrency, or a `max_matrix_bytes`
    /// below 1 MiB.
    pub fn validate(&self) -> Result<(), UtilsError> {
        let bad =
            |field: &'static str, reason: String| Err(UtilsError::BadConfig { field, reason });
        if !(MIN_PLOT_SIDE..=MAX_PLOT_SIDE_LIMIT).contains(&self.max_plot_side) {
            return bad(
                "max_plot_side",
                format!(
                    "{} is not between {MIN_PLOT_SIDE} and {MAX_PLOT_SIDE_LIMIT}",
                    self.max_plot_side
                ),
            );
        }
        for (field, side) in [
            ("plot_width", self.plot_width),
            ("plot_height", self.plot_height),
        ] {
            if !(MIN_PLOT_SIDE..=self.max_plot_side).contains(&side) {
                return bad(
                    field,
                    format!(
                        "{side} is not between {MIN_PLOT_SIDE} and max_plot_side ({})",
                        self.max_plot_side
                    ),
                );
            }
        }
        if self.render_concurrency == 0 {
            return bad("render_concurrency", "must be at least 1".to_owned());
        }
        if self.compute_concurrency == 0 {
            return bad("compute_concurrency", "must be at least 1".to_owned());
        }
        if self.max_matrix_bytes < MIN_MAX_MATRIX_BYTES {
            return bad(
                "max_matrix_bytes",
                format!(
                    "{} bytes is below the smallest budget, {MIN_MAX_MATRIX_BYTES} (1 MiB)",
                    self.max_matrix_bytes
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_the_field() {
        let config = UtilsConfig::default();
        assert!(config.validate().is_ok());
        let wide = UtilsConfig {
            plot_width: 5000,
            ..config.clone()
        };
        let error = wide.validate().unwrap_err();
        assert!(error.to_string().contains("`plot_width`"), "{error}");
        let idle = UtilsConfig {
            render_concurrency: 0,
            ..config.clone()
        };
        assert!(
            idle.validate()
                .unwrap_err()
                .to_string()
                .contains("render_concurrency")
        );
        let tiny = UtilsConfig {
            max_matrix_bytes: 2,
            ..config
        };
        assert_eq!(
            tiny.validate().unwrap_err().to_string(),
            "utils config: `max_matrix_bytes`: 2 bytes is below the smallest budget, 1048576 (1 MiB)"
        );
    }

    #[test]
    fn toml_fills_defaults_and_refuses_unknown_keys() {
        let config: UtilsConfig = toml::from_str("plot_width = 1024").unwrap();
        assert_eq!(config.plot_width, 1024);
        assert_eq!(config.plot_height, 600);
        assert_eq!(config.max_matrix_bytes, 2 * 1024 * 1024 * 1024);
        let error = toml::from_str::<UtilsConfig>("plot_widht = 1024").unwrap_err();
        assert!(error.to_string().contains("plot_widht"), "{error}");
    }
}
