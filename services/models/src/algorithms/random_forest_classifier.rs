//! A random forest of classification trees (smartcore's `RandomForestClassifier`),
//! scikit-learn's `RandomForestClassifier`: 100 bootstrapped Gini trees, √p features tried
//! at each split; probabilities, as scikit-learn's, are the mean over the trees of the
//! class fractions in the leaf a row falls in, and the label the most probable class (the
//! lowest code among ties).
//!
//! smartcore's forest only votes (ML-BASELINE.md), and its trees keep only each leaf's
//! majority class. So we read the fitted trees (see `dense::mirror`: their nodes are private but
//! serialized), replay the forest's bootstrap (smartcore 0.7 draws it, class by class,
//! from one `SmallRng` seeded with the forest's seed, before each tree; we draw the same
//! numbers from the same rand), route every drawn training row down its tree and count
//! the classes in each leaf, weighted by how often the row was drawn: scikit-learn's
//! leaf values. The replay is checked against the trees themselves: the drawn rows that
//! reach each node must add up to the node's sample count smartcore recorded, or the fit
//! fails rather than give wrong probabilities. With the default growth limits most leaves
//! are pure and the probabilities equal the vote shares; they differ where a leaf is not
//! (`max_depth`, `min_samples_leaf`, or identical rows of different classes).

use crate::algorithms::decision_tree_classifier::{CRITERION_DOC, Criterion};
use crate::algorithms::dense::{check_classes, dense, fit_failed, mirror, present_classes, rows};
use crate::algorithms::forest::{self, MaxFeatures};
use crate::algorithms::params::{ParamDoc, Params};
use crate::algorithms::trees::{self, TreeLimits};
use crate::algorithms::validate::{
    self, ClassTreeMirror as TreeMirror, Shape, check_tree, class_codes, finite,
};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use mltools_core::utils::Matrix;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};
use smartcore::ensemble::random_forest_classifier::{
    RandomForestClassifier, RandomForestClassifierParameters,
};

const ID: &str = "random_forest_classifier";

/// Parameters of a random forest classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestClassifierParams {
    /// Trees; 100.
    pub n_trees: usize,
    /// Features tried per split; √p.
    pub max_features: MaxFeatures,
    /// The split criterion; Gini.
    pub criterion: Criterion,
    /// How far each tree may grow.
    pub limits: TreeLimits,
}

impl Default for RandomForestClassifierParams {
    fn default() -> Self {
        RandomForestClassifierParams {
            n_trees: 100,
            max_features: MaxFeatures::Sqrt,
            criterion: Criterion::Gini,
            limits: TreeLimits::default(),
        }
    }
}

/// Checked [`RandomForestClassifierParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestClassifierValidParams(RandomForestClassifierParams);

impl RandomForestClassifierParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        forest::N_TREES_DOC,
        forest::max_features_doc("sqrt"),
        CRITERION_DOC,
        trees::DOCS[0],
        trees::DOCS[1],
        trees::DOCS[2],
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(RandomForestClassifierParams {
            n_trees: forest::n_trees(params)?,
            max_features: MaxFeatures::from_params(params, MaxFeatures::Sqrt)?,
            criterion: Criterion::from_params(params)?,
            limits: TreeLimits::from_params(params)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a count or limit out of range.
    pub fn check(self) -> Result<RandomForestClassifierValidParams, ModelsError> {
        forest::check_trees(ID, self.n_trees)?;
        self.limits.check(ID)?;
        Ok(RandomForestClassifierValidParams(self))
    }
}

/// smartcore 0.7's `RandomForestClassifier`, field for field (see [`mirror`]).
#[derive(Deserialize)]
struct ForestMirror {
    trees: Option<Vec<TreeMirror>>,
    classes: Option<Vec<u32>>,
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "read only to keep the fields aligned")
    )]
    samples: Option<Vec<Vec<bool>>>,
}

/// A node of one of our trees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Node {
    /// Rows with `value <= threshold` go to `left` (NaN: none do), the others to `right`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// The class fractions of the leaf start at `offset` in the forest's `fractions`.
    Leaf { offset: usize },
}

/// A fitted forest: each tree's nodes, every leaf's class fractions (one per present
/// class), and the classes it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestClassifierModel {
    trees: Vec<Vec<Node>>,
    fractions: Vec<f64>,
    present: Vec<u32>,
}

impl RandomForestClassifierValidParams {
    /// The parameters.
    pub fn params(&self) -> &RandomForestClassifierParams {
        &self.0
    }

