//! Checks a decoded model before it is trusted: every tree's child indices in range and its
//! nodes reached once from the root (no loop, no shared node), split features within the
//! model's features, leaf outputs within its classes; our own models' array lengths
//! consistent with their features and classes, no NaN where it would poison a prediction,
//! sizes bounded.
//!
//! A model file is attacker-controlled (`models import`): a tree whose node points back to
//! itself would loop forever in prediction, pinning a fit thread with no panic to catch.
//! smartcore keeps its trees' nodes private, so they are read through mirrors of their
//! serialized form (`dense::mirror`). A mirror declares every field, field for field, so
//! its layout matches; the fields no check reads are there only for that, hence each
//! mirror's `expect(dead_code)` outside tests (tests serialize the mirrors, reading all).
//!
//! Length prefixes cannot drive a huge allocation while decoding: serde's `Vec` visitor
//! preallocates at most 1 MiB whatever the prefix says, and every element we decode takes
//! at least one byte, so a `Vec` grows only as far as the input lasts.

use serde::Deserialize;
use smartcore::tree::decision_tree_classifier::DecisionTreeClassifierParameters;

/// The most classes a model may have (a class list beyond it is refused).
pub const MAX_CLASSES: usize = 65_536;
/// The most trees a forest may have (smartcore counts a classifier's trees in a `u16`).
pub const MAX_TREES: usize = 65_535;
/// The most features a model may have.
pub const MAX_FEATURES: usize = 1 << 20;

/// What a node of a tree is, as far as the walk cares.
pub(crate) enum Shape {
    /// A split on `feature`, to `left` and `right`.
    Split {
        feature: usize,
        left: usize,
        right: usize,
    },
    /// A leaf.
    Leaf,
}

/// Walks a tree from its root (node 0) without recursion: every child index must be in
/// range, every node reached once (which rules out loops and shared subtrees), every split
/// feature below `features`. `shape` reads a node (and checks its leaf output).
///
/// # Errors
/// The first fault, naming the tree (`label`), the node and the index at fault.
pub(crate) fn check_tree<N>(
    label: &str,
    nodes: &[N],
    features: usize,
    shape: impl Fn(&N) -> Result<Shape, String>,
) -> Result<(), String> {
    if nodes.is_empty() {
        return Err(format!("{label} has no nodes"));
    }
    let mut visited = vec![false; nodes.len()];
    // Each node is visited once and pushes at most two: the stack stays within 2 × nodes.
    let mut stack = vec![0usize];
    while let Some(index) = stack.pop() {
        if visited[index] {
            return Err(format!(
                "{label} node {index} is reached twice (a loop or a shared node)"
            ));
        }
        visited[index] = true;
        let node = &nodes[index];
        match shape(node).map_err(|reason| format!("{label} node {index}: {reason}"))? {
            Shape::Leaf => {}
            Shape::Split {
                feature,
                left,
                right,
            } => {
                if feature >= features {
                    return Err(format!(
                        "{label} node {index} splits on feature {feature}; the model has {features} features"
                    ));
                }
                for child in [right, left] {
                    if child >= nodes.len() {
                        return Err(format!(
                            "{label} node {index} points to node {child}, past its {} nodes",
                            nodes.len()
                        ));
                    }
                    stack.push(child);
                }
            }
        }
    }
    Ok(())
}

/// Refuses a non-finite value among `values`, naming `what`.
pub(crate) fn finite(what: &str, values: &[f64]) -> Result<(), String> {
    match values.iter().position(|value| !value.is_finite()) {
        None => Ok(()),
        Some(index) => Err(format!(
            "{what}[{index}] is {}, not a finite number",
            values[index]
        )),
    }
}

/// Refuses a class list that is not strictly ascending codes below `classes`.
pub(crate) fn class_codes(what: &str, codes: &[u32], classes: usize) -> Result<(), String> {
    if let Some(code) = codes.iter().find(|&&code| code as usize >= classes) {
        return Err(format!(
            "{what} names class {code}, past the model's {classes} classes"
        ));
    }
    if codes.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err(format!("{what} is not in strictly ascending order"));
    }
    Ok(())
}

