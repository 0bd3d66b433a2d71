//! Extremely randomised classification trees, scikit-learn's `ExtraTreesClassifier`: 100
//! Gini trees on all rows (no bootstrap), one uniform random cut per candidate feature, √p
//! features tried at each split; probabilities are the mean of the trees' leaf class
//! fractions, as the random forest classifier's. In the catalogue, not among the default
//! candidates of a comparison (see [`AlgorithmId::of_task`](super::AlgorithmId::of_task)).

use crate::algorithms::Cancel;
use crate::algorithms::cart::{Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::decision_tree_classifier::{CRITERION_DOC, Criterion};
use crate::algorithms::forest::{self, MaxFeatures};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;

const ID: &str = "extra_trees_classifier";

/// Parameters of extra trees for classification.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTreesClassifierParams {
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; √p.
    pub max_features: MaxFeatures,
    /// Each tree on a bootstrap of the rows; false.
    pub bootstrap: bool,
    /// The split criterion; Gini.
    pub criterion: Criterion,
    /// How far each tree may grow.
    pub limits: TreeLimits,
}

impl Default for ExtraTreesClassifierParams {
    fn default() -> Self {
        ExtraTreesClassifierParams {
            n_trees: 100,
            max_features: MaxFeatures::Sqrt,
            bootstrap: false,
            criterion: Criterion::Gini,
            limits: TreeLimits::default(),
        }
    }
}

/// Checked [`ExtraTreesClassifierParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtraTreesClassifierValidParams(ExtraTreesClassifierParams);

impl ExtraTreesClassifierParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        forest::N_TREES_DOC,
        forest::max_features_doc("sqrt"),
        forest::bootstrap_doc(false),
        CRITERION_DOC,
        trees::DOCS[0],
        trees::DOCS[1],
        trees::DOCS[2],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(ExtraTreesClassifierParams {
            n_trees: forest::n_trees(params)?,
            max_features: MaxFeatures::from_params(params, MaxFeatures::Sqrt)?,
            bootstrap: forest::bootstrap(params, false)?,
            criterion: Criterion::from_params(params)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a count or limit out of range.
    pub fn check(self) -> Result<ExtraTreesClassifierValidParams, ModelsError> {
        forest::check_trees(ID, self.n_trees)?;
        self.limits.check(ID)?;
        Ok(ExtraTreesClassifierValidParams(self))
    }
}

impl ExtraTreesClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &ExtraTreesClassifierParams {
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
                splitter: Splitter::Random,
                max_features: params.max_features.resolve(x.columns.len()),
                limits: params.limits,
            },
        };
        TreeEnsemble::classifier(x, y, &plan, seed, cancel)
    }
}
