//! Probabilities from decision values, as LIBSVM (and scikit-learn's `probability=True`):
//! Platt's sigmoid fitted on 5-fold cross-validated decision values (the Newton method with
//! backtracking of Lin, Lin and Weng 2007), then pairwise coupling (method 2 of Wu, Lin and
//! Weng 2004) to turn the one-vs-one probabilities into one per class.
//!
//! The folds come from a seeded generator, not scikit-learn's: the algorithm is LIBSVM's,
//! the numbers differ as two random fold splits do.

use crate::algorithms::Cancel;
use crate::algorithms::svm::formulations::{self, SolverSettings};
use crate::algorithms::svm::kernel::{Kernel, TrainingKernel};
use crate::error::ModelsError;
use serde::{Deserialize, Serialize};

/// LIBSVM's folds for the held-out decision values.
const FOLDS: usize = 5;
/// The probability a pairwise estimate is kept away from 0 and 1 by.
const MIN_PROBABILITY: f64 = 1e-7;

/// Platt's sigmoid: `P(first class | decision value f) = 1 / (1 + exp(a·f + b))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sigmoid {
    /// The slope (negative when larger decision values mean the first class).
    pub a: f64,
    /// The offset.
    pub b: f64,
}

impl Sigmoid {
    /// The probability of the first class (LIBSVM's `sigmoid_predict`, which keeps the
    /// exponent non-positive).
    pub(crate) fn predict(&self, decision: f64) -> f64 {
        let f = decision * self.a + self.b;
        if f >= 0.0 {
            (-f).exp() / (1.0 + (-f).exp())
        } else {
            1.0 / (1.0 + f.exp())
        }
    }

    /// Fits the sigmoid to decision values and their labels (positive: the first class)
    /// by LIBSVM's `sigmoid_train`: targets `(N₊ + 1)/(N₊ + 2)` and `1/(N₋ + 2)`, Newton
    /// steps on a Hessian made strictly positive definite, a backtracking line search.
    pub(crate) fn fit(decisions: &[f64], positive: &[bool]) -> Sigmoid {
        let prior1 = positive.iter().filter(|&&p| p).count() as f64;
        let prior0 = positive.len() as f64 - prior1;
        let (max_iterations, min_step, sigma, eps) = (100, 1e-10, 1e-12, 1e-5);
        let high = (prior1 + 1.0) / (prior1 + 2.0);
        let low = 1.0 / (prior0 + 2.0);
        let targets: Vec<f64> = positive
            .iter()
            .map(|&p| if p { high } else { low })
            .collect();
        let objective = |a: f64, b: f64| {
            let mut value = 0.0;
            for (&decision, &t) in decisions.iter().zip(&targets) {
                let f = decision * a + b;
                value += if f >= 0.0 {
                    t * f + (1.0 + (-f).exp()).ln()
                } else {
                    (t - 1.0) * f + (1.0 + f.exp()).ln()
                };
            }
            value
        };
        let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
        let mut value = objective(a, b);
        for _ in 0..max_iterations {
            let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
            for (&decision, &t) in decisions.iter().zip(&targets) {
                let f = decision * a + b;
                let (p, q) = if f >= 0.0 {
                    ((-f).exp() / (1.0 + (-f).exp()), 1.0 / (1.0 + (-f).exp()))
                } else {
                    (1.0 / (1.0 + f.exp()), f.exp() / (1.0 + f.exp()))
                };
                let d2 = p * q;
                h11 += decision * decision * d2;
                h22 += d2;
                h21 += decision * d2;
                let d1 = t - p;
                g1 += decision * d1;
                g2 += d1;
            }
            if g1.abs() < eps && g2.abs() < eps {
                break;
            }
            let determinant = h11 * h22 - h21 * h21;
            let da = -(h22 * g1 - h21 * g2) / determinant;
            let db = -(-h21 * g1 + h11 * g2) / determinant;
            let gd = g1 * da + g2 * db;
            let mut step = 1.0;
            while step >= min_step {
                let (new_a, new_b) = (a + step * da, b + step * db);
                let new_value = objective(new_a, new_b);
                if new_value < value + 0.0001 * step * gd {
                    (a, b, value) = (new_a, new_b, new_value);
                    break;
                }
                step /= 2.0;
            }
            if step < min_step {
                break; // the line search failed: keep the last point, as LIBSVM
            }
        }
        Sigmoid { a, b }
    }
}