/// smartcore 0.7's `DecisionTreeClassifier`, field for field; its three `PhantomData`
/// fields come last and take no bytes.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(not(test), expect(dead_code, reason = "fields kept for the layout"))]
pub(crate) struct ClassTreeMirror {
    pub(crate) nodes: Vec<ClassNodeMirror>,
    pub(crate) parameters: Option<DecisionTreeClassifierParameters>,
    pub(crate) num_classes: usize,
    pub(crate) classes: Vec<u32>,
    pub(crate) depth: u16,
    pub(crate) num_features: usize,
}

/// smartcore 0.7's classification tree `Node`, field for field: a leaf has no children; a
/// row goes to the true child when its `split_feature` value is `<= split_value` (never
/// when there is no value).
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(not(test), expect(dead_code, reason = "fields kept for the layout"))]
pub(crate) struct ClassNodeMirror {
    pub(crate) output: usize,
    pub(crate) n_node_samples: usize,
    pub(crate) split_feature: usize,
    pub(crate) split_value: Option<f64>,
    pub(crate) split_score: Option<f64>,
    pub(crate) true_child: Option<usize>,
    pub(crate) false_child: Option<usize>,
    pub(crate) impurity: Option<f64>,
}

impl ClassTreeMirror {
    /// Checks the tree against the model's `features`: its walk, and each leaf's output
    /// within the tree's class list, itself consistent with its class count.
    pub(crate) fn check(&self, label: &str, features: usize) -> Result<(), String> {
        if self.num_features != features {
            return Err(format!(
                "{label} was fitted on {} features, the model on {features}",
                self.num_features
            ));
        }
        let classes = self.classes.len();
        if classes == 0 || classes > MAX_CLASSES || self.num_classes != classes {
            return Err(format!(
                "{label} lists {classes} classes and counts {}",
                self.num_classes
            ));
        }
        check_tree(label, &self.nodes, features, |node| {
            match (node.true_child, node.false_child) {
                (Some(left), Some(right)) => Ok(Shape::Split {
                    feature: node.split_feature,
                    left,
                    right,
                }),
                (None, None) if node.output < classes => Ok(Shape::Leaf),
                (None, None) => Err(format!(
                    "leaf output {} is past the tree's {classes} classes",
                    node.output
                )),
                _ => Err("a split with one child".to_owned()),
            }
        })
    }
}

/// smartcore 0.7's `BaseTree<_, _, _, _, f64>` (a regression tree), field for field; its
/// four `PhantomData` fields come last and take no bytes.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(not(test), expect(dead_code, reason = "fields kept for the layout"))]
pub(crate) struct BaseTreeMirror {
    pub(crate) nodes: Vec<BaseNodeMirror>,
    pub(crate) parameters: Option<BaseTreeParametersMirror>,
    pub(crate) depth: u16,
    pub(crate) root_mass: f64,
}

/// smartcore 0.7's `BaseTreeParameters` (private to smartcore), field for field.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(not(test), expect(dead_code, reason = "fields kept for the layout"))]
pub(crate) struct BaseTreeParametersMirror {
    pub(crate) max_depth: Option<u16>,
    pub(crate) min_samples_leaf: usize,
    pub(crate) min_samples_split: usize,
    pub(crate) seed: Option<u64>,
    pub(crate) splitter: SplitterMirror,
}

/// smartcore 0.7's `Splitter`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) enum SplitterMirror {
    Random,
    Best,
}

/// smartcore 0.7's base tree `Node<f64>`, field for field.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(not(test), expect(dead_code, reason = "fields kept for the layout"))]
pub(crate) struct BaseNodeMirror {
    pub(crate) output: f64,
    pub(crate) split_feature: usize,
    pub(crate) split_value: Option<f64>,
    pub(crate) split_score: Option<f64>,
    pub(crate) true_child: Option<usize>,
    pub(crate) false_child: Option<usize>,
}

impl BaseTreeMirror {
    fn check(&self, label: &str, features: usize) -> Result<(), String> {
        check_tree(label, &self.nodes, features, |node| {
            match (node.true_child, node.false_child) {
                (Some(left), Some(right)) => Ok(Shape::Split {
                    feature: node.split_feature,
                    left,
                    right,
                }),
                (None, None) if node.output.is_finite() => Ok(Shape::Leaf),
                (None, None) => Err(format!("leaf output {} is not finite", node.output)),
                _ => Err("a split with one child".to_owned()),
            }
        })
    }
}

/// smartcore 0.7's `DecisionTreeRegressor`, field for field.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct RegressionTreeMirror {
    pub(crate) tree_regressor: Option<BaseTreeMirror>,
    pub(crate) num_features: Option<usize>,
}

