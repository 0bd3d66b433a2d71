//! k-nearest-neighbour regression (smartcore's `KNNRegressor`), scikit-learn's
//! `KNeighborsRegressor` with `n_neighbors = 5`.

use crate::algorithms::dense::{Dense, fit_failed, predict_failed};
use crate::algorithms::knn::{self, KnnParams};
use crate::algorithms::params::{ParamDoc, Params};
use crate::error::ModelsError;
use smartcore::linalg::basic::arrays::Array;
use smartcore::metrics::distance::euclidian::Euclidian;
use smartcore::neighbors::knn_regressor::{KNNRegressor, KNNRegressorParameters};

const ID: &str = "knn_regressor";

/// The fitted model (it keeps the training rows).
pub type NeighboursRegressor = KNNRegressor<f64, f64, Dense, Vec<f64>, Euclidian<f64>>;

/// Parameters of k-nearest-neighbour regression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KnnRegressorParams {
    /// The shared settings.
    pub knn: KnnParams,
}

/// Checked [`KnnRegressorParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct KnnRegressorValidParams(KnnRegressorParams);

impl KnnRegressorParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &knn::DOCS;

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(KnnRegressorParams {
            knn: KnnParams::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a `k` of 0.
    pub fn check(self) -> Result<KnnRegressorValidParams, ModelsError> {
        self.knn.check(ID)?;
        Ok(KnnRegressorValidParams(self))
    }
}

impl KnnRegressorValidParams {
    /// The parameters.
    pub fn params(&self) -> &KnnRegressorParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Dense, y: &[f64]) -> Result<NeighboursRegressor, ModelsError> {
        let knn = self.0.knn;
        knn.check_rows(ID, x.shape().0)?;
        let parameters = KNNRegressorParameters::default()
            .with_k(knn.k)
            .with_weight(knn.weight())
            .with_algorithm(knn.search());
        KNNRegressor::fit(x, &y.to_vec(), parameters).map_err(fit_failed(ID))
    }
}

/// Predicts with a fitted model.
///
/// # Errors
/// What smartcore reports.
pub(crate) fn predict(model: &NeighboursRegressor, x: &Dense) -> Result<Vec<f64>, ModelsError> {
    model.predict(x).map_err(predict_failed(ID))
}
