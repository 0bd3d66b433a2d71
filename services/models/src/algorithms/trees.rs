//! What the whole tree family shares, and the single trees' parameters.
//!
//! - [`Criterion`]: how a split's quality is measured (Gini or entropy for a classifier,
//!   squared error for a regressor);
//! - [`TreeLimits`]: how far a tree may grow, with scikit-learn's defaults: grown until pure
//!   (`max_depth = none`), `min_samples_leaf = 1`, `min_samples_split = 2`;
//! - [`TreeParams`]: the parameters of the two single trees, each algorithm a [`TreeKind`]
//!   ([`decision_tree_classifier::TREE`](super::decision_tree_classifier::TREE),
//!   [`decision_tree_regressor::TREE`](super::decision_tree_regressor::TREE)); the
//!   forests' are [`ForestParams`](super::forest::ForestParams).

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::cart::TreeEnsemble;
use crate::algorithms::fit::{Fit, Predict};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::forest::ForestValidParams;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, invalid};
use crate::algorithms::registry::AlgorithmId;
use crate::error::ModelsError;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::models::Task;
use mltools_core::utils::Matrix;

/// How a split's quality is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Criterion {
    /// Gini impurity (a classifier's default).
    Gini,
    /// Information gain (classification).
    Entropy,
    /// The weighted variance (a regressor's only criterion).
    SquaredError,
}

/// The documentation of `criterion`, a parameter of the classifiers only.
pub(crate) const CRITERION_DOC: ParamDoc = ParamDoc {
    name: "criterion",
    default: DefaultValue::Text("gini"),
    accepts: "`gini` or `entropy`",
    doc: "How a split's quality is measured.",
};

impl Criterion {
    /// The default of `task`: Gini for a classifier, squared error for a regressor.
    pub fn default_for(task: Task) -> Criterion {
        match task {
            Task::Classification => Criterion::Gini,
            Task::Regression => Criterion::SquaredError,
        }
    }

    /// Its name, as scikit-learn spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::Gini => "gini",
            Criterion::Entropy => "entropy",
            Criterion::SquaredError => "squared_error",
        }
    }

    /// The task it measures splits for.
    pub fn task(self) -> Task {
        match self {
            Criterion::Gini | Criterion::Entropy => Task::Classification,
            Criterion::SquaredError => Task::Regression,
        }
    }

    /// Reads `criterion` for `algorithm`: a parameter of a classifier; a regressor has
    /// none and splits on squared error.
    pub(crate) fn from_params(
        params: &Params<'_>,
        algorithm: AlgorithmId,
    ) -> Result<Criterion, ModelsError> {
        if algorithm.task() == Task::Regression {
            return Ok(Criterion::SquaredError);
        }
        Ok(
            match params.choice("criterion", &["gini", "entropy"], "gini")? {
                "entropy" => Criterion::Entropy,
                _ => Criterion::Gini,
            },
        )
    }

    /// Refuses a criterion of the other task than `algorithm`'s.
    fn check(self, algorithm: AlgorithmId) -> Result<(), ModelsError> {
        if self.task() == algorithm.task() {
            return Ok(());
        }
        let expected = match algorithm.task() {
            Task::Classification => CRITERION_DOC.accepts,
            Task::Regression => "`squared_error` (a regressor's only criterion)",
        };
        Err(invalid(
            algorithm.as_str(),
            "criterion",
            format!("`{}`", self.as_str()),
            expected,
        ))
    }
}

/// How far a tree may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// The deepest a tree may grow; unlimited when `None`.
    pub max_depth: Option<u16>,
    /// The fewest rows a leaf may hold; 1.
    pub min_samples_leaf: usize,
    /// The fewest rows a node needs to be split; 2.
    pub min_samples_split: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_depth: None,
            min_samples_leaf: 1,
            min_samples_split: 2,
        }
    }
}

/// The documentation of the limits.
pub(crate) const LIMIT_DOCS: [ParamDoc; 3] = [
    ParamDoc {
        name: "max_depth",
        default: DefaultValue::Text("none"),
        accepts: "a whole number from 1 to 65535, or `none`",
        doc: "The deepest a tree may grow; `none` grows it until its leaves are pure.",
    },
    ParamDoc {
        name: "min_samples_leaf",
        default: DefaultValue::Integer(1),
        accepts: "a whole number ≥ 1",
        doc: "The fewest training rows a leaf may hold.",
    },
    ParamDoc {
        name: "min_samples_split",
        default: DefaultValue::Integer(2),
        accepts: "a whole number ≥ 2",
        doc: "The fewest training rows a node needs to be split.",
    },
];

