//! Histogram gradient boosting, scikit-learn's `HistGradientBoosting*` ("LightGBM's
//! algorithm"): each feature is cut into at most 255 bins once, from the training rows
//! (the midpoints of its distinct values, or its quantiles when it has more), with one more
//! bin for missing values; each tree grows best-first on histograms of the gradients and
//! hessians per bin (a node's histogram is built for the smaller child and subtracted
//! from the parent's for the larger), up to `max_leaf_nodes` leaves, trying missing values
//! on either side of every cut; its leaf values, `−G / (H + λ)` times the learning rate,
//! are added to the raw predictions. Early stopping holds out a seeded (stratified) share
//! of the rows and stops once the held-out loss has not improved by `tol` in
//! `n_iter_no_change` iterations.
//!
//! Losses, as scikit-learn's: half squared error (regression), half binomial log loss
//! (two classes, one tree per iteration) and half multinomial log loss (more classes, one
//! tree per class per iteration).

use crate::algorithms::Cancel;
use crate::algorithms::validate::{Shape, check_tree};
use crate::error::ModelsError;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Bins per feature for its values; one more holds its missing values.
pub(crate) const MAX_BINS: usize = 255;
/// Rows the bin edges are computed from, at most (scikit-learn's `subsample`).
const BINNING_SAMPLE: usize = 200_000;
/// The smallest hessian sum a child may have (scikit-learn's `min_hessian_to_split`).
const MIN_HESSIAN: f64 = 1e-3;

/// How boosting runs: scikit-learn's parameters, checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Settings {
    pub(crate) learning_rate: f64,
    pub(crate) max_iter: usize,
    pub(crate) max_leaf_nodes: usize,
    pub(crate) max_depth: Option<usize>,
    pub(crate) min_samples_leaf: usize,
    pub(crate) l2_regularization: f64,
    pub(crate) max_bins: usize,
    /// Whether part of the rows is held out to stop early.
    pub(crate) early_stopping: bool,
    pub(crate) validation_fraction: f64,
    pub(crate) n_iter_no_change: usize,
    pub(crate) tol: f64,
}

/// What is learnt: values, or class indices among `classes` present ones.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Regression values.
    Values(&'a [f64]),
    /// Per row, the index of its class among the `classes` present ones (0-based).
    Classes(&'a [u32], usize),
}

impl Target<'_> {
    /// Raw outputs per row: one for regression and two classes, one per class beyond.
    fn outputs(self) -> usize {
        match self {
            Target::Values(_) | Target::Classes(_, 2) => 1,
            Target::Classes(_, classes) => classes,
        }
    }

    fn rows(self) -> usize {
        match self {
            Target::Values(y) => y.len(),
            Target::Classes(y, _) => y.len(),
        }
    }
}

/// A target's rows `rows`, in their order, owned.
enum Subset {
    Values(Vec<f64>),
    Classes(Vec<u32>, usize),
}

impl Subset {
    fn of(target: Target<'_>, rows: &[u32]) -> Subset {
        match target {
            Target::Values(y) => Subset::Values(rows.iter().map(|&row| y[row as usize]).collect()),
            Target::Classes(y, classes) => {
                Subset::Classes(rows.iter().map(|&row| y[row as usize]).collect(), classes)
            }
        }
    }

    fn target(&self) -> Target<'_> {
        match self {
            Subset::Values(y) => Target::Values(y),
            Subset::Classes(y, classes) => Target::Classes(y, *classes),
        }
    }
}

/// One node of a fitted tree.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum BoostNode {
    /// Rows with `feature ≤ threshold` go `left`, the others `right`; a missing value goes
    /// left when `missing_left`.
    Split {
        feature: u32,
        threshold: f64,
        missing_left: bool,
        left: u32,
        right: u32,
    },
    /// A leaf's value (the learning rate applied).
    Leaf(f64),
}

/// A boosted ensemble: raw prediction = baseline + the sum of one tree per output per
/// iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Booster {
    /// Raw outputs per row.
    pub(crate) outputs: usize,
    /// The raw prediction before any tree, per output.
    pub(crate) baseline: Vec<f64>,
    /// Iteration by iteration, one tree per output.
    pub(crate) trees: Vec<Vec<BoostNode>>,
}

impl Booster {
    /// The iterations fitted.
    #[cfg(test)]
    pub(crate) fn iterations(&self) -> usize {
        self.trees.len() / self.outputs.max(1)
    }

    /// The raw predictions of the `rows` rows of `x` (`rows × features`, row-major),
    /// `rows × outputs`.
    pub(crate) fn raw(
        &self,
        x: &[f64],
        rows: usize,
        features: usize,
        cancel: &Cancel,
    ) -> Result<Vec<f64>, ModelsError> {
        let mut raw = Vec::with_capacity(rows * self.outputs);
        for _ in 0..rows {
            raw.extend_from_slice(&self.baseline);
        }
        for (index, tree) in self.trees.iter().enumerate() {
            if index % 64 == 0 {
                cancel.check()?;
            }
            let output = index % self.outputs;
            for row in 0..rows {
                let values = &x[row * features..(row + 1) * features];
                raw[row * self.outputs + output] += leaf(tree, |feature| values[feature]);
            }
        }
        Ok(raw)
    }

