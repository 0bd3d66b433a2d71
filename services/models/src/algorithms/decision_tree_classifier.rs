//! A classification tree, scikit-learn's `DecisionTreeClassifier`: every feature tried at
//! each split (in an order drawn from the seed), Gini splits, grown until pure by default;
//! its probabilities are the class fractions of the leaf a row falls in. Grown by our
//! CART builder (`cart`), which looks at the cancel at every node.

use crate::algorithms::Cancel;
use crate::algorithms::cart::{self, Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;

const ID: &str = "decision_tree_classifier";

/// How a classification tree measures a split's quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// Gini impurity (the default).
    Gini,
    /// Information gain.
    Entropy,
}

/// The documentation of `criterion`.
pub(crate) const CRITERION_DOC: ParamDoc = ParamDoc {
    name: "criterion",
    default: DefaultValue::Text("gini"),
    accepts: "`gini` or `entropy`",
    doc: "How a split's quality is measured.",
};

impl Criterion {
    pub(crate) fn from_params(params: &Params<'_>) -> Result<Criterion, ModelsError> {
        Ok(
            match params.choice("criterion", &["gini", "entropy"], "gini")? {
                "entropy" => Criterion::Entropy,
                _ => Criterion::Gini,
            },
        )
    }

    /// The builder's criterion.
    pub(crate) fn cart(self) -> cart::Criterion {
        match self {
            Criterion::Gini => cart::Criterion::Gini,
            Criterion::Entropy => cart::Criterion::Entropy,
        }
    }
}

/// Parameters of a classification tree.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTreeClassifierParams {
    /// The split criterion; Gini.
    pub criterion: Criterion,
    /// How far the tree may grow.
    pub limits: TreeLimits,
}

impl Default for DecisionTreeClassifierParams {
    fn default() -> Self {
        DecisionTreeClassifierParams {
            criterion: Criterion::Gini,
            limits: TreeLimits::default(),
        }
    }
}

/// Checked [`DecisionTreeClassifierParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTreeClassifierValidParams(DecisionTreeClassifierParams);

impl DecisionTreeClassifierParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        CRITERION_DOC,
        trees::DOCS[0],
        trees::DOCS[1],
        trees::DOCS[2],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(DecisionTreeClassifierParams {
            criterion: Criterion::from_params(params)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a limit out of range.
    pub fn check(self) -> Result<DecisionTreeClassifierValidParams, ModelsError> {
        self.limits.check(ID)?;
        Ok(DecisionTreeClassifierValidParams(self))
    }
}

impl DecisionTreeClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &DecisionTreeClassifierParams {
        &self.0
    }

    /// Grows the tree on `x` and the class codes `y`, giving up once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[u32],
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let plan = Plan {
            trees: 1,
            bootstrap: false,
            growth: Growth {
                algorithm: ID,
                criterion: self.0.criterion.cart(),
                splitter: Splitter::Best,
                max_features: x.columns.len(),
                limits: self.0.limits,
            },
        };
        TreeEnsemble::classifier(x, y, &plan, seed, cancel)
    }
}
