//! The algorithms on offer: ids, tasks, families and documented parameters.

use crate::algorithms::params::ParamDoc;
use crate::algorithms::{
    decision_tree_classifier, decision_tree_regressor, elastic_net, extra_trees_classifier,
    extra_trees_regressor, gaussian_nb, knn_classifier, knn_regressor, lasso, linear_regression,
    logistic_regression, random_forest_classifier, random_forest_regressor, ridge, svc, svr,
};
use crate::error::ModelsError;
use mltools_core::models::{AlgorithmInfo, Task};
use mltools_core::utils::AlgorithmFamily;
use serde::{Deserialize, Serialize};

/// An algorithm's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlgorithmId {
    /// Ordinary least squares.
    LinearRegression,
    /// L2-penalised least squares.
    Ridge,
    /// L1-penalised least squares.
    Lasso,
    /// L1 + L2-penalised least squares.
    ElasticNet,
    /// One regression tree.
    DecisionTreeRegressor,
    /// Bootstrapped regression trees.
    RandomForestRegressor,
    /// Extremely randomised regression trees.
    ExtraTreesRegressor,
    /// Epsilon-support vector regression.
    Svr,
    /// k-nearest-neighbour regression.
    KnnRegressor,
    /// Logistic regression.
    LogisticRegression,
    /// One classification tree.
    DecisionTreeClassifier,
    /// Bootstrapped classification trees.
    RandomForestClassifier,
    /// Support vector classification.
    Svc,
    /// k-nearest-neighbour classification.
    KnnClassifier,
    /// Gaussian naive Bayes.
    GaussianNb,
    /// Extremely randomised classification trees (in the catalogue, not among a
    /// comparison's default candidates).
    ExtraTreesClassifier,
}

/// What the registry knows of one algorithm.
struct Entry {
    id: &'static str,
    task: Task,
    family: AlgorithmFamily,
    probabilities: bool,
    doc: &'static str,
    params: &'static [ParamDoc],
    /// Whether a comparison that names no models fits it.
    default_candidate: bool,
}

impl AlgorithmId {
    /// Every algorithm, regression first, in leaderboard tie-break order.
    pub const ALL: [AlgorithmId; 16] = [
        AlgorithmId::LinearRegression,
        AlgorithmId::Ridge,
        AlgorithmId::Lasso,
        AlgorithmId::ElasticNet,
        AlgorithmId::DecisionTreeRegressor,
        AlgorithmId::RandomForestRegressor,
        AlgorithmId::ExtraTreesRegressor,
        AlgorithmId::Svr,
        AlgorithmId::KnnRegressor,
        AlgorithmId::LogisticRegression,
        AlgorithmId::DecisionTreeClassifier,
        AlgorithmId::RandomForestClassifier,
        AlgorithmId::ExtraTreesClassifier,
        AlgorithmId::Svc,
        AlgorithmId::KnnClassifier,
        AlgorithmId::GaussianNb,
    ];

    fn entry(self) -> Entry {
        use AlgorithmFamily::{Linear, NaiveBayes, Neighbors, Svm, Tree};
        use Task::{Classification, Regression};
        let (id, task, family, probabilities, doc, params) = match self {
            AlgorithmId::LinearRegression => (
                "linear_regression",
                Regression,
                Linear,
                false,
                "Ordinary least squares.",
                linear_regression::LinearRegressionParams::DOCS,
            ),
            AlgorithmId::Ridge => (
                "ridge",
                Regression,
                Linear,
                false,
                "Least squares with an L2 penalty.",
                ridge::RidgeParams::DOCS,
            ),
            AlgorithmId::Lasso => (
                "lasso",
                Regression,
                Linear,
                false,
                "Least squares with an L1 penalty (sparse coefficients).",
                lasso::LassoParams::DOCS,
            ),
            AlgorithmId::ElasticNet => (
                "elastic_net",
                Regression,
                Linear,
                false,
                "Least squares with L1 and L2 penalties.",
                elastic_net::ElasticNetParams::DOCS,
            ),
            AlgorithmId::DecisionTreeRegressor => (
                "decision_tree_regressor",
                Regression,
                Tree,
                false,
                "One regression tree.",
                decision_tree_regressor::DOCS,
            ),
            AlgorithmId::RandomForestRegressor => (
                "random_forest_regressor",
                Regression,
                Tree,
                false,
                "A random forest of bootstrapped regression trees.",
                random_forest_regressor::DOCS,
            ),
            AlgorithmId::ExtraTreesRegressor => (
                "extra_trees_regressor",
                Regression,
                Tree,
                false,
                "Extremely randomised regression trees.",
                extra_trees_regressor::DOCS,
            ),
            AlgorithmId::Svr => (
                "svr",
                Regression,
                Svm,
                false,
                "Epsilon-support vector regression.",
                svr::SvrParams::DOCS,
            ),
            AlgorithmId::KnnRegressor => (
                "knn_regressor",
                Regression,
                Neighbors,
                false,
                "The mean target of the k nearest rows.",
                knn_regressor::KnnRegressorParams::DOCS,
            ),
            AlgorithmId::LogisticRegression => (
                "logistic_regression",
                Classification,
                Linear,
                true,
                "L2-penalised logistic regression (binary or multinomial).",
                logistic_regression::LogisticRegressionParams::DOCS,
            ),
            AlgorithmId::DecisionTreeClassifier => (
                "decision_tree_classifier",
                Classification,
                Tree,
                true,
                "One classification tree.",
                decision_tree_classifier::DOCS,
            ),
            AlgorithmId::RandomForestClassifier => (
                "random_forest_classifier",
                Classification,
                Tree,
                true,
                "A random forest of bootstrapped classification trees.",
                random_forest_classifier::DOCS,
            ),
            AlgorithmId::ExtraTreesClassifier => (
                "extra_trees_classifier",
                Classification,
                Tree,
                true,
                "Extremely randomised classification trees (random cuts, no bootstrap).",
                extra_trees_classifier::DOCS,
            ),
            AlgorithmId::Svc => (
                "svc",
                Classification,
                Svm,
                true,
                "Support vector classification (one-vs-one for more than two classes), with Platt-scaled probabilities.",
                svc::SvcParams::DOCS,
            ),
            AlgorithmId::KnnClassifier => (
                "knn_classifier",
                Classification,
                Neighbors,
                true,
                "The majority class of the k nearest rows.",
                knn_classifier::KnnClassifierParams::DOCS,
            ),
            AlgorithmId::GaussianNb => (
                "gaussian_nb",
                Classification,
                NaiveBayes,
                true,
                "Gaussian naive Bayes.",
                gaussian_nb::GaussianNbParams::DOCS,
            ),
        };
        Entry {
            id,
            task,
            family,
            probabilities,
            doc,
            params,
            default_candidate: self != AlgorithmId::ExtraTreesClassifier,
        }
    }

