//! Logistic regression, scikit-learn's `LogisticRegression` with its `lbfgs` solver,
//! written here on ndarray: L2-penalised, binary or multinomial.
//!
//! The objective is scikit-learn's, `C·Σ loss + ½‖W‖²` (the intercepts are not
//! penalised), minimised in its scaled form `mean loss + ‖W‖² / (2·C·n)` (scikit-learn
//! 1.9's `LinearModelLoss`, so the gradient tolerance means what it means there). Two
//! classes give one coefficient row and the binomial loss; more give one row per class
//! and the multinomial (softmax) loss. The loss and its gradient are two matrix products
//! per evaluation, `Z = X·Wᵀ` and `∇W = (P − Y)ᵀ·X`, with a numerically safe
//! log-sum-exp between them.
//!
//! The solver is our L-BFGS ([`lbfgs`]), a port of scipy's
//! L-BFGS-B with scikit-learn's settings: gradient tolerance `tol` (1e-4), `max_iter`
//! (100), relative reduction `64 ε`, 50 evaluations per line search. Why it stopped is kept
//! on the model ([`LogisticModel::convergence`]); a fit that did not converge warns on the
//! leaderboard. smartcore's `LogisticRegression` is no longer used: it has no penalty by
//! default, solves to 1e-8 with 1,000 iterations whatever is asked, and computes its loss
//! element by element (95× scikit-learn on digits, ML-BASELINE.md).

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::FitLimits;
use crate::algorithms::dense::present_classes;
use crate::algorithms::fit::{Fit, Predict, codes};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::lbfgs::{self, Convergence, LbfgsSettings, Objective};
use crate::algorithms::limits::iterations;
use crate::algorithms::linalg::view;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, require};
use crate::algorithms::registry::AlgorithmId;
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use serde::{Deserialize, Serialize};

const ID: &str = "logistic_regression";

/// Parameters of logistic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionParams {
    /// The inverse penalty strength, scikit-learn's `C`; 1.0.
    pub c: f64,
    /// The solver stops once no gradient component exceeds this; 1e-4.
    pub tol: f64,
    /// The solver's iterations at most; 100.
    pub max_iter: usize,
    /// Fit an intercept per class (not penalised); true.
    pub fit_intercept: bool,
}

impl Default for LogisticRegressionParams {
    fn default() -> Self {
        LogisticRegressionParams {
            c: 1.0,
            tol: 1e-4,
            max_iter: 100,
            fit_intercept: true,
        }
    }
}

/// Checked [`LogisticRegressionParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionValidParams(LogisticRegressionParams);

