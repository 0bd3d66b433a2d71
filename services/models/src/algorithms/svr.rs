//! Epsilon-support vector regression, scikit-learn's `SVR` on our LIBSVM-style solver
//! ([`svm`]): RBF kernel, `gamma = "scale"`, `C = 1`, `epsilon = 0.1`. The
//! fitted machine is an owned [`SupportVectors`].

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::FitLimits;
use crate::algorithms::dense::check_matrix;
use crate::algorithms::fit::{Fit, Predict, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::svm::formulations;
use crate::algorithms::svm::kernel::TrainingKernel;
use crate::algorithms::svm::{self, KernelParams, SolverParams, SupportVectors};
use crate::error::ModelsError;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;

const ID: &str = "svr";

/// Parameters of support vector regression.
#[derive(Debug, Clone, PartialEq)]
pub struct SvrParams {
    /// The penalty on errors beyond `epsilon`, scikit-learn's `C`; 1.0.
    pub c: f64,
    /// The width of the error-free tube; 0.1.
    pub epsilon: f64,
    /// The kernel.
    pub kernel: KernelParams,
    /// The solver's tolerance, cache bound and shrinking.
    pub solver: SolverParams,
}

impl Default for SvrParams {
    fn default() -> Self {
        SvrParams {
            c: 1.0,
            epsilon: 0.1,
            kernel: KernelParams::default(),
            solver: SolverParams::default(),
        }
    }
}

/// Checked [`SvrParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct SvrValidParams(SvrParams);

impl SvrParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        svm::DOCS[0],
        ParamDoc {
            name: "epsilon",
            default: DefaultValue::Number(0.1),
            accepts: "a number ≥ 0",
            doc: "The width of the tube within which errors cost nothing.",
        },
        svm::DOCS[1],
        svm::DOCS[2],
        svm::DOCS[3],
        svm::DOCS[4],
        svm::DOCS[5],
        svm::DOCS[6],
        svm::DOCS[7],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(SvrParams {
            c: params.number("c", 1.0)?,
            epsilon: params.number("epsilon", 0.1)?,
            kernel: KernelParams::from_params(params)?,
            solver: SolverParams::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a non-positive `c`, `tol`, `gamma` or
    /// `cache_size_mb` (a zero-sized kernel cache), a negative `epsilon`, or a `degree`
    /// below 1.
    pub fn check(self) -> Result<SvrValidParams, ModelsError> {
        svm::check_penalty(ID, self.c)?;
        require(
            self.epsilon.is_finite() && self.epsilon >= 0.0,
            ID,
            "epsilon",
            self.epsilon,
            "a number ≥ 0",
        )?;
        self.solver.check(ID)?;
        self.kernel.check(ID)?;
        Ok(SvrValidParams(self))
    }
}

impl SvrValidParams {
    /// The parameters.
    pub fn params(&self) -> &SvrParams {
        &self.0
    }

    /// Fits the machine: the training rows with a non-zero coefficient are its support
    /// vectors.
    /// Fits without a way to cancel (tests).
    #[cfg(test)]
    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<SupportVectors, ModelsError> {
        self.fit_until(x, y, &crate::algorithms::Cancel::never())
    }

    /// Fits, giving up with [`ModelsError::Cancelled`] once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[f64],
        cancel: &crate::algorithms::Cancel,
    ) -> Result<SupportVectors, ModelsError> {
        check_matrix(x)?;
        let width = x.columns.len();
        if width == 0 || x.rows != y.len() {
            return Err(ModelsError::Shape {
                reason: format!(
                    "{} rows of {width} features for {} targets",
                    x.rows,
                    y.len()
                ),
            });
        }
        if x.rows < 2 {
            return Err(ModelsError::TooFewRows {
                reason: format!("{ID} needs at least 2 training rows, got {}", x.rows),
            });
        }
        if let Some(row) = y.iter().position(|value| !value.is_finite()) {
            return Err(ModelsError::Fit {
                algorithm: ID,
                reason: format!("the target at row {row} is {}; it must be finite", y[row]),
            });
        }
        let kernel = self.0.kernel.kernel(x);
        let training = TrainingKernel::new(kernel, x.values.clone(), width);
        let machine = formulations::regression(
            &training,
            y,
            self.0.c,
            self.0.epsilon,
            self.0.solver.settings(),
            cancel,
        )?;
        if !machine.converged {
            tracing::warn!(
                algorithm = ID,
                "the solver stopped at its iteration limit before the tolerance"
            );
        }
        let (mut vectors, mut coefficients, mut support) = (Vec::new(), Vec::new(), Vec::new());
        for (row, &coefficient) in machine.coefficients.iter().enumerate() {
            if coefficient != 0.0 {
                vectors.extend_from_slice(training.row(row));
                coefficients.push(coefficient);
                support.push(row as u32);
            }
        }
        Ok(SupportVectors::new(
            kernel,
            width,
            vectors,
            coefficients,
            support,
            machine.rho,
            machine.converged,
        ))
    }
}

/// Predicts with a fitted machine.
///
/// # Errors
/// As [`SupportVectors::decisions`].
pub(crate) fn predict(machine: &SupportVectors, x: &Matrix) -> Result<Vec<f64>, ModelsError> {
    machine.decisions(x)
}

impl Fit for SvrValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, cancel: &Cancel) -> Result<Fitted, ModelsError> {
        let y = values(y, AlgorithmId::Svr)?;
        Ok(Fitted::Svr(self.fit_until(x, y, cancel)?))
    }

    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        self.params().solver.check_limits(id, limits)
    }

    fn working_bytes(&self, shape: DataShape) -> u64 {
        self.params().solver.working_bytes(shape)
    }
}

impl Predict for SupportVectors {
    fn predict(&self, x: &Matrix, _: usize, _: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Regression(predict(self, x)?))
    }

    fn check(&self, _: AlgorithmId, features: usize, _: usize) -> Result<(), String> {
        SupportVectors::check(self, features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn the_line_is_fitted_and_a_wrong_width_refused() {
        let (x, y) = testing::linear();
        let params = SvrParams {
            kernel: KernelParams {
                kernel: "linear",
                ..KernelParams::default()
            },
            ..SvrParams::default()
        };
        let machine = params.check().unwrap().fit(&x, &y).unwrap();
        assert!(machine.converged() && !machine.support().is_empty());
        let predicted = predict(&machine, &x).unwrap();
        let r2 = crate::metrics::r2(&y, &predicted);
        assert!(r2 > 0.99, "{r2}");
        let narrow = testing::matrix(&[&[1.0, 2.0]]);
        let error = predict(&machine, &narrow).unwrap_err();
        assert!(matches!(error, ModelsError::Shape { .. }), "{error}");
    }
}
