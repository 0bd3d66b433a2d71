//! Our linear solvers, written so a cancel frees the fit thread within a fraction of a
//! second: each looks at the fit's [`Cancel`](super::Cancel) between blocks of rows, columns,
//! sweeps or epochs, never running long between two looks.
//!
//! - [`gram`]: the centred normal equations `XᵀX`, `Xᵀy`, summed over blocks of rows with
//!   matrix products (ridge's Cholesky path);
//! - [`cholesky`]: the Cholesky factor of a symmetric positive definite matrix, and solves;
//! - [`householder`]: Householder QR with column pivoting (least squares' `qr` solver, and
//!   the first step of every SVD here);
//! - [`jacobi`]: the one-sided Jacobi SVD (Hestenes) of the small triangular factor `R`,
//!   and the spectral solves on it: least squares' minimum-norm solution, ridge's `svd`;
//! - [`coordinate_descent`]: scikit-learn's `enet_coordinate_descent` (lasso, elastic net).

pub(crate) mod cholesky;
pub(crate) mod coordinate_descent;
pub(crate) mod gram;
pub(crate) mod householder;
pub(crate) mod jacobi;

/// Rows read between two looks at the cancel when a solver walks the design row by row,
/// at most (fewer when a row costs much: see [`block_rows`]).
pub(crate) const ROW_BLOCK: usize = 4096;

/// Multiply-adds (or values touched) between two looks at the cancel: some milliseconds in
/// a release build, well under a second in a debug one.
pub(crate) const BLOCK_COST: usize = 1 << 24;

/// The rows of a block when each row costs `cost_per_row` (1 to [`ROW_BLOCK`]).
pub(crate) fn block_rows(cost_per_row: usize) -> usize {
    (BLOCK_COST / cost_per_row.max(1)).clamp(1, ROW_BLOCK)
}

/// `a·b`, in four running sums (the SVM kernel's: one summation order for every solver).
pub(crate) use crate::algorithms::svm::kernel::dot;

/// `y += alpha·x`.
pub(crate) fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (target, value) in y.iter_mut().zip(x) {
        *target += alpha * value;
    }
}

/// The relative rank cutoff of LAPACK's `gelsd` as scikit-learn calls it: singular values
/// below `eps·max(rows, columns)` times the largest count as zero.
pub(crate) fn rank_cutoff(rows: usize, columns: usize) -> f64 {
    f64::EPSILON * rows.max(columns) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_axpy_on_odd_lengths() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let b = [1.0, 0.5, -1.0, 2.0, 0.0, 1.0, 3.0];
        assert_eq!(dot(&a, &b), 1.0 + 1.0 - 3.0 + 8.0 + 0.0 + 6.0 + 21.0);
        assert_eq!(dot(&[], &[]), 0.0);
        let mut y = [1.0, 1.0, 1.0];
        axpy(2.0, &[1.0, 2.0, 3.0], &mut y);
        assert_eq!(y, [3.0, 5.0, 7.0]);
    }
}
