//! Ridge regression, scikit-learn's `Ridge`: minimises `‖y − Xw − b‖² + alpha·‖w‖²` on
//! the centred design (see [`linear`](super::linear)).
//!
//! `cholesky` (the default) sums the centred `XᵀX` and `Xᵀy` over blocks of rows
//! (`solvers::gram`) and solves `(XᵀX + αI)w = Xᵀy` by our Cholesky; were
//! that matrix not numerically positive definite (with α > 0 it is, short of overflow) it
//! falls back to the SVD. `svd` is scikit-learn's SVD route,
//! `w = V·diag(σ/(σ² + α))·Uᵀy`, through a pivoted QR and the Jacobi SVD of `R`.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::fit::{Fit, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::linear::{CentredDesign, LinearModel};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::solvers::jacobi::Spectral;
use crate::algorithms::solvers::{cholesky, gram, householder};
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::utils::Matrix;

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

    /// Fits on `x` and `y`, giving up once `cancel` fires.
    ///
    /// # Errors
    /// [`ModelsError::Shape`] for a bad matrix; [`ModelsError::Fit`] for features too large
    /// to square; [`ModelsError::Cancelled`].
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
        let alpha = self.0.alpha;
        if !self.0.svd {
            let normal = gram::normal_equations(&design, x, cancel)?;
            let mut penalised = normal.gram;
            for j in 0..width {
                penalised[j * width + j] += alpha;
            }
            if let Some(lower) = cholesky::factor(&penalised, width, cancel)? {
                let weights = cholesky::solve(&lower, width, &normal.xty);
                return design.model(&weights, None).finite(ID);
            }
        }
        let columns = design.columns(x, cancel)?;
        let qr = householder::factor(columns, design.rows(), width, design.y(), cancel)?;
        let weights = qr.solve_spectral(Spectral::Ridge(alpha), cancel)?;
        design.model(&weights, None).finite(ID)
    }
}

impl Fit for RidgeValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = values(y, AlgorithmId::Ridge)?;
        Ok(Fitted::Linear(RidgeValidParams::fit(self, x, y, cancel)?))
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
        let model = RidgeParams::default()
            .check()
            .unwrap()
            .fit(&x, &y, &Cancel::never())
            .unwrap();
        assert!((model.coefficients[0] - 1.0).abs() < 1e-12, "{model:?}");
        assert_eq!(model.coefficients[1], 0.0);
        // b = ȳ − x̄·w = 7/3 − 1.
        assert!((model.intercept - 4.0 / 3.0).abs() < 1e-12, "{model:?}");
    }

    #[test]
    fn both_solvers_match_the_closed_form_on_two_features() {
        // Centred x0 = (−1, 0, 1), x1 = (−1, −1, 2), y = (−1, 0, 1) (from y = (1, 2, 3)):
        // XᵀX + I = [[3, 3], [3, 7]], Xᵀy = (2, 3) → w = (5/12, 1/4).
        let x = testing::matrix(&[&[0.0, 1.0], &[1.0, 1.0], &[2.0, 4.0]]);
        for svd in [false, true] {
            let params = RidgeParams {
                svd,
                ..RidgeParams::default()
            };
            let model = params
                .check()
                .unwrap()
                .fit(&x, &[1.0, 2.0, 3.0], &Cancel::never())
                .unwrap();
            assert!(
                (model.coefficients[0] - 5.0 / 12.0).abs() < 1e-12,
                "{model:?}"
            );
            assert!((model.coefficients[1] - 0.25).abs() < 1e-12, "{model:?}");
            // b = ȳ − x̄·w = 2 − (1·5/12 + 2·1/4).
            assert!(
                (model.intercept - (2.0 - 5.0 / 12.0 - 0.5)).abs() < 1e-12,
                "{model:?}"
            );
        }
    }

    #[test]
    fn more_columns_than_rows_are_fine() {
        // Two rows, three varying columns: XᵀX is singular, XᵀX + αI is not.
        let x = testing::matrix(&[&[0.0, 1.0, 2.0], &[1.0, 3.0, 2.5]]);
        let fits: Vec<LinearModel> = [false, true]
            .into_iter()
            .map(|svd| {
                RidgeParams { svd, alpha: 0.5 }
                    .check()
                    .unwrap()
                    .fit(&x, &[1.0, 2.0], &Cancel::never())
                    .unwrap()
            })
            .collect();
        for (a, b) in fits[0].coefficients.iter().zip(&fits[1].coefficients) {
            assert!((a - b).abs() < 1e-12, "{fits:?}");
        }
    }

    #[test]
    fn features_too_large_to_square_are_refused_with_both_solvers() {
        let x = testing::matrix(&[&[0.0], &[1e200], &[-1e200]]);
        for svd in [false, true] {
            let params = RidgeParams {
                svd,
                ..RidgeParams::default()
            };
            let error = params
                .check()
                .unwrap()
                .fit(&x, &[1.0, 2.0, 3.0], &Cancel::never())
                .unwrap_err();
            assert!(
                error
                    .to_string()
                    .starts_with("ridge: fit failed: the coefficients are not finite"),
                "{error}"
            );
        }
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
