//! A random forest of classification trees, scikit-learn's `RandomForestClassifier`: 100
//! Gini trees, each on a bootstrap of the rows, √p features tried at each split;
//! probabilities, as scikit-learn's, are the mean over the trees of the class fractions in
//! the leaf a row falls in, and the label the most probable class (the lowest code among
//! ties). The trees grow in parallel on the fit's pool, each from its own seed, so the
//! forest is the same on any number of threads; the cancel is seen at every node.

use crate::algorithms::Cancel;
use crate::algorithms::cart::{Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::decision_tree_classifier::{CRITERION_DOC, Criterion};
use crate::algorithms::forest::{self, MaxFeatures};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;

const ID: &str = "random_forest_classifier";

/// Parameters of a random forest classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestClassifierParams {
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; √p.
    pub max_features: MaxFeatures,
    /// Each tree on a bootstrap of the rows; true.
    pub bootstrap: bool,
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
            bootstrap: true,
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
        forest::bootstrap_doc(true),
        CRITERION_DOC,
        trees::DOCS[0],
        trees::DOCS[1],
        trees::DOCS[2],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(RandomForestClassifierParams {
            n_trees: forest::n_trees(params)?,
            max_features: MaxFeatures::from_params(params, MaxFeatures::Sqrt)?,
            bootstrap: forest::bootstrap(params, true)?,
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

impl RandomForestClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &RandomForestClassifierParams {
        &self.0
    }

    /// Grows the forest on `x` and the class codes `y`, giving up once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[u32],
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let params = &self.0;
        let plan = Plan {
            trees: params.n_trees,
            bootstrap: params.bootstrap,
            growth: Growth {
                algorithm: ID,
                criterion: params.criterion.cart(),
                splitter: Splitter::Best,
                max_features: params.max_features.resolve(x.columns.len()),
                limits: params.limits,
            },
        };
        TreeEnsemble::classifier(x, y, &plan, seed, cancel)
    }
}

#[cfg(test)]
mod tests;
