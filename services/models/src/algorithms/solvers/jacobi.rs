//! The one-sided Jacobi SVD (Hestenes) of the triangular factor of a pivoted QR, and the
//! spectral solves on it.
//!
//! Why this route: scikit-learn's least squares is LAPACK's `gelsd` (an SVD, the
//! minimum-norm solution, singular values below `eps·max(n, p)·σ₁` taken as zero). An SVD
//! straight on the `n × p` design costs a Jacobi sweep of `O(n·p²)` each, several sweeps;
//! instead the QR ([`householder`](super::householder), one `O(n·p²)` pass) leaves a
//! `p × p` `R` with the same singular values, and Jacobi on `R` costs `O(p³)` a sweep.
//! Jacobi is simple (rotate pairs of columns until all are orthogonal), accurate to
//! relative precision in the singular values, and a sweep is a natural place to look at
//! the cancel. This is Drmač's QR-preconditioned Jacobi, without its refinements.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::solvers::dot;
use crate::algorithms::solvers::householder::PivotedQr;
use crate::algorithms::solvers::rank_cutoff;
use crate::error::ModelsError;

/// Sweeps before giving up on full orthogonality (Jacobi usually needs 5 to 10; the
/// columns are then orthogonal to within rounding anyway).
const MAX_SWEEPS: usize = 60;

/// `G·V = W` with `W`'s columns mutually orthogonal: `G = W·Vᵀ`, `W = U·Σ`.
struct Rotated {
    /// `W`, column-major, the shape of `G`.
    w: Vec<f64>,
    /// `V`, `columns × columns`, column-major.
    v: Vec<f64>,
    /// The rows of `G`.
    rows: usize,
}

/// Rotates the columns of `g` (`rows × columns`, column-major) pairwise until they are
/// orthogonal, accumulating the rotations in `V`; looks at `cancel` every column of a sweep.
fn rotate(
    mut g: Vec<f64>,
    rows: usize,
    columns: usize,
    cancel: &Cancel,
) -> Result<Rotated, ModelsError> {
    let mut v = vec![0.0; columns * columns];
    for j in 0..columns {
        v[j * columns + j] = 1.0;
    }
    let tolerance = f64::EPSILON * rows.max(1) as f64;
    for _ in 0..MAX_SWEEPS {
        let mut rotated = false;
        for i in 0..columns {
            cancel.check()?;
            for j in i + 1..columns {
                let (gi, gj) = pair(&mut g, rows, i, j);
                let (alpha, beta, gamma) = (dot(gi, gi), dot(gj, gj), dot(gi, gj));
                if alpha == 0.0 || beta == 0.0 || gamma.abs() <= tolerance * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + zeta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = c * t;
                turn(gi, gj, c, s);
                let (vi, vj) = pair(&mut v, columns, i, j);
                turn(vi, vj, c, s);
            }
        }
        if !rotated {
            break;
        }
    }
    Ok(Rotated { w: g, v, rows })
}

/// Columns `i < j` of a column-major matrix with `rows` rows, both mutable.
fn pair(matrix: &mut [f64], rows: usize, i: usize, j: usize) -> (&mut [f64], &mut [f64]) {
    let (left, right) = matrix.split_at_mut(j * rows);
    (&mut left[i * rows..(i + 1) * rows], &mut right[..rows])
}

/// `(a, b) ← (c·a − s·b, s·a + c·b)`.
fn turn(a: &mut [f64], b: &mut [f64], c: f64, s: f64) {
    for (x, y) in a.iter_mut().zip(b.iter_mut()) {
        let (old_x, old_y) = (*x, *y);
        *x = c * old_x - s * old_y;
        *y = s * old_x + c * old_y;
    }
}

