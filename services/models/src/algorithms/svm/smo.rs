//! The SMO solver of LIBSVM (Fan, Chen and Lin, JMLR 6, 2005): second-order working-set
//! selection (their WSS 3), shrinking, and the gradient rebuilt when the shrunk variables
//! come back. It solves
//!
//! ```text
//! min ½ αᵀQα + pᵀα   subject to   yᵀα = 0,   0 ≤ αᵢ ≤ Cᵢ,   yᵢ = ±1
//! ```
//!
//! from `α = 0`, which both C-SVC (n variables) and ε-SVR (2n variables) are (see
//! [`formulations`](super::formulations)). The steps, the tie-breaks and the order of every
//! floating-point sum follow LIBSVM's `Solver` as scikit-learn ships it, so both take the
//! same path to the same support vectors.

use crate::algorithms::Cancel;
use crate::algorithms::svm::qmatrix::QMatrix;
use crate::error::ModelsError;

/// How many solver iterations pass between two looks at the cancel: an iteration costs at
/// most a kernel column, so a cancel is seen within milliseconds.
pub(crate) const CANCEL_EVERY: usize = 64;

/// LIBSVM's `TAU`: the quadratic coefficient used where the kernel is not positive definite.
const TAU: f64 = 1e-12;

/// Where a variable sits within its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Lower,
    Upper,
    Free,
}

/// The solution in the variables' original order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Solution {
    /// `α`.
    pub(crate) alpha: Vec<f64>,
    /// The bias term `ρ` (the decision function is `Σ yᵢαᵢK(xᵢ, x) − ρ`).
    pub(crate) rho: f64,
    /// The iterations taken.
    pub(crate) iterations: usize,
    /// False when the solver stopped at its iteration limit rather than at the tolerance.
    pub(crate) converged: bool,
}

/// The problem, in the solver's current order of variables (shrinking reorders them).
struct Solver {
    active_size: usize,
    labels: Vec<i8>,
    gradient: Vec<f64>,
    /// The gradient's part from variables at their upper bound (to rebuild the gradient of
    /// shrunk variables cheaply).
    gradient_bar: Vec<f64>,
    status: Vec<Bound>,
    alpha: Vec<f64>,
    linear: Vec<f64>,
    upper: Vec<f64>,
    diagonal: Vec<f64>,
    /// The original index of each position.
    active_set: Vec<usize>,
    tolerance: f64,
    unshrunk: bool,
}

/// Solves the problem `Q`, `linear` (`p`), `labels` (`y`), `upper` (`C` per variable) from
/// `α = 0` to the stopping tolerance `tolerance` (the maximal violation, LIBSVM's `eps`).
///
/// The iterations are capped at `max_iterations`, by default as in LIBSVM at
/// `max(10⁷, 100·n)`: a safety stop, reported through [`Solution::converged`].
///
/// # Errors
/// [`ModelsError::Cancelled`] once `cancel` fires (checked every [`CANCEL_EVERY`]
/// iterations).
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve<Q: QMatrix>(
    q: &mut Q,
    linear: Vec<f64>,
    labels: Vec<i8>,
    upper: Vec<f64>,
    tolerance: f64,
    shrinking: bool,
    max_iterations: Option<usize>,
    cancel: &Cancel,
) -> Result<Solution, ModelsError> {
    let l = linear.len();
    let mut solver = Solver {
        active_size: l,
        labels,
        // α = 0: the gradient is p, and no variable is at an upper bound (C > 0).
        gradient: linear.clone(),
        gradient_bar: vec![0.0; l],
        status: vec![Bound::Lower; l],
        alpha: vec![0.0; l],
        linear,
        upper,
        diagonal: q.diagonal(),
        active_set: (0..l).collect(),
        tolerance,
        unshrunk: false,
    };
    for i in 0..l {
        solver.update_status(i);
    }
    if l == 0 {
        return Ok(Solution {
            alpha: Vec::new(),
            rho: 0.0,
            iterations: 0,
            converged: true,
        });
    }
    let max_iterations = max_iterations.unwrap_or_else(|| l.saturating_mul(100).max(10_000_000));
    let mut iterations = 0;
    let mut counter = l.min(1000) + 1;
    while iterations < max_iterations {
        if iterations % CANCEL_EVERY == 0 {
            cancel.check()?;
        }
        counter -= 1;
        if counter == 0 {
            counter = l.min(1000);
            if shrinking {
                solver.shrink(q);
            }
        }
        let (i, j) = match solver.select_working_set(q) {
            Some(pair) => pair,
            None => {
                // Optimal on the active set: rebuild the whole gradient and check again.
                solver.reconstruct_gradient(q);
                solver.active_size = l;
                match solver.select_working_set(q) {
                    Some(pair) => {
                        counter = 1; // shrink at the next iteration
                        pair
                    }
                    None => break,
                }
            }
        };
        iterations += 1;
        solver.update_pair(q, i, j);
    }
    let converged = iterations < max_iterations;
    if !converged && solver.active_size < l {
        solver.reconstruct_gradient(q);
        solver.active_size = l;
    }
    let rho = solver.rho();
    let mut alpha = vec![0.0; l];
    for (&original, &value) in solver.active_set.iter().zip(&solver.alpha) {
        alpha[original] = value;
    }
    Ok(Solution {
        alpha,
        rho,
        iterations,
        converged,
    })
}

