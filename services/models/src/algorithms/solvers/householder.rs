//! Householder QR with column pivoting (LAPACK's `geqp3`, unblocked): `X·P = Q·R` on the
//! column-major centred design, with `Qᵀy` formed on the way, so `Q` is never stored.
//!
//! Pivoting (the column of largest remaining norm first) makes `R` reveal the rank: a
//! column that is a combination of earlier ones shows as a tiny diagonal entry. The `qr`
//! solver refuses such a design naming that column; the SVD paths ([`jacobi`]) take the
//! small `R` on from here.
//!
//! [`jacobi`]: super::jacobi

use crate::algorithms::cancel::Cancel;
use crate::algorithms::solvers::{BLOCK_COST, axpy, dot, rank_cutoff};
use crate::error::ModelsError;

/// `X·P = Q·R` and `Qᵀy`.
#[derive(Debug)]
pub(crate) struct PivotedQr {
    /// The rows of `R` computed (`min(rows, columns)`, fewer when the rest of `X` is
    /// exactly zero).
    pub(crate) steps: usize,
    /// The columns.
    pub(crate) columns: usize,
    /// The rows of `X`.
    pub(crate) rows: usize,
    /// `R`, `steps × columns`, column-major (column `j` is `[j·steps, (j + 1)·steps)`).
    pub(crate) r: Vec<f64>,
    /// The first `steps` entries of `Qᵀy`.
    pub(crate) qty: Vec<f64>,
    /// Column `j` of `R` is column `order[j]` of `X`.
    pub(crate) order: Vec<usize>,
}

/// Factors `x` (`rows × columns`, column-major, consumed) with column pivoting, applying
/// each reflection to `y` too; looks at `cancel` every step, and within a step every
/// [`BLOCK_COST`] values updated.
///
/// # Errors
/// [`ModelsError::Cancelled`].
pub(crate) fn factor(
    mut x: Vec<f64>,
    rows: usize,
    columns: usize,
    y: &[f64],
    cancel: &Cancel,
) -> Result<PivotedQr, ModelsError> {
    let mut qty = y.to_vec();
    let mut order: Vec<usize> = (0..columns).collect();
    let mut norms: Vec<f64> = x.chunks_exact(rows).map(|c| dot(c, c)).collect();
    // The norm each partial norm was last computed exactly from (LAPACK's `vn2`).
    let mut exact = norms.clone();
    let mut steps = 0;
    while steps < rows.min(columns) {
        cancel.check()?;
        let step = steps;
        let pivot = (step..columns).fold(
            step,
            |best, j| if norms[j] > norms[best] { j } else { best },
        );
        if norms[pivot] <= 0.0 {
            break;
        }
        if pivot != step {
            for row in 0..rows {
                x.swap(step * rows + row, pivot * rows + row);
            }
            norms.swap(step, pivot);
            exact.swap(step, pivot);
            order.swap(step, pivot);
        }
        let (done, rest) = x.split_at_mut((step + 1) * rows);
        let column = &mut done[step * rows + step..];
        let tau = reflector(column);
        let v = &column[1..];
        apply(tau, v, &mut qty[step..]);
        let mut work = 0;
        for (offset, other) in rest.chunks_exact_mut(rows).enumerate() {
            work += rows - step;
            if work >= BLOCK_COST {
                cancel.check()?;
                work = 0;
            }
            let below = &mut other[step..];
            apply(tau, v, below);
            // Downdate the partial norm; recompute it once cancellation eats its digits.
            let j = step + 1 + offset;
            norms[j] = (norms[j] - below[0] * below[0]).max(0.0);
            if norms[j] <= f64::EPSILON.sqrt() * exact[j] {
                norms[j] = dot(&below[1..], &below[1..]);
                exact[j] = norms[j];
            }
        }
        steps += 1;
    }
    let mut r = vec![0.0; steps * columns];
    for (j, column) in x.chunks_exact(rows).enumerate() {
        let height = (j + 1).min(steps);
        r[j * steps..j * steps + height].copy_from_slice(&column[..height]);
    }
    qty.truncate(steps);
    Ok(PivotedQr {
        steps,
        columns,
        rows,
        r,
        qty,
        order,
    })
}

/// Turns `column` (`α, x…`) into `β, v…`: the reflector `H = I − τ·(1, v)(1, v)ᵀ` with
/// `H·(α, x) = (β, 0…)` (LAPACK's `larfg`); returns `τ` (0 when `x` is already zero).
fn reflector(column: &mut [f64]) -> f64 {
    let Some((alpha, tail)) = column.split_first_mut() else {
        return 0.0;
    };
    let tail_norm = dot(tail, tail).sqrt();
    if tail_norm == 0.0 {
        return 0.0;
    }
    let beta = -alpha.signum() * alpha.hypot(tail_norm);
    let tau = (beta - *alpha) / beta;
    let scale = 1.0 / (*alpha - beta);
    for value in tail.iter_mut() {
        *value *= scale;
    }
    *alpha = beta;
    tau
}

/// `target ← H·target` for `H = I − τ·(1, v)(1, v)ᵀ`.
fn apply(tau: f64, v: &[f64], target: &mut [f64]) {
    if tau == 0.0 {
        return;
    }
    let Some((head, tail)) = target.split_first_mut() else {
        return;
    };
    let s = tau * (*head + dot(v, tail));
    *head -= s;
    axpy(-s, v, tail);
}

impl PivotedQr {
    /// `|R[j][j]|`.
    fn diagonal(&self, j: usize) -> f64 {
        self.r[j * self.steps + j].abs()
    }

    /// The solution of `R·z = Qᵀy` in the original column order, when `X` has full
    /// column rank; else the position in pivot order of the first column found to be a
    /// combination of the others (its diagonal at or below the rank cutoff).
    pub(crate) fn solve_full_rank(&self) -> Result<Vec<f64>, usize> {
        let columns = self.columns;
        if self.steps < columns {
            return Err(self.steps);
        }
        let cutoff = rank_cutoff(self.rows, columns) * self.diagonal(0);
        if let Some(dependent) = (0..columns).find(|&j| self.diagonal(j) <= cutoff) {
            return Err(dependent);
        }
        let mut z = self.qty.clone();
        for j in (0..columns).rev() {
            z[j] /= self.r[j * self.steps + j];
            let value = z[j];
            axpy(
                -value,
                &self.r[j * self.steps..j * self.steps + j],
                &mut z[..j],
            );
        }
        let mut w = vec![0.0; columns];
        for (position, &column) in self.order.iter().enumerate() {
            w[column] = z[position];
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_full_rank_system_exactly() {
        // x0 = (1, 0, 0, 1), x1 = (0, 1, 1, 1); y = 2·x0 − 3·x1.
        let x = vec![1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0];
        let y = [2.0, -3.0, -3.0, -1.0];
        let qr = factor(x, 4, 2, &y, &Cancel::never()).unwrap();
        // The pivot takes the longer column x1 first.
        assert_eq!(qr.order, [1, 0]);
        let w = qr.solve_full_rank().unwrap();
        assert!(
            (w[0] - 2.0).abs() < 1e-14 && (w[1] + 3.0).abs() < 1e-14,
            "{w:?}"
        );
    }

    #[test]
    fn a_dependent_column_is_found() {
        // x2 = x0 + x1.
        let x = vec![1.0, 0.0, 2.0, 0.0, 1.0, 1.0, 1.0, 1.0, 3.0];
        let qr = factor(x, 3, 3, &[1.0, 2.0, 3.0], &Cancel::never()).unwrap();
        assert_eq!(qr.solve_full_rank(), Err(2));
    }
}
