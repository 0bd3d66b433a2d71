//! The split criteria: a node's impurity, and the running sums a split search keeps while
//! it moves rows from a node's right side to its left, with scikit-learn's proxy of the
//! impurity improvement (what ranks the cuts of one node).

use super::{Criterion, Labels};

/// The running sums of a sweep that moves rows from the right side to the left.
pub(super) struct Sweep<'a> {
    criterion: Criterion,
    labels: &'a Labels<'a>,
    left_weight: f64,
    total_weight: f64,
    /// Gini: Σ left class weight² (exact for whole weights).
    left_squares: f64,
}

impl<'a> Sweep<'a> {
    /// A sweep with every row of a node of `total_weight` on the right.
    pub(super) fn new(
        criterion: Criterion,
        labels: &'a Labels<'a>,
        total_weight: f64,
    ) -> Sweep<'a> {
        Sweep {
            criterion,
            labels,
            left_weight: 0.0,
            total_weight,
            left_squares: 0.0,
        }
    }

    /// Moves `row` to the left side.
    #[inline]
    pub(super) fn add(&mut self, row: usize, weights: &[f64], left_counts: &mut [f64]) {
        let w = weights[row];
        self.left_weight += w;
        match self.labels {
            Labels::Classes { codes, .. } => {
                let class = codes[row] as usize;
                let before = left_counts[class];
                if self.criterion == Criterion::Gini {
                    // (c + w)² − c² on the left; the right loses the same weight.
                    self.left_squares += w * (2.0 * before + w);
                }
                left_counts[class] = before + w;
            }
            Labels::Values(y) => left_counts[0] += w * y[row],
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
