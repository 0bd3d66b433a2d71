//! The solver on classic functions, against scipy 1.17's L-BFGS-B run by hand.

use super::*;

/// Rosenbrock's function, a classic hard valley.
struct Rosenbrock {
    evaluations: usize,
}

impl Objective for Rosenbrock {
    fn evaluate(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        self.evaluations += 1;
        let (a, b) = (x[0], x[1]);
        gradient[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
        gradient[1] = 200.0 * (b - a * a);
        (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
    }
}

fn settings(max_iterations: usize) -> LbfgsSettings {
    LbfgsSettings {
        gradient_tolerance: 1e-8,
        relative_reduction: 0.0,
        max_iterations,
        max_line_search: 50,
    }
}

#[test]
fn finds_the_rosenbrock_minimum_and_says_why_it_stopped() {
    let mut rosenbrock = Rosenbrock { evaluations: 0 };
    let minimum = minimize(&mut rosenbrock, vec![-1.2, 1.0], settings(1000)).unwrap();
    assert!(
        matches!(minimum.convergence.stop, StopReason::Converged { gradient } if gradient <= 1e-8),
        "{:?}",
        minimum.convergence
    );
    assert!((minimum.x[0] - 1.0).abs() < 1e-6 && (minimum.x[1] - 1.0).abs() < 1e-6);
    assert!(minimum.convergence.converged());
    // scipy 1.17's L-BFGS-B (gtol 1e-8, ftol 0, maxls 50): 38 iterations, 46
    // evaluations.
    assert_eq!(minimum.convergence.iterations, 38);
    assert_eq!(rosenbrock.evaluations, 46);
}

#[test]
fn the_iteration_limit_is_reported_not_hidden() {
    let mut rosenbrock = Rosenbrock { evaluations: 0 };
    let minimum = minimize(&mut rosenbrock, vec![-1.2, 1.0], settings(5)).unwrap();
    assert_eq!(minimum.convergence.stop, StopReason::MaxIterations);
    assert_eq!(minimum.convergence.iterations, 5);
    assert!(!minimum.convergence.converged());
    let text = minimum.convergence.to_string();
    assert!(
        text.starts_with("did not converge in 5 iterations (gradient "),
        "{text}"
    );
    assert!(text.ends_with("> tol 1e-8); raise max_iter"), "{text}");
}

/// A function whose reported gradient points uphill: scipy's L-BFGS-B evaluates 29
/// trial steps (`minimize` reports 18 evaluations: it does not count a point it has
/// seen), accepts the last, which rounds back to the start, and stops on the relative
/// reduction after one iteration; so does this port.
struct Lying {
    evaluations: usize,
}

impl Objective for Lying {
    fn evaluate(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        self.evaluations += 1;
        gradient[0] = -2.0 * x[0];
        x[0] * x[0]
    }
}

#[test]
fn a_wrong_gradient_stalls_as_in_scipy() {
    let mut lying = Lying { evaluations: 0 };
    let minimum = minimize(&mut lying, vec![3.0], settings(100)).unwrap();
    assert_eq!(minimum.convergence.stop, StopReason::RelativeReduction);
    assert_eq!(minimum.convergence.iterations, 1);
    assert_eq!(minimum.x, [3.0]);
    assert_eq!(lying.evaluations, 1 + 29);
}

/// Decreasing without bound, and undefined past 0.5: the first step lands on NaN.
struct Cliff;

impl Objective for Cliff {
    fn evaluate(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        gradient[0] = -1.0;
        if x[0] > 0.5 { f64::NAN } else { -x[0] }
    }
}

#[test]
fn a_line_search_that_cannot_succeed_ends_the_run() {
    let minimum = minimize(&mut Cliff, vec![0.0], settings(100)).unwrap();
    assert_eq!(minimum.convergence.stop, StopReason::LineSearchFailed);
    assert_eq!(minimum.x, [0.0]);
    assert!(!minimum.convergence.converged());
}

struct Nan;

impl Objective for Nan {
    fn evaluate(&mut self, _: &[f64], gradient: &mut [f64]) -> f64 {
        gradient.fill(0.0);
        f64::NAN
    }
}

#[test]
fn a_non_finite_start_is_refused() {
    assert_eq!(
        minimize(&mut Nan, vec![0.0], settings(10)),
        Err(Stopped::NotFinite)
    );
}

/// On a quadratic the first iteration is a steepest-descent step of length 1/‖g‖
/// (L-BFGS-B's first step), and the relative reduction test stops a run that stalls.
struct Quadratic;

impl Objective for Quadratic {
    fn evaluate(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        gradient[0] = 2.0 * x[0];
        gradient[1] = 20.0 * x[1];
        x[0] * x[0] + 10.0 * x[1] * x[1]
    }
}

#[test]
fn a_quadratic_converges_in_few_iterations() {
    let minimum = minimize(&mut Quadratic, vec![1.0, 1.0], settings(100)).unwrap();
    assert!(minimum.convergence.converged(), "{:?}", minimum.convergence);
    // scipy: 7 iterations.
    assert_eq!(minimum.convergence.iterations, 7);
    let stalled = LbfgsSettings {
        gradient_tolerance: 0.0,
        relative_reduction: 1e-3,
        ..settings(100)
    };
    let minimum = minimize(&mut Quadratic, vec![1.0, 1.0], stalled).unwrap();
    assert_eq!(minimum.convergence.stop, StopReason::RelativeReduction);
}

/// Rosenbrock's function whose work is cancelled after a few evaluations.
struct CancelledAfter {
    inner: Rosenbrock,
    after: usize,
}

impl Objective for CancelledAfter {
    fn evaluate(&mut self, x: &[f64], gradient: &mut [f64]) -> f64 {
        self.inner.evaluate(x, gradient)
    }

    fn cancelled(&self) -> bool {
        self.inner.evaluations >= self.after
    }
}

#[test]
fn a_cancelled_run_stops_between_iterations() {
    let mut objective = CancelledAfter {
        inner: Rosenbrock { evaluations: 0 },
        after: 5,
    };
    let stopped = minimize(&mut objective, vec![-1.2, 1.0], settings(1000));
    assert_eq!(stopped, Err(Stopped::Cancelled));
    // It stopped at the first iteration after the cancel, not at the end of the run.
    assert!(
        objective.inner.evaluations < 10,
        "{}",
        objective.inner.evaluations
    );
}
