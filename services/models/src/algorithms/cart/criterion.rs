//! The split criteria: a node's impurity, and the running sums a split search keeps while
//! it moves rows from a node's right side to its left, with scikit-learn's proxy of the
//! impurity improvement (what ranks the cuts of one node).

use super::{Criterion, Labels};

/// The weights and targets of a node's rows, gathered once per node in the order of its
/// rows, so a split search reads them in order (or from a small array) rather than from
/// the whole training set.
#[derive(Default)]
pub(super) struct NodeRows {
    weight: Vec<f64>,
    /// Regression: weight × target.
    weighted_value: Vec<f64>,
    /// Classification: the class position.
    class: Vec<u32>,
}

impl NodeRows {
    /// Gathers `rows` (indices into the training set).
    pub(super) fn gather(&mut self, rows: &[u32], labels: &Labels<'_>, weights: &[f64]) {
        self.weight.clear();
        self.weight
            .extend(rows.iter().map(|&row| weights[row as usize]));
        match labels {
            Labels::Classes { codes, .. } => {
                self.class.clear();
                self.class
                    .extend(rows.iter().map(|&row| codes[row as usize]));
            }
            Labels::Values(y) => {
                self.weighted_value.clear();
                self.weighted_value.extend(
                    rows.iter()
                        .map(|&row| weights[row as usize] * y[row as usize]),
                );
            }
        }
    }
}

/// The running sums of a sweep that moves rows from the right side to the left.
pub(super) struct Sweep {
    criterion: Criterion,
    left_weight: f64,
    total_weight: f64,
    /// Gini: Σ left class weight² (exact for whole weights).
    left_squares: f64,
}

impl Sweep {
    /// A sweep with every row of a node of `total_weight` on the right.
    pub(super) fn new(criterion: Criterion, total_weight: f64) -> Sweep {
        Sweep {
            criterion,
            left_weight: 0.0,
            total_weight,
            left_squares: 0.0,
        }
    }

    /// Moves the node's row at position `at` (of `rows`) to the left side.
    #[inline(always)]
    pub(super) fn add(&mut self, rows: &NodeRows, at: usize, left_counts: &mut [f64]) {
        self.add_if(rows, at, true, left_counts);
    }

    /// Moves the row at `at` to the left side when `left`, without a branch on it (a
    /// random cut's sides are unpredictable).
    #[inline(always)]
    pub(super) fn add_if(
        &mut self,
        rows: &NodeRows,
        at: usize,
        left: bool,
        left_counts: &mut [f64],
    ) {
        let share = f64::from(u8::from(left));
        let w = rows.weight[at] * share;
        self.left_weight += w;
        if self.criterion == Criterion::SquaredError {
            left_counts[0] += rows.weighted_value[at] * share;
        } else {
            let class = rows.class[at] as usize;
            let before = left_counts[class];
            if self.criterion == Criterion::Gini {
                // (c + w)² − c² on the left; the right loses the same weight.
                self.left_squares += w * (2.0 * before + w);
            }
            left_counts[class] = before + w;
        }
    }

    /// scikit-learn's proxy of the impurity improvement (larger is better) with the
    /// current left side; `node_counts` the node's class weights (or its weighted target
    /// sum).
    #[inline]
    pub(super) fn proxy(&self, left_counts: &[f64], node_counts: &[f64]) -> f64 {
        let left = self.left_weight;
        let right = self.total_weight - left;
        match self.criterion {
            Criterion::SquaredError => {
                let sum_left = left_counts[0];
                let sum_right = node_counts[0] - sum_left;
                sum_left * sum_left / left + sum_right * sum_right / right
            }
            Criterion::Gini => {
                let right_squares: f64 = left_counts
                    .iter()
                    .zip(node_counts)
                    .map(|(l, n)| (n - l) * (n - l))
                    .sum();
                self.left_squares / left + right_squares / right
            }
            Criterion::Entropy => {
                let mut total = 0.0;
                for (&l, &n) in left_counts.iter().zip(node_counts) {
                    let r = n - l;
                    if l > 0.0 {
                        total += l * (l / left).ln();
                    }
                    if r > 0.0 {
                        total += r * (r / right).ln();
                    }
                }
                total
            }
        }
    }
}

/// The impurity of class weight sums `counts` totalling `weight`.
pub(super) fn class_impurity(criterion: Criterion, counts: &[f64], weight: f64) -> f64 {
    match criterion {
        Criterion::Entropy => -counts
            .iter()
            .filter(|&&c| c > 0.0)
            .map(|&c| {
                let p = c / weight;
                p * p.log2()
            })
            .sum::<f64>(),
        _ => {
            1.0 - counts
                .iter()
                .map(|&c| (c / weight) * (c / weight))
                .sum::<f64>()
        }
    }
}
