//! Lasso (smartcore's interior-point `Lasso` on a centred design), scikit-learn's `Lasso`:
//! minimises `‖y − Xw − b‖² / (2n) + alpha·‖w‖₁`.
//!
//! smartcore's objective is `‖y − Xw‖² + alpha·n·‖w‖₁`, half scikit-learn's penalty: we
//! pass it `2·alpha` (ML-BASELINE.md: "smartcore alpha = 2 ≡ sklearn alpha = 1").

use crate::algorithms::dense::fit_failed;
use crate::algorithms::linear::{CentredDesign, LinearModel, column};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, require};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::lasso::{Lasso, LassoParameters};

const ID: &str = "lasso";

/// Parameters of the lasso.
#[derive(Debug, Clone, PartialEq)]
pub struct LassoParams {
    /// The L1 penalty, on scikit-learn's scale; 1.0 as there.
    pub alpha: f64,
    /// The solver's tolerance; 1e-4.
    pub tol: f64,
    /// The solver's iteration limit; 1000.
    pub max_iter: usize,
}

impl Default for LassoParams {
    fn default() -> Self {
        LassoParams {
            alpha: 1.0,
            tol: 1e-4,
            max_iter: 1000,
        }
    }
}

/// Checked [`LassoParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct LassoValidParams(LassoParams);

/// The documentation of the solver parameters shared with the elastic net.
pub(crate) const SOLVER_DOCS: [ParamDoc; 2] = [
    ParamDoc {
        name: "tol",
        default: DefaultValue::Number(1e-4),
        accepts: "a number > 0",
        doc: "The interior-point solver's tolerance.",
    },
    ParamDoc {
        name: "max_iter",
        default: DefaultValue::Integer(1000),
        accepts: "a whole number ≥ 1",
        doc: "The interior-point solver's iteration limit.",
    },
];

impl LassoParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "alpha",
            default: DefaultValue::Number(1.0),
            accepts: "a number > 0",
            doc: "The L1 penalty, on scikit-learn's scale (smartcore gets twice it).",
        },
        SOLVER_DOCS[0],
        SOLVER_DOCS[1],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(LassoParams {
            alpha: params.number("alpha", 1.0)?,
            tol: params.number("tol", 1e-4)?,
            max_iter: count(ID, "max_iter", params.integer("max_iter", 1000)?, 1)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for an `alpha` or `tol` that is not a positive number.
    pub fn check(self) -> Result<LassoValidParams, ModelsError> {
        check_solver(ID, self.alpha, self.tol)?;
        Ok(LassoValidParams(self))
    }
}

/// `alpha` and `tol` must be positive numbers.
pub(crate) fn check_solver(
    algorithm: &'static str,
    alpha: f64,
    tol: f64,
) -> Result<(), ModelsError> {
    let positive = |value: f64| value.is_finite() && value > 0.0;
    require(positive(alpha), algorithm, "alpha", alpha, "a number > 0")?;
    require(positive(tol), algorithm, "tol", tol, "a number > 0")
}

impl LassoValidParams {
    /// The parameters.
    pub fn params(&self) -> &LassoParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<LinearModel, ModelsError> {
        let design = CentredDesign::new(x, y)?;
        let Some(centred) = &design.x else {
            return Ok(design.constant_model());
        };
        let parameters = LassoParameters::default()
            .with_alpha(2.0 * self.0.alpha)
            .with_tol(self.0.tol)
            .with_max_iter(self.0.max_iter)
            .with_normalize(false)
            .with_fit_intercept(false);
        let model: Lasso<f64, f64, DenseMatrix<f64>, Vec<f64>> =
            Lasso::fit(centred, &design.y, parameters).map_err(fit_failed(ID))?;
        Ok(design.model(&column(model.coefficients())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn matches_the_soft_threshold_on_one_feature() {
        // Centred x = (−1, 0, 1), y = (1, 2, 4): scikit-learn's solution is
        // w = S(Σxy / n, alpha) / (Σx² / n) = (1 − 0.5) / (2/3) = 0.75 for alpha = 0.5.
        let x = testing::matrix(&[&[0.0, 7.0], &[1.0, 7.0], &[2.0, 7.0]]);
        let y = [1.0, 2.0, 4.0];
        // A tight tolerance: the interior-point solver stops on a relative duality gap.
        let params = LassoParams {
            alpha: 0.5,
            tol: 1e-10,
            ..LassoParams::default()
        };
        let model = params.check().unwrap().fit(&x, &y).unwrap();
        assert!((model.coefficients[0] - 0.75).abs() < 1e-6, "{model:?}");
        assert!(
            (model.intercept - (7.0 / 3.0 - 0.75)).abs() < 1e-6,
            "{model:?}"
        );
    }

    #[test]
    fn a_large_penalty_leaves_the_mean() {
        let (x, y) = testing::linear();
        let params = LassoParams {
            alpha: 1e6,
            ..LassoParams::default()
        };
        let model = params.check().unwrap().fit(&x, &y).unwrap();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        assert!(
            model.coefficients.iter().all(|w| w.abs() < 1e-3),
            "{model:?}"
        );
        assert!((model.intercept - mean).abs() < 1e-2, "{model:?}");
    }
}
