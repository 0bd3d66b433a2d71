//! What the linear regressors share: the fitted form (coefficients and an intercept) and
//! the centred design the penalised ones are fitted on.
//!
//! smartcore's ridge, lasso and elastic net standardise `X` themselves by default
//! (`normalize = true`), which refuses any constant column, and without it they drop or
//! mis-estimate the intercept (ML-BASELINE.md). We therefore do what scikit-learn does:
//! centre `X` and `y` ourselves, drop constant columns (their coefficient is 0), fit with
//! `normalize = false` and no intercept, and recover the intercept as `ȳ − x̄·w`.

use crate::algorithms::dense::{Dense, dense, rows};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;

/// A fitted linear function: `x·coefficients + intercept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearModel {
    /// One coefficient per feature.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
}

impl LinearModel {
    /// The prediction for each row of `x`.
    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        rows(x)
            .map(|row| {
                row.iter()
                    .zip(&self.coefficients)
                    .map(|(value, weight)| value * weight)
                    .sum::<f64>()
                    + self.intercept
            })
            .collect()
    }

    /// Reads the coefficients of a smartcore model (a `p × 1` matrix).
    pub(crate) fn from_column(coefficients: &Dense, intercept: f64) -> LinearModel {
        let (features, _) = coefficients.shape();
        LinearModel {
            coefficients: (0..features)
                .map(|row| *coefficients.get((row, 0)))
                .collect(),
            intercept,
        }
    }
}

/// `X` and `y` centred, with constant columns left out.
pub(crate) struct CentredDesign {
    /// The non-constant columns, centred; `None` when every column is constant.
    pub(crate) x: Option<Dense>,
    /// `y − ȳ`.
    pub(crate) y: Vec<f64>,
    /// The indices of the columns kept.
    kept: Vec<usize>,
    /// The mean of every column.
    means: Vec<f64>,
    /// `ȳ`.
    y_mean: f64,
}

impl CentredDesign {
    /// Centres `x` and `y`.
    ///
    /// # Errors
    /// A matrix without rows.
    pub(crate) fn new(x: &Matrix, y: &[f64]) -> Result<CentredDesign, ModelsError> {
        let columns = x.columns.len();
        let count = x.rows.max(1) as f64;
        let mut means = vec![0.0; columns];
        for row in rows(x) {
            for (mean, value) in means.iter_mut().zip(row) {
                *mean += value / count;
            }
        }
        let first = rows(x).next().unwrap_or(&[]);
        let kept: Vec<usize> = (0..columns)
            .filter(|&column| rows(x).any(|row| row[column] != first[column]))
            .collect();
        let values = rows(x)
            .flat_map(|row| kept.iter().map(|&column| row[column] - means[column]))
            .collect();
        let reduced = Matrix {
            rows: x.rows,
            columns: kept
                .iter()
                .map(|&column| x.columns[column].clone())
                .collect(),
            values,
        };
        let y_mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
        Ok(CentredDesign {
            x: if kept.is_empty() {
                None
            } else {
                Some(dense(&reduced)?)
            },
            y: y.iter().map(|value| value - y_mean).collect(),
            kept,
            means,
            y_mean,
        })
    }

    /// The model on the original columns from the coefficients of the kept ones.
    pub(crate) fn model(&self, kept_coefficients: &[f64]) -> LinearModel {
        let mut coefficients = vec![0.0; self.means.len()];
        for (&column, &weight) in self.kept.iter().zip(kept_coefficients) {
            coefficients[column] = weight;
        }
        let shift: f64 = coefficients
            .iter()
            .zip(&self.means)
            .map(|(weight, mean)| weight * mean)
            .sum();
        LinearModel {
            coefficients,
            intercept: self.y_mean - shift,
        }
    }

    /// The model when every column is constant: the mean of `y`.
    pub(crate) fn constant_model(&self) -> LinearModel {
        self.model(&[])
    }
}

/// The coefficients of a fitted smartcore model's `p × 1` coefficient matrix.
pub(crate) fn column(coefficients: &Dense) -> Vec<f64> {
    LinearModel::from_column(coefficients, 0.0).coefficients
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn centring_drops_constant_columns_and_recovers_the_intercept() {
        let (x, y) = testing::linear();
        let design = CentredDesign::new(&x, &y).unwrap();
        assert_eq!(design.kept, [0, 1]);
        assert!(design.y.iter().sum::<f64>().abs() < 1e-9);
        // The true coefficients give back the true intercept.
        let model = design.model(&[2.0, -1.0]);
        assert_eq!(model.coefficients, [2.0, -1.0, 0.0]);
        assert!((model.intercept - 3.0).abs() < 1e-9, "{}", model.intercept);
        let predicted = model.predict(&x);
        assert!((predicted[7] - y[7]).abs() < 1e-9);
    }
}