impl Solver {
    fn update_status(&mut self, i: usize) {
        self.status[i] = if self.alpha[i] >= self.upper[i] {
            Bound::Upper
        } else if self.alpha[i] <= 0.0 {
            Bound::Lower
        } else {
            Bound::Free
        };
    }

    fn swap_index<Q: QMatrix>(&mut self, q: &mut Q, i: usize, j: usize) {
        q.swap_index(i, j);
        self.labels.swap(i, j);
        self.gradient.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.linear.swap(i, j);
        self.active_set.swap(i, j);
        self.gradient_bar.swap(i, j);
        self.upper.swap(i, j);
        self.diagonal.swap(i, j);
    }

    /// Rebuilds the gradient of the inactive variables from `gradient_bar` and the free
    /// variables, the cheaper way round (LIBSVM's `reconstruct_gradient`).
    fn reconstruct_gradient<Q: QMatrix>(&mut self, q: &mut Q) {
        let (active, l) = (self.active_size, self.alpha.len());
        if active == l {
            return;
        }
        for j in active..l {
            self.gradient[j] = self.gradient_bar[j] + self.linear[j];
        }
        let free = (0..active)
            .filter(|&j| self.status[j] == Bound::Free)
            .count();
        if free * l > 2 * active * (l - active) {
            for i in active..l {
                let column = q.column(i, active);
                let mut gradient = self.gradient[i];
                for ((&value, &status), &alpha) in column.iter().zip(&self.status).zip(&self.alpha)
                {
                    if status == Bound::Free {
                        gradient += alpha * f64::from(value);
                    }
                }
                self.gradient[i] = gradient;
            }
        } else {
            for i in 0..active {
                if self.status[i] == Bound::Free {
                    let column = q.column(i, l);
                    let alpha = self.alpha[i];
                    for (gradient, &value) in
                        self.gradient[active..].iter_mut().zip(&column[active..])
                    {
                        *gradient += alpha * f64::from(value);
                    }
                }
            }
        }
    }

