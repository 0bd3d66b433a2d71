//! A random forest of classification trees (smartcore's `RandomForestClassifier`),
//! scikit-learn's `RandomForestClassifier`: 100 bootstrapped Gini trees, √p features tried
//! at each split.
//!
//! smartcore's forest only votes; it has no probabilities (ML-BASELINE.md). We read its
//! fitted trees (see [`mirror`]) and keep them: a row's probabilities are the share of
//! trees voting for each class, and its label the most voted class, the lowest code among
//! ties, exactly as smartcore's `predict`.

use crate::algorithms::decision_tree_classifier::{CRITERION_DOC, ClassificationTree, Criterion};
use crate::algorithms::dense::{
    Dense, fit_failed, mirror, predict_failed, present_classes, spread,
};
use crate::algorithms::forest::{self, MaxFeatures};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};
use smartcore::linalg::basic::arrays::Array;

const ID: &str = "random_forest_classifier";

/// Parameters of a random forest classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestClassifierParams {
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; √p.
    pub max_features: MaxFeatures,
    /// The split criterion; Gini.
    pub criterion: Criterion,
    /// How far each tree may grow.
    pub limits: TreeLimits,
}

impl Default for RandomForestClassifierParams {
    fn default() -> Self {
        RandomForestClassifierParams {
            n_trees: 100,
            max_features: MaxFeatures::Sqrt,
            criterion: Criterion::Gini,
            limits: TreeLimits::default(),
        }
    }
}

/// Checked [`RandomForestClassifierParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestClassifierValidParams(RandomForestClassifierParams);

impl RandomForestClassifierParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        forest::N_TREES_DOC,
        forest::max_features_doc("sqrt"),
        CRITERION_DOC,
        trees::DOCS[0],
        trees::DOCS[1],
        trees::DOCS[2],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(RandomForestClassifierParams {
            n_trees: forest::n_trees(params)?,
            max_features: MaxFeatures::from_params(params, MaxFeatures::Sqrt)?,
            criterion: Criterion::from_params(params)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a count or limit out of range.
    pub fn check(self) -> Result<RandomForestClassifierValidParams, ModelsError> {
        forest::check_trees(ID, self.n_trees)?;
        self.limits.check(ID)?;
        Ok(RandomForestClassifierValidParams(self))
    }
}

/// smartcore 0.7's `RandomForestClassifier`, field for field (see [`mirror`]).
#[derive(Deserialize)]
struct ForestMirror {
    trees: Option<Vec<ClassificationTree>>,
    #[expect(dead_code, reason = "read only to keep the fields aligned")]
    classes: Option<Vec<u32>>,
    #[expect(dead_code, reason = "read only to keep the fields aligned")]
    samples: Option<Vec<Vec<bool>>>,
}

/// A fitted forest: its trees and the classes it saw.
#[derive(Debug, Serialize, Deserialize)]
pub struct ForestClassifierModel {
    trees: Vec<ClassificationTree>,
    present: Vec<u32>,
}

impl RandomForestClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &RandomForestClassifierParams {
        &self.0
    }

    fn smartcore(&self, features: usize, seed: u64) -> RandomForestClassifierParameters {
        let params = &self.0;
        RandomForestClassifierParameters {
            criterion: params.criterion.smartcore(),
            max_depth: params.limits.max_depth,
            min_samples_leaf: params.limits.min_samples_leaf,
            min_samples_split: params.limits.min_samples_split,
            // Checked to fit in a u16.
            n_trees: params.n_trees as u16,
            m: Some(params.max_features.resolve(features)),
            keep_samples: false,
            seed,
        }
    }

    pub(crate) fn fit(
        &self,
        x: &Dense,
        y: &[u32],
        seed: u64,
    ) -> Result<ForestClassifierModel, ModelsError> {
        let parameters = self.smartcore(x.shape().1, seed);
        let forest: RandomForestClassifier<f64, u32, Dense, Vec<u32>> =
            RandomForestClassifier::fit(x, &y.to_vec(), parameters).map_err(fit_failed(ID))?;
        let mirrored: ForestMirror = mirror(ID, &forest)?;
        Ok(ForestClassifierModel {
            trees: mirrored.trees.unwrap_or_default(),
            present: present_classes(y),
        })
    }
}

impl ForestClassifierModel {
    pub(crate) fn predict(
        &self,
        x: &Dense,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        let rows = x.shape().0;
        let width = self.present.len();
        let mut votes = vec![0.0; rows * width];
        for tree in &self.trees {
            let labels: Vec<u32> = tree.predict(x).map_err(predict_failed(ID))?;
            for (row, label) in labels.iter().enumerate() {
                if let Ok(column) = self.present.binary_search(label) {
                    votes[row * width + column] += 1.0;
                }
            }
        }
        let share = 1.0 / self.trees.len().max(1) as f64;
        votes.iter_mut().for_each(|vote| *vote *= share);
        Ok(ClassPrediction::from_probabilities(
            spread(&votes, &self.present, classes)?,
            classes,
        ))
    }

    /// The number of trees.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::{dense, testing};

    /// Guards the mirror: our votes give smartcore's labels.
    #[test]
    fn the_mirrored_trees_vote_as_smartcore_does() {
        let (x, y) = testing::three_blobs();
        let x = dense(&x).unwrap();
        let params = RandomForestClassifierParams {
            n_trees: 15,
            ..RandomForestClassifierParams::default()
        }
        .check()
        .unwrap();
        let ours = params.fit(&x, &y, 7).unwrap();
        assert_eq!(ours.trees(), 15);
        let theirs: RandomForestClassifier<f64, u32, Dense, Vec<u32>> =
            RandomForestClassifier::fit(&x, &y, params.smartcore(2, 7)).unwrap();
        let prediction = ours.predict(&x, 3).unwrap();
        assert_eq!(prediction.labels, theirs.predict(&x).unwrap());
        let probabilities = prediction.probabilities.unwrap();
        assert!(
            probabilities
                .chunks(3)
                .all(|p| (p.iter().sum::<f64>() - 1.0).abs() < 1e-12)
        );
        assert!(
            y.iter()
                .enumerate()
                .all(|(row, &class)| probabilities[row * 3 + class as usize] > 0.5)
        );
    }
}
