//! [`Estimator`]: an algorithm with checked parameters, ready to fit.

use crate::algorithms::cancel::Cancel;
pub use crate::algorithms::catalogue::Estimator;
use crate::algorithms::dense::check_matrix_with;
use crate::algorithms::fitted::FittedModel;
use crate::algorithms::params::{ParamMap, Params};
use crate::algorithms::registry::AlgorithmId;
use crate::error::ModelsError;
use crate::task::Targets;
use mltools_core::models::ModelSpec;
use mltools_core::utils::Matrix;

impl Estimator {
    /// The algorithm `algorithm` with the documented defaults overridden by `params`.
    ///
    /// # Errors
    /// [`ModelsError::UnknownAlgorithm`], [`ModelsError::UnknownParam`] (listing the
    /// algorithm's parameters) or [`ModelsError::InvalidParam`] (saying what is accepted).
    pub fn new(algorithm: &str, params: &ParamMap) -> Result<Estimator, ModelsError> {
        let id = AlgorithmId::parse(algorithm)?;
        let params = Params {
            algorithm: id.as_str(),
            docs: id.params(),
            map: params,
        };
        params.check_names()?;
        Self::build(id, &params)
    }

    /// The estimator a [`ModelSpec`] names (its pipeline is the caller's business).
    ///
    /// # Errors
    /// As [`Estimator::new`].
    pub fn from_spec(spec: &ModelSpec) -> Result<Estimator, ModelsError> {
        Estimator::new(&spec.algorithm, &spec.params)
    }

    /// The algorithm with its documented defaults.
    pub fn defaults(id: AlgorithmId) -> Estimator {
        let empty = ParamMap::new();
        let params = Params {
            algorithm: id.as_str(),
            docs: id.params(),
            map: &empty,
        };
        // Every algorithm's documented defaults pass its own check (a unit test holds
        // every algorithm to this), so this cannot fail.
        #[allow(clippy::expect_used)]
        Self::build(id, &params).expect("documented defaults are valid")
    }

    /// Fits on `x` (complete numeric features) and `y`; `seed` drives every random choice,
    /// so the same seed gives the same model.
    ///
    /// # Errors
    /// [`ModelsError::WrongTask`] when `y` is for the other task; [`ModelsError::Shape`] when
    /// `x` and `y` disagree, `x` has no columns, or a class code is not below the number of classes; [`ModelsError::NonFinite`] for a missing feature value;
    /// [`ModelsError::TooFewRows`]; [`ModelsError::Fit`] when the algorithm fails;
    /// [`ModelsError::InvalidParam`] when a tree-family variant holds another algorithm's
    /// parameters.
    pub fn fit(&self, x: &Matrix, y: &Targets, seed: u64) -> Result<FittedModel, ModelsError> {
        self.fit_until(x, y, seed, &Cancel::never())
    }

    /// As [`Estimator::fit`], giving up once `cancel` fires: the SVM solvers (every 64
    /// iterations, between machines and Platt folds), L-BFGS (every iteration), Gaussian
    /// naive Bayes (every class), the trees and forests (every node, and every candidate
    /// feature of a node of more than 10,000 rows) and the linear models (every block of
    /// rows, QR column, Jacobi sweep and coordinate-descent epoch) look at it.
    ///
    /// # Errors
    /// As [`Estimator::fit`]; [`ModelsError::Cancelled`] once `cancel` fires.
    pub fn fit_until(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<FittedModel, ModelsError> {
        cancel.check()?;
        let id = self.id();
        if id.task() != y.task() {
            return Err(ModelsError::WrongTask {
                algorithm: id.as_str(),
                algorithm_task: id.task(),
                task: y.task(),
            });
        }
        let fitter = self.fitter();
        check_matrix_with(x, id.takes_missing_values())?;
        if x.rows != y.len() {
            return Err(ModelsError::Shape {
                reason: format!("{} feature rows but {} targets", x.rows, y.len()),
            });
        }
        // A model of no features could be neither checked nor stored as one.
        if x.columns.is_empty() {
            return Err(ModelsError::Shape {
                reason: format!("{id} needs at least one feature column, got none"),
            });
        }
        if let Targets::Classification { codes, classes } = y
            && let Some(row) = codes
                .iter()
                .position(|&code| code as usize >= classes.len())
        {
            return Err(ModelsError::Shape {
                reason: format!(
                    "row {row}: class code {} is past the {} classes",
                    codes[row],
                    classes.len()
                ),
            });
        }
        if x.rows < 2 {
            return Err(ModelsError::TooFewRows {
                reason: format!("{id} needs at least 2 training rows, got {}", x.rows),
            });
        }
        // A parameter type that serves several algorithms (the tree family's) must hold
        // this one's.
        if let Some(kind) = fitter.algorithm()
            && kind != id
        {
            return Err(ModelsError::InvalidParam {
                algorithm: id.as_str(),
                param: "kind",
                value: kind.to_string(),
                expected: format!("the parameters of {id}"),
            });
        }
        let model = fitter.fit(x, y, seed, cancel)?;
        Ok(FittedModel::new(
            id,
            x.columns.clone(),
            y.class_count(),
            model,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;
    use crate::algorithms::forest::ForestParams;
    use crate::algorithms::trees::TreeParams;
    use crate::algorithms::{decision_tree_classifier, extra_trees_classifier};

    #[test]
    fn a_tree_family_variant_refuses_the_parameters_of_another_algorithm() {
        let (x, codes) = testing::blobs();
        let y = Targets::Classification {
            codes,
            classes: vec!["a".into(), "b".into()],
        };
        let extra_trees = ForestParams::new(extra_trees_classifier::FOREST)
            .check()
            .unwrap();
        let mislabelled = Estimator::RandomForestClassifier(extra_trees);
        assert_eq!(
            mislabelled.fit(&x, &y, 0).unwrap_err().to_string(),
            "random_forest_classifier: parameter `kind` = extra_trees_classifier: expected the \
             parameters of random_forest_classifier"
        );
        let tree = TreeParams::new(decision_tree_classifier::TREE)
            .check()
            .unwrap();
        let mislabelled = Estimator::DecisionTreeRegressor(tree.clone());
        let values = Targets::Regression(vec![0.0; x.rows]);
        assert!(matches!(
            mislabelled.fit(&x, &values, 0),
            Err(ModelsError::InvalidParam { param: "kind", .. })
        ));
        assert!(
            Estimator::DecisionTreeClassifier(tree)
                .fit(&x, &y, 0)
                .is_ok()
        );
    }
}