    /// WSS 3: `i` the maximal violator in `I_up`, `j` the variable in `I_low` whose pair
    /// with `i` decreases the objective most (second order). `None` when the maximal
    /// violation is below the tolerance.
    fn select_working_set<Q: QMatrix>(&self, q: &mut Q) -> Option<(usize, usize)> {
        let active = self.active_size;
        let mut g_max = f64::NEG_INFINITY;
        let mut g_max_index = None;
        for t in 0..active {
            let (status, gradient) = (self.status[t], self.gradient[t]);
            if self.labels[t] == 1 {
                if status != Bound::Upper && -gradient >= g_max {
                    g_max = -gradient;
                    g_max_index = Some(t);
                }
            } else if status != Bound::Lower && gradient >= g_max {
                g_max = gradient;
                g_max_index = Some(t);
            }
        }
        let (column_i, label_i, diagonal_i): (&[f32], f64, f64) = match g_max_index {
            Some(i) => (
                q.column(i, active),
                f64::from(self.labels[i]),
                self.diagonal[i],
            ),
            // g_max is −∞: no gradient difference below is positive, so nothing is read.
            None => (&[], 0.0, 0.0),
        };
        let mut g_max2 = f64::NEG_INFINITY;
        let mut g_min_index = None;
        let mut objective_min = f64::INFINITY;
        for j in 0..active {
            let (status, gradient) = (self.status[j], self.gradient[j]);
            let (difference, sign) = if self.labels[j] == 1 {
                if status == Bound::Lower {
                    continue;
                }
                if gradient >= g_max2 {
                    g_max2 = gradient;
                }
                (g_max + gradient, -2.0)
            } else {
                if status == Bound::Upper {
                    continue;
                }
                if -gradient >= g_max2 {
                    g_max2 = -gradient;
                }
                (g_max - gradient, 2.0)
            };
            if difference > 0.0 {
                let Some(&value) = column_i.get(j) else {
                    continue;
                };
                let quadratic = diagonal_i + self.diagonal[j] + sign * label_i * f64::from(value);
                let objective = if quadratic > 0.0 {
                    -(difference * difference) / quadratic
                } else {
                    -(difference * difference) / TAU
                };
                if objective <= objective_min {
                    g_min_index = Some(j);
                    objective_min = objective;
                }
            }
        }
        if g_max + g_max2 < self.tolerance {
            return None;
        }
        Some((g_max_index?, g_min_index?))
    }

    /// Moves `αᵢ` and `αⱼ` to the optimum of their two-variable problem, clipped to the
    /// box, then updates the gradient and, where a bound status changed, `gradient_bar`.
    fn update_pair<Q: QMatrix>(&mut self, q: &mut Q, i: usize, j: usize) {
        let active = self.active_size;
        let (old_i, old_j) = (self.alpha[i], self.alpha[j]);
        let (column_i, column_j) = q.columns(i, j, active);
        let pair = Pair {
            same_label: self.labels[i] == self.labels[j],
            alpha: (old_i, old_j),
            gradient: (self.gradient[i], self.gradient[j]),
            upper: (self.upper[i], self.upper[j]),
            diagonal: (self.diagonal[i], self.diagonal[j]),
            q_ij: f64::from(column_i[j]),
        };
        let (alpha_i, alpha_j) = pair.step();
        self.alpha[i] = alpha_i;
        self.alpha[j] = alpha_j;
        let (delta_i, delta_j) = (alpha_i - old_i, alpha_j - old_j);
        for ((gradient, &value_i), &value_j) in self.gradient[..active]
            .iter_mut()
            .zip(column_i)
            .zip(column_j)
        {
            *gradient += f64::from(value_i) * delta_i + f64::from(value_j) * delta_j;
        }
        let was_upper_i = self.status[i] == Bound::Upper;
        let was_upper_j = self.status[j] == Bound::Upper;
        self.update_status(i);
        self.update_status(j);
        for (index, was_upper) in [(i, was_upper_i), (j, was_upper_j)] {
            if was_upper != (self.status[index] == Bound::Upper) {
                let upper = self.upper[index];
                let column = q.column(index, self.alpha.len());
                // LIBSVM adds or subtracts C·Q; negating C first is exact.
                let change = if was_upper { -upper } else { upper };
                for (bar, &value) in self.gradient_bar.iter_mut().zip(column) {
                    *bar += change * f64::from(value);
                }
            }
        }
    }

    /// Whether variable `i` can leave the active set: at a bound, and not violating.
    fn can_shrink(&self, i: usize, g_max1: f64, g_max2: f64) -> bool {
        let gradient = self.gradient[i];
        match (self.status[i], self.labels[i] == 1) {
            (Bound::Upper, true) => -gradient > g_max1,
            (Bound::Upper, false) => -gradient > g_max2,
            (Bound::Lower, true) => gradient > g_max2,
            (Bound::Lower, false) => gradient > g_max1,
            (Bound::Free, _) => false,
        }
    }

