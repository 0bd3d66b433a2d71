//! A classification tree (smartcore's `DecisionTreeClassifier`), scikit-learn's
//! `DecisionTreeClassifier`: Gini splits, grown until pure by default.

use crate::algorithms::dense::{Dense, fit_failed, predict_failed, present_classes, spread};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::algorithms::validate::ClassTreeMirror;
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::arrays::Array;
use smartcore::tree::decision_tree_classifier::{
    DecisionTreeClassifier, DecisionTreeClassifierParameters, SplitCriterion,
};

const ID: &str = "decision_tree_classifier";

/// A fitted smartcore classification tree.
pub type ClassificationTree = DecisionTreeClassifier<f64, u32, Dense, Vec<u32>>;

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

    pub(crate) fn smartcore(self) -> SplitCriterion {
        match self {
            Criterion::Gini => SplitCriterion::Gini,
            Criterion::Entropy => SplitCriterion::Entropy,
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

/// A fitted classification tree with the classes it saw.
#[derive(Debug, Serialize, Deserialize)]
pub struct TreeClassifierModel {
    tree: ClassificationTree,
    present: Vec<u32>,
}

impl DecisionTreeClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &DecisionTreeClassifierParams {
        &self.0
    }

    pub(crate) fn fit(
        &self,
        x: &Dense,
        y: &[u32],
        seed: u64,
    ) -> Result<TreeClassifierModel, ModelsError> {
        let limits = self.0.limits;
        let parameters = DecisionTreeClassifierParameters {
            criterion: self.0.criterion.smartcore(),
            max_depth: limits.max_depth,
            min_samples_leaf: limits.min_samples_leaf,
            min_samples_split: limits.min_samples_split,
            seed: Some(seed),
        };
        let tree =
            DecisionTreeClassifier::fit(x, &y.to_vec(), parameters).map_err(fit_failed(ID))?;
        Ok(TreeClassifierModel {
            tree,
            present: present_classes(y),
        })
    }
}

impl TreeClassifierModel {
    /// Checks a decoded model: the tree (see [`ClassTreeMirror::check`]) and its classes,
    /// one per present class code, ascending below `classes`.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        let tree: ClassTreeMirror =
            crate::algorithms::dense::mirror(ID, &self.tree).map_err(|error| error.to_string())?;
        tree.check("the tree", features)?;
        crate::algorithms::validate::class_codes("the class list", &self.present, classes)?;
        if tree.classes != self.present {
            return Err(format!(
                "the tree's {} classes are not the model's {}",
                tree.classes.len(),
                self.present.len()
            ));
        }
        Ok(())
    }

    pub(crate) fn predict(
        &self,
        x: &Dense,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        let probabilities = self.tree.predict_proba(x).map_err(predict_failed(ID))?;
        let (rows, columns) = probabilities.shape();
        let mut present = Vec::with_capacity(rows * columns);
        for row in 0..rows {
            present.extend((0..columns).map(|column| *probabilities.get((row, column))));
        }
        Ok(ClassPrediction::from_probabilities(
            spread(&present, &self.present, classes)?,
            classes,
        ))
    }
}
