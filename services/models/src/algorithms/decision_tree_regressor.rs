//! A regression tree, scikit-learn's `DecisionTreeRegressor`: every feature tried at each
//! split (in an order drawn from the seed), squared-error splits, grown until pure by
//! default; a leaf predicts the mean of its rows. Grown by our CART builder
//! (`cart`), which looks at the cancel at every node.

use crate::algorithms::Cancel;
use crate::algorithms::cart::{Criterion, Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;

const ID: &str = "decision_tree_regressor";

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

    /// Grows the tree on `x` and `y`, giving up once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[f64],
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let plan = Plan {
            trees: 1,
            bootstrap: false,
            growth: Growth {
                algorithm: ID,
                criterion: Criterion::SquaredError,
                splitter: Splitter::Best,
                max_features: x.columns.len(),
                limits: self.0.limits,
            },
        };
        TreeEnsemble::regressor(x, y, &plan, seed, cancel)
    }
}
