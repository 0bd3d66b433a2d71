//! What the k-nearest-neighbour models share: `k = 5` (smartcore defaults to 3), the
//! weighting, and the neighbour search.

use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count};
use crate::error::ModelsError;
use smartcore::algorithm::neighbour::KNNAlgorithmName;
use smartcore::neighbors::KNNWeightFunction;

/// Parameters of a k-nearest-neighbour model (Euclidean distance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnnParams {
    /// Neighbours consulted; 5 as in scikit-learn.
    pub k: usize,
    /// Weigh neighbours by inverse distance instead of equally.
    pub distance_weights: bool,
    /// Search by brute force instead of a cover tree (same neighbours).
    pub brute_force: bool,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 5,
            distance_weights: false,
            brute_force: false,
        }
    }
}

/// The documentation of the parameters.
pub(crate) const DOCS: [ParamDoc; 3] = [
    ParamDoc {
        name: "k",
        default: DefaultValue::Integer(5),
        accepts: "a whole number ≥ 1 (at most the training rows)",
        doc: "How many neighbours are consulted (scikit-learn's `n_neighbors`).",
    },
    ParamDoc {
        name: "weights",
        default: DefaultValue::Text("uniform"),
        accepts: "`uniform` or `distance`",
        doc: "Whether nearer neighbours count more.",
    },
    ParamDoc {
        name: "search",
        default: DefaultValue::Text("cover_tree"),
        accepts: "`cover_tree` or `brute`",
        doc: "How neighbours are found; both find the same ones.",
    },
];

impl KnnParams {
    pub(crate) fn from_params(params: &Params<'_>) -> Result<KnnParams, ModelsError> {
        Ok(KnnParams {
            k: count(params.algorithm, "k", params.integer("k", 5)?, 1)?,
            distance_weights: params.choice("weights", &["uniform", "distance"], "uniform")?
                == "distance",
            brute_force: params.choice("search", &["cover_tree", "brute"], "cover_tree")?
                == "brute",
        })
    }

    pub(crate) fn check(&self, algorithm: &'static str) -> Result<(), ModelsError> {
        count(algorithm, "k", self.k as i64, 1).map(|_| ())
    }

    /// Refuses a `k` larger than the training rows.
    pub(crate) fn check_rows(
        &self,
        algorithm: &'static str,
        rows: usize,
    ) -> Result<(), ModelsError> {
        if self.k > rows {
            return Err(ModelsError::TooFewRows {
                reason: format!(
                    "{algorithm} with k = {} needs at least {} training rows, got {rows}",
                    self.k, self.k
                ),
            });
        }
        Ok(())
    }

    pub(crate) fn weight(&self) -> KNNWeightFunction {
        if self.distance_weights {
            KNNWeightFunction::Distance
        } else {
            KNNWeightFunction::Uniform
        }
    }

    pub(crate) fn search(&self) -> KNNAlgorithmName {
        if self.brute_force {
            KNNAlgorithmName::LinearSearch
        } else {
            KNNAlgorithmName::CoverTree
        }
    }
}
