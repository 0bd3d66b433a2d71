//! [`Tree`]: the fitted form every tree of the family shares, its iterative walk and the
//! check a decoded tree passes before it is trusted.

use crate::algorithms::validate::{Shape, check_tree, finite};
use crate::error::ModelsError;
use serde::{Deserialize, Serialize};

/// The most nodes one tree may have (its indices are `u32`): a tree grown on `n` rows has
/// at most `2n − 1`, and a fit takes fewer than 2³¹ rows.
pub(crate) const MAX_NODES: usize = u32::MAX as usize;

/// A node of a [`Tree`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum Node {
    /// Rows whose `feature` is `<= threshold` go to `left`, the others to `right`; both
    /// children come after their parent.
    Split {
        /// The feature tested.
        feature: u32,
        /// The cut.
        threshold: f64,
        /// The node of the rows at or below the cut.
        left: u32,
        /// The node of the rows above it.
        right: u32,
    },
    /// A leaf: its values (one per present class, or one) start at `offset` in the tree's
    /// values.
    Leaf {
        /// Where the leaf's values start.
        offset: u32,
    },
}

/// A fitted tree: its nodes (the root first, children after their parent) and its leaves'
/// values in one flat array, `width` per leaf (class fractions, or one mean).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    pub(crate) values: Vec<f64>,
}

impl Tree {
    /// The values of the leaf `row` falls in (`width` of them).
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for a tree that does not hold together (a child that does
    /// not come after its parent, a feature past the row, values past the end): a
    /// checked tree has none of these, the walk still never loops nor panics.
    pub(crate) fn leaf(&self, row: &[f64], width: usize) -> Result<&[f64], ModelsError> {
        let corrupt = |reason: String| ModelsError::Corrupt { reason };
        let mut index = 0usize;
        loop {
            match self.nodes.get(index) {
                Some(Node::Leaf { offset }) => {
                    let start = *offset as usize;
                    return self
                        .values
                        .get(start..start.saturating_add(width))
                        .ok_or_else(|| {
                            corrupt(format!("tree leaf values at {start} are past the end"))
                        });
                }
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    let value = row
                        .get(*feature as usize)
                        .ok_or_else(|| corrupt(format!("tree split on feature {feature}")))?;
                    let next = if *value <= *threshold { *left } else { *right } as usize;
                    // Children come after their parent: this also ends any loop.
                    if next <= index {
                        return Err(corrupt(format!("tree node {index} points back")));
                    }
                    index = next;
                }
                None => return Err(corrupt(format!("tree has no node {index}"))),
            }
        }
    }

    /// Checks a decoded tree: at most [`MAX_NODES`] nodes, walked from its root (children
    /// in range and after their parent, no node reached twice, split features below
    /// `features`, thresholds not NaN, each leaf's `width` values within the values), every
    /// value finite, no value left unreachable past the last leaf's.
    ///
    /// # Errors
    /// The first fault, naming `label`, the node and the index at fault.
    pub(crate) fn check(&self, label: &str, features: usize, width: usize) -> Result<(), String> {
        if self.nodes.len() > MAX_NODES {
            return Err(format!(
                "{label} has {} nodes; at most {MAX_NODES} are allowed",
                self.nodes.len()
            ));
        }
        finite(&format!("{label}'s leaf values"), &self.values)?;
        let values = self.values.len();
        check_tree(label, &self.nodes, features, |node| match *node {
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if threshold.is_nan() {
                    return Err("the threshold is NaN".to_owned());
                }
                Ok(Shape::Split {
                    feature: feature as usize,
                    left: left as usize,
                    right: right as usize,
                })
            }
            Node::Leaf { offset } => match (offset as usize).checked_add(width) {
                Some(end) if end <= values => Ok(Shape::Leaf),
                _ => Err(format!(
                    "leaf values at {offset} are past the {values} values"
                )),
            },
        })?;
        // The walk refuses a node reached twice; a child before its parent would pass it
        // but is refused by prediction's walk, so it is refused here.
        for (index, node) in self.nodes.iter().enumerate() {
            if let Node::Split { left, right, .. } = *node
                && (left as usize <= index || right as usize <= index)
            {
                return Err(format!(
                    "{label} node {index} points back to a node before it"
                ));
            }
        }
        Ok(())
    }

    /// The number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }
}
