//! Checks a decoded model before it is trusted: every tree's child indices in range and its
//! nodes reached once from the root (no loop, no shared node), split features within the
//! model's features, leaf outputs within its classes; our own models' array lengths
//! consistent with their features and classes, no NaN where it would poison a prediction,
//! sizes bounded.
//!
//! A model file is attacker-controlled (`models import`): a tree whose node points back to
//! itself would loop forever in prediction, pinning a fit thread with no panic to catch.
//! Our trees (`cart::Tree`) are walked by `check_tree` when a model is decoded.
//!
//! Length prefixes cannot drive a huge allocation while decoding: serde's `Vec` visitor
//! preallocates at most 1 MiB whatever the prefix says, and every element we decode takes
//! at least one byte, so a `Vec` grows only as far as the input lasts.

/// The most classes a model may have (a class list beyond it is refused).
pub(crate) const MAX_CLASSES: usize = 65_536;
/// The most trees a forest may have (`n_trees` is at most 65535).
pub(crate) const MAX_TREES: usize = 65_535;
/// The most features a model may have.
pub(crate) const MAX_FEATURES: usize = 1 << 20;

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