    /// Checks a decoded ensemble against `features`: every tree sound (children in range,
    /// each node reached once, features below `features`), its values finite, thresholds
    /// not NaN, `outputs` trees per iteration.
    pub(crate) fn check(&self, features: usize, outputs: usize) -> Result<(), String> {
        if self.outputs != outputs || self.baseline.len() != outputs {
            return Err(format!(
                "{} outputs and {} baselines; the task has {outputs}",
                self.outputs,
                self.baseline.len()
            ));
        }
        if !self.trees.len().is_multiple_of(outputs) {
            return Err(format!(
                "{} trees are not whole iterations of {outputs}",
                self.trees.len()
            ));
        }
        crate::algorithms::validate::finite("the baseline", &self.baseline)?;
        for (index, tree) in self.trees.iter().enumerate() {
            check_tree(
                &format!("tree {index}"),
                tree,
                features,
                |node| match *node {
                    BoostNode::Leaf(value) if value.is_finite() => Ok(Shape::Leaf),
                    BoostNode::Leaf(value) => Err(format!("a leaf value of {value}")),
                    BoostNode::Split { threshold, .. } if threshold.is_nan() => {
                        Err("a NaN threshold".to_owned())
                    }
                    BoostNode::Split {
                        feature,
                        left,
                        right,
                        ..
                    } => Ok(Shape::Split {
                        feature: feature as usize,
                        left: left as usize,
                        right: right as usize,
                    }),
                },
            )?;
        }
        Ok(())
    }
}

/// The leaf value reached in `tree` from its root, `side(node, feature, threshold)` saying
/// at each split whether the row goes left, or `None` for a missing value (which goes
/// where the split sends missing values).
#[inline(always)]
fn descend(tree: &[BoostNode], side: impl Fn(usize, usize, f64) -> Option<bool>) -> f64 {
    let mut index = 0;
    loop {
        match tree[index] {
            BoostNode::Leaf(output) => return output,
            BoostNode::Split {
                feature,
                threshold,
                missing_left,
                left,
                right,
            } => {
                let goes_left = side(index, feature as usize, threshold).unwrap_or(missing_left);
                index = if goes_left { left } else { right } as usize;
            }
        }
    }
}

/// The leaf value a row reaches in `tree`; `value(feature)` reads the row.
fn leaf(tree: &[BoostNode], value: impl Fn(usize) -> f64) -> f64 {
    descend(tree, |_, feature, threshold| {
        let x = value(feature);
        (!x.is_nan()).then_some(x <= threshold)
    })
}

// ---------------------------------------------------------------------------------------
// Bins

/// Each feature's bin edges, and the training rows binned column by column.
struct Binned {
    /// Training rows, numbered `0..rows` in the order given.
    rows: usize,
    /// Per feature, ascending: a value `v` is in bin `count(edges < v)`.
    edges: Vec<Vec<f64>>,
    /// Per feature, whether its training rows have a missing value.
    missing: Vec<bool>,
    /// `features × rows`, feature-major.
    bins: Vec<u8>,
    /// Per feature, the bin of its missing values (`edges.len() + 1`).
    missing_bins: Vec<u8>,
    /// Where each feature's histogram cells start: one per bin and one for missing values.
    offsets: Vec<usize>,
}

/// A feature's bin edges from its non-missing `values` (sorted here): the midpoints of
/// its distinct values when there are at most `max_bins`, else its `max_bins − 1` inner
/// percentiles as NumPy's `percentile(method="averaged_inverted_cdf")` computes them
/// (scikit-learn 1.9's), distinct.
fn edges(values: &mut [f64], max_bins: usize) -> Vec<f64> {
    values.sort_unstable_by(f64::total_cmp);
    let mut distinct = values.to_vec();
    distinct.dedup();
    if distinct.len() <= max_bins {
        return distinct
            .windows(2)
            .map(|pair| (pair[0] + pair[1]) / 2.0)
            .collect();
    }
    let count = values.len();
    let step = 100.0 / max_bins as f64;
    let mut edges: Vec<f64> = (1..max_bins)
        .map(|k| {
            // NumPy's virtual index n·q − 1: halfway between two values where it is whole,
            // else the upper one; computed in the same floating point order as NumPy.
            let index = count as f64 * ((k as f64 * step) / 100.0) - 1.0;
            let low = index.floor();
            let weight = if index - low == 0.0 { 0.5 } else { 1.0 };
            let low = (low.max(0.0) as usize).min(count - 1);
            let (a, b) = (values[low], values[(low + 1).min(count - 1)]);
            b - (b - a) * (1.0 - weight)
        })
        .collect();
    edges.dedup();
    edges
}

/// The bin of `value` among `edges`: `count(edges < value)`, and for a missing value the
/// bin after the last (`edges.len() + 1`, at most 255).
fn bin_of(value: f64, edges: &[f64]) -> u8 {
    if value.is_nan() {
        return (edges.len() + 1) as u8;
    }
    edges.partition_point(|&edge| edge < value) as u8
}

