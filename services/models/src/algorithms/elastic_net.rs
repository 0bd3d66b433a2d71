//! Elastic net, scikit-learn's `ElasticNet`: minimises
//! `‖y − Xw − b‖² / (2n) + alpha·l1_ratio·‖w‖₁ + alpha·(1 − l1_ratio)/2·‖w‖²` by
//! scikit-learn's coordinate descent on the centred design, as the
//! [`lasso`](super::lasso) (which is `l1_ratio = 1`).

use crate::algorithms::FitLimits;
use crate::algorithms::cancel::Cancel;
use crate::algorithms::fit::{Fit, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::lasso::{SOLVER_DOCS, check_solver, fit_by_descent};
use crate::algorithms::limits::iterations;
use crate::algorithms::linear::LinearModel;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, require};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::solvers::coordinate_descent::Descent;
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::utils::Matrix;

const ID: &str = "elastic_net";

/// Parameters of the elastic net, on scikit-learn's scale.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticNetParams {
    /// The overall penalty; 1.0.
    pub alpha: f64,
    /// The L1 share of the penalty, in [0, 1]; 0.5.
    pub l1_ratio: f64,
    /// Coordinate descent's tolerance (as the lasso's); 1e-4.
    pub tol: f64,
    /// Coordinate descent's epoch limit; 1000.
    pub max_iter: usize,
}

impl Default for ElasticNetParams {
    fn default() -> Self {
        ElasticNetParams {
            alpha: 1.0,
            l1_ratio: 0.5,
            tol: 1e-4,
            max_iter: 1000,
        }
    }
}

/// Checked [`ElasticNetParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticNetValidParams(ElasticNetParams);

impl ElasticNetParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "alpha",
            default: DefaultValue::Number(1.0),
            accepts: "a number > 0",
            doc: "The overall penalty, on scikit-learn's scale.",
        },
        ParamDoc {
            name: "l1_ratio",
            default: DefaultValue::Number(0.5),
            accepts: "a number from 0 to 1",
            doc: "The L1 share of the penalty: 1 is the lasso, 0 ridge.",
        },
        SOLVER_DOCS[0],
        SOLVER_DOCS[1],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(ElasticNetParams {
            alpha: params.number("alpha", 1.0)?,
            l1_ratio: params.number("l1_ratio", 0.5)?,
            tol: params.number("tol", 1e-4)?,
            max_iter: count(ID, "max_iter", params.integer("max_iter", 1000)?, 1)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a non-positive `alpha` or `tol`, or an `l1_ratio`
    /// outside [0, 1].
    pub fn check(self) -> Result<ElasticNetValidParams, ModelsError> {
        check_solver(ID, self.alpha, self.tol)?;
        require(
            (0.0..=1.0).contains(&self.l1_ratio),
            ID,
            "l1_ratio",
            self.l1_ratio,
            "a number from 0 to 1",
        )?;
        Ok(ElasticNetValidParams(self))
    }
}

impl ElasticNetValidParams {
    /// The parameters.
    pub fn params(&self) -> &ElasticNetParams {
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
        let ElasticNetParams {
            alpha,
            l1_ratio,
            tol,
            max_iter,
        } = self.0;
        let descent = Descent {
            alpha,
            l1_ratio,
            tol,
            max_iter,
        };
        fit_by_descent(ID, x, y, descent, cancel)
    }
}

impl Fit for ElasticNetValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = values(y, AlgorithmId::ElasticNet)?;
        Ok(Fitted::Linear(ElasticNetValidParams::fit(
            self, x, y, cancel,
        )?))
    }

    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        iterations(id, self.params().max_iter, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn matches_the_closed_form_on_one_feature() {
        // Centred x = (−1, 0, 1), y = (1, 2, 4): w = S(Σxy/n, α·ρ) / (Σx²/n + α·(1 − ρ))
        // = (1 − 0.25) / (2/3 + 0.25) = 9/11 for α = 0.5, ρ = 0.5.
        let x = testing::matrix(&[&[0.0, 7.0], &[1.0, 7.0], &[2.0, 7.0]]);
        let params = ElasticNetParams {
            alpha: 0.5,
            tol: 1e-12,
            ..ElasticNetParams::default()
        };
        let model = params
            .check()
            .unwrap()
            .fit(&x, &[1.0, 2.0, 4.0], &Cancel::never())
            .unwrap();
        assert!(
            (model.coefficients[0] - 9.0 / 11.0).abs() < 1e-12,
            "{model:?}"
        );
        assert_eq!(model.coefficients[1], 0.0);
        assert!(
            (model.intercept - (7.0 / 3.0 - 9.0 / 11.0)).abs() < 1e-12,
            "{model:?}"
        );
    }

    #[test]
    fn an_l1_ratio_outside_0_to_1_is_refused() {
        let error = ElasticNetParams {
            l1_ratio: 1.5,
            ..ElasticNetParams::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "elastic_net: parameter `l1_ratio` = 1.5: expected a number from 0 to 1"
        );
    }

    #[test]
    fn the_intercept_follows_an_offset_target() {
        // The padded-target bug showed as an intercept pulled towards 0: shift y far away
        // and check the intercept moves with it.
        let (x, y) = testing::linear();
        let shifted: Vec<f64> = y.iter().map(|value| value + 1000.0).collect();
        let params = ElasticNetParams {
            alpha: 0.01,
            ..ElasticNetParams::default()
        };
        let fitted = params.check().unwrap();
        let base = fitted.fit(&x, &y, &Cancel::never()).unwrap();
        let moved = fitted.fit(&x, &shifted, &Cancel::never()).unwrap();
        assert!((moved.intercept - base.intercept - 1000.0).abs() < 1e-6);
        let predicted = base.predict(&x);
        let error: f64 = predicted.iter().zip(&y).map(|(p, t)| (p - t).abs()).sum();
        assert!(error / (y.len() as f64) < 0.1, "mean error {error}");
    }
}
