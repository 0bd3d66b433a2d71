//! The scale step: scikit-learn's `StandardScaler`, `MinMaxScaler` and `RobustScaler`, each
//! written as `(x - center) / scale` per numeric column.
//!
//! - standard: the mean and the population standard deviation (ddof 0);
//! - min-max: the minimum and the range, so values map into [0, 1];
//! - robust: the median and the interquartile range (numpy's linear percentiles).
//!
//! A scale that is (near) zero becomes 1, as scikit-learn's `_handle_zeros_in_scale` does,
//! so a constant column is centred but not blown up. Categorical columns pass through. A
//! missing (NaN) or infinite value is refused, naming the column and row: scikit-learn
//! would carry NaN through silently; here the pipeline must impute first.

use super::stats;
use crate::error::UtilsError;
use mltools_core::utils::{Affine, Scale};
use mltools_core::{Column, ColumnData};

/// Scales smaller than this are treated as zero (scikit-learn: `10 * eps`).
const ZERO_SCALE: f64 = 10.0 * f64::EPSILON;

/// Learns the centre and scale of every numeric column (`None` for a categorical one).
///
/// # Errors
/// [`UtilsError::NonFinite`] for a missing or infinite value.
pub(crate) fn fit(
    step: usize,
    columns: &[Column],
    method: Scale,
) -> Result<Vec<Option<Affine>>, UtilsError> {
    columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Categorical { .. } => Ok(None),
            ColumnData::Numeric(values) => {
                check_finite(step, method, &column.name, values)?;
                Ok(Some(learn(method, values)))
            }
        })
        .collect()
}

/// The centre and scale of finite, non-empty `values`.
fn learn(method: Scale, values: &[f64]) -> Affine {
    let (center, scale) = match method {
        Scale::Standard => {
            let mean = stats::mean(values).unwrap_or(0.0);
            let variance = stats::population_variance(values, mean);
            // scikit-learn's `_is_constant_feature`: a variance within rounding of zero.
            let n = values.len() as f64;
            let bound = n * f64::EPSILON * variance + (n * mean * f64::EPSILON).powi(2);
            let scale = if variance <= bound {
                1.0
            } else {
                variance.sqrt()
            };
            (mean, scale)
        }
        Scale::MinMax => {
            let min = values.iter().copied().fold(f64::INFINITY, f64::min);
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (min, max - min)
        }
        Scale::Robust => {
            let sorted = stats::sorted(values);
            let median = stats::median_of_sorted(&sorted).unwrap_or(0.0);
            let q25 = stats::quantile_of_sorted(&sorted, 0.25).unwrap_or(0.0);
            let q75 = stats::quantile_of_sorted(&sorted, 0.75).unwrap_or(0.0);
            (median, q75 - q25)
        }
    };
    let scale = if scale < ZERO_SCALE { 1.0 } else { scale };
    Affine { center, scale }
}

/// Scales every numeric column with its learned centre and scale.
///
/// # Errors
/// [`UtilsError::NonFinite`] for a missing or infinite value, [`UtilsError::BadPipeline`]
/// when a column's kind does not match what was learned.
pub(crate) fn apply(
    step: usize,
    method: Scale,
    learned: &[Option<Affine>],
    columns: &mut [Column],
) -> Result<(), UtilsError> {
    for (column, affine) in columns.iter_mut().zip(learned) {
        match (&mut column.data, affine) {
            (ColumnData::Categorical { .. }, None) => {}
            (ColumnData::Numeric(values), Some(Affine { center, scale })) => {
                check_finite(step, method, &column.name, values)?;
                for value in values.iter_mut() {
                    *value = (*value - center) / scale;
                }
            }
            _ => {
                return Err(UtilsError::BadPipeline {
                    step,
                    reason: format!(
                        "the scaling learned for column `{}` is for the other kind",
                        column.name
                    ),
                });
            }
        }
    }
    Ok(())
}

fn check_finite(step: usize, method: Scale, name: &str, values: &[f64]) -> Result<(), UtilsError> {
    let Some(row) = values.iter().position(|value| !value.is_finite()) else {
        return Ok(());
    };
    let (value, hint) = if values[row].is_nan() {
        ("missing (NaN)", "add an impute step before scaling")
    } else {
        ("infinite", "replace or drop infinite values before scaling")
    };
    Err(UtilsError::NonFinite {
        step,
        step_name: format!("scale {}", method_name(method)),
        column: name.to_owned(),
        row,
        value,
        hint,
    })
}

fn method_name(method: Scale) -> &'static str {
    match method {
        Scale::Standard => "standard",
        Scale::MinMax => "min-max",
        Scale::Robust => "robust",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaled(method: Scale, values: &[f64]) -> Vec<f64> {
        let mut columns = [Column::numeric("x", values.to_vec())];
        let learned = fit(0, &columns, method).unwrap();
        apply(0, method, &learned, &mut columns).unwrap();
        match &columns[0].data {
            ColumnData::Numeric(values) => values.clone(),
            ColumnData::Categorical { .. } => unreachable!(),
        }
    }

    fn assert_close(got: &[f64], expected: &[f64]) {
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() <= 1e-9, "got {got:?}, expected {expected:?}");
        }
    }

    // The expected values are scikit-learn 1.9's output for X = [[1], [2], [4], [7], [16]]
    // (mean 6, population std sqrt(29.2); min 1, range 15; median 4, IQR 7 - 2 = 5).
    #[test]
    fn scalers_match_scikit_learn() {
        let x = [1.0, 2.0, 4.0, 7.0, 16.0];
        let std = 29.2_f64.sqrt();
        let standard: Vec<f64> = x.iter().map(|v| (v - 6.0) / std).collect();
        assert_close(&scaled(Scale::Standard, &x), &standard);
        assert_close(
            &scaled(Scale::Standard, &x)[..1],
            &[-0.925_291_512_747_006_6],
        );
        assert_close(
            &scaled(Scale::MinMax, &x),
            &[0.0, 1.0 / 15.0, 0.2, 0.4, 1.0],
        );
        assert_close(&scaled(Scale::Robust, &x), &[-0.6, -0.4, 0.0, 0.6, 2.4]);
    }

    #[test]
    fn constant_columns_keep_scale_one() {
        for method in [Scale::Standard, Scale::MinMax, Scale::Robust] {
            assert_close(&scaled(method, &[3.0, 3.0, 3.0]), &[0.0, 0.0, 0.0]);
        }
        // Constant up to rounding (0.1 × 3 sums inexactly): scikit-learn still calls it
        // constant, so the scale stays 1 instead of dividing by ~1e-17.
        assert_close(&scaled(Scale::Standard, &[0.1, 0.1, 0.1]), &[0.0, 0.0, 0.0]);
    }

    #[test]
    fn nan_and_infinity_name_column_and_row() {
        let columns = [Column::numeric("income", vec![1.0, f64::NAN])];
        let error = fit(2, &columns, Scale::Standard).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step 2 (scale standard): column `income`, row 1: missing (NaN) value; add an impute step before scaling"
        );
        let columns = [Column::numeric("income", vec![f64::NEG_INFINITY])];
        let error = fit(0, &columns, Scale::Robust).unwrap_err();
        assert!(error.to_string().contains("row 0: infinite"), "{error}");
    }
}