impl Binned {
    /// Bins the rows `train` of `x` (`rows × features`, row-major) with edges from those
    /// rows (a seeded sample of 200,000 when there are more); binned row `i` is `train[i]`.
    fn new(
        x: &[f64],
        features: usize,
        train: &[u32],
        max_bins: usize,
        rng: &mut SmallRng,
        cancel: &Cancel,
    ) -> Result<Binned, ModelsError> {
        let sample: Vec<u32> = if train.len() > BINNING_SAMPLE {
            let mut picked = train.to_vec();
            picked.shuffle(rng);
            picked.truncate(BINNING_SAMPLE);
            picked
        } else {
            train.to_vec()
        };
        let mut all_edges = Vec::with_capacity(features);
        let mut missing = Vec::with_capacity(features);
        let rows = train.len();
        let mut bins = vec![0u8; features * rows];
        let mut column = Vec::with_capacity(sample.len());
        for feature in 0..features {
            cancel.check()?;
            column.clear();
            column.extend(
                sample
                    .iter()
                    .map(|&row| x[row as usize * features + feature])
                    .filter(|value| !value.is_nan()),
            );
            let feature_edges = edges(&mut column, max_bins);
            let out = &mut bins[feature * rows..(feature + 1) * rows];
            for (&row, slot) in train.iter().zip(out.iter_mut()) {
                *slot = bin_of(x[row as usize * features + feature], &feature_edges);
            }
            let missing_bin = (feature_edges.len() + 1) as u8;
            missing.push(out.contains(&missing_bin));
            all_edges.push(feature_edges);
        }
        let mut offsets = Vec::with_capacity(features + 1);
        let mut cells = 0;
        for feature_edges in &all_edges {
            offsets.push(cells);
            cells += feature_edges.len() + 2;
        }
        offsets.push(cells);
        let missing_bins = all_edges
            .iter()
            .map(|edges| (edges.len() + 1) as u8)
            .collect();
        Ok(Binned {
            rows,
            edges: all_edges,
            missing,
            bins,
            missing_bins,
            offsets,
        })
    }

    /// The rows `rows` of `x` binned with these edges, row-major (`rows × features`).
    fn bin_rows(&self, x: &[f64], rows: &[u32]) -> Vec<u8> {
        let features = self.edges.len();
        let mut out = Vec::with_capacity(rows.len() * features);
        for &row in rows {
            let values = &x[row as usize * features..(row as usize + 1) * features];
            out.extend(
                values
                    .iter()
                    .zip(&self.edges)
                    .map(|(&value, edges)| bin_of(value, edges)),
            );
        }
        out
    }

    fn column(&self, feature: usize) -> &[u8] {
        &self.bins[feature * self.rows..(feature + 1) * self.rows]
    }

    /// A feature's histogram cells: its bins, then its missing values.
    fn cells<'a>(&self, histograms: &'a [Cell], feature: usize) -> &'a [Cell] {
        &histograms[self.offsets[feature]..self.offsets[feature + 1]]
    }
}

// ---------------------------------------------------------------------------------------
// Losses

/// `1 / (1 + e^−x)`.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The raw prediction before any tree: the mean (regression), the log-odds of class 1
/// (two classes), the centred log class shares (more), shares clipped at machine epsilon.
fn baseline(target: Target<'_>) -> Vec<f64> {
    let count = target.rows().max(1) as f64;
    match target {
        Target::Values(y) => vec![y.iter().sum::<f64>() / count],
        Target::Classes(y, classes) => {
            let mut shares = vec![0.0; classes];
            for &class in y {
                shares[class as usize] += 1.0;
            }
            let clip = |share: f64| (share / count).clamp(f64::EPSILON, 1.0 - f64::EPSILON);
            if classes == 2 {
                let p = clip(shares[1]);
                vec![(p / (1.0 - p)).ln()]
            } else {
                let logs: Vec<f64> = shares.iter().map(|&share| clip(share).ln()).collect();
                let mean = logs.iter().sum::<f64>() / classes as f64;
                logs.iter().map(|log| log - mean).collect()
            }
        }
    }
}

/// Gradients and hessians of the loss at `raw` (`rows × outputs`), output-major
/// (`outputs × rows`). Squared error leaves the hessians alone: each is 1, and the
/// histograms count rows instead.
fn gradients(target: Target<'_>, raw: &[f64], gradients: &mut [f64], hessians: &mut [f64]) {
    let rows = target.rows();
    match target {
        Target::Values(y) => {
            for ((gradient, &raw), &y) in gradients.iter_mut().zip(raw).zip(y) {
                *gradient = raw - y;
            }
        }
        Target::Classes(y, 2) => {
            let pairs = gradients.iter_mut().zip(hessians.iter_mut());
            for ((gradient, hessian), (&raw, &y)) in pairs.zip(raw.iter().zip(y)) {
                let p = sigmoid(raw);
                *gradient = p - f64::from(y);
                *hessian = p * (1.0 - p);
            }
        }
        Target::Classes(y, classes) => {
            let mut p = vec![0.0; classes];
            for (row, &truth) in y.iter().enumerate() {
                p.copy_from_slice(&raw[row * classes..(row + 1) * classes]);
                crate::algorithms::dense::softmax(&mut p);
                for (class, &probability) in p.iter().enumerate() {
                    let truth = f64::from(u8::from(truth as usize == class));
                    gradients[class * rows + row] = probability - truth;
                    hessians[class * rows + row] = probability * (1.0 - probability);
                }
            }
        }
    }
}

