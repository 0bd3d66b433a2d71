//! Ridge regression (smartcore's `RidgeRegression` on a centred design), scikit-learn's
//! `Ridge`: minimises `‖y − Xw − b‖² + alpha·‖w‖²`.
//!
//! See [`linear`](super::linear) for why the design is centred here: smartcore's
//! `normalize = true` refuses constant columns, and `normalize = false` drops the intercept
//! (R² −1.82 on diabetes in ML-BASELINE.md).

use crate::algorithms::dense::fit_failed;
use crate::algorithms::linear::{CentredDesign, LinearModel, column};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::ridge_regression::{
    RidgeRegression, RidgeRegressionParameters, RidgeRegressionSolverName,
};

const ID: &str = "ridge";

/// Parameters of ridge regression.
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeParams {
    /// The L2 penalty; 1.0 as in scikit-learn.
    pub alpha: f64,
    /// Solve by Cholesky (default) or SVD.
    pub svd: bool,
}

impl Default for RidgeParams {
    fn default() -> Self {
        RidgeParams {
            alpha: 1.0,
            svd: false,
        }
    }
}

/// Checked [`RidgeParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct RidgeValidParams(RidgeParams);

impl RidgeParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "alpha",
            default: DefaultValue::Number(1.0),
            accepts: "a number > 0",
            doc: "The L2 penalty on the coefficients (scikit-learn's `alpha`).",
        },
        ParamDoc {
            name: "solver",
            default: DefaultValue::Text("cholesky"),
            accepts: "`cholesky` or `svd`",
            doc: "How the penalised normal equations are solved.",
        },
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(RidgeParams {
            alpha: params.number("alpha", 1.0)?,
            svd: params.choice("solver", &["cholesky", "svd"], "cholesky")? == "svd",
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for an `alpha` that is not a positive number.
    pub fn check(self) -> Result<RidgeValidParams, ModelsError> {
        require(
            self.alpha.is_finite() && self.alpha > 0.0,
            ID,
            "alpha",
            self.alpha,
            "a number > 0",
        )?;
        Ok(RidgeValidParams(self))
    }
}

impl RidgeValidParams {
    /// The parameters.
    pub fn params(&self) -> &RidgeParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<LinearModel, ModelsError> {
        let design = CentredDesign::new(x, y)?;
        let Some(centred) = &design.x else {
            return Ok(design.constant_model());
        };
        let solver = if self.0.svd {
            RidgeRegressionSolverName::SVD
        } else {
            RidgeRegressionSolverName::Cholesky
        };
        let parameters = RidgeRegressionParameters::default()
            .with_alpha(self.0.alpha)
            .with_solver(solver)
            .with_normalize(false);
        let model: RidgeRegression<f64, f64, DenseMatrix<f64>, Vec<f64>> =
            RidgeRegression::fit(centred, &design.y, parameters).map_err(fit_failed(ID))?;
        Ok(design.model(&column(model.coefficients())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn matches_the_closed_form_on_one_feature() {
        // Centred x = (−1, 0, 1), y = (1, 2, 4) → Σxy = 3, Σx² = 2: w = 3 / (2 + α).
        let x = testing::matrix(&[&[0.0, 5.0], &[1.0, 5.0], &[2.0, 5.0]]);
        let y = [1.0, 2.0, 4.0];
        let model = RidgeParams::default().check().unwrap().fit(&x, &y).unwrap();
        assert!((model.coefficients[0] - 1.0).abs() < 1e-12, "{model:?}");
        assert_eq!(model.coefficients[1], 0.0);
        // b = ȳ − x̄·w = 7/3 − 1.
        assert!((model.intercept - 4.0 / 3.0).abs() < 1e-12, "{model:?}");
    }

    #[test]
    fn a_bad_alpha_is_refused() {
        let error = RidgeParams {
            alpha: -1.0,
            ..RidgeParams::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "ridge: parameter `alpha` = -1: expected a number > 0"
        );
    }
}
