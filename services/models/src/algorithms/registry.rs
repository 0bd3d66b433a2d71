//! The algorithms on offer: ids, tasks, families and documented parameters, read from
//! the [catalogue](super::catalogue).

pub use crate::algorithms::catalogue::AlgorithmId;
use crate::algorithms::params::ParamDoc;
use crate::error::ModelsError;
use mltools_core::models::{AlgorithmInfo, Task};
use mltools_core::utils::AlgorithmFamily;

impl AlgorithmId {
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

    /// Whether it takes missing values (NaN) in its features and routes them itself.
    pub fn takes_missing_values(self) -> bool {
        self.entry().missing_values
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
        assert_eq!(AlgorithmId::of_task(Task::Regression).count(), 10);
        assert_eq!(AlgorithmId::of_task(Task::Classification).count(), 7);
        // In the catalogue, not among the default candidates.
        let extra = AlgorithmId::parse("extra_trees_classifier").unwrap();
        assert!(algorithms().iter().any(|info| info.id == extra.as_str()));
        assert!(AlgorithmId::of_task(Task::Classification).all(|id| id != extra));
    }
}