    /// Moves the variables that cannot move out of the active set; once near the optimum
    /// (violation within 10× the tolerance), first brings every variable back, once.
    fn shrink<Q: QMatrix>(&mut self, q: &mut Q) {
        let mut g_max1 = f64::NEG_INFINITY; // max −yᵢ∇ᵢ over I_up
        let mut g_max2 = f64::NEG_INFINITY; // max yᵢ∇ᵢ over I_low
        for i in 0..self.active_size {
            let (status, gradient) = (self.status[i], self.gradient[i]);
            if self.labels[i] == 1 {
                if status != Bound::Upper && -gradient >= g_max1 {
                    g_max1 = -gradient;
                }
                if status != Bound::Lower && gradient >= g_max2 {
                    g_max2 = gradient;
                }
            } else {
                if status != Bound::Upper && -gradient >= g_max2 {
                    g_max2 = -gradient;
                }
                if status != Bound::Lower && gradient >= g_max1 {
                    g_max1 = gradient;
                }
            }
        }
        if !self.unshrunk && g_max1 + g_max2 <= self.tolerance * 10.0 {
            self.unshrunk = true;
            self.reconstruct_gradient(q);
            self.active_size = self.alpha.len();
        }
        let mut i = 0;
        while i < self.active_size {
            if self.can_shrink(i, g_max1, g_max2) {
                self.active_size -= 1;
                while self.active_size > i {
                    if !self.can_shrink(self.active_size, g_max1, g_max2) {
                        self.swap_index(q, i, self.active_size);
                        break;
                    }
                    self.active_size -= 1;
                }
            }
            i += 1;
        }
    }

    /// `ρ`: the mean of `yᵢ∇ᵢ` over the free variables, or the middle of its feasible
    /// interval when none is free.
    fn rho(&self) -> f64 {
        let (mut upper, mut lower) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut free, mut free_sum) = (0usize, 0.0);
        for i in 0..self.active_size {
            let positive = self.labels[i] == 1;
            let y_gradient = f64::from(self.labels[i]) * self.gradient[i];
            match (self.status[i], positive) {
                (Bound::Upper, false) | (Bound::Lower, true) => upper = upper.min(y_gradient),
                (Bound::Upper, true) | (Bound::Lower, false) => lower = lower.max(y_gradient),
                (Bound::Free, _) => {
                    free += 1;
                    free_sum += y_gradient;
                }
            }
        }
        if free > 0 {
            free_sum / free as f64
        } else {
            (upper + lower) / 2.0
        }
    }
}

/// The two-variable subproblem of a working pair `(i, j)`.
#[derive(Debug, Clone, Copy)]
struct Pair {
    same_label: bool,
    alpha: (f64, f64),
    gradient: (f64, f64),
    upper: (f64, f64),
    diagonal: (f64, f64),
    q_ij: f64,
}

