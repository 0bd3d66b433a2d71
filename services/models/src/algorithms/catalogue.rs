//! The catalogue: every algorithm once, in one list. From it come the [`AlgorithmId`]
//! enum and [`AlgorithmId::ALL`], each algorithm's registry entry (id, task, family,
//! whether it gives probabilities, doc, parameters, whether a comparison fits it by
//! default), the [`Estimator`] enum with its parameter parsing and fitting dispatch, and
//! which stored [`Fitted`] form each algorithm's model takes. Adding an algorithm is a
//! module implementing [`Fit`] (its valid parameters) and [`Predict`](super::fit::Predict)
//! (its fitted state, when it has a new one), and one entry here.
//!
//! The list's order is the variants' order, which numbers the algorithm in a stored
//! model's bytes: a new algorithm goes at the end. `rank` is its place in
//! [`AlgorithmId::ALL`] (regression first, then classification), the leaderboards'
//! tie-break order.

use crate::algorithms::fit::Fit;
use crate::algorithms::fitted::Fitted;
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::{
    decision_tree_classifier, decision_tree_regressor,
    elastic_net::{ElasticNetParams, ElasticNetValidParams},
    extra_trees_classifier, extra_trees_regressor,
    forest::{ForestParams, ForestValidParams},
    gaussian_nb::{GaussianNbParams, GaussianNbValidParams},
    hist_gradient_boosting::{self, BoostingParams, BoostingValidParams},
    knn_classifier::{KnnClassifierParams, KnnClassifierValidParams},
    knn_regressor::{KnnRegressorParams, KnnRegressorValidParams},
    lasso::{LassoParams, LassoValidParams},
    linear_regression::{LinearRegressionParams, LinearRegressionValidParams},
    logistic_regression::{LogisticRegressionParams, LogisticRegressionValidParams},
    random_forest_classifier, random_forest_regressor,
    ridge::{RidgeParams, RidgeValidParams},
    svc::{SvcParams, SvcValidParams},
    svr::{SvrParams, SvrValidParams},
    trees::{TreeParams, TreeValidParams},
};
use crate::error::ModelsError;
use mltools_core::models::Task;
use mltools_core::utils::AlgorithmFamily;
use serde::{Deserialize, Serialize};

/// What the registry knows of one algorithm.
pub(crate) struct Entry {
    pub(crate) id: &'static str,
    pub(crate) task: Task,
    pub(crate) family: AlgorithmFamily,
    pub(crate) probabilities: bool,
    /// Whether it takes missing values and routes them itself.
    pub(crate) missing_values: bool,
    pub(crate) doc: &'static str,
    pub(crate) params: &'static [ParamDoc],
    /// Whether a comparison that names no models fits it.
    pub(crate) default_candidate: bool,
}

