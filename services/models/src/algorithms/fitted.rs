//! [`FittedModel`]: an owned, serializable fitted model that predicts.

use crate::algorithms::Cancel;
use crate::algorithms::cart::TreeEnsemble;
use crate::algorithms::dense::check_matrix_with;
use crate::algorithms::fit::Predict;
use crate::algorithms::gaussian_nb::GaussianNbModel;
use crate::algorithms::hist_gradient_boosting::BoostedModel;
use crate::algorithms::knn_classifier::KnnClassifierModel;
use crate::algorithms::knn_regressor::NeighboursRegressor;
use crate::algorithms::lbfgs::Convergence;
use crate::algorithms::linear::LinearModel;
use crate::algorithms::logistic_regression::LogisticModel;
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::svc::SvcModel;
use crate::algorithms::svm::SupportVectors;
use crate::algorithms::validate::{MAX_CLASSES, MAX_FEATURES};
use crate::error::ModelsError;
use crate::prediction::{ClassPrediction, Prediction};
use mltools_core::models::Task;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

/// The first bytes of a serialized model, then a format version.
const MAGIC: &[u8; 4] = b"MLTM";
/// The version of the serialized form; bump it when [`Fitted`] changes shape (2: our own
/// SVM, logistic regression, k-NN and forest leaf fractions; 3: our own trees and
/// forests, one [`TreeEnsemble`] form for the five of them).
const FORMAT: u8 = 3;

/// The fitted state of each algorithm.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Fitted {
    Linear(LinearModel),
    Logistic(LogisticModel),
    /// Every algorithm of the tree family: one tree, or a forest.
    Trees(TreeEnsemble),
    Svr(SupportVectors),
    Svc(SvcModel),
    KnnRegressor(NeighboursRegressor),
    KnnClassifier(KnnClassifierModel),
    GaussianNb(GaussianNbModel),
    /// Histogram gradient boosting (added last: the stored forms before it keep their
    /// numbers).
    Boosted(BoostedModel),
}

impl Fitted {
    /// The state, as what predicts.
    fn state(&self) -> &dyn Predict {
        match self {
            Fitted::Linear(model) => model,
            Fitted::Logistic(model) => model,
            Fitted::Trees(model) => model,
            Fitted::Svr(model) => model,
            Fitted::Svc(model) => model,
            Fitted::KnnRegressor(model) => model,
            Fitted::KnnClassifier(model) => model,
            Fitted::GaussianNb(model) => model,
            Fitted::Boosted(model) => model,
        }
    }
}

/// A fitted model: owned, `Send + Sync`, serializable to bytes ([`FittedModel::to_bytes`])
/// that predict identically once read back.
#[derive(Debug, Serialize, Deserialize)]
pub struct FittedModel {
    algorithm: AlgorithmId,
    features: Vec<String>,
    classes: usize,
    model: Fitted,
}

impl FittedModel {
    pub(crate) fn new(
        algorithm: AlgorithmId,
        features: Vec<String>,
        classes: usize,
        model: Fitted,
    ) -> Self {
        FittedModel {
            algorithm,
            features,
            classes,
            model,
        }
    }

    /// The algorithm.
    pub fn algorithm(&self) -> AlgorithmId {
        self.algorithm
    }

    /// The fitted state.
    #[cfg(test)]
    pub(crate) fn fitted(&self) -> &Fitted {
        &self.model
    }

    /// The feature columns it was fitted on, in order.
    pub fn features(&self) -> &[String] {
        &self.features
    }

    /// The number of classes (0 for a regressor).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How its solver ended, for a model fitted by an iterative solver (logistic
    /// regression); `None` for the others.
    pub fn convergence(&self) -> Option<&Convergence> {
        match &self.model {
            Fitted::Logistic(model) => Some(model.convergence()),
            _ => None,
        }
    }

    /// How much each feature (in [`FittedModel::features`] order) reduced the impurity
    /// over the model's splits, normalised to sum 1, as scikit-learn's
    /// `feature_importances_` (all 0 for a tree that never split); `None` outside the tree
    /// family.
    pub fn feature_importances(&self) -> Option<&[f64]> {
        match &self.model {
            Fitted::Trees(model) => Some(model.importances()),
            _ => None,
        }
    }

    /// What a user should know about the fit: a solver that did not converge, with the
    /// numbers and what to change. Empty when there is nothing to say.
    pub fn warnings(&self) -> Vec<String> {
        // SMO's iteration cap (LIBSVM's max(10^7, 100 n)) is a safety stop, rarely reached.
        let smo = "stopped at the SMO iteration limit before reaching `tol`; the machine may be \
                   poor: scale the features, or lower `c`";
        match &self.model {
            Fitted::Svc(model) if !model.converged() => vec![format!("{} {smo}", self.algorithm)],
            Fitted::Svr(model) if !model.converged() => vec![format!("{} {smo}", self.algorithm)],
            Fitted::Linear(model) => model
                .warning()
                .map(|warning| format!("{} {warning}", self.algorithm))
                .into_iter()
                .collect(),
            _ => match self.convergence() {
                Some(convergence) if !convergence.converged() => {
                    vec![format!("{} {convergence}", self.algorithm)]
                }
                _ => Vec::new(),
            },
        }
    }

