//! [`FittedModel`]: an owned, serializable fitted model that predicts.

use crate::algorithms::decision_tree_classifier::TreeClassifierModel;
use crate::algorithms::decision_tree_regressor::{self, RegressionTree};
use crate::algorithms::dense::{check_matrix, dense};
use crate::algorithms::extra_trees_regressor::{self, ExtraTreesForest};
use crate::algorithms::gaussian_nb::GaussianNbModel;
use crate::algorithms::knn_classifier::KnnClassifierModel;
use crate::algorithms::knn_regressor::NeighboursRegressor;
use crate::algorithms::lbfgs::Convergence;
use crate::algorithms::linear::LinearModel;
use crate::algorithms::logistic_regression::LogisticModel;
use crate::algorithms::random_forest_classifier::ForestClassifierModel;
use crate::algorithms::random_forest_regressor::{self, RegressionForest};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::svc::SvcModel;
use crate::algorithms::svm::SupportVectors;
use crate::algorithms::svr;
use crate::error::ModelsError;
use crate::prediction::{ClassPrediction, Prediction};
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

/// The first bytes of a serialized model, then a format version.
const MAGIC: &[u8; 4] = b"MLTM";
/// The version of the serialized form; bump it when [`Fitted`] changes shape (2: our own
/// SVM, logistic regression, k-NN and forest leaf fractions).
const FORMAT: u8 = 2;

/// The fitted state of each algorithm.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Fitted {
    Linear(LinearModel),
    Logistic(LogisticModel),
    TreeRegressor(RegressionTree),
    TreeClassifier(TreeClassifierModel),
    ForestRegressor(RegressionForest),
    ExtraTrees(ExtraTreesForest),
    ForestClassifier(ForestClassifierModel),
    Svr(SupportVectors),
    Svc(SvcModel),
    KnnRegressor(NeighboursRegressor),
    KnnClassifier(KnnClassifierModel),
    GaussianNb(GaussianNbModel),
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

    /// What a user should know about the fit: a solver that did not converge, with the
    /// numbers and what to change. Empty when there is nothing to say.
    pub fn warnings(&self) -> Vec<String> {
        // SMO's iteration cap (LIBSVM's max(10^7, 100 n)) is a safety stop, rarely reached.
        let smo = "stopped at the SMO iteration limit before reaching `tol`; the machine may be \
                   poor: scale the features, or lower `c`";
        match &self.model {
            Fitted::Svc(model) if !model.converged() => vec![format!("{} {smo}", self.algorithm)],
            Fitted::Svr(model) if !model.converged() => vec![format!("{} {smo}", self.algorithm)],
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
        if x.columns.len() != self.features.len() {
            return Err(ModelsError::Shape {
                reason: format!(
                    "the model was fitted on {} features, the rows have {}",
                    self.features.len(),
                    x.columns.len()
                ),
            });
        }
        check_matrix(x)?;
        if x.rows == 0 {
            return Ok(match self.classes {
                0 => Prediction::Regression(Vec::new()),
                _ => Prediction::Classification(ClassPrediction::labels(Vec::new())),
            });
        }
        let classes = self.classes;
        let regression = Prediction::Regression;
        let classification = Prediction::Classification;
        Ok(match &self.model {
            Fitted::Linear(model) => regression(model.predict(x)),
            Fitted::Svr(model) => regression(svr::predict(model, x)?),
            Fitted::TreeRegressor(model) => {
                regression(decision_tree_regressor::predict(model, &dense(x)?)?)
            }
            Fitted::ForestRegressor(model) => {
                regression(random_forest_regressor::predict(model, &dense(x)?)?)
            }
            Fitted::ExtraTrees(model) => {
                regression(extra_trees_regressor::predict(model, &dense(x)?)?)
            }
            Fitted::KnnRegressor(model) => regression(model.predict(x)?),
            Fitted::Logistic(model) => classification(model.predict(x, classes)?),
            Fitted::Svc(model) => classification(model.predict(x, classes)?),
            Fitted::GaussianNb(model) => classification(model.predict(x, classes)?),
            Fitted::TreeClassifier(model) => classification(model.predict(&dense(x)?, classes)?),
            Fitted::ForestClassifier(model) => classification(model.predict(x, classes)?),
            Fitted::KnnClassifier(model) => classification(model.predict(x, classes)?),
        })
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

    /// A model from [`FittedModel::to_bytes`].
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for bytes that are not a model of this format version.
    pub fn from_bytes(bytes: &[u8]) -> Result<FittedModel, ModelsError> {
        let corrupt = |reason: String| ModelsError::Corrupt { reason };
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or_else(|| corrupt("not a mltools model (bad magic number)".to_owned()))?;
        match body.split_first() {
            Some((&FORMAT, model)) => {
                postcard::from_bytes(model).map_err(|error| corrupt(error.to_string()))
            }
            Some((&version, _)) => Err(corrupt(format!(
                "model format {version}; this build reads format {FORMAT}"
            ))),
            None => Err(corrupt("the model is truncated".to_owned())),
        }
    }
}