impl LogisticRegressionParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        ParamDoc {
            name: "c",
            default: DefaultValue::Number(1.0),
            accepts: "a number > 0",
            doc: "Inverse L2 penalty strength, scikit-learn's `C`: the objective is C·Σ loss + ½‖W‖².",
        },
        ParamDoc {
            name: "tol",
            default: DefaultValue::Number(1e-4),
            accepts: "a number ≥ 0",
            doc: "L-BFGS stops once no component of the (mean-loss) gradient exceeds this.",
        },
        ParamDoc {
            name: "max_iter",
            default: DefaultValue::Integer(100),
            accepts: "a whole number ≥ 1",
            doc: "L-BFGS iterations at most; a fit that reaches it is reported as not converged.",
        },
        ParamDoc {
            name: "fit_intercept",
            default: DefaultValue::Bool(true),
            accepts: "`true` or `false`",
            doc: "Fit an unpenalised intercept per class.",
        },
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(LogisticRegressionParams {
            c: params.number("c", 1.0)?,
            tol: params.number("tol", 1e-4)?,
            max_iter: count(ID, "max_iter", params.integer("max_iter", 100)?, 1)?,
            fit_intercept: params.boolean("fit_intercept", true)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a `c` that is not a positive number, a negative
    /// or non-finite `tol`, or a `max_iter` of 0.
    pub fn check(self) -> Result<LogisticRegressionValidParams, ModelsError> {
        require(
            self.c.is_finite() && self.c > 0.0,
            ID,
            "c",
            self.c,
            "a number > 0",
        )?;
        require(
            self.tol.is_finite() && self.tol >= 0.0,
            ID,
            "tol",
            self.tol,
            "a number ≥ 0",
        )?;
        require(
            self.max_iter >= 1,
            ID,
            "max_iter",
            self.max_iter,
            "a whole number ≥ 1",
        )?;
        Ok(LogisticRegressionValidParams(self))
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LogisticModel {
    /// The class codes seen in training, ascending.
    present: Vec<u32>,
    /// The features.
    features: usize,
    /// Row-major, one row per present class; one row (for the second class) when binary.
    coefficients: Vec<f64>,
    /// One intercept per coefficient row (zeros without an intercept).
    intercepts: Vec<f64>,
    /// How the solver ended.
    convergence: Convergence,
}

impl LogisticRegressionValidParams {
    /// The parameters.
    pub fn params(&self) -> &LogisticRegressionParams {
        &self.0
    }

    /// Fits without a way to cancel (tests).
    #[cfg(test)]
    pub(crate) fn fit(&self, x: &Matrix, y: &[u32]) -> Result<LogisticModel, ModelsError> {
        self.fit_until(x, y, &crate::algorithms::Cancel::never())
    }

    /// Fits, giving up with [`ModelsError::Cancelled`] once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[u32],
        cancel: &crate::algorithms::Cancel,
    ) -> Result<LogisticModel, ModelsError> {
        let params = &self.0;
        let present = present_classes(y);
        if present.len() < 2 {
            return Err(ModelsError::Fit {
                algorithm: ID,
                reason: format!(
                    "the training rows hold one class only (code {}); it needs two or more",
                    present.first().map_or_else(String::new, u32::to_string)
                ),
            });
        }
        let x_view = view(x)?;
        let (rows, features) = x_view.dim();
        if rows != y.len() || rows == 0 {
            return Err(ModelsError::Shape {
                reason: format!("{rows} feature rows but {} targets", y.len()),
            });
        }
        // Binary: one output, the odds of the second class; multinomial: one per class.
        let outputs = if present.len() == 2 { 1 } else { present.len() };
        let targets: Vec<usize> = y
            .iter()
            .map(|label| present.binary_search(label).unwrap_or(0))
            .collect();
        let mut loss = LogisticLoss {
            x: x_view,
            targets: &targets,
            outputs,
            fit_intercept: params.fit_intercept,
            l2: 1.0 / (params.c * rows as f64),
            scores: Array2::zeros((rows, outputs)),
            cancel,
        };
        let parameters = outputs * (features + usize::from(params.fit_intercept));
        let settings = LbfgsSettings {
            gradient_tolerance: params.tol,
            relative_reduction: 64.0 * f64::EPSILON,
            max_iterations: params.max_iter,
            max_line_search: 50,
        };
        let minimum =
            lbfgs::minimize(&mut loss, vec![0.0; parameters], settings).map_err(|stopped| {
                match stopped {
                    lbfgs::Stopped::Cancelled => ModelsError::Cancelled,
                    lbfgs::Stopped::NotFinite => ModelsError::Fit {
                        algorithm: ID,
                        reason: "the loss is not finite at the start (features too large to \
                             multiply; scale them)"
                            .to_owned(),
                    },
                }
            })?;
        if !minimum.convergence.converged() {
            tracing::warn!(
                algorithm = ID,
                convergence = %minimum.convergence,
                "the solver did not converge"
            );
        }
        let mut coefficients = minimum.x;
        let intercepts = if params.fit_intercept {
            coefficients.split_off(outputs * features)
        } else {
            vec![0.0; outputs]
        };
        Ok(LogisticModel {
            present,
            features,
            coefficients,
            intercepts,
            convergence: minimum.convergence,
        })
    }
}

/// The scaled objective `mean loss + l2/2·‖W‖²` and its gradient, over the parameters laid
/// out as `W` (row-major, `outputs × features`) then the intercepts.
struct LogisticLoss<'a> {
    x: ArrayView2<'a, f64>,
    /// Per row, the index of its class among the present ones.
    targets: &'a [usize],
    /// 1 (binomial) or the number of classes (multinomial).
    outputs: usize,
    fit_intercept: bool,
    /// `1 / (C·n)`.
    l2: f64,
    /// `n × outputs`: the scores, then the pointwise gradients.
    scores: Array2<f64>,
    /// Stops the solver between iterations.
    cancel: &'a crate::algorithms::Cancel,
}

impl Objective for LogisticLoss<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    fn evaluate(&mut self, theta: &[f64], gradient: &mut [f64]) -> f64 {
        let (rows, features) = self.x.dim();
        let outputs = self.outputs;
        let (weights, intercepts) = theta.split_at(outputs * features);
        let Ok(weights) = ArrayView2::from_shape((outputs, features), weights) else {
            return f64::NAN;
        };
        scores(self.x, weights, intercepts, &mut self.scores);
        let inverse_rows = 1.0 / rows as f64;
        let loss_sum = if outputs == 1 {
            binomial_pointwise(&mut self.scores, self.targets, inverse_rows)
        } else {
            multinomial_pointwise(&mut self.scores, self.targets, inverse_rows)
        };
        let (weight_gradient, intercept_gradient) = gradient.split_at_mut(outputs * features);
        let Ok(mut weight_gradient) =
            ArrayViewMut2::from_shape((outputs, features), weight_gradient)
        else {
            return f64::NAN;
        };
        // ∇W = (P − Y)ᵀ·X / n + l2·W.
        weight_gradient.assign(&weights);
        general_mat_mul(
            1.0,
            &self.scores.t(),
            &self.x,
            self.l2,
            &mut weight_gradient,
        );
        if self.fit_intercept {
            for (slot, column) in intercept_gradient
                .iter_mut()
                .zip(self.scores.axis_iter(Axis(1)))
            {
                *slot = column.sum();
            }
        }
        let penalty = weights.iter().map(|w| w * w).sum::<f64>();
        loss_sum * inverse_rows + 0.5 * self.l2 * penalty
    }
}

