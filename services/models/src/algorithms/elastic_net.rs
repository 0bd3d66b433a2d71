//! Elastic net (smartcore's `ElasticNet` on a centred design), scikit-learn's `ElasticNet`:
//! minimises `‖y − Xw − b‖² / (2n) + alpha·l1_ratio·‖w‖₁ + alpha·(1 − l1_ratio)/2·‖w‖²`.
//!
//! smartcore weighs the penalties differently (`‖y − Xw‖² + α_s·ρ_s·n·‖w‖₁ +
//! α_s·(1 − ρ_s)·n·‖w‖²`); equating the two gives `α_s = alpha·(1 + l1_ratio)` and
//! `ρ_s = 2·l1_ratio / (1 + l1_ratio)`: scikit-learn's (1, 0.5) is smartcore's (1.5, 2/3).
//! Its solver also subtracts the mean of a zero-padded target, a wrong intercept unless `y`
//! is centred first (ML-BASELINE.md) — which the centred design does.

use crate::algorithms::dense::fit_failed;
use crate::algorithms::lasso::{SOLVER_DOCS, check_solver};
use crate::algorithms::linear::{CentredDesign, LinearModel, column};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, require};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::elastic_net::{ElasticNet, ElasticNetParameters};

const ID: &str = "elastic_net";

/// Parameters of the elastic net, on scikit-learn's scale.
#[derive(Debug, Clone, PartialEq)]
pub struct ElasticNetParams {
    /// The overall penalty; 1.0.
    pub alpha: f64,
    /// The L1 share of the penalty, in [0, 1]; 0.5.
    pub l1_ratio: f64,
    /// The solver's tolerance; 1e-4.
    pub tol: f64,
    /// The solver's iteration limit; 1000.
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

    /// smartcore's (alpha, l1_ratio) for ours.
    fn smartcore_penalty(&self) -> (f64, f64) {
        let ElasticNetParams {
            alpha, l1_ratio, ..
        } = self.0;
        (alpha * (1.0 + l1_ratio), 2.0 * l1_ratio / (1.0 + l1_ratio))
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<LinearModel, ModelsError> {
        let design = CentredDesign::new(x, y)?;
        let Some(centred) = &design.x else {
            return Ok(design.constant_model());
        };
        let (alpha, l1_ratio) = self.smartcore_penalty();
        let parameters = ElasticNetParameters::default()
            .with_alpha(alpha)
            .with_l1_ratio(l1_ratio)
            .with_tol(self.0.tol)
            .with_max_iter(self.0.max_iter)
            .with_normalize(false);
        let model: ElasticNet<f64, f64, DenseMatrix<f64>, Vec<f64>> =
            ElasticNet::fit(centred, &design.y, parameters).map_err(fit_failed(ID))?;
        Ok(design.model(&column(model.coefficients())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn scikit_learn_defaults_map_to_smartcore_penalties() {
        let params = ElasticNetParams::default().check().unwrap();
        let (alpha, l1_ratio) = params.smartcore_penalty();
        assert!((alpha - 1.5).abs() < 1e-12);
        assert!((l1_ratio - 2.0 / 3.0).abs() < 1e-12);
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
        let base = fitted.fit(&x, &y).unwrap();
        let moved = fitted.fit(&x, &shifted).unwrap();
        assert!((moved.intercept - base.intercept - 1000.0).abs() < 1e-6);
        let predicted = base.predict(&x);
        let error: f64 = predicted.iter().zip(&y).map(|(p, t)| (p - t).abs()).sum();
        assert!(error / (y.len() as f64) < 0.1, "mean error {error}");
    }
}