/// The mean loss of `raw` (`rows × outputs`): half squared error, or log loss.
fn loss(target: Target<'_>, raw: &[f64]) -> f64 {
    let count = target.rows().max(1) as f64;
    let total: f64 = match target {
        Target::Values(y) => y
            .iter()
            .zip(raw)
            .map(|(&y, &raw)| 0.5 * (y - raw).powi(2))
            .sum(),
        Target::Classes(y, 2) => y
            .iter()
            .zip(raw)
            .map(|(&truth, &r)| {
                // log(1 + e^r) − y·r, without overflow.
                r.max(0.0) + (-r.abs()).exp().ln_1p() - f64::from(truth) * r
            })
            .sum(),
        Target::Classes(y, classes) => y
            .iter()
            .zip(raw.chunks_exact(classes))
            .map(|(&truth, values)| {
                let top = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = values.iter().map(|v| (v - top).exp()).sum();
                top + sum.ln() - values[truth as usize]
            })
            .sum(),
    };
    total / count
}

// ---------------------------------------------------------------------------------------
// Growing one tree

/// A histogram cell: the gradients, hessians and rows of a bin.
#[derive(Debug, Clone, Copy, Default)]
struct Cell {
    gradient: f64,
    hessian: f64,
    rows: u32,
}

impl Cell {
    fn add(&mut self, other: &Cell) {
        self.gradient += other.gradient;
        self.hessian += other.hessian;
        self.rows += other.rows;
    }
}

/// A node's histograms: per feature, a cell per bin then one for missing values.
type Histograms = Vec<Cell>;

/// The best cut of a node.
#[derive(Debug, Clone, Copy)]
struct Cut {
    gain: f64,
    feature: usize,
    /// Rows in bins `0..=bin` go left.
    bin: u8,
    missing_left: bool,
    /// The left side's sums.
    left: Cell,
}

/// A leaf still growing: its rows `order[start..end]`, its sums, depth and histograms.
struct Growing {
    start: usize,
    end: usize,
    depth: usize,
    gradient: f64,
    hessian: f64,
    histograms: Option<Histograms>,
    cut: Option<Cut>,
    /// Its place in the tree's node list.
    node: usize,
}

/// A leaf's rows, `order[start..end]`, and its value.
type LeafRows = (usize, usize, f64);

/// A grown tree.
struct Grown {
    nodes: Vec<BoostNode>,
    /// Beside each split node, its cut as a bin: rows in bins up to it go left.
    cuts: Vec<u8>,
    leaves: Vec<LeafRows>,
}

/// The leaf value a binned row (`row`, a bin per feature) reaches in a grown tree.
fn binned_leaf(grown: &Grown, row: &[u8], missing_bins: &[u8]) -> f64 {
    descend(&grown.nodes, |node, feature, _| {
        let bin = row[feature];
        (bin != missing_bins[feature]).then_some(bin <= grown.cuts[node])
    })
}

/// The tree grower's fixed inputs.
struct Grower<'a> {
    binned: &'a Binned,
    settings: &'a Settings,
    gradients: &'a [f64],
    hessians: &'a [f64],
    /// Every hessian is 1 (squared error): histograms count rows instead of adding them.
    constant_hessian: bool,
}

/// Adds each row's gradient (and hessian, unless they are all 1) to the cell of its bin.
#[inline(always)]
fn accumulate(
    out: &mut [Cell],
    bins: impl Iterator<Item = u8>,
    gradients: &[f64],
    hessians: Option<&[f64]>,
) {
    match hessians {
        None => {
            for (bin, &gradient) in bins.zip(gradients) {
                let cell = &mut out[usize::from(bin)];
                cell.gradient += gradient;
                cell.rows += 1;
            }
        }
        Some(hessians) => {
            for (bin, (&gradient, &hessian)) in bins.zip(gradients.iter().zip(hessians)) {
                let cell = &mut out[usize::from(bin)];
                cell.gradient += gradient;
                cell.hessian += hessian;
                cell.rows += 1;
            }
        }
    }
}

