//! A classification tree, scikit-learn's `DecisionTreeClassifier`: every feature tried at
//! each split (in an order drawn from the seed), Gini splits, grown until pure by default;
//! its probabilities are the class fractions of the leaf a row falls in. Grown by our
//! CART builder (`cart`), which looks at the cancel at every node.

use crate::algorithms::params::ParamDoc;
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::trees::{TreeKind, TreeParams};

/// The algorithm, with its defaults.
pub(crate) const TREE: TreeKind = TreeKind::new(AlgorithmId::DecisionTreeClassifier);

/// The documentation of its parameters.
pub(crate) const DOCS: &[ParamDoc] = &TreeParams::CLASSIFIER_DOCS;