impl TreeLimits {
    /// Reads and checks the limits of `algorithm`.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a value out of range.
    pub(crate) fn from_params(params: &Params<'_>) -> Result<TreeLimits, ModelsError> {
        let algorithm = params.algorithm;
        let max_depth =
            match params.integer_or_none("max_depth")? {
                None => None,
                Some(depth) => Some(u16::try_from(depth).ok().filter(|&d| d >= 1).ok_or_else(
                    || invalid(algorithm, "max_depth", depth, LIMIT_DOCS[0].accepts),
                )?),
            };
        Ok(TreeLimits {
            max_depth,
            min_samples_leaf: count(
                algorithm,
                "min_samples_leaf",
                params.integer("min_samples_leaf", 1)?,
                1,
            )?,
            min_samples_split: count(
                algorithm,
                "min_samples_split",
                params.integer("min_samples_split", 2)?,
                2,
            )?,
        })
    }

    /// Checks limits built in code.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a value out of range.
    pub(crate) fn check(&self, algorithm: &'static str) -> Result<(), ModelsError> {
        if self.max_depth == Some(0) {
            return Err(invalid(algorithm, "max_depth", 0, LIMIT_DOCS[0].accepts));
        }
        count(
            algorithm,
            "min_samples_leaf",
            self.min_samples_leaf as i64,
            1,
        )?;
        count(
            algorithm,
            "min_samples_split",
            self.min_samples_split as i64,
            2,
        )?;
        Ok(())
    }
}

/// Checks what every tree of `algorithm` grows by, in a single tree or a forest: a
/// criterion of its task, limits in range.
///
/// # Errors
/// [`ModelsError::InvalidParam`] naming the criterion or the limit.
pub(crate) fn check_growth(
    algorithm: AlgorithmId,
    criterion: Criterion,
    limits: &TreeLimits,
) -> Result<(), ModelsError> {
    criterion.check(algorithm)?;
    limits.check(algorithm.as_str())
}

/// One of the single trees: which algorithm it is (its task follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeKind {
    algorithm: AlgorithmId,
}

impl TreeKind {
    /// The tree `algorithm` is; only its two modules name one.
    pub(crate) const fn new(algorithm: AlgorithmId) -> TreeKind {
        TreeKind { algorithm }
    }

    /// The algorithm.
    pub fn algorithm(self) -> AlgorithmId {
        self.algorithm
    }
}

/// Parameters of a single tree (`decision_tree_classifier`, `decision_tree_regressor`):
/// every feature tried at each split, in an order drawn from the seed, the best cut kept.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeParams {
    /// Which tree.
    pub kind: TreeKind,
    /// The split criterion: Gini for the classifier, squared error for the regressor.
    pub criterion: Criterion,
    /// How far the tree may grow.
    pub limits: TreeLimits,
}

/// Checked [`TreeParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct TreeValidParams(TreeParams);

impl TreeParams {
    /// The defaults of `kind`.
    pub fn new(kind: TreeKind) -> TreeParams {
        TreeParams {
            kind,
            criterion: Criterion::default_for(kind.algorithm.task()),
            limits: TreeLimits::default(),
        }
    }

    /// The documentation of a classification tree's parameters.
    pub(crate) const CLASSIFIER_DOCS: [ParamDoc; 4] =
        [CRITERION_DOC, LIMIT_DOCS[0], LIMIT_DOCS[1], LIMIT_DOCS[2]];

    /// The documentation of a regression tree's parameters.
    pub(crate) const REGRESSOR_DOCS: [ParamDoc; 3] = LIMIT_DOCS;