    fn smartcore(&self, features: usize, seed: u64) -> RandomForestClassifierParameters {
        let params = &self.0;
        RandomForestClassifierParameters {
            criterion: params.criterion.smartcore(),
            max_depth: params.limits.max_depth,
            min_samples_leaf: params.limits.min_samples_leaf,
            min_samples_split: params.limits.min_samples_split,
            // Checked to fit in a u16.
            n_trees: params.n_trees as u16,
            m: Some(params.max_features.resolve(features)),
            keep_samples: false,
            seed,
        }
    }

    /// Fits without a way to cancel (tests).
    #[cfg(test)]
    pub(crate) fn fit(
        &self,
        x: &Matrix,
        y: &[u32],
        seed: u64,
    ) -> Result<ForestClassifierModel, ModelsError> {
        self.fit_until(x, y, seed, &crate::algorithms::Cancel::never())
    }

    /// Fits, giving up with [`ModelsError::Cancelled`] once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[u32],
        seed: u64,
        cancel: &crate::algorithms::Cancel,
    ) -> Result<ForestClassifierModel, ModelsError> {
        let parameters = self.smartcore(x.columns.len(), seed);
        // smartcore grows the whole forest in one call, which cannot be interrupted: the
        // cancel is seen before it and between the trees of the replay after it.
        cancel.check()?;
        let forest: RandomForestClassifier<f64, u32, crate::algorithms::dense::Dense, Vec<u32>> =
            RandomForestClassifier::fit(&dense(x)?, &y.to_vec(), parameters)
                .map_err(fit_failed(ID))?;
        let mirrored: ForestMirror = mirror(ID, &forest)?;
        let present = present_classes(y);
        if mirrored.classes.as_ref() != Some(&present) {
            return Err(replay_failed(
                "the forest's classes are not the training classes",
            ));
        }
        let class_of_row: Vec<usize> = y
            .iter()
            .map(|label| present.binary_search(label).unwrap_or(0))
            .collect();
        let mut random = SmallRng::seed_from_u64(seed);
        let mut leaves = LeafCounts {
            x,
            class_of_row: &class_of_row,
            classes: present.len(),
            fractions: Vec::new(),
        };
        let trees = mirrored
            .trees
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(index, tree)| {
                cancel.check()?;
                let drawn = bootstrap(&class_of_row, present.len(), &mut random);
                leaves.tree(index, tree, &drawn)
            })
            .collect::<Result<_, _>>()?;
        Ok(ForestClassifierModel {
            trees,
            fractions: leaves.fractions,
            present,
        })
    }
}

/// smartcore 0.7's `sample_with_replacement`: for each class in turn, as many draws as it
/// has rows, each a uniform pick among them; how often each row was drawn.
fn bootstrap(class_of_row: &[usize], classes: usize, random: &mut SmallRng) -> Vec<usize> {
    let mut drawn = vec![0; class_of_row.len()];
    for class in 0..classes {
        let members: Vec<usize> = (0..class_of_row.len())
            .filter(|&row| class_of_row[row] == class)
            .collect();
        if members.is_empty() {
            continue;
        }
        for _ in 0..members.len() {
            let pick: usize = random.random_range(0..members.len());
            drawn[members[pick]] += 1;
        }
    }
    drawn
}

/// The error of a replay that disagrees with smartcore's trees.
fn replay_failed(reason: &str) -> ModelsError {
    ModelsError::Fit {
        algorithm: ID,
        reason: format!(
            "cannot count the classes in the leaves ({reason}); the pinned smartcore or rand \
             release changed"
        ),
    }
}

/// Turns mirrored trees into ours, counting the drawn rows' classes in each leaf.
struct LeafCounts<'a> {
    x: &'a Matrix,
    class_of_row: &'a [usize],
    classes: usize,
    fractions: Vec<f64>,
}