impl RegressionTreeMirror {
    /// Checks the tree against the model's `features`.
    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        if self.num_features != Some(features) {
            return Err(format!(
                "the tree was fitted on {:?} features, the model on {features}",
                self.num_features
            ));
        }
        match &self.tree_regressor {
            Some(tree) => tree.check("the tree", features),
            None => Err("the tree is not fitted".to_owned()),
        }
    }
}

/// smartcore 0.7's `RandomForestRegressor` and `ExtraTreesRegressor` (both hold only a
/// `BaseForest`), field for field.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
pub(crate) struct RegressionForestMirror {
    pub(crate) forest_regressor: Option<BaseForestMirror>,
}

/// smartcore 0.7's `BaseForest<_, _, _, _, f64>`, field for field.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
#[cfg_attr(not(test), expect(dead_code, reason = "fields kept for the layout"))]
pub(crate) struct BaseForestMirror {
    pub(crate) trees: Option<Vec<BaseTreeMirror>>,
    pub(crate) num_features: Option<usize>,
    pub(crate) samples: Option<Vec<Vec<bool>>>,
}

impl RegressionForestMirror {
    /// Checks every tree against the model's `features`, and the tree count.
    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        let Some(forest) = &self.forest_regressor else {
            return Err("the forest is not fitted".to_owned());
        };
        if forest.num_features != Some(features) {
            return Err(format!(
                "the forest was fitted on {:?} features, the model on {features}",
                forest.num_features
            ));
        }
        let trees = forest.trees.as_deref().unwrap_or_default();
        if trees.is_empty() || trees.len() > MAX_TREES {
            return Err(format!(
                "the forest has {} trees; 1 to {MAX_TREES} are allowed",
                trees.len()
            ));
        }
        for (index, tree) in trees.iter().enumerate() {
            tree.check(&format!("tree {index}"), features)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(nodes: &[(usize, usize, usize)]) -> Result<(), String> {
        // (feature, left, right); left == right == usize::MAX is a leaf.
        check_tree("tree 0", nodes, 2, |&(feature, left, right)| {
            Ok(if left == usize::MAX {
                Shape::Leaf
            } else {
                Shape::Split {
                    feature,
                    left,
                    right,
                }
            })
        })
    }

    const LEAF: (usize, usize, usize) = (0, usize::MAX, usize::MAX);

    #[test]
    fn a_sound_tree_passes_and_each_fault_is_named() {
        assert!(walk(&[(0, 1, 2), LEAF, (1, 3, 4), LEAF, LEAF]).is_ok());
        assert_eq!(
            walk(&[(0, 0, 1), LEAF]).unwrap_err(),
            "tree 0 node 0 is reached twice (a loop or a shared node)"
        );
        assert_eq!(
            walk(&[(0, 1, 7), LEAF]).unwrap_err(),
            "tree 0 node 0 points to node 7, past its 2 nodes"
        );
        assert_eq!(
            walk(&[(5, 1, 2), LEAF, LEAF]).unwrap_err(),
            "tree 0 node 0 splits on feature 5; the model has 2 features"
        );
        assert_eq!(
            walk(&[(0, 1, 1), LEAF]).unwrap_err(),
            "tree 0 node 1 is reached twice (a loop or a shared node)"
        );
        assert_eq!(walk(&[]).unwrap_err(), "tree 0 has no nodes");
    }

    #[test]
    fn a_deep_chain_is_walked_without_recursion() {
        // 200,000 nodes in a chain: a recursive walk would overflow the stack.
        let depth = 200_000;
        // Node i < depth splits to a leaf (depth + i) and to the next split; node 2·depth
        // is the last leaf.
        let nodes: Vec<(usize, usize, usize)> = (0..=2 * depth)
            .map(|index| match index {
                index if index + 1 < depth => (0, depth + index, index + 1),
                index if index + 1 == depth => (0, depth + index, 2 * depth),
                _ => LEAF,
            })
            .collect();
        assert!(walk(&nodes).is_ok());
    }

    #[test]
    fn class_codes_must_ascend_within_the_classes() {
        assert!(class_codes("present", &[0, 2], 3).is_ok());
        assert_eq!(
            class_codes("present", &[0, 3], 3).unwrap_err(),
            "present names class 3, past the model's 3 classes"
        );
        assert!(class_codes("present", &[1, 1], 3).is_err());
    }
}