/// `scores = X·Wᵀ + b` (`b` empty without intercepts).
fn scores(x: ArrayView2<'_, f64>, weights: ArrayView2<'_, f64>, b: &[f64], out: &mut Array2<f64>) {
    general_mat_mul(1.0, &x, &weights.t(), 0.0, out);
    if !b.is_empty() {
        for mut row in out.rows_mut() {
            row.iter_mut().zip(b).for_each(|(score, b)| *score += b);
        }
    }
}

/// Binomial: the summed loss `log(1 + e^z) − y·z`; each score becomes its pointwise
/// gradient `(σ(z) − y) / n`.
fn binomial_pointwise(scores: &mut Array2<f64>, targets: &[usize], inverse_rows: f64) -> f64 {
    let mut total = 0.0;
    for (score, &target) in scores.iter_mut().zip(targets) {
        let z = *score;
        let y = if target == 1 { 1.0 } else { 0.0 };
        // log(1 + e^z) without overflow, and σ(z) without cancellation.
        let (softplus, sigmoid) = if z > 0.0 {
            let e = (-z).exp();
            (z + e.ln_1p(), 1.0 / (1.0 + e))
        } else {
            let e = z.exp();
            (e.ln_1p(), e / (1.0 + e))
        };
        total += softplus - y * z;
        *score = (sigmoid - y) * inverse_rows;
    }
    total
}

/// Multinomial: the summed loss `logsumexp(z) − z_y`; each row becomes its pointwise
/// gradient `(softmax(z) − onehot(y)) / n`.
fn multinomial_pointwise(scores: &mut Array2<f64>, targets: &[usize], inverse_rows: f64) -> f64 {
    let mut total = 0.0;
    for (mut row, &target) in scores.rows_mut().into_iter().zip(targets) {
        let largest = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let true_score = row[target];
        let mut sum = 0.0;
        for score in row.iter_mut() {
            *score = (*score - largest).exp();
            sum += *score;
        }
        total += largest + sum.ln() - true_score;
        let scale = inverse_rows / sum;
        for score in row.iter_mut() {
            *score *= scale;
        }
        row[target] -= inverse_rows;
    }
    total
}