impl Grower<'_> {
    /// The histograms of the rows `rows`, or of every row (the root) when `None`.
    fn histograms(&self, rows: Option<&[u32]>) -> Histograms {
        let features = self.binned.edges.len();
        let mut cells = vec![Cell::default(); self.binned.offsets[features]];
        // A node's gradients gathered once, in its rows' order; the root reads them as
        // they are, and its columns front to back.
        let gathered: Option<(Vec<f64>, Vec<f64>)> = rows.map(|rows| {
            let gradients = rows.iter().map(|&r| self.gradients[r as usize]).collect();
            let hessians = if self.constant_hessian {
                Vec::new()
            } else {
                rows.iter().map(|&r| self.hessians[r as usize]).collect()
            };
            (gradients, hessians)
        });
        let (gradients, hessians) = gathered
            .as_ref()
            .map_or((self.gradients, self.hessians), |(g, h)| (g, h));
        // Squared error's hessians are all 1: counted, not added.
        let hessians = (!self.constant_hessian).then_some(hessians);
        for feature in 0..features {
            let column = self.binned.column(feature);
            let out = &mut cells[self.binned.offsets[feature]..self.binned.offsets[feature + 1]];
            // A missing value's bin is the feature's last cell.
            match rows {
                Some(rows) => {
                    let bins = rows.iter().map(|&row| column[row as usize]);
                    accumulate(out, bins, gradients, hessians);
                }
                None => accumulate(out, column.iter().copied(), gradients, hessians),
            }
        }
        if self.constant_hessian {
            // Squared error: every hessian is 1, the sum is the count.
            for cell in &mut cells {
                cell.hessian = f64::from(cell.rows);
            }
        }
        cells
    }

    /// `G² / (H + λ)`, a side's share of the gain.
    fn score(&self, gradient: f64, hessian: f64) -> f64 {
        gradient * gradient / (hessian + self.settings.l2_regularization + 1e-15)
    }

    /// The gain of cutting a node whose sums are `node` into `left` and the rest; `None`
    /// when a side would hold fewer than `min_samples_leaf` rows or too small a hessian.
    fn gain(&self, left: Cell, node: Cell, parent: f64) -> Option<f64> {
        let min_leaf = self.settings.min_samples_leaf as u32;
        let right = Cell {
            gradient: node.gradient - left.gradient,
            hessian: node.hessian - left.hessian,
            rows: node.rows - left.rows,
        };
        if left.rows < min_leaf
            || right.rows < min_leaf
            || left.hessian < MIN_HESSIAN
            || right.hessian < MIN_HESSIAN
        {
            return None;
        }
        Some(
            self.score(left.gradient, left.hessian) + self.score(right.gradient, right.hessian)
                - parent,
        )
    }

    /// The best cut of a node whose sums are `node`, or `None`.
    fn best_cut(&self, histograms: &[Cell], node: Cell) -> Option<Cut> {
        let min_leaf = self.settings.min_samples_leaf as u32;
        let parent = self.score(node.gradient, node.hessian);
        let mut best: Option<Cut> = None;
        let mut consider = |gain: Option<f64>, cut: Cut| {
            if let Some(gain) = gain
                && gain > 0.0
                && best.is_none_or(|b| gain > b.gain)
            {
                best = Some(Cut { gain, ..cut });
            }
        };
        for (feature, edges) in self.binned.edges.iter().enumerate() {
            let cells = self.binned.cells(histograms, feature);
            let bins = edges.len() + 1;
            let has_missing = self.binned.missing[feature];
            // Missing values right: cut after each bin (after the last only when there
            // are missing values to put right).
            let mut left = Cell::default();
            let last = if has_missing { bins } else { bins - 1 };
            for (bin, cell) in cells.iter().enumerate().take(last) {
                left.add(cell);
                if node.rows - left.rows < min_leaf {
                    break;
                }
                let cut = Cut {
                    gain: 0.0,
                    feature,
                    bin: bin as u8,
                    missing_left: false,
                    left,
                };
                consider(self.gain(left, node, parent), cut);
            }
            if !has_missing || cells[bins].rows == 0 {
                continue;
            }
            // Missing values left: the right side takes the bins after the cut.
            let mut right = Cell::default();
            for bin in (0..bins - 1).rev() {
                right.add(&cells[bin + 1]);
                let left = Cell {
                    gradient: node.gradient - right.gradient,
                    hessian: node.hessian - right.hessian,
                    rows: node.rows - right.rows,
                };
                if left.rows < min_leaf {
                    break;
                }
                let cut = Cut {
                    gain: 0.0,
                    feature,
                    bin: bin as u8,
                    missing_left: true,
                    left,
                };
                consider(self.gain(left, node, parent), cut);
            }
        }
        best
    }

    /// Whether a leaf may be split at all.
    fn splittable(&self, rows: usize, depth: usize) -> bool {
        rows >= 2 * self.settings.min_samples_leaf
            && self.settings.max_depth.is_none_or(|max| depth < max)
    }

    /// The leaf's value, the learning rate applied.
    /// (The 1e-15 is scikit-learn's: a leaf whose rows are all predicted with certainty,
    /// hessians 0, gets 0 rather than 0/0.)
    fn value(&self, gradient: f64, hessian: f64) -> f64 {
        -gradient / (hessian + self.settings.l2_regularization + 1e-15)
            * self.settings.learning_rate
    }

    /// Grows one tree on every training row; `order` holds them ascending and is
    /// reordered in place so each leaf's rows are contiguous. Gives the tree, each split's
    /// cut as a bin (`cuts`, beside the nodes) and each leaf's row range with its value.
    fn grow(&self, order: &mut [u32], cancel: &Cancel) -> Result<Grown, ModelsError> {
        let gradient: f64 = self.gradients.iter().sum();
        let hessian: f64 = self.hessians.iter().sum();
        let mut nodes = vec![BoostNode::Leaf(0.0)];
        let mut cuts = vec![0u8];
        let mut root = Growing {
            start: 0,
            end: order.len(),
            depth: 0,
            gradient,
            hessian,
            histograms: None,
            cut: None,
            node: 0,
        };
        let mut open: Vec<Growing> = Vec::new();
        let mut done: Vec<Growing> = Vec::new();
        if self.splittable(order.len(), 0) {
            let histograms = self.histograms(None);
            root.cut = self.best_cut(
                &histograms,
                Cell {
                    gradient,
                    hessian,
                    rows: order.len() as u32,
                },
            );
            root.histograms = Some(histograms);
        }
        if root.cut.is_some() {
            open.push(root);
        } else {
            done.push(root);
        }
        let mut leaves = 1;
        let mut scratch: Vec<u32> = Vec::with_capacity(order.len());
        while leaves < self.settings.max_leaf_nodes && !open.is_empty() {
            cancel.check()?;
            // The open leaf with the largest gain (the first among ties).
            let pick = open.iter().enumerate().fold(0, |best, (index, leaf)| {
                let gain = |leaf: &Growing| leaf.cut.map_or(f64::NEG_INFINITY, |c| c.gain);
                if gain(leaf) > gain(&open[best]) {
                    index
                } else {
                    best
                }
            });
            let parent = open.swap_remove(pick);
            let Some(cut) = parent.cut else {
                done.push(parent);
                continue;
            };
            // Partition the parent's rows: left first, in their order.
            let column = self.binned.column(cut.feature);
            let missing_bin = self.binned.missing_bins[cut.feature];
            let rows = &mut order[parent.start..parent.end];
            scratch.clear();
            scratch.resize(rows.len(), 0);
            // Without a branch per row: the side of each bin looked up, each row written
            // to both sides and only its side's count moved on (`write ≤ index`, so no
            // row is overwritten unread).
            let mut goes_left = [false; 256];
            for (bin, left) in goes_left.iter_mut().enumerate() {
                *left = bin <= usize::from(cut.bin);
            }
            goes_left[usize::from(missing_bin)] = cut.missing_left;
            let (mut write, mut right) = (0, 0);
            for index in 0..rows.len() {
                let row = rows[index];
                let left = goes_left[usize::from(column[row as usize])];
                rows[write] = row;
                scratch[right] = row;
                write += usize::from(left);
                right += usize::from(!left);
            }
            rows[write..].copy_from_slice(&scratch[..right]);
            let middle = parent.start + write;
            // The children's sums from the cut's histograms, as scikit-learn takes them.
            let (left_gradient, left_hessian) = (cut.left.gradient, cut.left.hessian);
            let (right_gradient, right_hessian) = (
                parent.gradient - left_gradient,
                parent.hessian - left_hessian,
            );
            let threshold = self.binned.edges[cut.feature]
                .get(cut.bin as usize)
                .copied()
                .unwrap_or(f64::INFINITY);
            // A feature without missing values in training sends them where most rows go.
            let missing_left = if self.binned.missing[cut.feature] {
                cut.missing_left
            } else {
                write > (parent.end - middle)
            };
            let (left_node, right_node) = (nodes.len(), nodes.len() + 1);
            nodes[parent.node] = BoostNode::Split {
                feature: cut.feature as u32,
                threshold,
                missing_left,
                left: left_node as u32,
                right: right_node as u32,
            };
            cuts[parent.node] = cut.bin;
            nodes.push(BoostNode::Leaf(0.0));
            nodes.push(BoostNode::Leaf(0.0));
            cuts.extend([0, 0]);
            leaves += 1;
            let depth = parent.depth + 1;
            let mut left = Growing {
                start: parent.start,
                end: middle,
                depth,
                gradient: left_gradient,
                hessian: left_hessian,
                histograms: None,
                cut: None,
                node: left_node,
            };
            let mut right = Growing {
                start: middle,
                end: parent.end,
                depth,
                gradient: right_gradient,
                hessian: right_hessian,
                histograms: None,
                cut: None,
                node: right_node,
            };
            let left_open = self.splittable(middle - parent.start, depth)
                && leaves < self.settings.max_leaf_nodes;
            let right_open = self.splittable(parent.end - middle, depth)
                && leaves < self.settings.max_leaf_nodes;
            if left_open || right_open {
                // The smaller child's histograms from its rows, the larger's by subtraction.
                let parent_histograms = parent.histograms.unwrap_or_default();
                let left_smaller = middle - parent.start <= parent.end - middle;
                let (small, large) = if left_smaller {
                    (&mut left, &mut right)
                } else {
                    (&mut right, &mut left)
                };
                let small_histograms = self.histograms(Some(&order[small.start..small.end]));
                // The parent's cells become the larger child's.
                let mut large_histograms = parent_histograms;
                for (whole, part) in large_histograms.iter_mut().zip(&small_histograms) {
                    whole.gradient -= part.gradient;
                    whole.hessian -= part.hessian;
                    whole.rows -= part.rows;
                }
                small.histograms = Some(small_histograms);
                large.histograms = Some(large_histograms);
            }
            for (child, is_open) in [(left, left_open), (right, right_open)] {
                let mut child = child;
                if is_open && let Some(histograms) = &child.histograms {
                    child.cut = self.best_cut(
                        histograms,
                        Cell {
                            gradient: child.gradient,
                            hessian: child.hessian,
                            rows: (child.end - child.start) as u32,
                        },
                    );
                }
                if child.cut.is_some() {
                    open.push(child);
                } else {
                    child.histograms = None;
                    done.push(child);
                }
            }
        }
        done.extend(open);
        let mut leaves = Vec::with_capacity(done.len());
        for leaf in done {
            let value = self.value(leaf.gradient, leaf.hessian);
            nodes[leaf.node] = BoostNode::Leaf(value);
            leaves.push((leaf.start, leaf.end, value));
        }
        Ok(Grown {
            nodes,
            cuts,
            leaves,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Boosting

/// The held-out rows for early stopping: `validation_fraction` of them (rounded up), a
/// seeded shuffle, per class in proportion for classification; the rest train.
fn hold_out(
    target: Target<'_>,
    rows: usize,
    fraction: f64,
    rng: &mut SmallRng,
) -> (Vec<u32>, Vec<u32>) {
    let held = ((rows as f64 * fraction).ceil() as usize).clamp(1, rows.saturating_sub(1));
    let mut all: Vec<u32> = (0..rows as u32).collect();
    all.shuffle(rng);
    let mut validation = match target {
        Target::Values(_) => all[..held].to_vec(),
        Target::Classes(y, classes) => {
            // Each class's share of the held-out rows, the remainders to the largest
            // fractions, so the counts add up to `held`.
            let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); classes];
            for &row in &all {
                by_class[y[row as usize] as usize].push(row);
            }
            let exact: Vec<f64> = by_class
                .iter()
                .map(|members| members.len() as f64 * held as f64 / rows as f64)
                .collect();
            let mut counts: Vec<usize> = exact.iter().map(|share| share.floor() as usize).collect();
            let mut order: Vec<usize> = (0..classes).collect();
            order.sort_by(|&a, &b| {
                (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor()))
            });
            let mut missing = held.saturating_sub(counts.iter().sum());
            for class in order {
                if missing == 0 {
                    break;
                }
                // A class keeps at least one training row.
                if counts[class] + 1 < by_class[class].len() {
                    counts[class] += 1;
                    missing -= 1;
                }
            }
            by_class
                .iter()
                .zip(&counts)
                .flat_map(|(members, &count)| members[..count].iter().copied())
                .collect()
        }
    };
    validation.sort_unstable();
    let mut is_held = vec![false; rows];
    for &row in &validation {
        is_held[row as usize] = true;
    }
    let train = (0..rows as u32)
        .filter(|&row| !is_held[row as usize])
        .collect();
    (train, validation)
}