    /// The id used in requests (`random_forest_classifier`).
    pub fn as_str(self) -> &'static str {
        self.entry().id
    }

    /// The task it solves.
    pub fn task(self) -> Task {
        self.entry().task
    }

    /// Its family, which decides its default preprocessing.
    pub fn family(self) -> AlgorithmFamily {
        self.entry().family
    }

    /// Whether it gives class probabilities.
    pub fn has_probabilities(self) -> bool {
        self.entry().probabilities
    }

    pub(crate) fn params(self) -> &'static [ParamDoc] {
        self.entry().params
    }

    /// The algorithms a comparison of `task` that names no models fits, in
    /// [`AlgorithmId::ALL`] order: every algorithm of the task but those only in the
    /// catalogue (`extra_trees_classifier`), which [`AlgorithmId::ALL`] and
    /// [`algorithms`] list too.
    pub fn of_task(task: Task) -> impl Iterator<Item = AlgorithmId> {
        AlgorithmId::ALL
            .into_iter()
            .filter(move |id| id.task() == task && id.entry().default_candidate)
    }

    /// The algorithm called `name`.
    ///
    /// # Errors
    /// [`ModelsError::UnknownAlgorithm`] listing every id.
    pub fn parse(name: &str) -> Result<AlgorithmId, ModelsError> {
        AlgorithmId::ALL
            .into_iter()
            .find(|id| id.as_str() == name)
            .ok_or_else(|| ModelsError::UnknownAlgorithm {
                name: name.to_owned(),
                accepted: AlgorithmId::ALL.map(AlgorithmId::as_str).join(", "),
            })
    }

    /// Its description for the interface.
    pub fn info(self) -> AlgorithmInfo {
        let entry = self.entry();
        AlgorithmInfo {
            id: entry.id.to_owned(),
            task: entry.task,
            family: entry.family,
            probabilities: entry.probabilities,
            doc: entry.doc.to_owned(),
            params: entry.params.iter().map(ParamDoc::info).collect(),
        }
    }
}

impl std::fmt::Display for AlgorithmId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every algorithm's description, for [`Models::algorithms`](mltools_core::models::Models::algorithms).
pub fn algorithms() -> Vec<AlgorithmInfo> {
    AlgorithmId::ALL
        .into_iter()
        .map(AlgorithmId::info)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_unknown_ones_list_the_accepted() {
        for id in AlgorithmId::ALL {
            assert_eq!(AlgorithmId::parse(id.as_str()).unwrap(), id);
        }
        let error = AlgorithmId::parse("xgboost").unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(
                "unknown algorithm `xgboost`; the algorithms are: linear_regression, ridge"
            ),
            "{text}"
        );
        assert!(text.ends_with("gaussian_nb"), "{text}");
    }

    #[test]
    fn every_algorithm_documents_its_parameters_once() {
        for info in algorithms() {
            let mut names: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
            let count = names.len();
            names.dedup();
            assert_eq!(names.len(), count, "{}", info.id);
            assert!(
                info.params
                    .iter()
                    .all(|p| !p.doc.is_empty() && !p.accepts.is_empty())
            );
        }
        assert_eq!(AlgorithmId::of_task(Task::Regression).count(), 9);
        assert_eq!(AlgorithmId::of_task(Task::Classification).count(), 6);
        // In the catalogue, not among the default candidates.
        let extra = AlgorithmId::parse("extra_trees_classifier").unwrap();
        assert!(algorithms().iter().any(|info| info.id == extra.as_str()));
        assert!(AlgorithmId::of_task(Task::Classification).all(|id| id != extra));
    }
}