macro_rules! catalogue {
    ($(
        $(#[doc = $what:literal])+
        $variant:ident {
            id: $id:literal,
            rank: $rank:literal,
            task: $task:ident,
            family: $family:ident,
            probabilities: $probabilities:literal,
            missing_values: $missing:literal,
            default_candidate: $candidate:literal,
            doc: $doc:literal,
            params: $docs:expr,
            valid: $valid:ty,
            check: |$p:ident| $check:expr,
            form: $form:ident,
        }
    )*) => {
        /// An algorithm's id.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        #[non_exhaustive]
        pub enum AlgorithmId {
            $( $(#[doc = $what])+ $variant, )*
        }

        /// How many algorithms there are.
        const COUNT: usize = [$($id),*].len();

        impl AlgorithmId {
            /// Every algorithm, regression first, in leaderboard tie-break order.
            pub const ALL: [AlgorithmId; COUNT] = {
                // The list sorted by rank (an insertion sort: a `const` cannot call
                // `sort`).
                let mut all = [$(AlgorithmId::$variant),*];
                let mut ranks: [u32; COUNT] = [$($rank),*];
                let mut i = 1;
                while i < COUNT {
                    let mut j = i;
                    while j > 0 && ranks[j - 1] > ranks[j] {
                        let (rank, id) = (ranks[j], all[j]);
                        ranks[j] = ranks[j - 1];
                        all[j] = all[j - 1];
                        ranks[j - 1] = rank;
                        all[j - 1] = id;
                        j -= 1;
                    }
                    i += 1;
                }
                all
            };

            /// Its entry in the catalogue.
            pub(crate) fn entry(self) -> Entry {
                match self {
                    $(AlgorithmId::$variant => Entry {
                        id: $id,
                        task: Task::$task,
                        family: AlgorithmFamily::$family,
                        probabilities: $probabilities,
                        missing_values: $missing,
                        doc: $doc,
                        params: $docs,
                        default_candidate: $candidate,
                    },)*
                }
            }

            /// Whether `model` is the stored form this algorithm's fit makes.
            pub(crate) fn fits_form(self, model: &Fitted) -> bool {
                match self {
                    $(AlgorithmId::$variant => matches!(model, Fitted::$form(_)),)*
                }
            }
        }

        /// An algorithm with checked hyperparameters.
        ///
        /// ```
        /// use mltools_core::models::ParamValue;
        /// use mltools_models::algorithms::{Estimator, ParamMap};
        ///
        /// let params = ParamMap::from([("alpha".to_owned(), ParamValue::Number(0.5))]);
        /// let ridge = Estimator::new("ridge", &params).unwrap();
        /// assert_eq!(ridge.id().as_str(), "ridge");
        /// let error = Estimator::new("ridge", &ParamMap::from([("k".to_owned(), ParamValue::Integer(3))]));
        /// assert!(error.unwrap_err().to_string().contains("its parameters are: alpha, solver"));
        /// ```
        ///
        /// A tree-family variant holds the parameters of its own algorithm
        /// (`ForestParams::new(random_forest_classifier::FOREST)` for
        /// [`Estimator::RandomForestClassifier`]), as [`Estimator::new`] builds it; a fit
        /// refuses parameters of another algorithm.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        #[allow(missing_docs)] // One variant per algorithm; see each `XValidParams`.
        pub enum Estimator {
            $( $variant($valid), )*
        }

        impl Estimator {
            /// `id`'s parameters read from `p` (whose names are checked) and checked.
            pub(crate) fn build(id: AlgorithmId, p: &Params<'_>) -> Result<Estimator, ModelsError> {
                Ok(match id {
                    $(AlgorithmId::$variant => {
                        let $p = p;
                        Estimator::$variant($check?)
                    })*
                })
            }

            /// The algorithm.
            pub fn id(&self) -> AlgorithmId {
                match self {
                    $(Estimator::$variant(_) => AlgorithmId::$variant,)*
                }
            }

            /// The checked parameters, as what fits them.
            pub(crate) fn fitter(&self) -> &dyn Fit {
                match self {
                    $(Estimator::$variant(p) => p,)*
                }
            }
        }
    };
}

catalogue! {
    /// Ordinary least squares.
    LinearRegression {
        id: "linear_regression",
        rank: 0,
        task: Regression,
        family: Linear,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "Ordinary least squares.",
        params: LinearRegressionParams::DOCS,
        valid: LinearRegressionValidParams,
        check: |p| LinearRegressionParams::from_params(p)?.check(),
        form: Linear,
    }
    /// L2-penalised least squares.
    Ridge {
        id: "ridge",
        rank: 1,
        task: Regression,
        family: Linear,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "Least squares with an L2 penalty.",
        params: RidgeParams::DOCS,
        valid: RidgeValidParams,
        check: |p| RidgeParams::from_params(p)?.check(),
        form: Linear,
    }
    /// L1-penalised least squares.
    Lasso {
        id: "lasso",
        rank: 2,
        task: Regression,
        family: Linear,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "Least squares with an L1 penalty (sparse coefficients).",
        params: LassoParams::DOCS,
        valid: LassoValidParams,
        check: |p| LassoParams::from_params(p)?.check(),
        form: Linear,
    }
    /// L1 + L2-penalised least squares.
    ElasticNet {
        id: "elastic_net",
        rank: 3,
        task: Regression,
        family: Linear,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "Least squares with L1 and L2 penalties.",
        params: ElasticNetParams::DOCS,
        valid: ElasticNetValidParams,
        check: |p| ElasticNetParams::from_params(p)?.check(),
        form: Linear,
    }
    /// One regression tree.
    DecisionTreeRegressor {
        id: "decision_tree_regressor",
        rank: 4,
        task: Regression,
        family: Tree,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "One regression tree.",
        params: decision_tree_regressor::DOCS,
        valid: TreeValidParams,
        check: |p| TreeParams::from_params(decision_tree_regressor::TREE, p)?.check(),
        form: Trees,
    }
    /// Bootstrapped regression trees.
    RandomForestRegressor {
        id: "random_forest_regressor",
        rank: 5,
        task: Regression,
        family: Tree,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "A random forest of bootstrapped regression trees.",
        params: random_forest_regressor::DOCS,
        valid: ForestValidParams,
        check: |p| ForestParams::from_params(random_forest_regressor::FOREST, p)?.check(),
        form: Trees,
    }
    /// Extremely randomised regression trees.
    ExtraTreesRegressor {
        id: "extra_trees_regressor",
        rank: 6,
        task: Regression,
        family: Tree,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "Extremely randomised regression trees.",
        params: extra_trees_regressor::DOCS,
        valid: ForestValidParams,
        check: |p| ForestParams::from_params(extra_trees_regressor::FOREST, p)?.check(),
        form: Trees,
    }
    /// Epsilon-support vector regression.
    Svr {
        id: "svr",
        rank: 8,
        task: Regression,
        family: Svm,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "Epsilon-support vector regression.",
        params: SvrParams::DOCS,
        valid: SvrValidParams,
        check: |p| SvrParams::from_params(p)?.check(),
        form: Svr,
    }
    /// k-nearest-neighbour regression.
    KnnRegressor {
        id: "knn_regressor",
        rank: 9,
        task: Regression,
        family: Neighbors,
        probabilities: false,
        missing_values: false,
        default_candidate: true,
        doc: "The mean target of the k nearest rows.",
        params: KnnRegressorParams::DOCS,
        valid: KnnRegressorValidParams,
        check: |p| KnnRegressorParams::from_params(p)?.check(),
        form: KnnRegressor,
    }
    /// Logistic regression.
    LogisticRegression {
        id: "logistic_regression",
        rank: 10,
        task: Classification,
        family: Linear,
        probabilities: true,
        missing_values: false,
        default_candidate: true,
        doc: "L2-penalised logistic regression (binary or multinomial).",
        params: LogisticRegressionParams::DOCS,
        valid: LogisticRegressionValidParams,
        check: |p| LogisticRegressionParams::from_params(p)?.check(),
        form: Logistic,
    }
    /// One classification tree.
    DecisionTreeClassifier {
        id: "decision_tree_classifier",
        rank: 11,
        task: Classification,
        family: Tree,
        probabilities: true,
        missing_values: false,
        default_candidate: true,
        doc: "One classification tree.",
        params: decision_tree_classifier::DOCS,
        valid: TreeValidParams,
        check: |p| TreeParams::from_params(decision_tree_classifier::TREE, p)?.check(),
        form: Trees,
    }
    /// Bootstrapped classification trees.
    RandomForestClassifier {
        id: "random_forest_classifier",
        rank: 12,
        task: Classification,
        family: Tree,
        probabilities: true,
        missing_values: false,
        default_candidate: true,
        doc: "A random forest of bootstrapped classification trees.",
        params: random_forest_classifier::DOCS,
        valid: ForestValidParams,
        check: |p| ForestParams::from_params(random_forest_classifier::FOREST, p)?.check(),
        form: Trees,
    }
    /// Support vector classification.
    Svc {
        id: "svc",
        rank: 15,
        task: Classification,
        family: Svm,
        probabilities: true,
        missing_values: false,
        default_candidate: true,
        doc: "Support vector classification (one-vs-one for more than two classes), with Platt-scaled probabilities.",
        params: SvcParams::DOCS,
        valid: SvcValidParams,
        check: |p| SvcParams::from_params(p)?.check(),
        form: Svc,
    }
    /// k-nearest-neighbour classification.
    KnnClassifier {
        id: "knn_classifier",
        rank: 16,
        task: Classification,
        family: Neighbors,
        probabilities: true,
        missing_values: false,
        default_candidate: true,
        doc: "The majority class of the k nearest rows.",
        params: KnnClassifierParams::DOCS,
        valid: KnnClassifierValidParams,
        check: |p| KnnClassifierParams::from_params(p)?.check(),
        form: KnnClassifier,
    }
    /// Gaussian naive Bayes.
    GaussianNb {
        id: "gaussian_nb",
        rank: 17,
        task: Classification,
        family: NaiveBayes,
        probabilities: true,
        missing_values: false,
        default_candidate: true,
        doc: "Gaussian naive Bayes.",
        params: GaussianNbParams::DOCS,
        valid: GaussianNbValidParams,
        check: |p| GaussianNbParams::from_params(p)?.check(),
        form: GaussianNb,
    }
    /// Extremely randomised classification trees (in the catalogue, not among a
    /// comparison's default candidates).
    ExtraTreesClassifier {
        id: "extra_trees_classifier",
        rank: 13,
        task: Classification,
        family: Tree,
        probabilities: true,
        missing_values: false,
        default_candidate: false,
        doc: "Extremely randomised classification trees (random cuts, no bootstrap).",
        params: extra_trees_classifier::DOCS,
        valid: ForestValidParams,
        check: |p| ForestParams::from_params(extra_trees_classifier::FOREST, p)?.check(),
        form: Trees,
    }
    /// Histogram gradient boosting of regression trees.
    HistGradientBoostingRegressor {
        id: "hist_gradient_boosting_regressor",
        rank: 7,
        task: Regression,
        family: Boosting,
        probabilities: false,
        missing_values: true,
        default_candidate: true,
        doc: "Histogram gradient boosting (scikit-learn's HistGradientBoostingRegressor): squared error, 255 bins, missing values routed natively.",
        params: hist_gradient_boosting::DOCS,
        valid: BoostingValidParams,
        check: |p| BoostingParams::from_params(AlgorithmId::HistGradientBoostingRegressor, p)?.check(),
        form: Boosted,
    }
    /// Histogram gradient boosting of trees on the log loss.
    HistGradientBoostingClassifier {
        id: "hist_gradient_boosting_classifier",
        rank: 14,
        task: Classification,
        family: Boosting,
        probabilities: true,
        missing_values: true,
        default_candidate: true,
        doc: "Histogram gradient boosting (scikit-learn's HistGradientBoostingClassifier): binary or multinomial log loss, 255 bins, missing values routed natively.",
        params: hist_gradient_boosting::DOCS,
        valid: BoostingValidParams,
        check: |p| BoostingParams::from_params(AlgorithmId::HistGradientBoostingClassifier, p)?.check(),
        form: Boosted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_the_tie_break_order_and_stored_numbers_are_kept() {
        let names: Vec<&str> = AlgorithmId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(
            names,
            [
                "linear_regression",
                "ridge",
                "lasso",
                "elastic_net",
                "decision_tree_regressor",
                "random_forest_regressor",
                "extra_trees_regressor",
                "hist_gradient_boosting_regressor",
                "svr",
                "knn_regressor",
                "logistic_regression",
                "decision_tree_classifier",
                "random_forest_classifier",
                "extra_trees_classifier",
                "hist_gradient_boosting_classifier",
                "svc",
                "knn_classifier",
                "gaussian_nb",
            ]
        );
        // The numbers models stored in format 3 carry for their algorithm.
        use AlgorithmId as A;
        let stored = [
            (A::LinearRegression, 0),
            (A::Ridge, 1),
            (A::Lasso, 2),
            (A::ElasticNet, 3),
            (A::DecisionTreeRegressor, 4),
            (A::RandomForestRegressor, 5),
            (A::ExtraTreesRegressor, 6),
            (A::Svr, 7),
            (A::KnnRegressor, 8),
            (A::LogisticRegression, 9),
            (A::DecisionTreeClassifier, 10),
            (A::RandomForestClassifier, 11),
            (A::Svc, 12),
            (A::KnnClassifier, 13),
            (A::GaussianNb, 14),
            (A::ExtraTreesClassifier, 15),
            (A::HistGradientBoostingRegressor, 16),
            (A::HistGradientBoostingClassifier, 17),
        ];
        for (id, number) in stored {
            assert_eq!(postcard::to_allocvec(&id).unwrap(), [number], "{id}");
        }
        assert_eq!(stored.len(), AlgorithmId::ALL.len());
    }

    #[test]
    fn a_family_that_keeps_missing_values_holds_only_algorithms_that_take_them() {
        // Its default pipeline leaves numeric missing values in (utils' defaults).
        for id in AlgorithmId::ALL {
            if id.family() == AlgorithmFamily::Boosting {
                assert!(id.takes_missing_values(), "{id}");
            }
        }
        assert_eq!(
            AlgorithmId::HistGradientBoostingClassifier.family(),
            AlgorithmFamily::Boosting
        );
    }

    #[test]
    fn every_algorithm_fits_the_form_it_is_stored_in() {
        use crate::algorithms::dense::testing;
        use crate::task::Targets;
        for id in AlgorithmId::ALL {
            let (x, y) = match id.task() {
                Task::Regression => {
                    let (x, y) = testing::linear();
                    (x, Targets::Regression(y))
                }
                Task::Classification => {
                    let (x, codes) = testing::blobs();
                    let classes = vec!["a".into(), "b".into()];
                    (x, Targets::Classification { codes, classes })
                }
            };
            let estimator = Estimator::defaults(id);
            assert_eq!(estimator.id(), id);
            let fitted = estimator
                .fitter()
                .fit(&x, &y, 0, &crate::algorithms::Cancel::never())
                .unwrap();
            assert!(id.fits_form(&fitted), "{id}");
        }
    }
}
