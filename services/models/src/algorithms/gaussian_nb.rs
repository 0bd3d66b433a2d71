//! Gaussian naive Bayes (smartcore's `GaussianNB` for the class statistics),
//! scikit-learn's `GaussianNB` with `var_smoothing = 1e-9`.
//!
//! smartcore adds nothing to the per-class variances, so a feature constant within a class
//! gives a zero variance and predictions of NaN ("all probabilities were NaN" on digits,
//! ML-BASELINE.md). We take its fitted priors, means and variances, add scikit-learn's
//! `var_smoothing × the largest feature variance`, and compute the joint log-likelihoods and
//! probabilities ourselves.

use crate::algorithms::dense::{dense, fit_failed, rows, softmax, spread};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::naive_bayes::gaussian::{GaussianNB, GaussianNBParameters};

const ID: &str = "gaussian_nb";

/// Parameters of Gaussian naive Bayes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussianNbParams {
    /// The share of the largest feature variance added to every variance; 1e-9.
    pub var_smoothing: f64,
}

impl Default for GaussianNbParams {
    fn default() -> Self {
        GaussianNbParams {
            var_smoothing: 1e-9,
        }
    }
}

/// Checked [`GaussianNbParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianNbValidParams(GaussianNbParams);

impl GaussianNbParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[ParamDoc {
        name: "var_smoothing",
        default: DefaultValue::Number(1e-9),
        accepts: "a number ≥ 0",
        doc: "The share of the largest feature variance added to every variance, for stability.",
    }];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(GaussianNbParams {
            var_smoothing: params.number("var_smoothing", 1e-9)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a negative `var_smoothing`.
    pub fn check(self) -> Result<GaussianNbValidParams, ModelsError> {
        require(
            self.var_smoothing.is_finite() && self.var_smoothing >= 0.0,
            ID,
            "var_smoothing",
            self.var_smoothing,
            "a number ≥ 0",
        )?;
        Ok(GaussianNbValidParams(self))
    }
}

/// The fitted class statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GaussianNbModel {
    present: Vec<u32>,
    log_priors: Vec<f64>,
    means: Vec<Vec<f64>>,
    variances: Vec<Vec<f64>>,
}

impl GaussianNbValidParams {
    /// The parameters.
    pub fn params(&self) -> &GaussianNbParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[u32]) -> Result<GaussianNbModel, ModelsError> {
        let model: GaussianNB<f64, u32, DenseMatrix<f64>, Vec<u32>> =
            GaussianNB::fit(&dense(x)?, &y.to_vec(), GaussianNBParameters::default())
                .map_err(fit_failed(ID))?;
        let epsilon = self.0.var_smoothing * largest_variance(x);
        let variances = model
            .var()
            .iter()
            .map(|class| class.iter().map(|v| v.max(0.0) + epsilon).collect())
            .collect();
        Ok(GaussianNbModel {
            present: model.classes().clone(),
            log_priors: model.class_priors().iter().map(|p| p.ln()).collect(),
            means: model.theta().clone(),
            variances,
        })
    }
}

/// The largest population variance of a column of `x`.
fn largest_variance(x: &Matrix) -> f64 {
    let columns = x.columns.len();
    let count = x.rows.max(1) as f64;
    (0..columns)
        .map(|column| {
            let values = || rows(x).map(|row| row[column]);
            let mean = values().sum::<f64>() / count;
            values().map(|v| (v - mean) * (v - mean)).sum::<f64>() / count
        })
        .fold(0.0, f64::max)
}

impl GaussianNbModel {
    pub(crate) fn predict(&self, x: &Matrix, classes: usize) -> ClassPrediction {
        let half_log_two_pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
        let mut present_probabilities = Vec::with_capacity(x.rows * self.present.len());
        for row in rows(x) {
            let mut joint: Vec<f64> = (0..self.present.len())
                .map(|class| {
                    let likelihood: f64 = row
                        .iter()
                        .zip(&self.means[class])
                        .zip(&self.variances[class])
                        .map(|((value, mean), variance)| {
                            -(value - mean).powi(2) / (2.0 * variance)
                                - 0.5 * variance.ln()
                                - half_log_two_pi
                        })
                        .sum();
                    self.log_priors[class] + likelihood
                })
                .collect();
            softmax(&mut joint);
            present_probabilities.extend(joint);
        }
        ClassPrediction::from_probabilities(
            spread(&present_probabilities, &self.present, classes),
            classes,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn a_feature_constant_within_a_class_does_not_break_it() {
        // Feature 1 is constant within each class: smartcore alone gives NaN.
        let x = testing::matrix(&[
            &[1.0, 0.0],
            &[1.2, 0.0],
            &[0.8, 0.0],
            &[3.0, 1.0],
            &[3.2, 1.0],
            &[2.8, 1.0],
        ]);
        let y = [0, 0, 0, 1, 1, 1];
        let model = GaussianNbParams::default()
            .check()
            .unwrap()
            .fit(&x, &y)
            .unwrap();
        let prediction = model.predict(&x, 2);
        assert_eq!(prediction.labels, y);
        assert!(
            prediction
                .probabilities
                .unwrap()
                .iter()
                .all(|p| p.is_finite())
        );
    }

    #[test]
    fn probabilities_follow_the_gaussians_by_hand() {
        // One feature; class 0 at {0, 2} (mean 1, var 1), class 1 at {4, 6} (mean 5, var 1),
        // equal priors. At x = 2: log-odds = (−(2−5)² + (2−1)²)/2 = −4, so
        // p(1) = 1 / (1 + e⁴).
        let x = testing::matrix(&[&[0.0], &[2.0], &[4.0], &[6.0]]);
        let params = GaussianNbParams { var_smoothing: 0.0 }.check().unwrap();
        let model = params.fit(&x, &[0, 0, 1, 1]).unwrap();
        let probabilities = model
            .predict(&testing::matrix(&[&[2.0]]), 2)
            .probabilities
            .unwrap();
        let expected = 1.0 / (1.0 + 4f64.exp());
        assert!(
            (probabilities[1] - expected).abs() < 1e-12,
            "{probabilities:?}"
        );
    }
}