/// A small seeded generator (splitmix64) for the fold split.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `[0, bound)` (`bound ≥ 1`).
    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// The sigmoid of one binary problem (`rows` labelled `±1`, bound `c`) fitted on its
/// 5-fold cross-validated decision values: LIBSVM's `svm_binary_svc_probability`.
///
/// A fold whose training rows hold one label only predicts `±1` for its held-out rows,
/// as LIBSVM does.
///
/// # Errors
/// [`ModelsError::Cancelled`] once `cancel` fires (between folds and inside each fit).
pub(crate) fn fit_sigmoid(
    kernel: Kernel,
    rows: &TrainingKernel,
    labels: &[i8],
    c: f64,
    settings: SolverSettings,
    random: &mut SplitMix,
    cancel: &Cancel,
) -> Result<Sigmoid, ModelsError> {
    let n = labels.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..n {
        let j = i + random.below(n - i);
        order.swap(i, j);
    }
    let width = rows.width();
    let mut decisions = vec![0.0; n];
    for fold in 0..FOLDS {
        cancel.check()?;
        let (begin, end) = (fold * n / FOLDS, (fold + 1) * n / FOLDS);
        let training: Vec<usize> = order[..begin]
            .iter()
            .chain(&order[end..])
            .copied()
            .collect();
        let fold_labels: Vec<i8> = training.iter().map(|&row| labels[row]).collect();
        let positives = fold_labels.iter().filter(|&&label| label > 0).count();
        let constant = match (positives, fold_labels.len() - positives) {
            (0, 0) => Some(0.0),
            (_, 0) => Some(1.0),
            (0, _) => Some(-1.0),
            _ => None,
        };
        let held_out = &order[begin..end];
        if let Some(value) = constant {
            for &row in held_out {
                decisions[row] = value;
            }
            continue;
        }
        let values = training
            .iter()
            .flat_map(|&row| rows.row(row).iter().copied())
            .collect();
        let fold_rows = TrainingKernel::new(kernel, values, width);
        let machine = formulations::binary(&fold_rows, &fold_labels, c, settings, cancel)?;
        for &row in held_out {
            decisions[row] = machine.decision(kernel, &fold_rows, rows.row(row));
        }
    }
    let positive: Vec<bool> = labels.iter().map(|&label| label > 0).collect();
    Ok(Sigmoid::fit(&decisions, &positive))
}

/// Reusable buffers for [`Coupling::probabilities`], so predicting many rows allocates
/// once.
#[derive(Debug, Clone)]
pub(crate) struct Coupling {
    classes: usize,
    pairwise: Vec<f64>,
    q: Vec<f64>,
    qp: Vec<f64>,
}

impl Coupling {
    pub(crate) fn new(classes: usize) -> Coupling {
        Coupling {
            classes,
            pairwise: vec![0.0; classes * classes],
            q: vec![0.0; classes * classes],
            qp: vec![0.0; classes],
        }
    }

    /// Class probabilities into `out` (one per class) from the decision value of each
    /// pair `(i, j)`, `i < j` in order, and its sigmoid: LIBSVM's `svm_predict_probability`
    /// and `multiclass_probability`.
    pub(crate) fn probabilities(
        &mut self,
        decisions: &[f64],
        sigmoids: &[Sigmoid],
        out: &mut [f64],
    ) {
        let k = self.classes;
        let mut pair = 0;
        for i in 0..k {
            for j in i + 1..k {
                let p = sigmoids[pair]
                    .predict(decisions[pair])
                    .clamp(MIN_PROBABILITY, 1.0 - MIN_PROBABILITY);
                self.pairwise[i * k + j] = p;
                self.pairwise[j * k + i] = 1.0 - p;
                pair += 1;
            }
        }
        self.couple(out);
    }