/// Whether the last `n_iter_no_change` scores (higher is better) all fail to beat the
/// one before them by more than `tol` (scikit-learn's `_should_stop`).
fn should_stop(scores: &[f64], settings: &Settings) -> bool {
    let reference = settings.n_iter_no_change + 1;
    if scores.len() < reference {
        return false;
    }
    let bar = scores[scores.len() - reference] + settings.tol;
    !scores[scores.len() - reference + 1..]
        .iter()
        .any(|&score| score > bar)
}

/// Fits a booster on `x` (`rows × features`, row-major, NaN for a missing value) and
/// `target`, seeded by `seed`.
///
/// # Errors
/// [`ModelsError::Cancelled`] once `cancel` fires (checked every node).
pub(crate) fn fit(
    x: &[f64],
    features: usize,
    target: Target<'_>,
    settings: &Settings,
    seed: u64,
    cancel: &Cancel,
) -> Result<Booster, ModelsError> {
    let rows = target.rows();
    let mut rng = SmallRng::seed_from_u64(seed);
    let outputs = target.outputs();
    let (train, validation) = if settings.early_stopping && rows >= 2 {
        hold_out(target, rows, settings.validation_fraction, &mut rng)
    } else {
        ((0..rows as u32).collect(), Vec::new())
    };
    let binned = Binned::new(
        x,
        features,
        &train,
        settings.max_bins,
        &mut SmallRng::seed_from_u64(rng.random()),
        cancel,
    )?;
    // From here on the training rows are numbered `0..n` (binned row `i` is `train[i]`),
    // and the held-out rows are binned beside them.
    let n = train.len();
    let (train_subset, held_subset) = (Subset::of(target, &train), Subset::of(target, &validation));
    let (train_target, held_target) = (train_subset.target(), held_subset.target());
    let held_bins = binned.bin_rows(x, &validation);
    let base = baseline(train_target);
    let mut raw = base.repeat(n);
    let mut held_raw = base.repeat(validation.len());
    // Squared error's hessians stay 1.
    let mut gradient = vec![0.0; outputs * n];
    let mut hessian = vec![1.0; outputs * n];
    let mut trees = Vec::new();
    let mut scores = Vec::new();
    if !validation.is_empty() {
        scores.push(-loss(held_target, &held_raw));
    }
    let identity: Vec<u32> = (0..n as u32).collect();
    let mut order = identity.clone();
    for _ in 0..settings.max_iter {
        cancel.check()?;
        gradients(train_target, &raw, &mut gradient, &mut hessian);
        for output in 0..outputs {
            // Each tree starts from the rows in ascending order: the root's histograms
            // read each column front to back, and a split keeps each side in order.
            order.copy_from_slice(&identity);
            let grower = Grower {
                binned: &binned,
                settings,
                gradients: &gradient[output * n..(output + 1) * n],
                hessians: &hessian[output * n..(output + 1) * n],
                constant_hessian: matches!(target, Target::Values(_)),
            };
            let grown = grower.grow(&mut order, cancel)?;
            for &(start, end, value) in &grown.leaves {
                for &row in &order[start..end] {
                    raw[row as usize * outputs + output] += value;
                }
            }
            for row in 0..validation.len() {
                let bins = &held_bins[row * features..(row + 1) * features];
                held_raw[row * outputs + output] += binned_leaf(&grown, bins, &binned.missing_bins);
            }
            trees.push(grown.nodes);
        }
        if !validation.is_empty() {
            scores.push(-loss(held_target, &held_raw));
            if should_stop(&scores, settings) {
                break;
            }
        }
    }
    let booster = Booster {
        outputs,
        baseline: base,
        trees,
    };
    // A learning rate large enough to overflow, say: refused here rather than stored.
    booster
        .check(features, outputs)
        .map_err(|reason| ModelsError::Fit {
            algorithm: "hist_gradient_boosting",
            reason: format!("the fit diverged: {reason}; lower `learning_rate`"),
        })?;
    Ok(booster)
}

