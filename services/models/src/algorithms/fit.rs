//! [`Fit`]: what every algorithm's checked parameters implement, so that an
//! [`Estimator`](super::Estimator) fits any algorithm through one call; [`Predict`]: what
//! every fitted state implements, so that a [`FittedModel`](super::FittedModel) predicts
//! through one call.
//!
//! Parameters are read and checked once (`XParams::check` gives `XValidParams`, as linfa
//! does); fitting never checks them again. Each algorithm's module implements [`Fit`] for
//! its valid parameters, and gives back its fitted state as the [`Fitted`] form the
//! registry stores.

use crate::admission::DataShape;
use crate::algorithms::fitted::Fitted;
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::{Cancel, FitLimits};
use crate::error::ModelsError;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;

/// An algorithm's checked parameters, ready to fit.
pub(crate) trait Fit {
    /// Fits on `x` and `y`, which the caller has checked: finite features, a target per
    /// row, of this algorithm's task, class codes below the class count. `seed` drives every
    /// random choice; the fit gives up with [`ModelsError::Cancelled`] once `cancel` fires.
    ///
    /// # Errors
    /// The algorithm's own failure ([`ModelsError::Fit`], ...), or
    /// [`ModelsError::Cancelled`].
    fn fit(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<Fitted, ModelsError>;

    /// The algorithm these parameters were read for, where one parameter type serves
    /// several (the tree family's); `None` for a type of one algorithm.
    fn algorithm(&self) -> Option<AlgorithmId> {
        None
    }

    /// Checks the parameters that size the fit (trees, iterations, a cache) against this
    /// node's caps, naming `id` in the refusal; nothing to check by default.
    ///
    /// # Errors
    /// [`ModelsError::OverLimit`] naming the parameter, its value, the cap and the setting.
    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        let _ = (id, limits);
        Ok(())
    }

    /// What one fit on data of `shape` builds besides its input matrices, in bytes: a
    /// coarse estimate that errs high, for admission control. By default one more copy of
    /// the design (a centred matrix, say).
    fn working_bytes(&self, shape: DataShape) -> u64 {
        shape.matrix_bytes()
    }
}

/// `y`'s values, for the regressor `algorithm`.
///
/// # Errors
/// [`ModelsError::WrongTask`] for class codes.
pub(crate) fn values(y: &Targets, algorithm: AlgorithmId) -> Result<&[f64], ModelsError> {
    match y {
        Targets::Regression(values) => Ok(values),
        Targets::Classification { .. } => Err(wrong_task(algorithm, y)),
    }
}

/// `y`'s class codes, for the classifier `algorithm`.
///
/// # Errors
/// [`ModelsError::WrongTask`] for regression values.
pub(crate) fn codes(y: &Targets, algorithm: AlgorithmId) -> Result<&[u32], ModelsError> {
    match y {
        Targets::Classification { codes, .. } => Ok(codes),
        Targets::Regression(_) => Err(wrong_task(algorithm, y)),
    }
}

fn wrong_task(algorithm: AlgorithmId, y: &Targets) -> ModelsError {
    ModelsError::WrongTask {
        algorithm: algorithm.as_str(),
        algorithm_task: algorithm.task(),
        task: y.task(),
    }
}

/// A fitted state: it predicts, and a decoded one is checked before it is trusted.
pub(crate) trait Predict {
    /// Predicts the rows of `x` (finite, with the fitted features), for `classes` classes
    /// (0 for a regressor), giving up once `cancel` fires where prediction is long.
    ///
    /// # Errors
    /// [`ModelsError::Predict`] or [`ModelsError::Corrupt`] when the state does not hold
    /// together; [`ModelsError::Cancelled`].
    fn predict(
        &self,
        x: &Matrix,
        classes: usize,
        cancel: &Cancel,
    ) -> Result<Prediction, ModelsError>;

    /// Checks a decoded state of `algorithm` against `features` and `classes`: arrays
    /// consistent in length and finite, trees sound; what is wrong otherwise.
    fn check(&self, algorithm: AlgorithmId, features: usize, classes: usize) -> Result<(), String>;
}
