//! k-nearest-neighbour classification (smartcore's `KNNClassifier`), scikit-learn's
//! `KNeighborsClassifier` with `n_neighbors = 5`; probabilities are the (weighted) shares
//! of the neighbours' classes.

use crate::algorithms::dense::{Dense, fit_failed, predict_failed, present_classes, spread};
use crate::algorithms::knn::{self, KnnParams};
use crate::algorithms::params::{ParamDoc, Params};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::neighbors::knn_classifier::{KNNClassifier, KNNClassifierParameters};

const ID: &str = "knn_classifier";

/// Parameters of k-nearest-neighbour classification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnnClassifierParams {
    /// The shared settings.
    pub knn: KnnParams,
}

/// Checked [`KnnClassifierParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct KnnClassifierValidParams(KnnClassifierParams);

impl KnnClassifierParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &knn::DOCS;

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(KnnClassifierParams {
            knn: KnnParams::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a `k` of 0.
    pub fn check(self) -> Result<KnnClassifierValidParams, ModelsError> {
        self.knn.check(ID)?;
        Ok(KnnClassifierValidParams(self))
    }
}

/// A fitted model with the classes it saw (it keeps the training rows).
#[derive(Debug, Serialize, Deserialize)]
pub struct KnnClassifierModel {
    model: KNNClassifier<f64, u32, Dense, Vec<u32>, Euclidian<f64>>,
    present: Vec<u32>,
}

impl KnnClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &KnnClassifierParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Dense, y: &[u32]) -> Result<KnnClassifierModel, ModelsError> {
        let knn = self.0.knn;
        knn.check_rows(ID, x.shape().0)?;
        let parameters = KNNClassifierParameters::default()
            .with_k(knn.k)
            .with_weight(knn.weight())
            .with_algorithm(knn.search());
        let model = KNNClassifier::fit(x, &y.to_vec(), parameters).map_err(fit_failed(ID))?;
        Ok(KnnClassifierModel {
            model,
            present: present_classes(y),
        })
    }
}

impl KnnClassifierModel {
    pub(crate) fn predict(
        &self,
        x: &Dense,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        let rows = self.model.predict_proba(x).map_err(predict_failed(ID))?;
        let present: Vec<f64> = rows.into_iter().flatten().collect();
        Ok(ClassPrediction::from_probabilities(
            spread(&present, &self.present, classes)?,
            classes,
        ))
    }
}