    /// Predicts the rows of `x`, which must have the fitted feature columns.
    ///
    /// # Errors
    /// [`ModelsError::Shape`] for another number of columns; [`ModelsError::NonFinite`] for
    /// a missing value; [`ModelsError::Predict`] when the algorithm fails.
    pub fn predict(&self, x: &Matrix) -> Result<Prediction, ModelsError> {
        self.predict_until(x, &Cancel::never())
    }

    /// As [`FittedModel::predict`], giving up once `cancel` fires (k-NN looks at it before
    /// each block of queries; the other models predict in one quick pass).
    ///
    /// # Errors
    /// As [`FittedModel::predict`]; [`ModelsError::Cancelled`] once `cancel` fires.
    pub fn predict_until(&self, x: &Matrix, cancel: &Cancel) -> Result<Prediction, ModelsError> {
        if x.columns.len() != self.features.len() {
            return Err(ModelsError::Shape {
                reason: format!(
                    "the model was fitted on {} features, the rows have {}",
                    self.features.len(),
                    x.columns.len()
                ),
            });
        }
        check_matrix_with(x, self.algorithm.takes_missing_values())?;
        if x.rows == 0 {
            return Ok(match self.classes {
                0 => Prediction::Regression(Vec::new()),
                _ => Prediction::Classification(ClassPrediction::labels(Vec::new())),
            });
        }
        self.model.state().predict(x, self.classes, cancel)
    }

    /// The model as bytes: a magic number, a format version, and the model in postcard (an
    /// exact binary serde format: every `f64` is kept bit for bit).
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] if serialization fails (it does not for fitted models).
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelsError> {
        let mut bytes = MAGIC.to_vec();
        bytes.push(FORMAT);
        postcard::to_io(self, &mut bytes).map_err(|error| ModelsError::Corrupt {
            reason: error.to_string(),
        })?;
        Ok(bytes)
    }

    /// A model from [`FittedModel::to_bytes`], checked before it is trusted: every tree's
    /// children in range and reached once from its root, its split features and leaf
    /// outputs in range; our own models' arrays consistent in length and finite; features
    /// and classes bounded and agreeing with the task.
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for bytes that are not a sound model of this format version.
    pub fn from_bytes(bytes: &[u8]) -> Result<FittedModel, ModelsError> {
        FittedModel::decode(bytes).map_err(|reason| ModelsError::Corrupt { reason })
    }

    /// A model the registry holds: it was checked when it entered (imported through
    /// [`FittedModel::from_bytes`], or fitted here), so reading it back only decodes it and
    /// prediction does not pay for a second walk of every tree.
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for bytes that do not decode as a model of this format.
    pub(crate) fn from_stored(bytes: &[u8]) -> Result<FittedModel, ModelsError> {
        FittedModel::decode_unchecked(bytes).map_err(|reason| ModelsError::Corrupt { reason })
    }

    /// A model from [`FittedModel::to_bytes`]: the magic number and format version, then
    /// the model, then its shape (see [`FittedModel::check`]); what is wrong otherwise.
    pub(crate) fn decode(bytes: &[u8]) -> Result<FittedModel, String> {
        let model = FittedModel::decode_unchecked(bytes)?;
        model.check()?;
        Ok(model)
    }

    /// The magic number, the format version and the model, without the shape check.
    fn decode_unchecked(bytes: &[u8]) -> Result<FittedModel, String> {
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| "not a mltools model (bad magic number)".to_owned())?;
        let model: FittedModel = match body.split_first() {
            Some((&FORMAT, model)) => {
                postcard::from_bytes(model).map_err(|error| format!("the model: {error}"))?
            }
            Some((&version, _)) => {
                return Err(format!(
                    "model format {version}; this build reads format {FORMAT}"
                ));
            }
            None => return Err("the model is truncated".to_owned()),
        };
        Ok(model)
    }

    /// Checks a decoded model's shape, so prediction can trust it: the fitted state is the
    /// algorithm's; features and classes within bounds and agreeing with the task; every
    /// tree's children in range and reached once from its root, its split features and
    /// leaf outputs in range; our own models' arrays consistent in length and finite.
    fn check(&self) -> Result<(), String> {
        let features = self.features.len();
        if features == 0 || features > MAX_FEATURES {
            return Err(format!(
                "the model has {features} features; 1 to {MAX_FEATURES} are allowed"
            ));
        }
        let classes = self.classes;
        let task_agrees = match self.algorithm.task() {
            Task::Regression => classes == 0,
            Task::Classification => (2..=MAX_CLASSES).contains(&classes),
        };
        if !task_agrees {
            return Err(format!(
                "a {} model ({}) with {classes} classes; a classifier has 2 to {MAX_CLASSES}, a \
                 regressor none",
                self.algorithm.task(),
                self.algorithm
            ));
        }
        let result = if self.algorithm.fits_form(&self.model) {
            self.model.state().check(self.algorithm, features, classes)
        } else {
            Err(format!(
                "the model is labelled `{}` but holds another algorithm's state",
                self.algorithm
            ))
        };
        result.map_err(|reason| format!("{}: {reason}", self.algorithm))
    }
}
