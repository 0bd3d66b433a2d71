//! A regression tree, scikit-learn's `DecisionTreeRegressor`: every feature tried at each
//! split (in an order drawn from the seed), squared-error splits, grown until pure by
//! default; a leaf predicts the mean of its rows. Grown by our CART builder
//! (`cart`), which looks at the cancel at every node.

use crate::algorithms::params::ParamDoc;
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::trees::{TreeKind, TreeParams};

/// The algorithm, with its defaults.
pub(crate) const TREE: TreeKind = TreeKind::new(AlgorithmId::DecisionTreeRegressor);

/// The documentation of its parameters.
pub(crate) const DOCS: &[ParamDoc] = &TreeParams::REGRESSOR_DOCS;
