//! The two problems handed to the [solver](super::smo): C-SVC on two classes and ε-SVR
//! (LIBSVM's `solve_c_svc` and `solve_epsilon_svr`), and the decision value of a machine
//! they give.

use crate::algorithms::Cancel;
use crate::algorithms::svm::kernel::{Kernel, TrainingKernel};
use crate::algorithms::svm::qmatrix::{SvcQ, SvrQ};
use crate::algorithms::svm::smo;
use crate::error::ModelsError;

/// How the solver runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SolverSettings {
    /// The stopping tolerance on the maximal violation (LIBSVM's `eps`).
    pub(crate) tolerance: f64,
    /// The kernel cache's bound, in bytes.
    pub(crate) cache_bytes: usize,
    /// Whether to shrink the active set.
    pub(crate) shrinking: bool,
    /// The iteration cap; LIBSVM's `max(10⁷, 100·n)` when `None`.
    pub(crate) max_iterations: Option<usize>,
}

/// A fitted machine over the rows of its problem.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Machine {
    /// Per row of the problem, its signed dual coefficient (`yᵢαᵢ`; zero for a row that is
    /// not a support vector).
    pub(crate) coefficients: Vec<f64>,
    /// The bias: the decision value is `Σ coefficientᵢ·K(rowᵢ, x) − rho`.
    pub(crate) rho: f64,
    /// The solver's iterations.
    pub(crate) iterations: usize,
    /// False when the solver stopped at its iteration limit.
    pub(crate) converged: bool,
}

impl Machine {
    /// The decision value of `x` (LIBSVM's `predict_values`: the kernel by
    /// [`Kernel::apply`], summed in row order, then `rho` subtracted).
    pub(crate) fn decision(&self, kernel: Kernel, rows: &TrainingKernel, x: &[f64]) -> f64 {
        let mut sum = 0.0;
        for (row, &coefficient) in self.coefficients.iter().enumerate() {
            if coefficient != 0.0 {
                sum += coefficient * kernel.apply(x, rows.row(row));
            }
        }
        sum - self.rho
    }
}

/// C-SVC on `rows` labelled `labels` (`+1` or `−1` per row), every row bounded by `c`.
///
/// # Errors
/// [`ModelsError::Cancelled`] once `cancel` fires.
pub(crate) fn binary(
    rows: &TrainingKernel,
    labels: &[i8],
    c: f64,
    settings: SolverSettings,
    cancel: &Cancel,
) -> Result<Machine, ModelsError> {
    let n = labels.len();
    let mut q = SvcQ::new(rows, labels, settings.cache_bytes);
    let solution = smo::solve(
        &mut q,
        vec![-1.0; n],
        labels.to_vec(),
        vec![c; n],
        settings.tolerance,
        settings.shrinking,
        settings.max_iterations,
        cancel,
    )?;
    let coefficients = solution
        .alpha
        .iter()
        .zip(labels)
        .map(|(alpha, &label)| alpha * f64::from(label))
        .collect();
    Ok(Machine {
        coefficients,
        rho: solution.rho,
        iterations: solution.iterations,
        converged: solution.converged,
    })
}

/// ε-SVR on `rows` with `targets`: 2n variables, `αᵢ` for errors above the tube and
/// `αᵢ*` below, the coefficient of row `i` being `αᵢ − αᵢ*`.
///
/// # Errors
/// [`ModelsError::Cancelled`] once `cancel` fires.
pub(crate) fn regression(
    rows: &TrainingKernel,
    targets: &[f64],
    c: f64,
    epsilon: f64,
    settings: SolverSettings,
    cancel: &Cancel,
) -> Result<Machine, ModelsError> {
    let n = targets.len();
    let linear = targets
        .iter()
        .map(|&y| epsilon - y)
        .chain(targets.iter().map(|&y| epsilon + y))
        .collect();
    let labels = (0..2 * n).map(|k| if k < n { 1 } else { -1 }).collect();
    let mut q = SvrQ::new(rows, settings.cache_bytes);
    let solution = smo::solve(
        &mut q,
        linear,
        labels,
        vec![c; 2 * n],
        settings.tolerance,
        settings.shrinking,
        settings.max_iterations,
        cancel,
    )?;
    let (above, below) = solution.alpha.split_at(n);
    Ok(Machine {
        coefficients: above.iter().zip(below).map(|(a, b)| a - b).collect(),
        rho: solution.rho,
        iterations: solution.iterations,
        converged: solution.converged,
    })
}
