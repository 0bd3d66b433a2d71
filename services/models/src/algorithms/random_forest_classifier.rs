//! A random forest of classification trees, scikit-learn's `RandomForestClassifier`: 100
//! Gini trees, each on a bootstrap of the rows, √p features tried at each split;
//! probabilities, as scikit-learn's, are the mean over the trees of the class fractions in
//! the leaf a row falls in, and the label the most probable class (the lowest code among
//! ties). The trees grow in parallel on the fit's pool, each from its own seed, so the
//! forest is the same on any number of threads; the cancel is seen at every node.

use crate::algorithms::forest::{ForestKind, MaxFeatures};
use crate::algorithms::params::ParamDoc;
use crate::algorithms::registry::AlgorithmId;

/// The algorithm, with its defaults.
pub(crate) const FOREST: ForestKind =
    ForestKind::random_forest(AlgorithmId::RandomForestClassifier, MaxFeatures::Sqrt);

/// The documentation of its parameters.
pub(crate) const DOCS: &[ParamDoc] = &FOREST.classifier_docs();

#[cfg(test)]
mod tests;
