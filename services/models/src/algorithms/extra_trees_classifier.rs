//! Extremely randomised classification trees, scikit-learn's `ExtraTreesClassifier`: 100
//! Gini trees on all rows (no bootstrap), one uniform random cut per candidate feature, √p
//! features tried at each split; probabilities are the mean of the trees' leaf class
//! fractions, as the random forest classifier's. In the catalogue, not among the default
//! candidates of a comparison (see [`AlgorithmId::of_task`](super::AlgorithmId::of_task)).

use crate::algorithms::forest::{ForestKind, MaxFeatures};
use crate::algorithms::params::ParamDoc;
use crate::algorithms::registry::AlgorithmId;

/// The algorithm, with its defaults.
pub(crate) const FOREST: ForestKind =
    ForestKind::extra_trees(AlgorithmId::ExtraTreesClassifier, MaxFeatures::Sqrt);

/// The documentation of its parameters.
pub(crate) const DOCS: &[ParamDoc] = &FOREST.classifier_docs();
