//! Limited-memory BFGS for smooth unconstrained problems, as scipy's L-BFGS-B runs them
//! without bounds (the solver behind scikit-learn's `lbfgs`), with an explicit stop
//! reason.
//!
//! The pieces follow L-BFGS-B 3.0 (Zhu, Byrd, Lu, Nocedal; Morales and Nocedal) so that a
//! run takes the steps scikit-learn's takes:
//! - the direction is `−H·g` from the last `m = 10` corrections (the two-loop recursion
//!   with `H₀ = (sᵀy / yᵀy)·I`, equal to L-BFGS-B's compact form when nothing is bounded);
//!   a correction with `sᵀy ≤ ε·(−gᵀs)` is skipped;
//! - the first step is `1/‖d‖`, later ones start at 1; the line search is Moré and
//!   Thuente's `dcsrch` (MINPACK-2) with `ftol = 1e-3`, `gtol = 0.9`, `xtol = 0.1`, at most
//!   `maxls = 50` evaluations, and its "warning" exits accepted as L-BFGS-B accepts them;
//! - a failed line search forgets the corrections and restarts from steepest descent; a
//!   failure with no corrections left ends the run ([`StopReason::LineSearchFailed`]);
//! - after each iteration: the largest gradient component `≤ gtol` ends it
//!   ([`StopReason::Converged`]); then a relative reduction
//!   `(f_old − f) / max(|f_old|, |f|, 1) ≤ ftol` ([`StopReason::RelativeReduction`]);
//!   then the iteration count ([`StopReason::MaxIterations`]).
//!
//! One difference on purpose: scipy tests the iteration limit before the convergence
//! tests, so an iterate that converges exactly at the limit is reported there as not
//! converged; here it is reported converged.

use line_search::LineSearch;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::fmt;

/// How many corrections the inverse Hessian approximation keeps (scipy's `maxcor`).
const MEMORY: usize = 10;
/// The largest step a line search may take (L-BFGS-B's `stpmx` without bounds).
const MAX_STEP: f64 = 1e10;

/// A smooth function to minimise.
pub(crate) trait Objective {
    /// The value at `x`, with the gradient written into `gradient` (as long as `x`).
    fn evaluate(&mut self, x: &[f64], gradient: &mut [f64]) -> f64;

    /// Whether the run should stop at once (its work was cancelled); checked before each
    /// iteration. Never, by default.
    fn cancelled(&self) -> bool {
        false
    }
}

/// The settings of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LbfgsSettings {
    /// Stop once no gradient component exceeds this in magnitude (scipy's `gtol`/`pgtol`).
    pub(crate) gradient_tolerance: f64,
    /// Stop once an iteration reduces the value by no more than this, relatively (scipy's
    /// `ftol`; scikit-learn passes `64 ε`).
    pub(crate) relative_reduction: f64,
    /// Iterations at most (line searches that succeeded).
    pub(crate) max_iterations: usize,
    /// Evaluations at most in one line search (scipy's `maxls`; scikit-learn passes 50).
    pub(crate) max_line_search: usize,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum StopReason {
    /// No gradient component exceeds the tolerance: converged.
    Converged {
        /// The largest gradient component, in magnitude, at the end.
        gradient: f64,
    },
    /// The last iteration reduced the objective by less than `ftol` relatively (scipy's
    /// `REL_REDUCTION_OF_F`): as far as this precision goes; scikit-learn counts it as
    /// converged.
    RelativeReduction,
    /// The iteration limit came first: not converged.
    MaxIterations,
    /// No step along the search direction decreased the objective enough, even from
    /// steepest descent (scipy's `ABNORMAL_TERMINATION_IN_LNSRCH`): not converged.
    LineSearchFailed,
}

/// How a run ended: the reason, the iterations and where the gradient stood.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Why it stopped.
    pub stop: StopReason,
    /// Iterations done (successful line searches).
    pub iterations: usize,
    /// The largest gradient component, in magnitude, at the solution.
    pub gradient: f64,
    /// The gradient tolerance it ran with.
    pub tolerance: f64,
    /// The objective at the solution (as the solver saw it, scaled as documented by the
    /// model).
    pub objective: f64,
}

impl Convergence {
    /// Whether the run converged as scikit-learn counts it: the gradient test or the
    /// relative reduction test ended it.
    pub fn converged(&self) -> bool {
        matches!(
            self.stop,
            StopReason::Converged { .. } | StopReason::RelativeReduction
        )
    }
}

impl fmt::Display for Convergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (gradient, tolerance) = (self.gradient, self.tolerance);
        let iterations = match self.iterations {
            1 => "1 iteration".to_owned(),
            count => format!("{count} iterations"),
        };
        match self.stop {
            StopReason::Converged { .. } => write!(
                f,
                "converged in {iterations} (gradient {gradient:.1e} ≤ tol {tolerance:e})"
            ),
            StopReason::RelativeReduction => write!(
                f,
                "stopped after {iterations} as the objective no longer decreased \
                 (gradient {gradient:.1e}, tol {tolerance:e})"
            ),
            StopReason::MaxIterations => write!(
                f,
                "did not converge in {iterations} (gradient {gradient:.1e} > tol \
                 {tolerance:e}); raise max_iter"
            ),
            StopReason::LineSearchFailed => write!(
                f,
                "did not converge: the line search failed after {iterations} \
                 (gradient {gradient:.1e} > tol {tolerance:e}); scale the features or lower c"
            ),
        }
    }
}

/// A run's end: the point, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    pub(crate) x: Vec<f64>,
    pub(crate) convergence: Convergence,
}

/// Why a run gave no minimum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Stopped {
    /// The value at the start is not finite: nothing can be minimised.
    NotFinite,
    /// The objective said its work was cancelled ([`Objective::cancelled`]).
    Cancelled,
}