/// How each singular direction is weighted in a spectral solve `w = Σ v·f(σ)·σ·(uᵀc)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Spectral {
    /// Least squares' minimum-norm solution: `f(σ) = 1/σ²`, zero below the rank cutoff.
    MinimumNorm,
    /// Ridge: `f(σ) = 1/(σ² + alpha)`.
    Ridge(f64),
}

impl PivotedQr {
    /// The spectral solution (see [`Spectral`]) in the original column order, from the
    /// Jacobi SVD of `R`; looks at `cancel` every column of a sweep.
    ///
    /// # Errors
    /// [`ModelsError::Cancelled`].
    pub(crate) fn solve_spectral(
        &self,
        spectral: Spectral,
        cancel: &Cancel,
    ) -> Result<Vec<f64>, ModelsError> {
        let columns = self.columns;
        let Rotated { w, v, rows } = rotate(self.r.clone(), self.steps, columns, cancel)?;
        let squares: Vec<f64> = w
            .chunks_exact(rows.max(1))
            .map(|c| dot(c, c))
            .take(columns)
            .collect();
        let largest = squares.iter().copied().fold(0.0, f64::max);
        let cutoff = rank_cutoff(self.rows, columns).powi(2) * largest;
        let mut z = vec![0.0; columns];
        if rows > 0 {
            for (k, (direction, &square)) in w.chunks_exact(rows).zip(&squares).enumerate() {
                let weight = match spectral {
                    Spectral::MinimumNorm if square > cutoff && square > 0.0 => 1.0 / square,
                    Spectral::MinimumNorm => continue,
                    Spectral::Ridge(alpha) => 1.0 / (square + alpha),
                };
                // σ·uᵀc = wᵀc for w = σ·u.
                let coefficient = weight * dot(direction, &self.qty);
                for (target, value) in z.iter_mut().zip(&v[k * columns..(k + 1) * columns]) {
                    *target += coefficient * value;
                }
            }
        }
        let mut solution = vec![0.0; columns];
        for (position, &column) in self.order.iter().enumerate() {
            solution[column] = z[position];
        }
        Ok(solution)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::solvers::householder;

    #[test]
    fn rotation_gives_the_singular_values() {
        // G = [[3, 0], [4, 5]] has singular values √45 and √5 (σ₁σ₂ = |det| = 15, σ₁² + σ₂² = 50).
        let g = vec![3.0, 4.0, 0.0, 5.0];
        let Rotated { w, v, .. } = rotate(g, 2, 2, &Cancel::never()).unwrap();
        let mut squares: Vec<f64> = w.chunks_exact(2).map(|c| dot(c, c)).collect();
        squares.sort_by(f64::total_cmp);
        assert!((squares[0] - 5.0).abs() < 1e-12 && (squares[1] - 45.0).abs() < 1e-12);
        // V is orthogonal.
        assert!(dot(&v[..2], &v[2..]).abs() < 1e-15);
        assert!((dot(&v[..2], &v[..2]) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn identical_columns_share_the_weight() {
        // x0 = x1 = (−1, 0, 1), y = (−2, 0, 2): every w0 + w1 = 2 fits; the shortest is (1, 1).
        let x = vec![-1.0, 0.0, 1.0, -1.0, 0.0, 1.0];
        let qr = householder::factor(x, 3, 2, &[-2.0, 0.0, 2.0], &Cancel::never()).unwrap();
        let w = qr
            .solve_spectral(Spectral::MinimumNorm, &Cancel::never())
            .unwrap();
        assert!(
            (w[0] - 1.0).abs() < 1e-12 && (w[1] - 1.0).abs() < 1e-12,
            "{w:?}"
        );
        // Ridge on the same: w0 = w1 = Σxy / (2·Σx² + α) = 4 / (4 + 1).
        let w = qr
            .solve_spectral(Spectral::Ridge(1.0), &Cancel::never())
            .unwrap();
        assert!(
            (w[0] - 0.8).abs() < 1e-12 && (w[1] - 0.8).abs() < 1e-12,
            "{w:?}"
        );
    }
}
