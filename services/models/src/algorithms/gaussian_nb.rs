//! Gaussian naive Bayes, scikit-learn's `GaussianNB` with `var_smoothing = 1e-9`, written
//! here rather than taken from smartcore.
//!
//! smartcore's `GaussianNB` adds nothing to the per-class variances, so a feature constant
//! within a class gives a zero variance and predictions of NaN ("all probabilities were
//! NaN" on digits, ML-BASELINE.md); and it computes each variance in one pass as
//! E\[x²\] − μ², which cancels catastrophically on features far from zero (a timestamp
//! around 1e9 with a spread of 1 gets a variance of 0 or worse). We compute the priors, the
//! means and the variances in two passes (the mean, then the squared deviations from it, as
//! NumPy's `var`), add scikit-learn's `var_smoothing × the largest feature variance`, and
//! compute the joint log-likelihoods and probabilities ourselves.

use crate::algorithms::Cancel;
use crate::algorithms::dense::{present_classes, rows, softmax, spread};
use crate::algorithms::fit::{Fit, Predict, codes};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::algorithms::registry::AlgorithmId;
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

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
pub(crate) struct GaussianNbModel {
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

    /// Fits without a way to cancel (tests).
    #[cfg(test)]
    pub(crate) fn fit(&self, x: &Matrix, y: &[u32]) -> Result<GaussianNbModel, ModelsError> {
        self.fit_until(x, y, &crate::algorithms::Cancel::never())
    }

    /// Fits, giving up with [`ModelsError::Cancelled`] once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[u32],
        cancel: &crate::algorithms::Cancel,
    ) -> Result<GaussianNbModel, ModelsError> {
        if y.len() != x.rows || x.rows == 0 {
            return Err(ModelsError::Fit {
                algorithm: ID,
                reason: format!("{} rows but {} targets", x.rows, y.len()),
            });
        }
        let epsilon = self.0.var_smoothing * largest_variance(x);
        let present = present_classes(y);
        let mut log_priors = Vec::with_capacity(present.len());
        let mut means = Vec::with_capacity(present.len());
        let mut variances = Vec::with_capacity(present.len());
        for &class in &present {
            // Each class is a pass over every row.
            cancel.check()?;
            let members: Vec<&[f64]> = rows(x)
                .zip(y)
                .filter(|&(_, &label)| label == class)
                .map(|(row, _)| row)
                .collect();
            let (mean, variance) = two_pass_moments(&members, x.columns.len());
            log_priors.push((members.len() as f64 / x.rows as f64).ln());
            means.push(mean);
            variances.push(variance.into_iter().map(|v| v + epsilon).collect());
        }
        Ok(GaussianNbModel {
            present,
            log_priors,
            means,
            variances,
        })
    }
}

/// Per column of `rows` (each `columns` wide, at least one): the mean, and the population
/// variance as the mean squared deviation from it (two passes, no cancellation).
fn two_pass_moments(rows: &[&[f64]], columns: usize) -> (Vec<f64>, Vec<f64>) {
    let count = rows.len().max(1) as f64;
    let mut mean = vec![0.0; columns];
    for row in rows {
        for (total, value) in mean.iter_mut().zip(*row) {
            *total += value;
        }
    }
    mean.iter_mut().for_each(|total| *total /= count);
    let mut variance = vec![0.0; columns];
    for row in rows {
        for ((total, value), centre) in variance.iter_mut().zip(*row).zip(&mean) {
            *total += (value - centre) * (value - centre);
        }
    }
    variance.iter_mut().for_each(|total| *total /= count);
    (mean, variance)
}

/// The largest population variance of a column of `x`.
fn largest_variance(x: &Matrix) -> f64 {
    let all: Vec<&[f64]> = rows(x).collect();
    let (_, variance) = two_pass_moments(&all, x.columns.len());
    variance.into_iter().fold(0.0, f64::max)
}

impl GaussianNbModel {
    /// Checks a decoded model: ascending class codes below `classes`, one prior, mean row
    /// and variance row of `features` values per class, every value finite, every
    /// variance positive.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        use crate::algorithms::validate::{class_codes, finite};
        class_codes("the class list", &self.present, classes)?;
        let count = self.present.len();
        if count == 0
            || self.log_priors.len() != count
            || self.means.len() != count
            || self.variances.len() != count
        {
            return Err(format!(
                "{count} classes with {} priors, {} mean rows and {} variance rows",
                self.log_priors.len(),
                self.means.len(),
                self.variances.len()
            ));
        }
        finite("the log priors", &self.log_priors)?;
        for (class, (means, variances)) in self.means.iter().zip(&self.variances).enumerate() {
            if means.len() != features || variances.len() != features {
                return Err(format!(
                    "class {class} has {} means and {} variances for {features} features",
                    means.len(),
                    variances.len()
                ));
            }
            finite(&format!("class {class}'s means"), means)?;
            finite(&format!("class {class}'s variances"), variances)?;
            if let Some(feature) = variances.iter().position(|&v| v <= 0.0) {
                return Err(format!(
                    "class {class}'s variance of feature {feature} is not positive"
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
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
        Ok(ClassPrediction::from_probabilities(
            spread(&present_probabilities, &self.present, classes)?,
            classes,
        ))
    }
}

impl Fit for GaussianNbValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = codes(y, AlgorithmId::GaussianNb)?;
        Ok(Fitted::GaussianNb(self.fit_until(x, y, cancel)?))
    }
}

impl Predict for GaussianNbModel {
    fn predict(&self, x: &Matrix, classes: usize, _: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Classification(GaussianNbModel::predict(
            self, x, classes,
        )?))
    }

