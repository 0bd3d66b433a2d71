//! The forests' parameters: [`ForestParams`], one type for the four forests, each
//! algorithm a [`ForestKind`] that holds what sets it apart (its splitter and its defaults
//! of `max_features` and `bootstrap`):
//! [`random_forest_classifier::FOREST`](super::random_forest_classifier::FOREST),
//! [`random_forest_regressor::FOREST`](super::random_forest_regressor::FOREST),
//! [`extra_trees_classifier::FOREST`](super::extra_trees_classifier::FOREST),
//! [`extra_trees_regressor::FOREST`](super::extra_trees_regressor::FOREST).
//!
//! The trees of a forest grow in parallel on the fit's pool, each from its own seed, so the
//! forest is the same on any number of threads; the cancel is seen at every node.

use crate::algorithms::Cancel;
use crate::algorithms::cart::{Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::trees::{self, CRITERION_DOC, Criterion, LIMIT_DOCS, TreeLimits};
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::models::ParamValue;
use mltools_core::utils::Matrix;

/// How many features a split may choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxFeatures {
    /// Every feature (scikit-learn's regressors' default, `1.0`).
    All,
    /// ⌊√p⌋ (scikit-learn's classifiers' default).
    Sqrt,
    /// ⌊log₂ p⌋.
    Log2,
    /// This many (at most p).
    Count(usize),
}

impl MaxFeatures {
    /// The count for `features` columns, at least 1.
    pub fn resolve(self, features: usize) -> usize {
        let count = match self {
            MaxFeatures::All => features,
            MaxFeatures::Sqrt => (features as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (features as f64).log2().floor() as usize,
            MaxFeatures::Count(count) => count.min(features),
        };
        count.max(1)
    }

    /// Its documented default: a word, or a count.
    const fn doc_default(self) -> DefaultValue {
        match self {
            MaxFeatures::All => DefaultValue::Text("all"),
            MaxFeatures::Sqrt => DefaultValue::Text("sqrt"),
            MaxFeatures::Log2 => DefaultValue::Text("log2"),
            MaxFeatures::Count(count) => DefaultValue::Integer(count as i64),
        }
    }

    fn from_params(params: &Params<'_>, default: MaxFeatures) -> Result<MaxFeatures, ModelsError> {
        match params.raw("max_features") {
            None => Ok(default),
            Some(ParamValue::Text(text)) => match text.as_str() {
                "all" => Ok(MaxFeatures::All),
                "sqrt" => Ok(MaxFeatures::Sqrt),
                "log2" => Ok(MaxFeatures::Log2),
                _ => Err(params.refuse("max_features", &ParamValue::Text(text.clone()))),
            },
            Some(_) => Ok(MaxFeatures::Count(count(
                params.algorithm,
                "max_features",
                params.integer("max_features", 1)?,
                1,
            )?)),
        }
    }
}

/// The documentation of `n_trees`.
const N_TREES_DOC: ParamDoc = ParamDoc {
    name: "n_trees",
    default: DefaultValue::Integer(100),
    accepts: "a whole number from 1 to 65535",
    doc: "The number of trees (scikit-learn's `n_estimators`).",
};

/// The documentation of `max_features`, with its default.
const fn max_features_doc(default: MaxFeatures) -> ParamDoc {
    ParamDoc {
        name: "max_features",
        default: default.doc_default(),
        accepts: "`all`, `sqrt`, `log2` or a whole number ≥ 1",
        doc: "How many randomly chosen features each split may try.",
    }
}

/// The documentation of `bootstrap`, with its default.
const fn bootstrap_doc(default: bool) -> ParamDoc {
    ParamDoc {
        name: "bootstrap",
        default: DefaultValue::Bool(default),
        accepts: "`true` or `false`",
        doc: "Whether each tree is grown on a bootstrap sample of the rows (drawn with \
              replacement) rather than on all of them.",
    }
}

/// Reads `n_trees`: 1 to 65535 (a model file holds at most that many trees).
fn n_trees(params: &Params<'_>) -> Result<usize, ModelsError> {
    let trees = count(
        params.algorithm,
        "n_trees",
        params.integer("n_trees", 100)?,
        1,
    )?;
    check_trees(params.algorithm, trees)
}

/// Checks a tree count.
fn check_trees(algorithm: &'static str, trees: usize) -> Result<usize, ModelsError> {
    crate::algorithms::params::require(
        (1..=usize::from(u16::MAX)).contains(&trees),
        algorithm,
        "n_trees",
        trees,
        N_TREES_DOC.accepts,
    )?;
    Ok(trees)
}

/// One of the forests: which algorithm it is (its task follows), how it cuts, and its
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForestKind {
    algorithm: AlgorithmId,
    splitter: Splitter,
    max_features: MaxFeatures,
    bootstrap: bool,
}

impl ForestKind {
    /// A random forest: the best cut of each candidate feature, each tree on a bootstrap
    /// of the rows; only the four forest modules name one.
    pub(crate) const fn random_forest(algorithm: AlgorithmId, max_features: MaxFeatures) -> Self {
        ForestKind {
            algorithm,
            splitter: Splitter::Best,
            max_features,
            bootstrap: true,
        }
    }