impl LeafCounts<'_> {
    fn tree(
        &mut self,
        index: usize,
        tree: &TreeMirror,
        drawn: &[usize],
    ) -> Result<Vec<Node>, ModelsError> {
        let nodes = &tree.nodes;
        // Per node: the drawn rows reaching it; per leaf: by class.
        let mut reaching = vec![0usize; nodes.len()];
        let mut by_class = vec![0usize; nodes.len() * self.classes];
        for ((row, &count), &class) in rows(self.x).zip(drawn).zip(self.class_of_row) {
            if count == 0 {
                continue;
            }
            let mut node = 0;
            loop {
                let Some(current) = nodes.get(node) else {
                    return Err(replay_failed(&format!("tree {index} has no node {node}")));
                };
                reaching[node] += count;
                let (Some(left), Some(right)) = (current.true_child, current.false_child) else {
                    by_class[node * self.classes + class] += count;
                    break;
                };
                let value = row.get(current.split_feature).copied().unwrap_or(f64::NAN);
                let next = if value <= current.split_value.unwrap_or(f64::NAN) {
                    left
                } else {
                    right
                };
                // smartcore appends children after their parent: this also ends any loop.
                if next <= node {
                    return Err(replay_failed(&format!(
                        "tree {index} node {node} points back"
                    )));
                }
                node = next;
            }
        }
        nodes
            .iter()
            .enumerate()
            .map(|(id, node)| {
                if reaching[id] != node.n_node_samples {
                    return Err(replay_failed(&format!(
                        "tree {index} node {id}: {} drawn rows reach it, smartcore counted {}",
                        reaching[id], node.n_node_samples
                    )));
                }
                Ok(match (node.true_child, node.false_child) {
                    (Some(left), Some(right)) => Node::Split {
                        feature: node.split_feature,
                        threshold: node.split_value.unwrap_or(f64::NAN),
                        left,
                        right,
                    },
                    _ => {
                        let offset = self.fractions.len();
                        let counts = &by_class[id * self.classes..(id + 1) * self.classes];
                        let total = reaching[id].max(1) as f64;
                        self.fractions
                            .extend(counts.iter().map(|&count| count as f64 / total));
                        Node::Leaf { offset }
                    }
                })
            })
            .collect()
    }
}

impl ForestClassifierModel {
    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        check_classes(&self.present, classes)?;
        let width = self.present.len();
        let mut probabilities = vec![0.0; x.rows * classes];
        let share = 1.0 / self.trees.len().max(1) as f64;
        let mut mean = vec![0.0; width];
        for (row, out) in rows(x).zip(probabilities.chunks_exact_mut(classes.max(1))) {
            mean.fill(0.0);
            for tree in &self.trees {
                let leaf = self.leaf(tree, row)?;
                mean.iter_mut().zip(leaf).for_each(|(m, f)| *m += f);
            }
            for (&class, m) in self.present.iter().zip(&mean) {
                out[class as usize] = m * share;
            }
        }
        Ok(ClassPrediction::from_probabilities(probabilities, classes))
    }

    /// The class fractions of the leaf `row` falls in.
    fn leaf(&self, tree: &[Node], row: &[f64]) -> Result<&[f64], ModelsError> {
        let corrupt = |reason: String| ModelsError::Corrupt { reason };
        let mut index = 0;
        loop {
            match tree.get(index) {
                Some(Node::Leaf { offset }) => {
                    let width = self.present.len();
                    return self
                        .fractions
                        .get(*offset..offset.saturating_add(width))
                        .ok_or_else(|| {
                            corrupt(format!("forest leaf at {offset} is past the end"))
                        });
                }
                Some(Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    let value = row
                        .get(*feature)
                        .ok_or_else(|| corrupt(format!("forest split on feature {feature}")))?;
                    let next = if *value <= *threshold { *left } else { *right };
                    if next <= index {
                        return Err(corrupt(format!("forest node {index} points back")));
                    }
                    index = next;
                }
                None => return Err(corrupt(format!("forest has no node {index}"))),
            }
        }
    }

    /// Checks a decoded forest: 1 to [`validate::MAX_TREES`] trees, each walked from its
    /// root (children in range, no node reached twice, split features below `features`,
    /// leaves within `fractions`), the fractions finite, the classes ascending below
    /// `classes`.
    pub(crate) fn check(&self, features: usize, classes: usize) -> Result<(), String> {
        if self.trees.is_empty() || self.trees.len() > validate::MAX_TREES {
            return Err(format!(
                "the forest has {} trees; 1 to {} are allowed",
                self.trees.len(),
                validate::MAX_TREES
            ));
        }
        class_codes("the forest's class list", &self.present, classes)?;
        finite("the forest's leaf fractions", &self.fractions)?;
        let width = self.present.len();
        for (index, tree) in self.trees.iter().enumerate() {
            check_tree(
                &format!("tree {index}"),
                tree,
                features,
                |node| match *node {
                    Node::Split {
                        feature,
                        left,
                        right,
                        ..
                    } => Ok(Shape::Split {
                        feature,
                        left,
                        right,
                    }),
                    Node::Leaf { offset } => match offset.checked_add(width) {
                        Some(end) if end <= self.fractions.len() => Ok(Shape::Leaf),
                        _ => Err(format!(
                            "leaf fractions at {offset} are past the {} fractions",
                            self.fractions.len()
                        )),
                    },
                },
            )?;
        }
        Ok(())
    }

    /// The number of trees.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }
}

#[cfg(test)]
mod tests;