/// Minimises `objective` from `start`.
///
/// # Errors
/// [`Stopped::NotFinite`] when the value or gradient at `start` is not finite;
/// [`Stopped::Cancelled`] once the objective is cancelled.
pub(crate) fn minimize(
    objective: &mut impl Objective,
    start: Vec<f64>,
    settings: LbfgsSettings,
) -> Result<Minimum, Stopped> {
    let n = start.len();
    let mut x = start;
    let mut gradient = vec![0.0; n];
    let mut value = objective.evaluate(&x, &mut gradient);
    if !value.is_finite() || gradient.iter().any(|g| !g.is_finite()) {
        return Err(Stopped::NotFinite);
    }
    let mut memory = Memory::default();
    let mut iterations = 0;
    let mut direction = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut trial_gradient = vec![0.0; n];
    let end = |stop, iterations, x: Vec<f64>, gradient: &[f64], value| Minimum {
        convergence: Convergence {
            stop,
            iterations,
            gradient: max_abs(gradient),
            tolerance: settings.gradient_tolerance,
            objective: value,
        },
        x,
    };
    let largest = max_abs(&gradient);
    if largest <= settings.gradient_tolerance {
        let stop = StopReason::Converged { gradient: largest };
        return Ok(end(stop, 0, x, &gradient, value));
    }
    loop {
        if objective.cancelled() {
            return Err(Stopped::Cancelled);
        }
        memory.direction(&gradient, &mut direction);
        let slope = dot(&gradient, &direction);
        let norm = dot(&direction, &direction).sqrt();
        let first_step = if iterations == 0 {
            (1.0 / norm).min(MAX_STEP)
        } else {
            1.0
        };
        let search = LineSearch {
            x: &x,
            direction: &direction,
            value,
            slope,
            first_step,
            max_evaluations: settings.max_line_search,
        };
        let Some(step) = search.run(objective, &mut trial, &mut trial_gradient) else {
            if memory.is_empty() {
                let stop = StopReason::LineSearchFailed;
                return Ok(end(stop, iterations, x, &gradient, value));
            }
            // L-BFGS-B's restart: forget the corrections, try steepest descent.
            memory.clear();
            continue;
        };
        iterations += 1;
        let previous = value;
        value = step.value;
        let correction: Vec<f64> = direction.iter().map(|d| step.length * d).collect();
        let change: Vec<f64> = trial_gradient
            .iter()
            .zip(&gradient)
            .map(|(new, old)| new - old)
            .collect();
        std::mem::swap(&mut x, &mut trial);
        std::mem::swap(&mut gradient, &mut trial_gradient);
        if let Some(stop) = settings.stop_after(iterations, previous, value, &gradient) {
            return Ok(end(stop, iterations, x, &gradient, value));
        }
        // sᵀy against ε·(−gᵀs): a correction without enough curvature is skipped.
        let curvature = dot(&correction, &change);
        if curvature > f64::EPSILON * (-slope * step.length) {
            memory.push(correction, change, curvature);
        }
    }
}

impl LbfgsSettings {
    /// Why to stop after an iteration that took the objective from `previous` to `value`,
    /// leaving `gradient`: the tests of L-BFGS-B in its order (the gradient, then the
    /// relative reduction), then the iteration limit.
    fn stop_after(
        &self,
        iterations: usize,
        previous: f64,
        value: f64,
        gradient: &[f64],
    ) -> Option<StopReason> {
        let largest = max_abs(gradient);
        let scale = previous.abs().max(value.abs()).max(1.0);
        if largest <= self.gradient_tolerance {
            Some(StopReason::Converged { gradient: largest })
        } else if previous - value <= self.relative_reduction * scale {
            Some(StopReason::RelativeReduction)
        } else if iterations >= self.max_iterations {
            Some(StopReason::MaxIterations)
        } else {
            None
        }
    }
}

/// The largest magnitude (the infinity norm).
fn max_abs(values: &[f64]) -> f64 {
    values.iter().fold(0.0, |largest, v| largest.max(v.abs()))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// The last corrections `(s, y, 1 / sᵀy)`, oldest first.
#[derive(Debug, Default)]
struct Memory {
    pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)>,
}

impl Memory {
    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn clear(&mut self) {
        self.pairs.clear();
    }

    fn push(&mut self, s: Vec<f64>, y: Vec<f64>, sy: f64) {
        if self.pairs.len() == MEMORY {
            self.pairs.pop_front();
        }
        self.pairs.push_back((s, y, 1.0 / sy));
    }

    /// `direction = −H·gradient` by the two-loop recursion.
    fn direction(&self, gradient: &[f64], direction: &mut [f64]) {
        for (d, g) in direction.iter_mut().zip(gradient) {
            *d = -g;
        }
        let mut alphas = [0.0; MEMORY];
        for (index, (s, y, rho)) in self.pairs.iter().enumerate().rev() {
            let alpha = rho * dot(s, direction);
            alphas[index] = alpha;
            direction
                .iter_mut()
                .zip(y)
                .for_each(|(d, y)| *d -= alpha * y);
        }
        if let Some((s, y, _)) = self.pairs.back() {
            let gamma = dot(s, y) / dot(y, y);
            direction.iter_mut().for_each(|d| *d *= gamma);
        }
        for (index, (s, y, rho)) in self.pairs.iter().enumerate() {
            let beta = rho * dot(y, direction);
            let alpha = alphas[index];
            direction
                .iter_mut()
                .zip(s)
                .for_each(|(d, s)| *d += (alpha - beta) * s);
        }
    }
}

mod line_search;
#[cfg(test)]
mod tests;