    /// Extra trees: one uniform random cut per candidate feature, each tree on all rows.
    pub(crate) const fn extra_trees(algorithm: AlgorithmId, max_features: MaxFeatures) -> Self {
        ForestKind {
            algorithm,
            splitter: Splitter::Random,
            max_features,
            bootstrap: false,
        }
    }

    /// The algorithm.
    pub fn algorithm(self) -> AlgorithmId {
        self.algorithm
    }

    /// The documentation of a classifier's parameters, with this forest's defaults.
    pub(crate) const fn classifier_docs(self) -> [ParamDoc; 7] {
        [
            N_TREES_DOC,
            max_features_doc(self.max_features),
            bootstrap_doc(self.bootstrap),
            CRITERION_DOC,
            LIMIT_DOCS[0],
            LIMIT_DOCS[1],
            LIMIT_DOCS[2],
        ]
    }

    /// The documentation of a regressor's parameters, with this forest's defaults.
    pub(crate) const fn regressor_docs(self) -> [ParamDoc; 6] {
        [
            N_TREES_DOC,
            max_features_doc(self.max_features),
            bootstrap_doc(self.bootstrap),
            LIMIT_DOCS[0],
            LIMIT_DOCS[1],
            LIMIT_DOCS[2],
        ]
    }
}

/// Parameters of a forest (`random_forest_*`, `extra_trees_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct ForestParams {
    /// Which forest.
    pub kind: ForestKind,
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; √p for the classifiers, all for the regressors.
    pub max_features: MaxFeatures,
    /// Each tree on a bootstrap of the rows; true for the random forests, false for extra
    /// trees.
    pub bootstrap: bool,
    /// The split criterion: Gini for the classifiers, squared error for the regressors.
    pub criterion: Criterion,
    /// How far each tree may grow.
    pub limits: TreeLimits,
}

/// Checked [`ForestParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct ForestValidParams(ForestParams);

impl ForestParams {
    /// The defaults of `kind`.
    pub fn new(kind: ForestKind) -> ForestParams {
        ForestParams {
            kind,
            n_trees: 100,
            max_features: kind.max_features,
            bootstrap: kind.bootstrap,
            criterion: Criterion::default_for(kind.algorithm.task()),
            limits: TreeLimits::default(),
        }
    }

    pub(crate) fn from_params(kind: ForestKind, params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(ForestParams {
            kind,
            n_trees: n_trees(params)?,
            max_features: MaxFeatures::from_params(params, kind.max_features)?,
            bootstrap: params.boolean("bootstrap", kind.bootstrap)?,
            criterion: Criterion::from_params(params, kind.algorithm)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a count or limit out of range, or a criterion of
    /// the other task.
    pub fn check(self) -> Result<ForestValidParams, ModelsError> {
        let algorithm = self.kind.algorithm;
        check_trees(algorithm.as_str(), self.n_trees)?;
        self.criterion.check(algorithm)?;
        self.limits.check(algorithm.as_str())?;
        Ok(ForestValidParams(self))
    }
}

impl ForestValidParams {
    /// The parameters.
    pub fn params(&self) -> &ForestParams {
        &self.0
    }

    /// Grows the forest on `x` and `y`, giving up once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let params = &self.0;
        let algorithm = params.kind.algorithm;
        let plan = Plan {
            trees: params.n_trees,
            bootstrap: params.bootstrap,
            growth: Growth {
                algorithm: algorithm.as_str(),
                criterion: params.criterion,
                splitter: params.kind.splitter,
                max_features: params.max_features.resolve(x.columns.len()),
                limits: params.limits,
            },
        };
        trees::grow(algorithm, &plan, x, y, seed, cancel)
    }
}
