//! Lasso, scikit-learn's `Lasso`: minimises `‖y − Xw − b‖² / (2n) + alpha·‖w‖₁` by
//! scikit-learn's cyclic coordinate descent
//! (`solvers::coordinate_descent`) on the centred design, so
//! `alpha`, `tol` (the duality gap's, relative to `‖y − ȳ‖²`) and `max_iter` (epochs)
//! mean what they mean there. A fit that stops at `max_iter` carries a warning.

use crate::algorithms::FitLimits;
use crate::algorithms::cancel::Cancel;
use crate::algorithms::fit::{Fit, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::limits::iterations;
use crate::algorithms::linear::{CentredDesign, LinearModel};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, require};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::solvers::coordinate_descent::{
    Columns, Descent, Gram, descend_columns, descend_gram,
};
use crate::algorithms::solvers::{dot, gram};
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::utils::Matrix;

const ID: &str = "lasso";

/// Parameters of the lasso.
#[derive(Debug, Clone, PartialEq)]
pub struct LassoParams {
    /// The L1 penalty, scikit-learn's `alpha`; 1.0 as there.
    pub alpha: f64,
    /// Coordinate descent's tolerance: on the largest weight change of an epoch (relative
    /// to the largest weight) and on the duality gap (relative to `‖y − ȳ‖²`); 1e-4.
    pub tol: f64,
    /// Coordinate descent's epoch limit; 1000.
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
        doc: "Coordinate descent's tolerance: it stops once the duality gap is at most tol·‖y − ȳ‖².",
    },
    ParamDoc {
        name: "max_iter",
        default: DefaultValue::Integer(1000),
        accepts: "a whole number ≥ 1",
        doc: "Coordinate descent's epoch limit; a fit that reaches it carries a warning.",
    },
];

impl LassoParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "alpha",
            default: DefaultValue::Number(1.0),
            accepts: "a number > 0",
            doc: "The L1 penalty on the coefficients (scikit-learn's `alpha`).",
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
        let LassoParams {
            alpha,
            tol,
            max_iter,
        } = self.0;
        let descent = Descent {
            alpha,
            l1_ratio: 1.0,
            tol,
            max_iter,
        };
        fit_by_descent(ID, x, y, descent, cancel)
    }
}

/// Coordinate descent on the centred design of `x` and `y` (the lasso and the elastic
/// net), the convergence kept on the model.
///
/// # Errors
/// [`ModelsError::Shape`] for a bad matrix; [`ModelsError::Fit`] for features too large to
/// square; [`ModelsError::Cancelled`].
pub(crate) fn fit_by_descent(
    algorithm: &'static str,
    x: &Matrix,
    y: &[f64],
    descent: Descent,
    cancel: &Cancel,
) -> Result<LinearModel, ModelsError> {
    let design = CentredDesign::new(x, y, cancel)?;
    if design.width() == 0 {
        return Ok(design.constant_model());
    }
    // With more rows than columns, scikit-learn's Gram form: one O(n·p²) product, then
    // O(p) updates (scikit-learn's `precompute=True`; its `'auto'` picks it when n > p).
    let (weights, stop) = if design.rows() > design.width() {
        let normal = gram::normal_equations(&design, x, cancel)?;
        let y_norm2 = dot(design.y(), design.y());
        descend_gram(Gram::new(&normal, y_norm2), design.rows(), descent, cancel)?
    } else {
        let values = design.columns(x, cancel)?;
        let columns = Columns::new(&values, design.rows(), design.y());
        descend_columns(columns, descent, cancel)?
    };
    design.model(&weights, Some(stop)).finite(algorithm)
}

impl Fit for LassoValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = values(y, AlgorithmId::Lasso)?;
        Ok(Fitted::Linear(LassoValidParams::fit(self, x, y, cancel)?))
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
    fn matches_the_soft_threshold_on_one_feature() {
        // Centred x = (−1, 0, 1), y = (1, 2, 4): scikit-learn's solution is
        // w = S(Σxy / n, alpha) / (Σx² / n) = (1 − 0.5) / (2/3) = 0.75 for alpha = 0.5.
        let x = testing::matrix(&[&[0.0, 7.0], &[1.0, 7.0], &[2.0, 7.0]]);
        let y = [1.0, 2.0, 4.0];
        let params = LassoParams {
            alpha: 0.5,
            tol: 1e-10,
            ..LassoParams::default()
        };
        let model = params
            .check()
            .unwrap()
            .fit(&x, &y, &Cancel::never())
            .unwrap();
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
        let model = params
            .check()
            .unwrap()
            .fit(&x, &y, &Cancel::never())
            .unwrap();
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        assert!(
            model.coefficients.iter().all(|w| w.abs() < 1e-3),
            "{model:?}"
        );
        assert!((model.intercept - mean).abs() < 1e-2, "{model:?}");
    }

    #[test]
    fn a_not_converged_lasso_warns_and_matches_scikit_learn() {
        // Two nearly identical columns and a tiny penalty: coordinate descent needs
        // thousands of epochs. scikit-learn 1.9.1's Lasso(alpha=1e-4, max_iter=2) gives
        // coef_ (1.9762836590436592, 0.00747610617174008) and warns (gap 5.818663e-02);
        // with max_iter=100000 it converges in 2531 epochs at (−0.14037933240921224,
        // 2.1637440184626073).
        let x = testing::matrix(&[
            &[-2.0, -2.0],
            &[-1.0, -1.0],
            &[0.0, 0.1],
            &[1.0, 1.0],
            &[2.0, 1.9],
        ]);
        let y = [-4.0, -2.1, 0.3, 1.9, 3.9];
        let fit = |max_iter| {
            let params = LassoParams {
                alpha: 1e-4,
                max_iter,
                ..LassoParams::default()
            };
            params
                .check()
                .unwrap()
                .fit(&x, &y, &Cancel::never())
                .unwrap()
        };
        let close = |model: &LinearModel, expected: [f64; 2]| {
            let near = model
                .coefficients
                .iter()
                .zip(expected)
                .all(|(weight, want)| (weight - want).abs() < 1e-9);
            assert!(near, "{model:?}");
        };
        let stopped = fit(2);
        close(&stopped, [1.9762836590436592, 0.00747610617174008]);
        let stop = stopped.convergence.unwrap();
        assert!(!stop.converged && stop.epochs == 2, "{stop:?}");
        assert!((stop.gap - 0.05818662974035906).abs() < 1e-9, "{stop:?}");
        let warning = stopped.warning().unwrap();
        assert_eq!(
            warning,
            "did not converge in 2 epochs (duality gap 5.8e-2 > 3.9e-3); raise max_iter, or \
             scale the features"
        );
        let converged = fit(100_000);
        close(&converged, [-0.14037933240921224, 2.1637440184626073]);
        let stop = converged.convergence.unwrap();
        assert!(stop.converged && stop.epochs == 2531, "{stop:?}");
        assert_eq!(converged.warning(), None);
    }

    #[test]
    fn bad_solver_parameters_are_refused() {
        let refused = |params: LassoParams| params.check().unwrap_err().to_string();
        assert_eq!(
            refused(LassoParams {
                alpha: 0.0,
                ..LassoParams::default()
            }),
            "lasso: parameter `alpha` = 0: expected a number > 0"
        );
        assert_eq!(
            refused(LassoParams {
                tol: f64::NAN,
                ..LassoParams::default()
            }),
            "lasso: parameter `tol` = NaN: expected a number > 0"
        );
    }
}
