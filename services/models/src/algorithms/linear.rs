//! What the linear regressors share: the fitted form (coefficients, an intercept and, for
//! the coordinate-descent fits, how the solver ended) and the centred design every one of
//! them is fitted on.
//!
//! As scikit-learn does, we centre `X` and `y`, drop constant columns (their coefficient
//! is 0), fit without an intercept, and recover the intercept as `ȳ − x̄·w`. The solvers
//! (`solvers`) read the centred design a block of rows at a time (the
//! Gram matrix of ridge) or as one column-major copy (QR, coordinate descent), looking at
//! the fit's [`Cancel`] between blocks.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::dense::rows;
use crate::algorithms::fit::Predict;
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::solvers::block_rows;
use crate::algorithms::validate::finite;
use crate::error::ModelsError;
use crate::prediction::Prediction;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A fitted linear function: `x·coefficients + intercept`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LinearModel {
    /// One coefficient per feature.
    pub coefficients: Vec<f64>,
    /// The intercept.
    pub intercept: f64,
    /// How coordinate descent ended (lasso, elastic net); `None` for the direct solvers
    /// (least squares, ridge). Not serialized: it is reported when the model is fitted
    /// (the leaderboard's warnings), and leaving it out keeps the stored form of every
    /// linear model unchanged; a model read back has `None`.
    #[serde(skip)]
    pub convergence: Option<DescentStop>,
}

/// How a coordinate-descent fit ended, in scikit-learn's terms: it converged when the
/// duality gap fell to `tol·‖y − ȳ‖²` (after the largest weight change of an epoch fell
/// below `tol` relative to the largest weight).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct DescentStop {
    /// Whether the duality gap reached the tolerance.
    pub converged: bool,
    /// Epochs (passes over every coordinate) done.
    pub epochs: usize,
    /// The duality gap at the end, on scikit-learn's scale (`n` times the objective's).
    pub gap: f64,
    /// The gap it had to reach: `tol·‖y − ȳ‖²`.
    pub tolerance: f64,
}

impl fmt::Display for DescentStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (gap, tolerance) = (self.gap, self.tolerance);
        let epochs = match self.epochs {
            1 => "1 epoch".to_owned(),
            count => format!("{count} epochs"),
        };
        if self.converged {
            write!(
                f,
                "converged in {epochs} (duality gap {gap:.1e} ≤ {tolerance:.1e})"
            )
        } else {
            write!(
                f,
                "did not converge in {epochs} (duality gap {gap:.1e} > {tolerance:.1e}); raise \
                 max_iter, or scale the features"
            )
        }
    }
}