    pub(crate) fn from_params(kind: TreeKind, params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(TreeParams {
            kind,
            criterion: Criterion::from_params(params, kind.algorithm)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a limit out of range, or a criterion of the other
    /// task.
    pub fn check(self) -> Result<TreeValidParams, ModelsError> {
        check_growth(self.kind.algorithm, self.criterion, &self.limits)?;
        Ok(TreeValidParams(self))
    }
}

impl TreeValidParams {
    /// The parameters.
    pub fn params(&self) -> &TreeParams {
        &self.0
    }

    /// Grows the tree on `x` and `y`, giving up once `cancel` fires: a forest of one tree,
    /// grown on all rows, every feature tried at each split.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        ForestValidParams::single_tree(&self.0).fit_until(x, y, seed, cancel)
    }
}

/// A fully grown tree's bytes on data of `shape`: up to two nodes per training row, a
/// node and its share of the leaf values about 40 bytes.
pub(crate) fn tree_bytes(shape: DataShape) -> u64 {
    shape.rows.saturating_mul(2 * 40)
}

impl Fit for TreeValidParams {
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

    fn working_bytes(&self, shape: DataShape) -> u64 {
        tree_bytes(shape)
    }
}

impl Predict for TreeEnsemble {
    fn predict(&self, x: &Matrix, classes: usize, _: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(match classes {
            0 => Prediction::Regression(self.predict_values(x)?),
            _ => Prediction::Classification(self.predict_classes(x, classes)?),
        })
    }

    fn check(&self, algorithm: AlgorithmId, features: usize, classes: usize) -> Result<(), String> {
        let single = matches!(
            algorithm,
            AlgorithmId::DecisionTreeRegressor | AlgorithmId::DecisionTreeClassifier
        );
        TreeEnsemble::check(self, features, classes, single)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::decision_tree_classifier;
    use crate::algorithms::decision_tree_regressor;

    #[test]
    fn each_tree_has_its_task_default_criterion() {
        let classifier = TreeParams::new(decision_tree_classifier::TREE);
        assert_eq!(classifier.criterion, Criterion::Gini);
        assert_eq!(classifier.limits, TreeLimits::default());
        let regressor = TreeParams::new(decision_tree_regressor::TREE);
        assert_eq!(regressor.criterion, Criterion::SquaredError);
        assert!(classifier.check().is_ok() && regressor.check().is_ok());
    }

    #[test]
    fn a_criterion_of_the_other_task_is_refused_naming_it() {
        let regressor = TreeParams {
            criterion: Criterion::Entropy,
            ..TreeParams::new(decision_tree_regressor::TREE)
        };
        assert_eq!(
            regressor.check().unwrap_err().to_string(),
            "decision_tree_regressor: parameter `criterion` = `entropy`: expected \
             `squared_error` (a regressor's only criterion)"
        );
        let classifier = TreeParams {
            criterion: Criterion::SquaredError,
            ..TreeParams::new(decision_tree_classifier::TREE)
        };
        assert_eq!(
            classifier.check().unwrap_err().to_string(),
            "decision_tree_classifier: parameter `criterion` = `squared_error`: expected \
             `gini` or `entropy`"
        );
    }

    #[test]
    fn a_limit_out_of_range_is_refused_naming_it() {
        let limits = TreeLimits {
            max_depth: Some(0),
            ..TreeLimits::default()
        };
        let params = TreeParams {
            limits,
            ..TreeParams::new(decision_tree_classifier::TREE)
        };
        assert_eq!(
            params.check().unwrap_err().to_string(),
            "decision_tree_classifier: parameter `max_depth` = 0: expected a whole number from \
             1 to 65535, or `none`"
        );
        let limits = TreeLimits {
            min_samples_split: 1,
            ..TreeLimits::default()
        };
        let params = TreeParams {
            limits,
            ..TreeParams::new(decision_tree_regressor::TREE)
        };
        assert_eq!(
            params.check().unwrap_err().to_string(),
            "decision_tree_regressor: parameter `min_samples_split` = 1: expected a whole number \
             ≥ 2"
        );
    }

    #[test]
    fn targets_of_the_other_task_are_refused_naming_the_algorithm() {
        let x = Matrix {
            rows: 2,
            columns: vec!["x".into()],
            values: vec![0.0, 1.0],
        };
        let y = Targets::Regression(vec![0.0, 1.0]);
        let tree = TreeParams::new(decision_tree_classifier::TREE)
            .check()
            .unwrap();
        assert_eq!(
            tree.fit_until(&x, &y, 0, &Cancel::never()).unwrap_err(),
            ModelsError::WrongTask {
                algorithm: "decision_tree_classifier",
                algorithm_task: Task::Classification,
                task: Task::Regression,
            }
        );
    }
}