impl LogisticModel {
    /// Checks a decoded model: ascending class codes below `classes`, one coefficient row
    /// of `features` values per output (one output when binary), finite values.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        use crate::algorithms::validate::{class_codes, finite};
        class_codes("the class list", &self.present, classes)?;
        let outputs = match self.present.len() {
            0 | 1 => {
                return Err(format!(
                    "{} classes; at least 2 are needed",
                    self.present.len()
                ));
            }
            2 => 1,
            present => present,
        };
        if self.features != features
            || self.intercepts.len() != outputs
            || Some(self.coefficients.len()) != outputs.checked_mul(features)
        {
            return Err(format!(
                "a logistic model of {} features, {} classes, {} coefficients and {} \
                 intercepts for {features} features",
                self.features,
                self.present.len(),
                self.coefficients.len(),
                self.intercepts.len()
            ));
        }
        finite("the coefficients", &self.coefficients)?;
        finite("the intercepts", &self.intercepts)
    }

    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        crate::algorithms::dense::check_classes(&self.present, classes)?;
        let x = view(x)?;
        let outputs = self.intercepts.len();
        let weights = ArrayView2::from_shape((outputs, self.features), &self.coefficients)
            .map_err(|error| ModelsError::Corrupt {
                reason: format!("logistic coefficients: {error}"),
            })?;
        let expected_outputs = match self.present.len() {
            2 => 1,
            present => present,
        };
        if x.ncols() != self.features || outputs < 1 || outputs != expected_outputs {
            return Err(ModelsError::Corrupt {
                reason: format!(
                    "logistic model of {} features, {} classes and {outputs} outputs for {} \
                     features",
                    self.features,
                    self.present.len(),
                    x.ncols()
                ),
            });
        }
        let mut logits = Array2::zeros((x.nrows(), outputs));
        scores(x, weights, &self.intercepts, &mut logits);
        let mut probabilities = vec![0.0; x.nrows() * classes];
        for (row, logits) in probabilities
            .chunks_exact_mut(classes.max(1))
            .zip(logits.rows())
        {
            if outputs == 1 {
                let z = logits[0];
                let positive = if z >= 0.0 {
                    1.0 / (1.0 + (-z).exp())
                } else {
                    let e = z.exp();
                    e / (1.0 + e)
                };
                row[self.present[0] as usize] = 1.0 - positive;
                row[self.present[1] as usize] = positive;
            } else {
                let largest = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let total: f64 = logits.iter().map(|z| (z - largest).exp()).sum();
                for (&class, z) in self.present.iter().zip(logits) {
                    row[class as usize] = (z - largest).exp() / total;
                }
            }
        }
        Ok(ClassPrediction::from_probabilities(probabilities, classes))
    }

    #[cfg(test)]
    /// The coefficients, row-major: one row per class, or one row (for the second class)
    /// with two classes, as scikit-learn's `coef_`.
    pub(crate) fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    #[cfg(test)]
    /// The intercepts, one per coefficient row (scikit-learn's `intercept_`).
    pub(crate) fn intercepts(&self) -> &[f64] {
        &self.intercepts
    }

    /// How the solver ended; its `objective` is `mean loss + ‖W‖² / (2·C·n)`.
    pub(crate) fn convergence(&self) -> &Convergence {
        &self.convergence
    }
}

impl Fit for LogisticRegressionValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = codes(y, AlgorithmId::LogisticRegression)?;
        Ok(Fitted::Logistic(self.fit_until(x, y, cancel)?))
    }

    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        iterations(id, self.params().max_iter, limits)
    }

    /// Probabilities and gradients per class (ten assumed), a few copies.
    fn working_bytes(&self, shape: DataShape) -> u64 {
        shape.rows.saturating_mul(8 * 10 * 4)
    }
}

impl Predict for LogisticModel {
    fn predict(&self, x: &Matrix, classes: usize, _: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Classification(LogisticModel::predict(
            self, x, classes,
        )?))
    }

    fn check(&self, _: AlgorithmId, features: usize, classes: usize) -> Result<(), String> {
        LogisticModel::check(self, features, classes)
    }
}

#[cfg(test)]
mod tests;