impl Pair {
    /// The new `(αᵢ, αⱼ)`: the unconstrained optimum along the feasible line (the
    /// curvature replaced by `TAU` where not positive), clipped to the box with LIBSVM's
    /// case analysis, operation for operation.
    fn step(&self) -> (f64, f64) {
        let (mut alpha_i, mut alpha_j) = self.alpha;
        let (gradient_i, gradient_j) = self.gradient;
        let (upper_i, upper_j) = self.upper;
        let (diagonal_i, diagonal_j) = self.diagonal;
        if !self.same_label {
            let mut quadratic = diagonal_i + diagonal_j + 2.0 * self.q_ij;
            if quadratic <= 0.0 {
                quadratic = TAU;
            }
            let delta = (-gradient_i - gradient_j) / quadratic;
            let difference = alpha_i - alpha_j;
            alpha_i += delta;
            alpha_j += delta;
            if difference > 0.0 {
                if alpha_j < 0.0 {
                    alpha_j = 0.0;
                    alpha_i = difference;
                }
            } else if alpha_i < 0.0 {
                alpha_i = 0.0;
                alpha_j = -difference;
            }
            if difference > upper_i - upper_j {
                if alpha_i > upper_i {
                    alpha_i = upper_i;
                    alpha_j = upper_i - difference;
                }
            } else if alpha_j > upper_j {
                alpha_j = upper_j;
                alpha_i = upper_j + difference;
            }
        } else {
            let mut quadratic = diagonal_i + diagonal_j - 2.0 * self.q_ij;
            if quadratic <= 0.0 {
                quadratic = TAU;
            }
            let delta = (gradient_i - gradient_j) / quadratic;
            let sum = alpha_i + alpha_j;
            alpha_i -= delta;
            alpha_j += delta;
            if sum > upper_i {
                if alpha_i > upper_i {
                    alpha_i = upper_i;
                    alpha_j = sum - upper_i;
                }
            } else if alpha_j < 0.0 {
                alpha_j = 0.0;
                alpha_i = sum;
            }
            if sum > upper_j {
                if alpha_j > upper_j {
                    alpha_j = upper_j;
                    alpha_i = sum - upper_j;
                }
            } else if alpha_i < 0.0 {
                alpha_i = 0.0;
                alpha_j = sum;
            }
        }
        (alpha_i, alpha_j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::svm::kernel::{Kernel, TrainingKernel};
    use crate::algorithms::svm::qmatrix::SvcQ;

    #[test]
    fn a_pair_step_stays_in_the_box_and_on_the_line() {
        // Opposite labels: αᵢ − αⱼ is kept; a large step is clipped at C.
        let pair = Pair {
            same_label: false,
            alpha: (0.2, 0.1),
            gradient: (-5.0, -5.0),
            upper: (1.0, 1.0),
            diagonal: (1.0, 1.0),
            q_ij: -0.5,
        };
        let (a, b) = pair.step();
        assert_eq!((a, b), (1.0, 0.9));
        // Same labels: αᵢ + αⱼ is kept; a step past zero is clipped there.
        let pair = Pair {
            same_label: true,
            alpha: (0.3, 0.5),
            gradient: (4.0, -4.0),
            ..pair
        };
        let (a, b) = pair.step();
        assert_eq!((a, b), (0.0, 0.8));
    }

    /// Thirty rows with labels that do not follow them: the solver stops at an iteration
    /// cap, rebuilds the gradient, and still gives a finite bias, flagged as not converged.
    #[test]
    fn the_iteration_cap_stops_the_solver_and_says_so() {
        let values = (0..30u32)
            .flat_map(|i| {
                let a = f64::from((i * 37 + 11) % 53) / 8.0 - 3.0;
                let b = f64::from((i * 19 + 5) % 47) / 7.0 - 3.0;
                [a, b]
            })
            .collect();
        let labels: Vec<i8> = (0..30)
            .map(|i| if (i * 7) % 3 == 0 { 1 } else { -1 })
            .collect();
        let rows = TrainingKernel::new(Kernel::Rbf { gamma: 0.5 }, values, 2);
        let solve_with = |max_iterations| {
            let mut q = SvcQ::new(&rows, &labels, 1 << 20);
            let (linear, upper) = (vec![-1.0; 30], vec![10.0; 30]);
            solve(
                &mut q,
                linear,
                labels.clone(),
                upper,
                1e-3,
                true,
                max_iterations,
                &Cancel::never(),
            )
            .unwrap()
        };
        let full = solve_with(None);
        assert!(full.converged && full.iterations > 3, "{}", full.iterations);
        let capped = solve_with(Some(3));
        assert!(!capped.converged);
        assert_eq!(capped.iterations, 3);
        assert!(capped.rho.is_finite());
        assert_ne!(capped.alpha, full.alpha);

        // A cancelled solve stops at its first look.
        let token = tokio_util::sync::CancellationToken::new();
        token.cancel();
        let mut q = SvcQ::new(&rows, &labels, 1 << 20);
        let cancelled = solve(
            &mut q,
            vec![-1.0; 30],
            labels.clone(),
            vec![10.0; 30],
            1e-3,
            true,
            None,
            &Cancel::new(token),
        );
        assert_eq!(cancelled, Err(ModelsError::Cancelled));
    }
}
