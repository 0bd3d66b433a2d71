//! Logistic regression (smartcore's L-BFGS `LogisticRegression`), scikit-learn's
//! `LogisticRegression`: binary or multinomial, L2-penalised.
//!
//! smartcore minimises `Σ loss + alpha/2·‖w‖²` and defaults to `alpha = 0`, no penalty;
//! scikit-learn minimises `C·Σ loss + ½‖w‖²` with `C = 1`. We expose scikit-learn's `c`
//! and pass `alpha = 1/c`: with no penalty breast_cancer scored 0.951 instead of 0.979
//! (ML-BASELINE.md). smartcore has no probabilities; we compute them from the fitted
//! coefficients (sigmoid, or softmax for more than two classes).

use crate::algorithms::dense::{dense, fit_failed, present_classes, rows, softmax, spread};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::logistic_regression::{LogisticRegression, LogisticRegressionParameters};

const ID: &str = "logistic_regression";

/// Parameters of logistic regression.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionParams {
    /// The inverse penalty strength, scikit-learn's `C`; 1.0.
    pub c: f64,
}

impl Default for LogisticRegressionParams {
    fn default() -> Self {
        LogisticRegressionParams { c: 1.0 }
    }
}

/// Checked [`LogisticRegressionParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionValidParams(LogisticRegressionParams);

impl LogisticRegressionParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[ParamDoc {
        name: "c",
        default: DefaultValue::Number(1.0),
        accepts: "a number > 0",
        doc: "Inverse L2 penalty strength, scikit-learn's `C` (smartcore's alpha = 1/C).",
    }];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(LogisticRegressionParams {
            c: params.number("c", 1.0)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a `c` that is not a positive number.
    pub fn check(self) -> Result<LogisticRegressionValidParams, ModelsError> {
        require(
            self.c.is_finite() && self.c > 0.0,
            ID,
            "c",
            self.c,
            "a number > 0",
        )?;
        Ok(LogisticRegressionValidParams(self))
    }
}

/// A fitted logistic regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// The class codes seen in training, ascending.
    present: Vec<u32>,
    /// One weight row per present class; a single row (for the second class) when binary.
    weights: Vec<Vec<f64>>,
    /// One intercept per weight row.
    intercepts: Vec<f64>,
}

impl LogisticRegressionValidParams {
    /// The parameters.
    pub fn params(&self) -> &LogisticRegressionParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[u32]) -> Result<LogisticModel, ModelsError> {
        let parameters = LogisticRegressionParameters::default().with_alpha(1.0 / self.0.c);
        let model: LogisticRegression<f64, u32, DenseMatrix<f64>, Vec<u32>> =
            LogisticRegression::fit(&dense(x)?, &y.to_vec(), parameters).map_err(fit_failed(ID))?;
        let (weight_rows, features) = model.coefficients().shape();
        let weights = (0..weight_rows)
            .map(|row| {
                (0..features)
                    .map(|column| *model.coefficients().get((row, column)))
                    .collect()
            })
            .collect();
        let intercept = model.intercept();
        let (rows, columns) = intercept.shape();
        // Binary: a 1 × 1 matrix; multinomial: one row per class.
        let intercepts = (0..rows.max(columns))
            .map(|i| *intercept.get(if rows >= columns { (i, 0) } else { (0, i) }))
            .collect();
        Ok(LogisticModel {
            present: present_classes(y),
            weights,
            intercepts,
        })
    }
}

impl LogisticModel {
    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        let mut present_probabilities = Vec::with_capacity(x.rows * self.present.len());
        for row in rows(x) {
            let mut logits: Vec<f64> = self
                .weights
                .iter()
                .zip(&self.intercepts)
                .map(|(weights, b)| row.iter().zip(weights).map(|(v, w)| v * w).sum::<f64>() + b)
                .collect();
            if self.weights.len() == 1 {
                let positive = 1.0 / (1.0 + (-logits[0]).exp());
                present_probabilities.extend([1.0 - positive, positive]);
            } else {
                softmax(&mut logits);
                present_probabilities.extend(logits);
            }
        }
        Ok(ClassPrediction::from_probabilities(
            spread(&present_probabilities, &self.present, classes)?,
            classes,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn separates_blobs_with_calibrated_probabilities() {
        let (x, y) = testing::blobs();
        let model = LogisticRegressionParams::default()
            .check()
            .unwrap()
            .fit(&x, &y)
            .unwrap();
        let prediction = model.predict(&x, 2).unwrap();
        assert_eq!(prediction.labels, y);
        let probabilities = prediction.probabilities.unwrap();
        assert!(
            probabilities
                .chunks(2)
                .all(|p| (p[0] + p[1] - 1.0).abs() < 1e-12)
        );
        // Penalised: confident but not certain.
        assert!(probabilities.iter().all(|&p| p > 1e-6 && p < 1.0 - 1e-6));
    }

    #[test]
    fn multinomial_agrees_with_smartcore_labels() {
        let (x, y) = testing::three_blobs();
        let model = LogisticRegressionParams::default()
            .check()
            .unwrap()
            .fit(&x, &y)
            .unwrap();
        let ours = model.predict(&x, 3).unwrap().labels;
        let theirs: LogisticRegression<f64, u32, DenseMatrix<f64>, Vec<u32>> =
            LogisticRegression::fit(
                &dense(&x).unwrap(),
                &y,
                LogisticRegressionParameters::default().with_alpha(1.0),
            )
            .unwrap();
        assert_eq!(ours, theirs.predict(&dense(&x).unwrap()).unwrap());
        assert_eq!(ours, y);
    }
}
