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

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::FitLimits;
use crate::algorithms::cart::{Growth, Plan, Splitter, TreeEnsemble};
use crate::algorithms::fit::Fit;
use crate::algorithms::fitted::Fitted;
use crate::algorithms::limits::within;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::trees::tree_bytes;
use crate::algorithms::trees::{
    CRITERION_DOC, Criterion, LIMIT_DOCS, TreeLimits, TreeParams, check_growth,
};
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::models::{ParamValue, Task};
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
        check_trees(self.kind.algorithm.as_str(), self.n_trees)?;
        check_growth(self.kind.algorithm, self.criterion, &self.limits)?;
        Ok(ForestValidParams(self))
    }
}

impl ForestValidParams {
    /// The parameters.
    pub fn params(&self) -> &ForestParams {
        &self.0
    }

    /// A single tree as a forest of one: grown on all rows, every feature tried at each
    /// split, the best cut kept. `tree` was checked, and one tree is a valid count.
    pub(crate) fn single_tree(tree: &TreeParams) -> ForestValidParams {
        ForestValidParams(ForestParams {
            kind: ForestKind {
                algorithm: tree.kind.algorithm(),
                splitter: Splitter::Best,
                max_features: MaxFeatures::All,
                bootstrap: false,
            },
            n_trees: 1,
            max_features: MaxFeatures::All,
            bootstrap: false,
            criterion: tree.criterion,
            limits: tree.limits,
        })
    }

    /// Grows the forest on `x` and `y` (a regressor on values, a classifier on class
    /// codes), giving up once `cancel` fires.
    ///
    /// # Errors
    /// [`ModelsError::WrongTask`] when `y` is for the other task; as
    /// [`TreeEnsemble::classifier`] and [`TreeEnsemble::regressor`].
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
        match (params.criterion.task(), y) {
            (Task::Regression, Targets::Regression(values)) => {
                TreeEnsemble::regressor(x, values, &plan, seed, cancel)
            }
            (Task::Classification, Targets::Classification { codes, .. }) => {
                TreeEnsemble::classifier(x, codes, &plan, seed, cancel)
            }
            (algorithm_task, _) => Err(ModelsError::WrongTask {
                algorithm: algorithm.as_str(),
                algorithm_task,
                task: y.task(),
            }),
        }
    }
}

impl Fit for ForestValidParams {
    fn fit(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<Fitted, ModelsError> {
        Ok(Fitted::Trees(self.fit_until(x, y, seed, cancel)?))
    }

    fn algorithm(&self) -> Option<AlgorithmId> {
        Some(self.params().kind.algorithm())
    }

    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        within(
            id,
            "n_trees",
            self.params().n_trees,
            limits.max_trees,
            "max_trees",
        )
    }

    /// Its fully grown trees.
    fn working_bytes(&self, shape: DataShape) -> u64 {
        tree_bytes(shape).saturating_mul(self.params().n_trees as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::{
        extra_trees_classifier, extra_trees_regressor, random_forest_classifier,
        random_forest_regressor,
    };

    #[test]
    fn each_forest_has_its_own_defaults() {
        let defaults = |kind: ForestKind| {
            let params = ForestParams::new(kind);
            assert_eq!(params.n_trees, 100);
            assert_eq!(params.limits, TreeLimits::default());
            (params.max_features, params.bootstrap, params.criterion)
        };
        use Criterion::{Gini, SquaredError};
        use MaxFeatures::{All, Sqrt};
        assert_eq!(
            defaults(random_forest_classifier::FOREST),
            (Sqrt, true, Gini)
        );
        assert_eq!(
            defaults(extra_trees_classifier::FOREST),
            (Sqrt, false, Gini)
        );
        assert_eq!(
            defaults(random_forest_regressor::FOREST),
            (All, true, SquaredError)
        );
        assert_eq!(
            defaults(extra_trees_regressor::FOREST),
            (All, false, SquaredError)
        );
        assert_eq!(
            extra_trees_regressor::FOREST.algorithm(),
            AlgorithmId::ExtraTreesRegressor
        );
    }

    #[test]
    fn a_bad_count_or_criterion_is_refused_naming_it() {
        let none = ForestParams {
            n_trees: 0,
            ..ForestParams::new(random_forest_regressor::FOREST)
        };
        assert_eq!(
            none.check().unwrap_err().to_string(),
            "random_forest_regressor: parameter `n_trees` = 0: expected a whole number from 1 \
             to 65535"
        );
        let gini = ForestParams {
            criterion: Criterion::Gini,
            ..ForestParams::new(extra_trees_regressor::FOREST)
        };
        assert_eq!(
            gini.check().unwrap_err().to_string(),
            "extra_trees_regressor: parameter `criterion` = `gini`: expected `squared_error` (a \
             regressor's only criterion)"
        );
        let shallow = ForestParams {
            limits: TreeLimits {
                min_samples_leaf: 0,
                ..TreeLimits::default()
            },
            ..ForestParams::new(extra_trees_classifier::FOREST)
        };
        assert_eq!(
            shallow.check().unwrap_err().to_string(),
            "extra_trees_classifier: parameter `min_samples_leaf` = 0: expected a whole number ≥ 1"
        );
    }

    #[test]
    fn targets_of_the_other_task_are_refused_naming_the_forest() {
        let x = Matrix {
            rows: 2,
            columns: vec!["x".into()],
            values: vec![0.0, 1.0],
        };
        let y = Targets::Classification {
            codes: vec![0, 1],
            classes: vec!["a".into(), "b".into()],
        };
        let forest = ForestParams::new(random_forest_regressor::FOREST)
            .check()
            .unwrap();
        assert_eq!(
            forest.fit_until(&x, &y, 0, &Cancel::never()).unwrap_err(),
            ModelsError::WrongTask {
                algorithm: "random_forest_regressor",
                algorithm_task: Task::Regression,
                task: Task::Classification,
            }
        );
    }

    #[test]
    fn max_features_resolves_within_one_and_the_features() {
        assert_eq!(MaxFeatures::Sqrt.resolve(64), 8);
        assert_eq!(MaxFeatures::Log2.resolve(64), 6);
        assert_eq!(MaxFeatures::Count(100).resolve(4), 4);
        assert_eq!(MaxFeatures::Sqrt.resolve(1), 1);
        assert_eq!(MaxFeatures::Log2.resolve(1), 1);
    }
}
