//! Epsilon-support vector regression (smartcore's `SVR`), scikit-learn's `SVR`: RBF kernel,
//! `gamma = "scale"`, `C = 1`, `epsilon = 0.1`. The fitted support vectors are read out
//! into an owned model (see [`svm`](super::svm)).

use crate::algorithms::dense::{dense, fit_failed, mirror, rows};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::algorithms::svm::{self, KernelParams, SupportVectors};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use serde::Deserialize;
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::svm::svr::{SVR, SVRParameters};

const ID: &str = "svr";

/// Parameters of support vector regression.
#[derive(Debug, Clone, PartialEq)]
pub struct SvrParams {
    /// The penalty on errors beyond `epsilon`, scikit-learn's `C`; 1.0.
    pub c: f64,
    /// The width of the error-free tube; 0.1.
    pub epsilon: f64,
    /// The solver's tolerance; 1e-3.
    pub tol: f64,
    /// The kernel.
    pub kernel: KernelParams,
}

impl Default for SvrParams {
    fn default() -> Self {
        SvrParams {
            c: 1.0,
            epsilon: 0.1,
            tol: 1e-3,
            kernel: KernelParams::default(),
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
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(SvrParams {
            c: params.number("c", 1.0)?,
            epsilon: params.number("epsilon", 0.1)?,
            tol: params.number("tol", 1e-3)?,
            kernel: KernelParams::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a non-positive `c`, `tol` or `gamma`, a negative
    /// `epsilon`, or a `degree` below 1.
    pub fn check(self) -> Result<SvrValidParams, ModelsError> {
        svm::check_penalty(ID, self.c, self.tol)?;
        require(
            self.epsilon.is_finite() && self.epsilon >= 0.0,
            ID,
            "epsilon",
            self.epsilon,
            "a number ≥ 0",
        )?;
        self.kernel.check(ID)?;
        Ok(SvrValidParams(self))
    }
}

/// smartcore 0.7's `SVR`, field for field (its parameters are serialized, unlike SVC's).
#[derive(Deserialize)]
struct SvrMirror {
    instances: Option<Vec<Vec<f64>>>,
    #[expect(dead_code, reason = "read only to keep the fields aligned")]
    parameters: Option<SVRParameters<f64>>,
    w: Option<Vec<f64>>,
    b: f64,
}

impl SvrValidParams {
    /// The parameters.
    pub fn params(&self) -> &SvrParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<SupportVectors, ModelsError> {
        let kernel = self.0.kernel.kernel(x);
        let parameters = SVRParameters::default()
            .with_c(self.0.c)
            .with_eps(self.0.epsilon)
            .with_tol(self.0.tol)
            .with_kernel(kernel.smartcore());
        let matrix = dense(x)?;
        let targets = y.to_vec();
        let machine: SVR<'_, f64, DenseMatrix<f64>, Vec<f64>> =
            SVR::fit(&matrix, &targets, &parameters).map_err(fit_failed(ID))?;
        let fitted: SvrMirror = mirror(ID, &machine)?;
        Ok(SupportVectors {
            kernel,
            vectors: fitted.instances.unwrap_or_default(),
            weights: fitted.w.unwrap_or_default(),
            bias: fitted.b,
        })
    }
}

/// Predicts with a fitted machine.
pub(crate) fn predict(machine: &SupportVectors, x: &Matrix) -> Vec<f64> {
    rows(x).map(|row| machine.decision(row)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    /// Guards the mirror: our predictions are smartcore's.
    #[test]
    fn predictions_equal_smartcore() {
        let (x, y) = testing::linear();
        let params = SvrParams::default().check().unwrap();
        let machine = params.fit(&x, &y).unwrap();
        assert!(!machine.vectors.is_empty());
        let parameters =
            SVRParameters::default().with_kernel(params.params().kernel.kernel(&x).smartcore());
        let matrix = dense(&x).unwrap();
        let theirs: SVR<'_, f64, DenseMatrix<f64>, Vec<f64>> =
            SVR::fit(&matrix, &y, &parameters).unwrap();
        let expected = theirs.predict(&matrix).unwrap();
        let ours = predict(&machine, &x);
        assert!(
            ours.iter()
                .zip(&expected)
                .all(|(a, b)| (a - b).abs() < 1e-9)
        );
    }
}