    /// Method 2 of Wu, Lin and Weng: minimise `pᵀQp` on the simplex, one coordinate at a
    /// time, until every `(Qp)ₜ` is within `0.005/k` of `pᵀQp`.
    fn couple(&mut self, p: &mut [f64]) {
        let k = self.classes;
        let (r, q, qp) = (&self.pairwise, &mut self.q, &mut self.qp);
        let max_iterations = k.max(100);
        let eps = 0.005 / k as f64;
        for t in 0..k {
            p[t] = 1.0 / k as f64;
            q[t * k + t] = 0.0;
            for j in 0..t {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = q[j * k + t];
            }
            for j in t + 1..k {
                q[t * k + t] += r[j * k + t] * r[j * k + t];
                q[t * k + j] = -r[j * k + t] * r[t * k + j];
            }
        }
        for _ in 0..max_iterations {
            let mut pqp = 0.0;
            for t in 0..k {
                qp[t] = 0.0;
                for j in 0..k {
                    qp[t] += q[t * k + j] * p[j];
                }
                pqp += p[t] * qp[t];
            }
            let max_error = (0..k).map(|t| (qp[t] - pqp).abs()).fold(0.0, f64::max);
            if max_error < eps {
                break;
            }
            for t in 0..k {
                let difference = (-qp[t] + pqp) / q[t * k + t];
                p[t] += difference;
                pqp = (pqp + difference * (difference * q[t * k + t] + 2.0 * qp[t]))
                    / (1.0 + difference)
                    / (1.0 + difference);
                for j in 0..k {
                    qp[j] = (qp[j] + difference * q[t * k + j]) / (1.0 + difference);
                    p[j] /= 1.0 + difference;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// scikit-learn's decision values for the binary RBF parity set (`svm/tests.rs`), with
    /// labels positive for its class 0. Expected a, b: the minimiser of the same
    /// regularised objective found by scipy:
    ///
    /// ```python
    /// t = np.where(pos, (n1+1)/(n1+2), 1/(n0+2))
    /// f = lambda ab: np.sum(np.logaddexp(0, d*ab[0]+ab[1]) - (1-t)*(d*ab[0]+ab[1]))
    /// minimize(f, [0, np.log((n0+1)/(n1+1))], method="BFGS", options={"gtol": 1e-12}).x
    /// ```
    #[test]
    fn the_sigmoid_reaches_the_objective_minimum() {
        let (decisions, positive) = crate::algorithms::svm::tests::platt_inputs();
        let sigmoid = Sigmoid::fit(&decisions, &positive);
        let expected = crate::algorithms::svm::tests::PLATT_MINIMUM;
        assert!((sigmoid.a - expected.0).abs() < 1e-4, "{sigmoid:?}");
        assert!((sigmoid.b - expected.1).abs() < 1e-4, "{sigmoid:?}");
        // Larger decision values mean the positive class, so the slope is negative.
        assert!(sigmoid.predict(2.0) > 0.9 && sigmoid.predict(-2.0) < 0.1);
    }

    #[test]
    fn coupling_two_classes_gives_the_pairwise_probability() {
        let mut coupling = Coupling::new(2);
        let mut out = [0.0; 2];
        let sigmoid = Sigmoid { a: -2.0, b: 0.0 };
        coupling.probabilities(&[0.4], &[sigmoid], &mut out);
        let p = sigmoid.predict(0.4);
        assert!((out[0] - p).abs() < 1e-3 && (out[0] + out[1] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn coupling_agrees_with_consistent_pairwise_probabilities() {
        // Pairwise probabilities from true class probabilities (0.5, 0.3, 0.2):
        // r_ij = p_i / (p_i + p_j); the coupling recovers them.
        let truth = [0.5, 0.3, 0.2];
        let mut coupling = Coupling::new(3);
        let mut sigmoids = Vec::new();
        let mut decisions = Vec::new();
        for i in 0..3 {
            for j in i + 1..3 {
                let r: f64 = truth[i] / (truth[i] + truth[j]);
                // a = −1, b = 0: predict(f) = 1 / (1 + e^−f) = r for f = ln(r / (1 − r)).
                sigmoids.push(Sigmoid { a: -1.0, b: 0.0 });
                decisions.push((r / (1.0 - r)).ln());
            }
        }
        let mut out = [0.0; 3];
        coupling.probabilities(&decisions, &sigmoids, &mut out);
        for (got, want) in out.iter().zip(truth) {
            assert!((got - want).abs() < 2e-3, "{out:?}");
        }
    }
}