impl LinearModel {
    /// The prediction for each row of `x`.
    pub(crate) fn predict(&self, x: &Matrix) -> Vec<f64> {
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

    /// The model, unless a coefficient or the intercept is not finite: features so large
    /// that their squares overflow `f64` leave the solvers nothing to work with.
    ///
    /// # Errors
    /// [`ModelsError::Fit`] for `algorithm`, saying to scale the features.
    pub(crate) fn finite(self, algorithm: &'static str) -> Result<LinearModel, ModelsError> {
        let finite = self.intercept.is_finite() && self.coefficients.iter().all(|w| w.is_finite());
        if finite {
            return Ok(self);
        }
        Err(ModelsError::Fit {
            algorithm,
            reason: "the coefficients are not finite numbers: the features are too large for \
                     their products to fit in f64; scale them"
                .to_owned(),
        })
    }

    /// What a user should know about the fit: a coordinate descent that stopped at
    /// `max_iter` before its duality gap reached `tol`. `None` otherwise.
    pub(crate) fn warning(&self) -> Option<String> {
        self.convergence
            .filter(|stop| !stop.converged)
            .map(|stop| stop.to_string())
    }
}

/// `X` and `y` centred, with constant columns left out: the means, which columns are kept,
/// and `y − ȳ`. The centred columns themselves are made on demand ([`CentredDesign::block`],
/// [`CentredDesign::columns`]) so ridge never holds a second copy of `X`.
#[derive(Debug)]
pub(crate) struct CentredDesign {
    /// The number of rows.
    rows: usize,
    /// `y − ȳ`.
    y: Vec<f64>,
    /// The indices of the columns kept (not constant).
    kept: Vec<usize>,
    /// The mean of every column.
    means: Vec<f64>,
    /// `ȳ`.
    y_mean: f64,
}

impl CentredDesign {
    /// Centres `x` and `y`, looking at `cancel` every block of rows.
    ///
    /// # Errors
    /// [`ModelsError::Shape`] for a matrix without rows or columns, whose values do not
    /// make `rows × columns`, or with another number of targets;
    /// [`ModelsError::Cancelled`].
    pub(crate) fn new(x: &Matrix, y: &[f64], cancel: &Cancel) -> Result<Self, ModelsError> {
        let columns = x.columns.len();
        if x.rows == 0 || columns == 0 || x.values.len() != x.rows * columns {
            return Err(ModelsError::Shape {
                reason: format!(
                    "{} values do not make a non-empty matrix of {} rows of {columns} columns",
                    x.values.len(),
                    x.rows
                ),
            });
        }
        if y.len() != x.rows {
            return Err(ModelsError::Shape {
                reason: format!("{} feature rows but {} targets", x.rows, y.len()),
            });
        }
        let first = &x.values[..columns];
        let mut sums = vec![0.0; columns];
        let mut varies = vec![false; columns];
        for block in x.values.chunks(block_rows(columns) * columns) {
            cancel.check()?;
            for row in block.chunks_exact(columns) {
                for (((sum, differs), &value), &start) in
                    sums.iter_mut().zip(&mut varies).zip(row).zip(first)
                {
                    *sum += value;
                    *differs |= value != start;
                }
            }
        }
        let count = x.rows as f64;
        let means = sums.into_iter().map(|sum| sum / count).collect();
        let kept = (0..columns).filter(|&column| varies[column]).collect();
        let y_mean = y.iter().sum::<f64>() / count;
        Ok(CentredDesign {
            rows: x.rows,
            y: y.iter().map(|value| value - y_mean).collect(),
            kept,
            means,
            y_mean,
        })
    }

    /// The number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// The number of columns kept.
    pub(crate) fn width(&self) -> usize {
        self.kept.len()
    }

    /// `y − ȳ`.
    pub(crate) fn y(&self) -> &[f64] {
        &self.y
    }

    /// The name of kept column `index`, for messages.
    pub(crate) fn column_name<'a>(&self, x: &'a Matrix, index: usize) -> &'a str {
        self.kept
            .get(index)
            .and_then(|&column| x.columns.get(column))
            .map_or("?", String::as_str)
    }

    /// Rows `start..end` of the centred kept columns, row-major, into `block` (resized).
    pub(crate) fn block(&self, x: &Matrix, start: usize, end: usize, block: &mut Vec<f64>) {
        let columns = x.columns.len();
        block.clear();
        for row in x.values[start * columns..end * columns].chunks_exact(columns) {
            block.extend(
                self.kept
                    .iter()
                    .map(|&column| row[column] - self.means[column]),
            );
        }
    }

    /// The centred kept columns, column-major (kept column `k` is
    /// `[k·rows, (k + 1)·rows)`), looking at `cancel` every block of rows.
    ///
    /// # Errors
    /// [`ModelsError::Cancelled`].
    pub(crate) fn columns(&self, x: &Matrix, cancel: &Cancel) -> Result<Vec<f64>, ModelsError> {
        let (rows, columns) = (self.rows, x.columns.len());
        let mut values = vec![0.0; rows * self.kept.len()];
        let block_rows = block_rows(columns);
        for (block_index, block) in x.values.chunks(block_rows * columns).enumerate() {
            cancel.check()?;
            let first_row = block_index * block_rows;
            for (offset, row) in block.chunks_exact(columns).enumerate() {
                for (index, &column) in self.kept.iter().enumerate() {
                    values[index * rows + first_row + offset] = row[column] - self.means[column];
                }
            }
        }
        Ok(values)
    }

    /// The model on the original columns from the coefficients of the kept ones.
    pub(crate) fn model(
        &self,
        kept_coefficients: &[f64],
        convergence: Option<DescentStop>,
    ) -> LinearModel {
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
            convergence,
        }
    }

    /// The model when every column is constant: the mean of `y`.
    pub(crate) fn constant_model(&self) -> LinearModel {
        self.model(&[], None)
    }
}

