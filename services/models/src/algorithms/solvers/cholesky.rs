//! The Cholesky factorisation `A = LLᵀ` of a symmetric positive definite matrix, row by
//! row (each row is dot products of contiguous rows of `L`), and the two triangular
//! solves.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::solvers::dot;
use crate::error::ModelsError;

/// The lower-triangular factor `L` of `a` (`size × size`, row-major; only its lower
/// triangle is read), row-major; `None` when `a` is not numerically positive definite (a
/// pivot that is not a positive finite number). Looks at `cancel` every row.
///
/// # Errors
/// [`ModelsError::Cancelled`].
pub(crate) fn factor(
    a: &[f64],
    size: usize,
    cancel: &Cancel,
) -> Result<Option<Vec<f64>>, ModelsError> {
    let mut lower = vec![0.0; size * size];
    for row in 0..size {
        cancel.check()?;
        for column in 0..=row {
            let (earlier, current) = lower.split_at_mut(row * size);
            let current = &mut current[..size];
            let reduced = a[row * size + column]
                - if column == row {
                    dot(&current[..column], &current[..column])
                } else {
                    dot(
                        &current[..column],
                        &earlier[column * size..column * size + column],
                    )
                };
            if column == row {
                if !(reduced.is_finite() && reduced > 0.0) {
                    return Ok(None);
                }
                current[column] = reduced.sqrt();
            } else {
                current[column] = reduced / earlier[column * size + column];
            }
        }
    }
    Ok(Some(lower))
}

/// Solves `LLᵀw = b` with the factor from [`factor`].
pub(crate) fn solve(lower: &[f64], size: usize, b: &[f64]) -> Vec<f64> {
    // Forward: L z = b.
    let mut z = vec![0.0; size];
    for row in 0..size {
        let known = dot(&lower[row * size..row * size + row], &z[..row]);
        z[row] = (b[row] - known) / lower[row * size + row];
    }
    // Backward: Lᵀ w = z, a column of L at a time.
    let mut w = z;
    for row in (0..size).rev() {
        w[row] /= lower[row * size + row];
        let value = w[row];
        for earlier in 0..row {
            w[earlier] -= lower[row * size + earlier] * value;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn factors_and_solves_a_small_system() {
        // A = [[4, 2], [2, 3]] = L Lᵀ with L = [[2, 0], [1, √2]]; A w = (2, 5) → w = (−0.5, 2).
        let a = [4.0, 2.0, 2.0, 3.0];
        let lower = factor(&a, 2, &Cancel::never()).unwrap().unwrap();
        assert_eq!(lower[..3], [2.0, 0.0, 1.0]);
        assert!((lower[3] - 2f64.sqrt()).abs() < 1e-15);
        let w = solve(&lower, 2, &[2.0, 5.0]);
        assert!(
            (w[0] + 0.5).abs() < 1e-14 && (w[1] - 2.0).abs() < 1e-14,
            "{w:?}"
        );
    }

    #[test]
    fn an_indefinite_matrix_has_no_factor() {
        let a = [1.0, 2.0, 2.0, 1.0];
        assert_eq!(factor(&a, 2, &Cancel::never()).unwrap(), None);
    }
}
