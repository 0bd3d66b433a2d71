//! Ordinary least squares, scikit-learn's `LinearRegression`: minimises `‖y − Xw − b‖²`
//! on the centred design by a pivoted Householder QR (`solvers::householder`), then either a
//! back substitution (`qr`: full column rank only) or the one-sided Jacobi SVD of `R`
//! (`solvers::jacobi`; `svd`, the minimum-norm solution with `gelsd`'s rank cutoff, as
//! scikit-learn's). The cancel is seen every block of rows, QR column and Jacobi sweep.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::fit::{Fit, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::linear::{CentredDesign, LinearModel};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::solvers::householder;
use crate::algorithms::solvers::jacobi::Spectral;
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::utils::Matrix;

const ID: &str = "linear_regression";

/// The solver of the least-squares system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeastSquaresSolver {
    /// Singular value decomposition: copes with collinear columns, giving the
    /// minimum-norm solution (the default).
    Svd,
    /// QR decomposition: a little faster, and refuses a design without full column rank.
    Qr,
}

/// Parameters of ordinary least squares.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegressionParams {
    /// The solver; SVD by default.
    pub solver: LeastSquaresSolver,
}

impl Default for LinearRegressionParams {
    fn default() -> Self {
        LinearRegressionParams {
            solver: LeastSquaresSolver::Svd,
        }
    }
}

/// Checked [`LinearRegressionParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct LinearRegressionValidParams(LinearRegressionParams);

impl LinearRegressionParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[ParamDoc {
        name: "solver",
        default: DefaultValue::Text("svd"),
        accepts: "`svd` or `qr`",
        doc: "How the least-squares system is solved: SVD copes with collinear columns \
              (minimum-norm solution); QR refuses them.",
    }];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        let solver = match params.choice("solver", &["svd", "qr"], "svd")? {
            "qr" => LeastSquaresSolver::Qr,
            _ => LeastSquaresSolver::Svd,
        };
        Ok(LinearRegressionParams { solver })
    }

    /// Checks the parameters (every combination is valid).
    ///
    /// # Errors
    /// None today; the signature matches the other algorithms.
    pub fn check(self) -> Result<LinearRegressionValidParams, ModelsError> {
        Ok(LinearRegressionValidParams(self))
    }
}

impl LinearRegressionValidParams {
    /// The parameters.
    pub fn params(&self) -> &LinearRegressionParams {
        &self.0
    }

    /// Fits on `x` and `y`, giving up once `cancel` fires.
    ///
    /// # Errors
    /// [`ModelsError::Shape`] for a bad matrix; [`ModelsError::Fit`] naming a column that
    /// is a combination of the others (solver `qr`), or for features too large to square;
    /// [`ModelsError::Cancelled`].
    pub(crate) fn fit(
        &self,
        x: &Matrix,
        y: &[f64],
        cancel: &Cancel,
    ) -> Result<LinearModel, ModelsError> {
        let design = CentredDesign::new(x, y, cancel)?;
        let width = design.width();
        if width == 0 {
            return Ok(design.constant_model());
        }
        let columns = design.columns(x, cancel)?;
        let qr = householder::factor(columns, design.rows(), width, design.y(), cancel)?;
        let weights = match self.0.solver {
            LeastSquaresSolver::Svd => qr.solve_spectral(Spectral::MinimumNorm, cancel)?,
            LeastSquaresSolver::Qr => qr.solve_full_rank().map_err(|rank| {
                let column = qr.order.get(rank).copied().unwrap_or(width);
                ModelsError::Fit {
                    algorithm: ID,
                    reason: format!(
                        "solver `qr` needs independent columns, but `{}` is (numerically) a \
                         combination of the others once centred (rank {rank} of {width} \
                         non-constant columns); use solver `svd` for the minimum-norm solution",
                        design.column_name(x, column)
                    ),
                }
            })?,
        };
        design.model(&weights, None).finite(ID)
    }
}

