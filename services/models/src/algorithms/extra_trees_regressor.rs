//! Extremely randomised trees, scikit-learn's `ExtraTreesRegressor`: 100 squared-error
//! trees on all rows (no bootstrap), one uniform random cut per candidate feature, every
//! feature tried at each split; a row's prediction is the mean of its leaves'. Grown in
//! parallel, each tree from its own seed, the cancel seen at every node.

use crate::algorithms::forest::{ForestKind, MaxFeatures};
use crate::algorithms::params::ParamDoc;
use crate::algorithms::registry::AlgorithmId;

/// The algorithm, with its defaults.
pub(crate) const FOREST: ForestKind =
    ForestKind::extra_trees(AlgorithmId::ExtraTreesRegressor, MaxFeatures::All);

/// The documentation of its parameters.
pub(crate) const DOCS: &[ParamDoc] = &FOREST.regressor_docs();
