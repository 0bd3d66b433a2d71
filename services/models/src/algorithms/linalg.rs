//! Our row-major [`Matrix`] as ndarray 0.17 views (the ndarray smartcore 0.7 binds), for
//! the algorithms written here on matrix products (logistic regression, k-NN).
//!
//! ndarray's products go through matrixmultiply (no BLAS, no threads of its own): each
//! output is summed in a fixed order, so the same inputs give the same bits on any pool.

use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use ndarray::ArrayView2;

/// `x` as a `rows × columns` view, without copying.
///
/// # Errors
/// [`ModelsError::Shape`] when the values do not make `rows × columns` (a matrix that has
/// not been through `check_matrix`).
pub(crate) fn view(x: &Matrix) -> Result<ArrayView2<'_, f64>, ModelsError> {
    ArrayView2::from_shape((x.rows, x.columns.len()), &x.values).map_err(|error| {
        ModelsError::Shape {
            reason: format!(
                "{} values do not make {} rows of {} columns: {error}",
                x.values.len(),
                x.rows,
                x.columns.len()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn a_view_keeps_rows_and_refuses_a_ragged_matrix() {
        let x = testing::matrix(&[&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]]);
        let view = view(&x).unwrap();
        assert_eq!(view.dim(), (2, 3));
        assert_eq!(view[[1, 0]], 4.0);
        let ragged = Matrix {
            values: vec![1.0; 5],
            ..x
        };
        assert!(matches!(
            super::view(&ragged),
            Err(ModelsError::Shape { .. })
        ));
    }
}
