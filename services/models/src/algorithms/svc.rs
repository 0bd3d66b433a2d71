//! Support vector classification (smartcore's `SVC`), scikit-learn's `SVC`: RBF kernel,
//! `gamma = "scale"`, `C = 1`.
//!
//! smartcore's `MultiClassSVC` cannot be serialized and breaks vote ties by `HashMap`
//! order, so results differ run to run (ML-BASELINE.md). We fit one binary machine per
//! pair of classes ourselves (one-vs-one, as scikit-learn) and decide by votes, ties going
//! to the class with the larger summed decision confidence, then to the lower code. The
//! binary machines are smartcore's; their support vectors are read out (see
//! [`svm`](super::svm)) so the model is owned and reloads exactly. No probabilities (as
//! scikit-learn's default `probability = False`); a binary model gives decision scores.

use crate::algorithms::dense::{check_classes, dense, fit_failed, mirror, present_classes, rows};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::svm::{self, Kernel, KernelParams, SupportVectors};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::svm::svc::{SVC, SVCParameters};

const ID: &str = "svc";

/// Parameters of support vector classification.
#[derive(Debug, Clone, PartialEq)]
pub struct SvcParams {
    /// The penalty on margin violations, scikit-learn's `C`; 1.0.
    pub c: f64,
    /// The solver's tolerance; 1e-3.
    pub tol: f64,
    /// The kernel.
    pub kernel: KernelParams,
}

impl Default for SvcParams {
    fn default() -> Self {
        SvcParams {
            c: 1.0,
            tol: 1e-3,
            kernel: KernelParams::default(),
        }
    }
}

/// Checked [`SvcParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct SvcValidParams(SvcParams);

impl SvcParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &svm::DOCS;

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(SvcParams {
            c: params.number("c", 1.0)?,
            tol: params.number("tol", 1e-3)?,
            kernel: KernelParams::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a non-positive `c`, `tol` or `gamma`, or a
    /// `degree` below 1.
    pub fn check(self) -> Result<SvcValidParams, ModelsError> {
        svm::check_penalty(ID, self.c, self.tol)?;
        self.kernel.check(ID)?;
        Ok(SvcValidParams(self))
    }
}

/// One binary machine: a positive decision means `positive`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Machine {
    negative: u32,
    positive: u32,
    decision: SupportVectors,
}

/// A fitted classifier: one machine per pair of classes seen in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SvcModel {
    present: Vec<u32>,
    machines: Vec<Machine>,
}

/// smartcore 0.7's `SVC`, field for field (its `parameters` are not serialized).
#[derive(Deserialize)]
struct SvcMirror {
    classes: Option<(u32, u32)>,
    instances: Option<Vec<Vec<f64>>>,
    w: Option<Vec<f64>>,
    b: Option<f64>,
}

impl SvcValidParams {
    /// The parameters.
    pub fn params(&self) -> &SvcParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[u32], seed: u64) -> Result<SvcModel, ModelsError> {
        let kernel = self.0.kernel.kernel(x);
        let present = present_classes(y);
        let mut machines = Vec::new();
        for (index, &negative) in present.iter().enumerate() {
            for &positive in &present[index + 1..] {
                let rows: Vec<usize> = (0..y.len())
                    .filter(|&row| y[row] == negative || y[row] == positive)
                    .collect();
                machines.push(self.fit_pair(x, y, &rows, kernel, seed)?);
            }
        }
        Ok(SvcModel { present, machines })
    }

    fn fit_pair(
        &self,
        x: &Matrix,
        y: &[u32],
        rows: &[usize],
        kernel: Kernel,
        seed: u64,
    ) -> Result<Machine, ModelsError> {
        let width = x.columns.len();
        let subset = Matrix {
            rows: rows.len(),
            columns: x.columns.clone(),
            values: rows
                .iter()
                .flat_map(|&row| x.values[row * width..(row + 1) * width].iter().copied())
                .collect(),
        };
        let labels: Vec<u32> = rows.iter().map(|&row| y[row]).collect();
        let parameters: SVCParameters<f64, u32, DenseMatrix<f64>, Vec<u32>> =
            SVCParameters::default()
                .with_c(self.0.c)
                .with_tol(self.0.tol)
                .with_kernel(kernel.smartcore())
                .with_seed(Some(seed));
        let matrix = dense(&subset)?;
        let machine = SVC::fit(&matrix, &labels, &parameters).map_err(fit_failed(ID))?;
        let fitted: SvcMirror = mirror(ID, &machine)?;
        let incomplete = || ModelsError::Fit {
            algorithm: ID,
            reason: "the fitted machine has no support vectors".to_owned(),
        };
        let (negative, positive) = fitted.classes.ok_or_else(incomplete)?;
        Ok(Machine {
            negative,
            positive,
            decision: SupportVectors {
                kernel,
                vectors: fitted.instances.ok_or_else(incomplete)?,
                weights: fitted.w.ok_or_else(incomplete)?,
                bias: fitted.b.ok_or_else(incomplete)?,
            },
        })
    }
}