/// Probabilities over `classes` present classes from raw outputs (`rows × outputs`):
/// the sigmoid for two, the softmax for more.
pub(crate) fn probabilities(raw: &[f64], classes: usize) -> Vec<f64> {
    if classes == 2 {
        raw.iter()
            .flat_map(|&r| {
                let p = sigmoid(r);
                [1.0 - p, p]
            })
            .collect()
    } else {
        let mut out = raw.to_vec();
        for row in out.chunks_exact_mut(classes) {
            crate::algorithms::dense::softmax(row);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's defaults, early stopping off (`auto` on few rows).
    fn settings() -> Settings {
        let id = crate::algorithms::AlgorithmId::HistGradientBoostingRegressor;
        let params = crate::algorithms::hist_gradient_boosting::BoostingParams::new(id);
        params.check().unwrap().settings(0)
    }

    #[test]
    fn edges_are_midpoints_or_midpoint_quantiles() {
        assert_eq!(edges(&mut [3.0, 1.0, 2.0, 2.0], 255), [1.5, 2.5]);
        // 1000 distinct values, 4 bins: the 25th, 50th and 75th percentiles as NumPy's
        // averaged inverted CDF: virtual indices 249, 499, 749 are whole, so each edge is
        // halfway to the next value.
        let mut values: Vec<f64> = (0..1000).map(f64::from).collect();
        assert_eq!(edges(&mut values, 4), [249.5, 499.5, 749.5]);
        // 10 values, 3 bins: virtual indices 2.33 and 5.67 take the upper values 3 and 6.
        let mut values: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(edges(&mut values, 3), [3.0, 6.0]);
        // 3001 values, 1000 distinct: scikit-learn 1.9.1's `_find_binning_thresholds`
        // gives 254 edges, [0.42857142857142855, 1.0, 1.5714285714285714, ...], edges 100
        // and 101 56.42857142857143 and 57.0, the last two 141.71428571428572 and
        // 142.28571428571428.
        let mut values: Vec<f64> = (0..3001u32)
            .map(|i| f64::from(i * 7919 % 1000) / 7.0)
            .collect();
        let found = edges(&mut values, 255);
        assert_eq!(found.len(), 254);
        assert_eq!(found[..3], [0.42857142857142855, 1.0, 1.5714285714285714]);
        assert_eq!(found[100..102], [56.42857142857143, 57.0]);
        assert_eq!(found[252..], [141.71428571428572, 142.28571428571428]);
        assert_eq!(bin_of(f64::NAN, &[1.5]), 2);
        assert_eq!(bin_of(1.5, &[1.5, 2.5]), 0);
        assert_eq!(bin_of(1.6, &[1.5, 2.5]), 1);
        assert_eq!(bin_of(9.0, &[1.5, 2.5]), 2);
    }

    #[test]
    fn early_stopping_stops_as_scikit_learn_does() {
        let settings = Settings {
            early_stopping: true,
            n_iter_no_change: 2,
            tol: 0.5,
            ..settings()
        };
        assert!(!should_stop(&[0.0, 1.0], &settings));
        // The reference is 3 scores back: 0.0 + 0.5; 0.4 and 0.5 do not beat it.
        assert!(should_stop(&[0.0, 0.4, 0.5], &settings));
        assert!(!should_stop(&[0.0, 0.4, 0.6], &settings));
    }

    #[test]
    fn a_stratified_hold_out_keeps_the_class_shares() {
        let y: Vec<u32> = (0..100).map(|row| u32::from(row % 4 == 0)).collect();
        let (train, validation) = hold_out(
            Target::Classes(&y, 2),
            100,
            0.1,
            &mut SmallRng::seed_from_u64(3),
        );
        assert_eq!(validation.len(), 10);
        assert_eq!(train.len() + validation.len(), 100);
        let ones = validation
            .iter()
            .filter(|&&row| y[row as usize] == 1)
            .count();
        assert!(
            (2..=3).contains(&ones),
            "{ones} of 10 held-out rows are class 1"
        );
    }

    #[test]
    fn a_leaf_of_rows_predicted_with_certainty_is_zero_not_nan() {
        let settings = settings();
        let mut rng = SmallRng::seed_from_u64(0);
        let binned = Binned::new(&[0.0, 1.0], 1, &[0, 1], 255, &mut rng, &Cancel::never()).unwrap();
        let grower = Grower {
            binned: &binned,
            settings: &settings,
            gradients: &[0.0, 0.0],
            hessians: &[0.0, 0.0],
            constant_hessian: false,
        };
        // Sums of 0 gradient over 0 hessian (every p exactly 0 or 1): scikit-learn's 1e-15.
        assert_eq!(grower.value(0.0, 0.0), 0.0);
        assert_eq!(grower.score(0.0, 0.0), 0.0);
    }

    #[test]
    fn a_hold_out_leaves_every_class_a_training_row() {
        // One row of class 0 among 100, 60 % held out: its share (0.6) would round up to
        // the whole class.
        let y: Vec<u32> = (0..100).map(|row| u32::from(row != 42)).collect();
        for seed in 0..20 {
            let (train, validation) = hold_out(
                Target::Classes(&y, 2),
                100,
                0.6,
                &mut SmallRng::seed_from_u64(seed),
            );
            assert!(train.contains(&42), "seed {seed}");
            assert_eq!(validation.len(), 60);
        }
    }
}