#[cfg(test)]
mod scikit_learn;

impl Predict for LinearModel {
    fn predict(&self, x: &Matrix, _: usize, _: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Regression(LinearModel::predict(self, x)))
    }

    fn check(&self, _: AlgorithmId, features: usize, _: usize) -> Result<(), String> {
        if self.coefficients.len() != features {
            return Err(format!(
                "{} coefficients for {features} features",
                self.coefficients.len()
            ));
        }
        finite("the coefficients", &self.coefficients)?;
        finite("the intercept", &[self.intercept])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn centring_drops_constant_columns_and_recovers_the_intercept() {
        let (x, y) = testing::linear();
        let design = CentredDesign::new(&x, &y, &Cancel::never()).unwrap();
        assert_eq!(design.kept, [0, 1]);
        assert_eq!(design.column_name(&x, 1), "x1");
        assert!(design.y().iter().sum::<f64>().abs() < 1e-9);
        // The true coefficients give back the true intercept.
        let model = design.model(&[2.0, -1.0], None);
        assert_eq!(model.coefficients, [2.0, -1.0, 0.0]);
        assert!((model.intercept - 3.0).abs() < 1e-9, "{}", model.intercept);
        let predicted = model.predict(&x);
        assert!((predicted[7] - y[7]).abs() < 1e-9);
    }

    #[test]
    fn blocks_and_columns_hold_the_same_centred_values() {
        let x = testing::matrix(&[&[1.0, 5.0, 2.0], &[3.0, 5.0, 4.0], &[5.0, 5.0, 9.0]]);
        let design = CentredDesign::new(&x, &[1.0, 2.0, 3.0], &Cancel::never()).unwrap();
        let columns = design.columns(&x, &Cancel::never()).unwrap();
        assert_eq!(columns, [-2.0, 0.0, 2.0, -3.0, -1.0, 4.0]);
        let mut block = Vec::new();
        design.block(&x, 1, 3, &mut block);
        assert_eq!(block, [0.0, -1.0, 2.0, 4.0]);
    }

    #[test]
    fn a_bad_shape_is_refused() {
        let x = testing::matrix(&[&[1.0], &[2.0]]);
        let error = CentredDesign::new(&x, &[1.0], &Cancel::never()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "shape mismatch: 2 feature rows but 1 targets"
        );
        let empty = Matrix {
            rows: 0,
            columns: vec!["x0".into()],
            values: Vec::new(),
        };
        assert!(matches!(
            CentredDesign::new(&empty, &[], &Cancel::never()),
            Err(ModelsError::Shape { .. })
        ));
    }

    #[test]
    fn a_not_converged_descent_warns() {
        let stop = DescentStop {
            converged: false,
            epochs: 3,
            gap: 0.25,
            tolerance: 0.001,
        };
        let model = LinearModel {
            coefficients: vec![1.0],
            intercept: 0.0,
            convergence: Some(stop),
        };
        assert_eq!(
            model.warning().unwrap(),
            "did not converge in 3 epochs (duality gap 2.5e-1 > 1.0e-3); raise max_iter, or \
             scale the features"
        );
        let converged = LinearModel {
            convergence: Some(DescentStop {
                converged: true,
                ..stop
            }),
            ..model
        };
        assert_eq!(converged.warning(), None);
    }
}
