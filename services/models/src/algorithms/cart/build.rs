//! The CART builder: scikit-learn's `BestSplitter` / `RandomSplitter` with its Gini,
//! entropy and squared-error criteria, grown depth first from an explicit stack.
//!
//! A node's rows are a range of one index array, partitioned in place when the node
//! splits; the buffers (the sorted `(value, row)` pairs, the class sums, the feature
//! order) are allocated once per tree and reused by every node. Each node expansion
//! looks at the cancel, and so does each candidate feature of a node with many rows, so a
//! cancel is seen within a few milliseconds even at the root of a large fit.

use super::criterion::{NodeRows, Sweep, class_impurity};
use super::tree::{Node, Tree};
use super::{Columns, Growth, Labels, Splitter};
use crate::algorithms::Cancel;
use crate::error::ModelsError;
use rand::RngExt;
use rand::rngs::SmallRng;
use std::cmp::Ordering;

/// Values closer than this count as equal: no split falls between them (scikit-learn's
/// `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;
/// An impurity at or below this is a pure node (scikit-learn's `EPSILON`).
const EPSILON: f64 = f64::EPSILON;
/// Rows from which a node looks at the cancel between candidate features too.
const LARGE_NODE: usize = 10_000;

/// A grown tree and the weighted impurity decrease of each feature (not normalised).
pub(crate) struct Grown {
    pub(crate) tree: Tree,
    pub(crate) decrease: Vec<f64>,
}

/// A node waiting on the stack: its rows `samples[start..end]`, its depth, where its
/// parent points to it, and how many features are known constant in it (the first ones
/// of `constant_features`).
struct Pending {
    start: usize,
    end: usize,
    depth: usize,
    /// The parent's node index, whether this is its left child, and its feature.
    parent: Option<(usize, bool, usize)>,
    known_constants: usize,
}

/// A node's totals over its rows.
struct NodeStats {
    weight: f64,
    impurity: f64,
    /// Every row has the same target (one class, or one value).
    pure: bool,
}

/// The best split found in a node.
struct Split {
    feature: usize,
    threshold: f64,
    /// Rows `start..pos` go left once partitioned.
    pos: usize,
}

/// The builder's state for one tree: the data, the buffers reused across nodes, the tree
/// so far.
pub(crate) struct Builder<'a> {
    columns: &'a Columns,
    labels: &'a Labels<'a>,
    weights: &'a [f64],
    growth: &'a Growth,
    cancel: &'a Cancel,
    random: &'a mut SmallRng,
    samples: Vec<u32>,
    /// A feature's values for a node's rows with each row's position in the node.
    pairs: Vec<(f64, u32)>,
    /// A feature's values for a node's rows, in order (random splitter).
    node_values: Vec<f64>,
    node_rows: NodeRows,
    features: Vec<usize>,
    constant_features: Vec<usize>,
    /// Class weight sums of a node, then of the left side while sweeping.
    node_counts: Vec<f64>,
    left_counts: Vec<f64>,
    /// The weight of the node being split.
    node_weight: f64,
    nodes: Vec<Node>,
    values: Vec<f64>,
    decrease: Vec<f64>,
}