    fn check(&self, _: AlgorithmId, features: usize, classes: usize) -> Result<(), String> {
        GaussianNbModel::check(self, features, classes)
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
        let prediction = model.predict(&x, 2).unwrap();
        assert_eq!(prediction.labels, y);
        assert!(
            prediction
                .probabilities
                .unwrap()
                .iter()
                .all(|p| p.is_finite())
        );
    }

    /// A feature far from zero (a timestamp, say) with a spread of about 1 within each
    /// class: the one-pass E[x²] − μ² loses every digit of the variance there.
    #[test]
    fn a_large_offset_gives_the_probabilities_of_the_data_at_zero() {
        // Dyadic values, so the shift by 1e9 is exact and any difference is the algorithm's.
        let near_zero: [f64; 8] = [-1.25, -0.5, 0.25, 1.0, 2.5, 3.25, 3.75, 4.5];
        let labels = [0, 0, 0, 0, 1, 1, 1, 1];
        let queries = [-0.75, 1.5, 2.0, 2.25, 4.0];
        let probabilities = |offset: f64| {
            let column = |values: &[f64]| {
                let rows: Vec<Vec<f64>> = values.iter().map(|v| vec![v + offset]).collect();
                let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
                testing::matrix(&refs)
            };
            let model = GaussianNbParams::default()
                .check()
                .unwrap()
                .fit(&column(&near_zero), &labels)
                .unwrap();
            model
                .predict(&column(&queries), 2)
                .unwrap()
                .probabilities
                .unwrap()
        };
        let (shifted, at_zero) = (probabilities(1e9), probabilities(0.0));
        for (far, near) in shifted.iter().zip(&at_zero) {
            assert!(
                (far - near).abs() <= 1e-9 * near.abs().max(f64::MIN_POSITIVE),
                "{shifted:?} vs {at_zero:?}"
            );
        }
        // The query at 2.0, between the classes, is genuinely uncertain.
        assert!(at_zero[4] > 0.01 && at_zero[5] > 0.01, "{at_zero:?}");
    }

    // X, y: the 15 rows and 3 classes of the logistic regression tests; Q the rows below.
    // GaussianNB().fit(X, y).predict_proba(Q)     -> var_smoothing 1e-9
    // GaussianNB(var_smoothing=0.1).fit(X, y).predict_proba(Q)
    #[test]
    fn probabilities_match_scikit_learn_to_1e_9() {
        let x = testing::matrix(&[
            &[0.5, 1.0, -0.3],
            &[1.5, -0.5, 0.2],
            &[-1.0, 0.3, 0.8],
            &[2.0, 1.2, -1.1],
            &[-0.7, -1.4, 0.5],
            &[0.1, 0.9, 1.3],
            &[1.1, 0.4, -0.6],
            &[-1.6, 0.2, 0.1],
            &[0.8, -1.0, -0.9],
            &[-0.2, 1.7, 0.4],
            &[1.9, -0.3, 0.7],
            &[-1.2, -0.8, -1.5],
            &[0.3, 0.3, 0.3],
            &[-0.4, 1.1, -0.8],
            &[1.3, -1.2, 1.0],
        ]);
        let y = [0, 1, 2, 1, 2, 0, 1, 2, 1, 0, 1, 2, 0, 0, 2];
        let queries = testing::matrix(&[
            &[0.0, 0.0, 0.0],
            &[2.0, -1.0, 0.5],
            &[-1.5, 1.5, -1.0],
            &[5.0, 5.0, 5.0],
        ]);
        let cases: [(f64, [f64; 12], [u32; 4]); 2] = [
            (
                1e-9,
                [
                    0.4511686936285548,
                    0.013843399380899865,
                    0.5349879069905457,
                    1.697796248749641e-11,
                    0.9152879884038003,
                    0.08471201157922212,
                    0.0023577675722858244,
                    5.295626021662946e-08,
                    0.9976421794714548,
                    1.5833884135382044e-50,
                    2.825896075686675e-09,
                    0.9999999971741005,
                ],
                [2, 1, 2, 2],
            ),
            (
                0.1,
                [
                    0.522331735256605,
                    0.053515547000859885,
                    0.4241527177425349,
                    3.974201771626525e-06,
                    0.9105938592019346,
                    0.08940216659629417,
                    0.27892462117137035,
                    3.575679770003951e-05,
                    0.7210396220309297,
                    6.162534582722178e-20,
                    0.00016944854114866567,
                    0.9998305514588531,
                ],
                [0, 1, 2, 2],
            ),
        ];
        for (var_smoothing, expected, labels) in cases {
            let model = GaussianNbParams { var_smoothing }
                .check()
                .unwrap()
                .fit(&x, &y)
                .unwrap();
            let prediction = model.predict(&queries, 3).unwrap();
            let probabilities = prediction.probabilities.unwrap();
            for (p, e) in probabilities.iter().zip(expected) {
                // Absolute 1e-9, and relative 1e-9 for the tiny ones too.
                assert!(
                    (p - e).abs() <= 1e-9 * e.max(1e-300),
                    "{var_smoothing}: {probabilities:?} vs {expected:?}"
                );
            }
            assert_eq!(prediction.labels, labels);
        }
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
            .unwrap()
            .probabilities
            .unwrap();
        let expected = 1.0 / (1.0 + 4f64.exp());
        assert!(
            (probabilities[1] - expected).abs() < 1e-12,
            "{probabilities:?}"
        );
    }
}
