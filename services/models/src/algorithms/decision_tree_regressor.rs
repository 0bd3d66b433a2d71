//! A regression tree (smartcore's `DecisionTreeRegressor`), scikit-learn's
//! `DecisionTreeRegressor`: squared-error splits, grown until pure by default.

use crate::algorithms::dense::{Dense, fit_failed, predict_failed};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use smartcore::tree::decision_tree_regressor::{
    DecisionTreeRegressor, DecisionTreeRegressorParameters,
};

const ID: &str = "decision_tree_regressor";

/// The fitted tree.
pub type RegressionTree = DecisionTreeRegressor<f64, f64, Dense, Vec<f64>>;

/// Parameters of a regression tree.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecisionTreeRegressorParams {
    /// How far the tree may grow.
    pub limits: TreeLimits,
}

/// Checked [`DecisionTreeRegressorParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTreeRegressorValidParams(DecisionTreeRegressorParams);

impl DecisionTreeRegressorParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &trees::DOCS;

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(DecisionTreeRegressorParams {
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a limit out of range.
    pub fn check(self) -> Result<DecisionTreeRegressorValidParams, ModelsError> {
        self.limits.check(ID)?;
        Ok(DecisionTreeRegressorValidParams(self))
    }
}

impl DecisionTreeRegressorValidParams {
    /// The parameters.
    pub fn params(&self) -> &DecisionTreeRegressorParams {
        &self.0
    }

    pub(crate) fn fit(
        &self,
        x: &Dense,
        y: &[f64],
        seed: u64,
    ) -> Result<RegressionTree, ModelsError> {
        let limits = self.0.limits;
        let parameters = DecisionTreeRegressorParameters {
            max_depth: limits.max_depth,
            min_samples_leaf: limits.min_samples_leaf,
            min_samples_split: limits.min_samples_split,
            seed: Some(seed),
        };
        DecisionTreeRegressor::fit(x, &y.to_vec(), parameters).map_err(fit_failed(ID))
    }
}

/// Predicts with a fitted tree.
///
/// # Errors
/// What smartcore reports.
pub(crate) fn predict(tree: &RegressionTree, x: &Dense) -> Result<Vec<f64>, ModelsError> {
    tree.predict(x).map_err(predict_failed(ID))
}
