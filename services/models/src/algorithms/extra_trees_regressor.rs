//! Extremely randomised trees, scikit-learn's `ExtraTreesRegressor`: 100 squared-error
//! trees on all rows (no bootstrap), one uniform random cut per candidate feature, every
//! feature tried at each split; a row's prediction is the mean of its leaves'. Grown in
//! parallel, each tree from its own seed, the cancel seen at every node.

use crate::algorithms::Cancel;
use crate::algorithms::cart::{Criterion, Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::forest::{self, MaxFeatures};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;

const ID: &str = "extra_trees_regressor";

/// Parameters of extra trees: the random forest regressor's, with no bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTreesRegressorParams {
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; all.
    pub max_features: MaxFeatures,
    /// Each tree on a bootstrap of the rows; false.
    pub bootstrap: bool,
    /// How far each tree may grow.
    pub limits: TreeLimits,
}

impl Default for ExtraTreesRegressorParams {
    fn default() -> Self {
        ExtraTreesRegressorParams {
            n_trees: 100,
            max_features: MaxFeatures::All,
            bootstrap: false,
            limits: TreeLimits::default(),
        }
    }
}

/// Checked [`ExtraTreesRegressorParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTreesRegressorValidParams(ExtraTreesRegressorParams);

impl ExtraTreesRegressorParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        forest::N_TREES_DOC,
        forest::max_features_doc("all"),
        forest::bootstrap_doc(false),
        trees::DOCS[0],
        trees::DOCS[1],
        trees::DOCS[2],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(ExtraTreesRegressorParams {
            n_trees: forest::n_trees(params)?,
            max_features: MaxFeatures::from_params(params, MaxFeatures::All)?,
            bootstrap: forest::bootstrap(params, false)?,
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

    /// Grows the forest on `x` and `y`, giving up once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[f64],
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let params = &self.0;
        let plan = Plan {
            trees: params.n_trees,
            bootstrap: params.bootstrap,
            growth: Growth {
                algorithm: ID,
                criterion: Criterion::SquaredError,
                splitter: Splitter::Random,
                max_features: params.max_features.resolve(x.columns.len()),
                limits: params.limits,
            },
        };
        TreeEnsemble::regressor(x, y, &plan, seed, cancel)
    }
}
