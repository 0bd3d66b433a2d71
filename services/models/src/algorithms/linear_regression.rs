//! Ordinary least squares (smartcore's `LinearRegression`), scikit-learn's
//! `LinearRegression`.

use crate::algorithms::dense::{dense, fit_failed};
use crate::algorithms::linear::LinearModel;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::{
    LinearRegression, LinearRegressionParameters, LinearRegressionSolverName,
};

const ID: &str = "linear_regression";

/// The solver of the least-squares system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeastSquaresSolver {
    /// Singular value decomposition: stable with collinear columns (the default).
    Svd,
    /// QR decomposition: faster, needs full column rank.
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
        doc: "How the least-squares system is solved: SVD copes with collinear columns.",
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

    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<LinearModel, ModelsError> {
        let solver = match self.0.solver {
            LeastSquaresSolver::Svd => LinearRegressionSolverName::SVD,
            LeastSquaresSolver::Qr => LinearRegressionSolverName::QR,
        };
        let parameters = LinearRegressionParameters::default().with_solver(solver);
        let model: LinearRegression<f64, f64, DenseMatrix<f64>, Vec<f64>> =
            LinearRegression::fit(&dense(x)?, &y.to_vec(), parameters).map_err(fit_failed(ID))?;
        Ok(LinearModel::from_column(
            model.coefficients(),
            *model.intercept(),
        ))
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
            .fit(&x, &y)
            .unwrap();
        assert!((model.coefficients[0] - 2.0).abs() < 1e-8, "{model:?}");
        assert!((model.coefficients[1] + 1.0).abs() < 1e-8, "{model:?}");
        let predicted = model.predict(&x);
        assert!(predicted.iter().zip(&y).all(|(p, t)| (p - t).abs() < 1e-8));
    }
}
