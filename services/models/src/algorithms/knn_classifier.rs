//! k-nearest-neighbour classification, scikit-learn's `KNeighborsClassifier` with
//! `n_neighbors = 5` and brute force, written here ([`knn`]):
//! probabilities are the (weighted) shares of the neighbours' classes; the label is the
//! most probable class, the lowest code among ties.

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::dense::{check_classes, present_classes};
use crate::algorithms::fit::{Fit, Predict, codes};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::knn::{self, KnnParams, Neighbourhood};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::registry::AlgorithmId;
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

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

/// A fitted model: the training rows and their class codes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KnnClassifierModel {
    neighbourhood: Neighbourhood,
    labels: Vec<u32>,
    present: Vec<u32>,
}

impl KnnClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &KnnClassifierParams {
        &self.0
    }

    pub(crate) fn fit(&self, x: &Matrix, y: &[u32]) -> Result<KnnClassifierModel, ModelsError> {
        Ok(KnnClassifierModel {
            neighbourhood: Neighbourhood::new(ID, self.0.knn, x)?,
            labels: y.to_vec(),
            present: present_classes(y),
        })
    }
}

impl KnnClassifierModel {
    /// Checks a decoded model: its neighbourhood, one label below `classes` per row.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        self.neighbourhood.check(features)?;
        if self.labels.len() != self.neighbourhood.rows() {
            return Err(format!(
                "k-NN with {} labels for {} training rows",
                self.labels.len(),
                self.neighbourhood.rows()
            ));
        }
        if let Some(label) = self.labels.iter().find(|&&label| label as usize >= classes) {
            return Err(format!(
                "a label names class {label}, past the {classes} classes"
            ));
        }
        crate::algorithms::validate::class_codes("the class list", &self.present, classes)
    }

    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
        cancel: &Cancel,
    ) -> Result<ClassPrediction, ModelsError> {
        // Every label must index a probability column.
        check_classes(&self.labels, classes)?;
        if self.labels.len() != self.neighbourhood.rows() {
            return Err(ModelsError::Corrupt {
                reason: format!(
                    "k-NN with {} labels for {} training rows",
                    self.labels.len(),
                    self.neighbourhood.rows()
                ),
            });
        }
        let width = classes.max(1);
        let mut probabilities = vec![0.0; x.rows * width];
        self.neighbourhood
            .search(x, cancel, |query, neighbours, weights| {
                let row = &mut probabilities[query * width..(query + 1) * width];
                for (neighbour, weight) in neighbours.iter().zip(weights) {
                    row[self.labels[neighbour.row] as usize] += weight;
                }
                let total: f64 = row.iter().sum();
                if total > 0.0 {
                    row.iter_mut().for_each(|p| *p /= total);
                }
            })?;
        Ok(ClassPrediction::from_probabilities(probabilities, classes))
    }
}

impl Fit for KnnClassifierValidParams {
    fn fit(&self, x: &Matrix, y: &Targets, _: u64, _: &Cancel) -> Result<Fitted, ModelsError> {
        let y = codes(y, AlgorithmId::KnnClassifier)?;
        Ok(Fitted::KnnClassifier(KnnClassifierValidParams::fit(
            self, x, y,
        )?))
    }

    /// Blocks of queries against every training row.
    fn working_bytes(&self, shape: DataShape) -> u64 {
        shape.rows.saturating_mul(8 * 1024)
    }
}

impl Predict for KnnClassifierModel {
    fn predict(
        &self,
        x: &Matrix,
        classes: usize,
        cancel: &Cancel,
    ) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Classification(KnnClassifierModel::predict(
            self, x, classes, cancel,
        )?))
    }

    fn check(&self, _: AlgorithmId, features: usize, classes: usize) -> Result<(), String> {
        KnnClassifierModel::check(self, features, classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::knn::testing;

    fn predict(distance_weights: bool) -> ClassPrediction {
        let params = KnnClassifierParams {
            knn: KnnParams {
                k: 3,
                distance_weights,
            },
        };
        params
            .check()
            .unwrap()
            .fit(&testing::training(), &testing::CLASSES)
            .unwrap()
            .predict(&testing::queries(), 3, &Cancel::never())
            .unwrap()
    }

    fn assert_close(actual: &[f64], expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{actual:?} vs {expected:?}");
        }
    }

    // KNeighborsClassifier(n_neighbors=3, weights=w, algorithm="brute").fit(X, y)
    //     .predict_proba(Q), .predict(Q)
    #[test]
    fn probabilities_and_labels_match_scikit_learn() {
        let third = 1.0 / 3.0;
        let uniform = predict(false);
        assert_close(
            uniform.probabilities.as_deref().unwrap(),
            &[
                2.0 * third,
                third,
                0.0, //
                2.0 * third,
                third,
                0.0, //
                third,
                2.0 * third,
                0.0, //
                0.0,
                0.0,
                1.0, //
                0.0,
                1.0,
                0.0,
            ],
        );
        assert_eq!(uniform.labels, [0, 0, 1, 2, 1]);
        // Query 0 matches rows 3 (class 1) and 11 (class 0) exactly: they alone count.
        let distance = predict(true);
        assert_close(
            distance.probabilities.as_deref().unwrap(),
            &[
                0.5,
                0.5,
                0.0, //
                2.0 * third,
                third,
                0.0, //
                third,
                2.0 * third,
                0.0, //
                0.0,
                0.0,
                1.0, //
                0.0,
                1.0,
                0.0,
            ],
        );
        assert_eq!(distance.labels, [0, 0, 1, 2, 1]);
    }

    #[test]
    fn an_absent_class_gets_probability_zero() {
        let params = KnnClassifierParams::default().check().unwrap();
        let x =
            crate::algorithms::dense::testing::matrix(&[&[0.0], &[1.0], &[2.0], &[3.0], &[4.0]]);
        let model = params.fit(&x, &[0, 2, 0, 2, 2]).unwrap();
        let prediction = model.predict(&x, 3, &Cancel::never()).unwrap();
        let probabilities = prediction.probabilities.unwrap();
        assert!(probabilities.chunks(3).all(|row| row[1] == 0.0));
        assert_eq!(prediction.labels, [2; 5]);
    }
}