impl SvcModel {
    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        // Every machine's classes are present ones: checked once, the votes index safely.
        check_classes(&self.present, classes)?;
        if let Some(machine) = self.machines.iter().find(|machine| {
            !(self.present.contains(&machine.negative) && self.present.contains(&machine.positive))
        }) {
            return Err(ModelsError::Corrupt {
                reason: format!(
                    "an svc machine separates classes {} and {}, which the model does not have",
                    machine.negative, machine.positive
                ),
            });
        }
        if let [machine] = self.machines.as_slice() {
            let scores: Vec<f64> = rows(x).map(|row| machine.decision.decision(row)).collect();
            let labels = scores
                .iter()
                .map(|&score| {
                    if score > 0.0 {
                        machine.positive
                    } else {
                        machine.negative
                    }
                })
                .collect();
            let class_one_scores = (classes == 2 && machine.positive == 1).then_some(scores);
            return Ok(ClassPrediction {
                labels,
                probabilities: None,
                scores: class_one_scores,
            });
        }
        Ok(ClassPrediction::labels(
            rows(x).map(|row| self.vote(row, classes)).collect(),
        ))
    }

    /// One-vs-one: most votes, then the larger summed confidence, then the lower code.
    /// Every class involved is below `classes` (checked by `predict`).
    fn vote(&self, row: &[f64], classes: usize) -> u32 {
        let mut votes = vec![0usize; classes];
        let mut confidence = vec![0.0; classes];
        for machine in &self.machines {
            let decision = machine.decision.decision(row);
            let (winner, loser) = if decision > 0.0 {
                (machine.positive, machine.negative)
            } else {
                (machine.negative, machine.positive)
            };
            votes[winner as usize] += 1;
            confidence[winner as usize] += decision.abs();
            confidence[loser as usize] -= decision.abs();
        }
        let mut best = self.present.first().copied().unwrap_or(0);
        for &class in &self.present {
            let (c, b) = (class as usize, best as usize);
            if votes[c] > votes[b] || (votes[c] == votes[b] && confidence[c] > confidence[b]) {
                best = class;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    /// Guards the mirror: our decision values are smartcore's.
    #[test]
    fn decisions_equal_smartcore_and_blobs_separate() {
        let (x, y) = testing::blobs();
        let params = SvcParams::default().check().unwrap();
        let model = params.fit(&x, &y, 3).unwrap();
        let kernel = params.params().kernel.kernel(&x);
        let parameters: SVCParameters<f64, u32, DenseMatrix<f64>, Vec<u32>> =
            SVCParameters::default()
                .with_kernel(kernel.smartcore())
                .with_seed(Some(3));
        let matrix = dense(&x).unwrap();
        let theirs = SVC::fit(&matrix, &y, &parameters).unwrap();
        let expected = theirs.decision_function(&matrix).unwrap();
        let prediction = model.predict(&x, 2).unwrap();
        let scores = prediction.scores.clone().unwrap();
        assert!(
            scores
                .iter()
                .zip(&expected)
                .all(|(a, b)| (a - b).abs() < 1e-9)
        );
        assert_eq!(prediction.labels, y);
    }

    #[test]
    fn one_vs_one_separates_three_classes() {
        let (x, y) = testing::three_blobs();
        let model = SvcParams::default()
            .check()
            .unwrap()
            .fit(&x, &y, 0)
            .unwrap();
        assert_eq!(model.machines.len(), 3);
        let prediction = model.predict(&x, 3).unwrap();
        assert_eq!(prediction.labels, y);
        assert_eq!(prediction.scores, None);
        // A model told it has fewer classes than it votes for refuses, rather than panic.
        let error = model.predict(&x, 2).unwrap_err();
        assert!(matches!(error, ModelsError::Corrupt { .. }), "{error}");
    }
}
