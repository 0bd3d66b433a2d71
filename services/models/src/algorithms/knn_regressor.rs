//! k-nearest-neighbour regression, scikit-learn's `KNeighborsRegressor` with
//! `n_neighbors = 5` and brute force, written here ([`knn`]): the
//! (weighted) mean target of the neighbours.

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::fit::{Fit, Predict, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::knn::{self, KnnParams, Neighbourhood};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::registry::AlgorithmId;
use crate::error::ModelsError;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

const ID: &str = "knn_regressor";

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

/// A fitted model: the training rows and their targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NeighboursRegressor {
    neighbourhood: Neighbourhood,
    targets: Vec<f64>,
}

impl KnnRegressorValidParams {
    /// The parameters.
    pub fn params(&self) -> &KnnRegressorParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[f64]) -> Result<NeighboursRegressor, ModelsError> {
        Ok(NeighboursRegressor {
            neighbourhood: Neighbourhood::new(ID, self.0.knn, x)?,
            targets: y.to_vec(),
        })
    }
}

impl NeighboursRegressor {
    /// Checks a decoded model: its neighbourhood, and one finite target per row.
    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        self.neighbourhood.check(features)?;
        if self.targets.len() != self.neighbourhood.rows() {
            return Err(format!(
                "k-NN with {} targets for {} training rows",
                self.targets.len(),
                self.neighbourhood.rows()
            ));
        }
        crate::algorithms::validate::finite("the targets", &self.targets)
    }

    /// Predicts the rows of `x`.
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for a damaged model; [`ModelsError::Shape`] for rows of
    /// another width.
    pub(crate) fn predict(&self, x: &Matrix, cancel: &Cancel) -> Result<Vec<f64>, ModelsError> {
        if self.targets.len() != self.neighbourhood.rows() {
            return Err(ModelsError::Corrupt {
                reason: format!(
                    "k-NN with {} targets for {} training rows",
                    self.targets.len(),
                    self.neighbourhood.rows()
                ),
            });
        }
        let mut predictions = vec![0.0; x.rows];
        self.neighbourhood
            .search(x, cancel, |query, neighbours, weights| {
                let (mut weighted, mut total) = (0.0, 0.0);
                for (neighbour, weight) in neighbours.iter().zip(weights) {
                    weighted += self.targets[neighbour.row] * weight;
                    total += weight;
                }
                predictions[query] = weighted / total;
            })?;
        Ok(predictions)
    }
}

impl Fit for KnnRegressorValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, _: &Cancel) -> Result<Fitted, ModelsError> {
        let y = values(y, AlgorithmId::KnnRegressor)?;
        Ok(Fitted::KnnRegressor(KnnRegressorValidParams::fit(
            self, x, y,
        )?))
    }

    /// Blocks of queries against every training row.
    fn working_bytes(&self, shape: DataShape) -> u64 {
        shape.rows.saturating_mul(8 * 1024)
    }
}

impl Predict for NeighboursRegressor {
    fn predict(&self, x: &Matrix, _: usize, cancel: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Regression(NeighboursRegressor::predict(
            self, x, cancel,
        )?))
    }

    fn check(&self, _: AlgorithmId, features: usize, _: usize) -> Result<(), String> {
        NeighboursRegressor::check(self, features)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::knn::testing;

    // KNeighborsRegressor(n_neighbors=3, weights=w, algorithm="brute").fit(X, t).predict(Q)
    #[test]
    fn predictions_match_scikit_learn() {
        for (distance_weights, expected) in [
            (
                false,
                [1.7333333333333334, 1.0, 2.066666666666667, 6.5, 2.5],
            ),
            (
                true,
                [
                    2.1,
                    1.0,
                    2.066666666666667,
                    6.554097093777194,
                    2.5540970937771936,
                ],
            ),
        ] {
            let params = KnnRegressorParams {
                knn: KnnParams {
                    k: 3,
                    distance_weights,
                },
            };
            let predicted = params
                .check()
                .unwrap()
                .fit(&testing::training(), &testing::TARGETS)
                .unwrap()
                .predict(&testing::queries(), &Cancel::never())
                .unwrap();
            for (p, e) in predicted.iter().zip(expected) {
                assert!((p - e).abs() < 1e-12, "{predicted:?} vs {expected:?}");
            }
        }
    }
}