impl Fit for LinearRegressionValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = values(y, AlgorithmId::LinearRegression)?;
        Ok(Fitted::Linear(LinearRegressionValidParams::fit(
            self, x, y, cancel,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn recovers_an_exact_linear_function_despite_a_constant_column() {
        let (x, y) = testing::linear();
        let model = LinearRegressionParams::default()
            .check()
            .unwrap()
            .fit(&x, &y, &Cancel::never())
            .unwrap();
        assert!((model.coefficients[0] - 2.0).abs() < 1e-8, "{model:?}");
        assert!((model.coefficients[1] + 1.0).abs() < 1e-8, "{model:?}");
        let predicted = model.predict(&x);
        assert!(predicted.iter().zip(&y).all(|(p, t)| (p - t).abs() < 1e-8));
    }

    fn fit(solver: LeastSquaresSolver, x: &Matrix, y: &[f64]) -> Result<LinearModel, ModelsError> {
        LinearRegressionParams { solver }
            .check()
            .unwrap()
            .fit(x, y, &Cancel::never())
    }

    #[test]
    fn qr_recovers_an_exact_fit_too() {
        let (x, y) = testing::linear();
        let model = fit(LeastSquaresSolver::Qr, &x, &y).unwrap();
        assert!((model.coefficients[0] - 2.0).abs() < 1e-12, "{model:?}");
        assert!((model.coefficients[1] + 1.0).abs() < 1e-12, "{model:?}");
        assert_eq!(model.coefficients[2], 0.0);
        assert!((model.intercept - 3.0).abs() < 1e-12, "{model:?}");
        assert_eq!(model.convergence, None);
    }

    #[test]
    fn identical_columns_share_the_weight_equally() {
        // y = 1 + 2·t with t in both columns: any w0 + w1 = 2 fits; scikit-learn's
        // minimum-norm solution is (1, 1).
        let x = testing::matrix(&[&[0.0, 0.0], &[1.0, 1.0], &[2.0, 2.0], &[4.0, 4.0]]);
        let y = [1.0, 3.0, 5.0, 9.0];
        let model = fit(LeastSquaresSolver::Svd, &x, &y).unwrap();
        assert!((model.coefficients[0] - 1.0).abs() < 1e-12, "{model:?}");
        assert!((model.coefficients[1] - 1.0).abs() < 1e-12, "{model:?}");
        assert!((model.intercept - 1.0).abs() < 1e-12, "{model:?}");
    }

    #[test]
    fn qr_refuses_a_collinear_design_naming_the_column() {
        // x2 = x0 + x1.
        let x = testing::matrix(&[
            &[0.0, 1.0, 1.0],
            &[1.0, 0.0, 1.0],
            &[2.0, 2.0, 4.0],
            &[3.0, 1.0, 4.0],
        ]);
        let error = fit(LeastSquaresSolver::Qr, &x, &[1.0, 2.0, 3.0, 5.0]).unwrap_err();
        let message = error.to_string();
        assert!(
            message.starts_with("linear_regression: fit failed: solver `qr` needs independent")
                && message.contains("(rank 2 of 3 non-constant columns)")
                && message.ends_with("use solver `svd` for the minimum-norm solution"),
            "{message}"
        );
        // SVD fits it: the minimum-norm weights, still an exact fit of y = 1 + x0 + x1.
        let y = [2.0, 2.0, 5.0, 5.0];
        let model = fit(LeastSquaresSolver::Svd, &x, &y).unwrap();
        let predicted = model.predict(&x);
        assert!(predicted.iter().zip(&y).all(|(p, t)| (p - t).abs() < 1e-12));
        // The shortest w with w0 + w2 = 1 and w1 + w2 = 1 is (1/3, 1/3, 2/3).
        let expected = [1.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0];
        for (weight, want) in model.coefficients.iter().zip(expected) {
            assert!((weight - want).abs() < 1e-12, "{model:?}");
        }
    }

    #[test]
    fn more_columns_than_rows_take_the_minimum_norm_solution() {
        // Centred: x0 = (−1, 1), x1 = (−2, 2), y = (−1, 1): w0 + 2·w1 = 1, shortest (0.2, 0.4).
        let x = testing::matrix(&[&[0.0, 0.0, 5.0], &[2.0, 4.0, 5.0]]);
        let model = fit(LeastSquaresSolver::Svd, &x, &[3.0, 5.0]).unwrap();
        assert!((model.coefficients[0] - 0.2).abs() < 1e-12, "{model:?}");
        assert!((model.coefficients[1] - 0.4).abs() < 1e-12, "{model:?}");
        assert!((model.intercept - 3.0).abs() < 1e-12, "{model:?}");
        assert!(matches!(
            fit(LeastSquaresSolver::Qr, &x, &[3.0, 5.0]),
            Err(ModelsError::Fit { .. })
        ));
    }

    #[test]
    fn a_cancelled_fit_gives_up() {
        let (x, y) = testing::linear();
        let token = tokio_util::sync::CancellationToken::new();
        token.cancel();
        let outcome =
            LinearRegressionParams::default()
                .check()
                .unwrap()
                .fit(&x, &y, &Cancel::new(token));
        assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled);
    }
}
