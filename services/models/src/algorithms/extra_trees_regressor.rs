//! Extremely randomised trees (smartcore's `ExtraTreesRegressor`), scikit-learn's
//! `ExtraTreesRegressor`: 100 trees on all rows (no bootstrap), random cut points, every
//! feature tried at each split. smartcore defaults to 10 trees and √p features.

use crate::algorithms::dense::{Dense, fit_failed, predict_failed};
use crate::algorithms::forest::{self, MaxFeatures};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::random_forest_regressor::RandomForestRegressorParams;
use crate::algorithms::trees::TreeLimits;
use crate::error::ModelsError;
use smartcore::ensemble::extra_trees_regressor::{
    ExtraTreesRegressor, ExtraTreesRegressorParameters,
};
use smartcore::linalg::basic::arrays::Array;

const ID: &str = "extra_trees_regressor";

/// The fitted forest.
pub type ExtraTreesForest = ExtraTreesRegressor<f64, f64, Dense, Vec<f64>>;

/// Parameters of extra trees: the random forest regressor's, with the same defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTreesRegressorParams {
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; all.
    pub max_features: MaxFeatures,
    /// How far each tree may grow.
    pub limits: TreeLimits,
}

impl Default for ExtraTreesRegressorParams {
    fn default() -> Self {
        ExtraTreesRegressorParams {
            n_trees: 100,
            max_features: MaxFeatures::All,
            limits: TreeLimits::default(),
        }
    }
}

/// Checked [`ExtraTreesRegressorParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTreesRegressorValidParams(ExtraTreesRegressorParams);

impl ExtraTreesRegressorParams {
    pub(crate) const DOCS: &'static [ParamDoc] = RandomForestRegressorParams::DOCS;

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(ExtraTreesRegressorParams {
            n_trees: forest::n_trees(params)?,
            max_features: MaxFeatures::from_params(params, MaxFeatures::All)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a count or limit out of range.
    pub fn check(self) -> Result<ExtraTreesRegressorValidParams, ModelsError> {
        forest::check_trees(ID, self.n_trees)?;
        self.limits.check(ID)?;
        Ok(ExtraTreesRegressorValidParams(self))
    }
}

impl ExtraTreesRegressorValidParams {
    /// The parameters.
    pub fn params(&self) -> &ExtraTreesRegressorParams {
        &self.0
    }

    pub(crate) fn fit(
        &self,
        x: &Dense,
        y: &[f64],
        seed: u64,
    ) -> Result<ExtraTreesForest, ModelsError> {
        let ExtraTreesRegressorParams {
            n_trees,
            max_features,
            limits,
        } = self.0;
        let parameters = ExtraTreesRegressorParameters {
            max_depth: limits.max_depth,
            min_samples_leaf: limits.min_samples_leaf,
            min_samples_split: limits.min_samples_split,
            n_trees,
            m: Some(max_features.resolve(x.shape().1)),
            keep_samples: false,
            seed,
        };
        ExtraTreesRegressor::fit(x, &y.to_vec(), parameters).map_err(fit_failed(ID))
    }
}

/// Predicts with a fitted forest.
///
/// # Errors
/// What smartcore reports.
pub(crate) fn predict(forest: &ExtraTreesForest, x: &Dense) -> Result<Vec<f64>, ModelsError> {
    forest.predict(x).map_err(predict_failed(ID))
}