impl<'a> Builder<'a> {
    /// A builder over the rows of positive `weights` (a bootstrap's counts, or ones).
    pub(crate) fn new(
        columns: &'a Columns,
        labels: &'a Labels<'a>,
        weights: &'a [f64],
        growth: &'a Growth,
        random: &'a mut SmallRng,
        cancel: &'a Cancel,
    ) -> Builder<'a> {
        let samples: Vec<u32> = (0..columns.rows)
            .filter(|&row| weights.get(row).is_some_and(|&w| w > 0.0))
            // Columns::new refuses more rows than a u32 counts.
            .map(|row| row as u32)
            .collect();
        let width = labels.width();
        Builder {
            columns,
            labels,
            weights,
            growth,
            cancel,
            random,
            pairs: Vec::new(),
            node_values: Vec::new(),
            node_rows: NodeRows::default(),
            samples,
            features: (0..columns.features).collect(),
            constant_features: vec![0; columns.features],
            node_counts: vec![0.0; width],
            left_counts: vec![0.0; width],
            node_weight: 0.0,
            nodes: Vec::new(),
            values: Vec::new(),
            decrease: vec![0.0; columns.features],
        }
    }

    /// Grows the tree depth first.
    ///
    /// # Errors
    /// [`ModelsError::Cancelled`] once the cancel fires; [`ModelsError::Fit`] when no row
    /// has a weight, or the leaf values outgrow the fitted form's offsets.
    pub(crate) fn grow(mut self) -> Result<Grown, ModelsError> {
        if self.samples.is_empty() {
            return Err(fit_failed(
                "no training row has a positive weight".to_owned(),
            ));
        }
        let mut stack = vec![Pending {
            start: 0,
            end: self.samples.len(),
            depth: 0,
            parent: None,
            known_constants: 0,
        }];
        while let Some(pending) = stack.pop() {
            self.cancel.check()?;
            let index = self.nodes.len();
            let stats = self.node_stats(pending.start, pending.end);
            if let Some((parent, is_left, feature)) = pending.parent {
                self.decrease[feature] -= stats.weight * stats.impurity;
                if let Some(Node::Split { left, right, .. }) = self.nodes.get_mut(parent) {
                    // At most 2n − 1 nodes, n < 2³¹ (Columns::new).
                    *(if is_left { left } else { right }) = index as u32;
                }
            }
            let limits = &self.growth.limits;
            let rows = pending.end - pending.start;
            let leaf = limits
                .max_depth
                .is_some_and(|depth| pending.depth >= usize::from(depth))
                || rows < limits.min_samples_split
                || rows < 2 * limits.min_samples_leaf
                || stats.impurity <= EPSILON
                || stats.pure;
            self.node_weight = stats.weight;
            let split = if leaf {
                None
            } else {
                self.find_split(&pending)?
            };
            match split {
                None => self.leaf(&stats)?,
                Some((split, known_constants)) => {
                    self.decrease[split.feature] += stats.weight * stats.impurity;
                    self.nodes.push(Node::Split {
                        // Below Columns::features, itself checked to fit a u32.
                        feature: split.feature as u32,
                        threshold: split.threshold,
                        left: 0,
                        right: 0,
                    });
                    // The right child is pushed first, so the left is grown first.
                    for (start, end, is_left) in [
                        (split.pos, pending.end, false),
                        (pending.start, split.pos, true),
                    ] {
                        stack.push(Pending {
                            start,
                            end,
                            depth: pending.depth + 1,
                            parent: Some((index, is_left, split.feature)),
                            known_constants,
                        });
                    }
                }
            }
        }
        Ok(Grown {
            tree: Tree {
                nodes: self.nodes,
                values: self.values,
            },
            decrease: self.decrease,
        })
    }

    /// Appends a leaf holding the node's class fractions or mean (from `node_counts`,
    /// filled by [`Builder::node_stats`]).
    fn leaf(&mut self, stats: &NodeStats) -> Result<(), ModelsError> {
        let offset = u32::try_from(self.values.len())
            .map_err(|_| fit_failed("the tree's leaf values outgrow 2³² entries".to_owned()))?;
        self.nodes.push(Node::Leaf { offset });
        let total = stats.weight;
        self.values
            .extend(self.node_counts.iter().map(|&sum| sum / total));
        Ok(())
    }

    /// The totals of `samples[start..end]`; leaves the class weight sums (or the
    /// weighted target sum) in `node_counts`.
    fn node_stats(&mut self, start: usize, end: usize) -> NodeStats {
        let rows = &self.samples[start..end];
        self.node_counts.fill(0.0);
        let mut weight = 0.0;
        match self.labels {
            Labels::Classes { codes, .. } => {
                for &row in rows {
                    let w = self.weights[row as usize];
                    self.node_counts[codes[row as usize] as usize] += w;
                    weight += w;
                }
                let present = self.node_counts.iter().filter(|&&c| c > 0.0).count();
                let impurity = class_impurity(self.growth.criterion, &self.node_counts, weight);
                NodeStats {
                    weight,
                    impurity,
                    pure: present <= 1,
                }
            }
            Labels::Values(y) => {
                let (mut sum, mut squares) = (0.0, 0.0);
                let first = rows.first().map_or(0.0, |&row| y[row as usize]);
                let mut pure = true;
                for &row in rows {
                    let (w, value) = (self.weights[row as usize], y[row as usize]);
                    weight += w;
                    sum += w * value;
                    squares += w * value * value;
                    pure &= value == first;
                }
                self.node_counts[0] = sum;
                let mean = sum / weight;
                NodeStats {
                    weight,
                    impurity: (squares / weight - mean * mean).max(0.0),
                    pure,
                }
            }
        }
    }

    /// The best split of a node, with the number of features known constant in its
    /// children; `None` when no split keeps `min_samples_leaf` rows on both sides or
    /// every feature is constant in the node.
    fn find_split(&mut self, pending: &Pending) -> Result<Option<(Split, usize)>, ModelsError> {
        let (start, end) = (pending.start, pending.end);
        let features = self.columns.features;
        let max_features = self.growth.max_features;
        let known = pending.known_constants;
        let (mut f_i, mut visited, mut found_constants, mut drawn_constants) = (features, 0, 0, 0);
        let mut total_constants = known;
        let mut best: Option<Split> = None;
        let mut best_proxy = f64::NEG_INFINITY;
        self.node_rows
            .gather(&self.samples[start..end], self.labels, self.weights);
        // scikit-learn's loop: draw features without replacement until `max_features`
        // non-constant ones were tried (going on while the drawn ones are constant).
        while f_i > total_constants
            && (visited < max_features || visited <= found_constants + drawn_constants)
        {
            visited += 1;
            if end - start > LARGE_NODE {
                self.cancel.check()?;
            }
            let mut f_j = self
                .random
                .random_range(drawn_constants..f_i - found_constants);
            if f_j < known {
                self.features.swap(drawn_constants, f_j);
                drawn_constants += 1;
                continue;
            }
            f_j += found_constants;
            let feature = self.features[f_j];
            let candidate = match self.growth.splitter {
                Splitter::Best => self.best_on(feature, start, end),
                Splitter::Random => self.random_on(feature, start, end),
            };
            let Some(candidate) = candidate else {
                self.features.swap(f_j, total_constants);
                found_constants += 1;
                total_constants += 1;
                continue;
            };
            f_i -= 1;
            self.features.swap(f_i, f_j);
            if let Some((proxy, split)) = candidate
                && proxy > best_proxy
            {
                best_proxy = proxy;
                best = Some(split);
            }
        }
        // The order of the known constants must be kept for the siblings and children.
        self.features[..known].copy_from_slice(&self.constant_features[..known]);
        self.constant_features[known..known + found_constants]
            .copy_from_slice(&self.features[known..known + found_constants]);
        Ok(best.map(|split| {
            let pos = self.partition(split.feature, split.threshold, start, end);
            debug_assert_eq!(pos, split.pos);
            (split, total_constants)
        }))
    }

    /// Moves the rows of `samples[start..end]` whose `feature` is `<= threshold` to the
    /// front; where the others start.
    fn partition(&mut self, feature: usize, threshold: f64, start: usize, end: usize) -> usize {
        let column = self.columns.column(feature);
        let rows = &mut self.samples[start..end];
        let mut left = 0;
        for index in 0..rows.len() {
            if column[rows[index] as usize] <= threshold {
                rows.swap(left, index);
                left += 1;
            }
        }
        start + left
    }

    /// The best cut on `feature` in `samples[start..end]`: `None` when the feature is
    /// constant there, `Some(None)` when no cut keeps `min_samples_leaf` rows a side.
    #[allow(clippy::option_option)]
    fn best_on(
        &mut self,
        feature: usize,
        start: usize,
        end: usize,
    ) -> Option<Option<(f64, Split)>> {
        let column = self.columns.column(feature);
        self.pairs.clear();
        // Positions in the node fit a u32: rows are fewer than 2³¹ (Columns::new).
        self.pairs.extend(
            self.samples[start..end]
                .iter()
                .enumerate()
                .map(|(at, &row)| (column[row as usize], at as u32)),
        );
        // No NaN reaches a fit (`check_matrix` refuses it), so the plain order is total
        // (and cheaper to compare than `total_cmp`'s).
        self.pairs
            .sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
        let (first, last) = (self.pairs.first()?.0, self.pairs.last()?.0);
        if last <= first + FEATURE_THRESHOLD {
            return None;
        }
        let min_leaf = self.growth.limits.min_samples_leaf;
        let n = self.pairs.len();
        let mut best: Option<(f64, usize)> = None;
        let mut sweep = Sweep::new(self.growth.criterion, self.node_weight);
        let rows = &self.node_rows;
        let left_counts = &mut self.left_counts;
        left_counts.fill(0.0);
        let mut p = 0;
        while p < n {
            // The run of values equal (within FEATURE_THRESHOLD) to pairs[p] goes left.
            while p + 1 < n && self.pairs[p + 1].0 <= self.pairs[p].0 + FEATURE_THRESHOLD {
                sweep.add(rows, self.pairs[p].1 as usize, left_counts);
                p += 1;
            }
            sweep.add(rows, self.pairs[p].1 as usize, left_counts);
            p += 1;
            if p >= n {
                break;
            }
            if p < min_leaf || n - p < min_leaf {
                continue;
            }
            let proxy = sweep.proxy(left_counts, &self.node_counts);
            if best.is_none_or(|(b, _)| proxy > b) {
                best = Some((proxy, p));
            }
        }
        Some(best.map(|(proxy, p)| {
            let (before, at) = (self.pairs[p - 1].0, self.pairs[p].0);
            let mut threshold = before / 2.0 + at / 2.0;
            if threshold == at || threshold.is_infinite() {
                threshold = before;
            }
            (
                proxy,
                Split {
                    feature,
                    threshold,
                    pos: start + p,
                },
            )
        }))
    }

    /// A uniform random cut on `feature` between its least and greatest value in
    /// `samples[start..end]`: as [`Builder::best_on`]. The rows are not moved: the node
    /// is partitioned once, on the best cut.
    #[allow(clippy::option_option)]
    fn random_on(
        &mut self,
        feature: usize,
        start: usize,
        end: usize,
    ) -> Option<Option<(f64, Split)>> {
        let column = self.columns.column(feature);
        // The node's values gathered once, then read in order.
        self.node_values.clear();
        let (mut least, mut greatest) = (f64::INFINITY, f64::NEG_INFINITY);
        for &row in &self.samples[start..end] {
            let value = column[row as usize];
            // Plain comparisons: no NaN reaches a fit (`check_matrix` refuses it).
            if value < least {
                least = value;
            }
            if value > greatest {
                greatest = value;
            }
            self.node_values.push(value);
        }
        if greatest <= least + FEATURE_THRESHOLD {
            return None;
        }
        // scikit-learn's `rand_uniform`; a range past f64's (values near ±1.8e308) is
        // spanned as a weighted mean instead of overflowing.
        let u: f64 = self.random.random();
        let span = greatest - least;
        let mut threshold = if span.is_finite() {
            least + u * span
        } else {
            (1.0 - u) * least + u * greatest
        };
        if threshold >= greatest || threshold < least {
            threshold = least;
        }
        let mut sweep = Sweep::new(self.growth.criterion, self.node_weight);
        self.left_counts.fill(0.0);
        let mut left_rows = 0;
        for (at, &value) in self.node_values.iter().enumerate() {
            let left = value <= threshold;
            sweep.add_if(&self.node_rows, at, left, &mut self.left_counts);
            left_rows += usize::from(left);
        }
        let min_leaf = self.growth.limits.min_samples_leaf;
        if left_rows < min_leaf || end - start - left_rows < min_leaf {
            return Some(None);
        }
        let proxy = sweep.proxy(&self.left_counts, &self.node_counts);
        Some(Some((
            proxy,
            Split {
                feature,
                threshold,
                pos: start + left_rows,
            },
        )))
    }
}

fn fit_failed(reason: String) -> ModelsError {
    ModelsError::Fit {
        algorithm: "tree",
        reason,
    }
}
