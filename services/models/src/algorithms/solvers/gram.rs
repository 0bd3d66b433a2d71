//! The centred normal equations: `XᵀX` and `Xᵀy` of the centred design, summed over
//! blocks of rows by matrix products (a block costs about [`BLOCK_COST`](super::BLOCK_COST) multiply-adds, so
//! a wide design has short blocks), so `X` is never copied whole and the cancel is seen
//! every block.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::linear::CentredDesign;
use crate::algorithms::solvers::block_rows;
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use ndarray::linalg::{general_mat_mul, general_mat_vec_mul};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

/// `XᵀX` (`p × p`, row-major) and `Xᵀy` of the centred kept columns.
pub(crate) struct NormalEquations {
    /// `XᵀX`, row-major.
    pub(crate) gram: Vec<f64>,
    /// `Xᵀy`.
    pub(crate) xty: Vec<f64>,
}

/// Sums `XᵀX` and `Xᵀy` over blocks of rows of the centred design.
///
/// # Errors
/// [`ModelsError::Cancelled`] once `cancel` fires (seen every block of rows).
pub(crate) fn normal_equations(
    design: &CentredDesign,
    x: &Matrix,
    cancel: &Cancel,
) -> Result<NormalEquations, ModelsError> {
    let width = design.width();
    let mut gram = Array2::<f64>::zeros((width, width));
    let mut xty = Array1::<f64>::zeros(width);
    let step = block_rows(width * width);
    let mut block = Vec::with_capacity(step * width);
    let y = design.y();
    let mut start = 0;
    while start < design.rows() {
        cancel.check()?;
        let end = (start + step).min(design.rows());
        design.block(x, start, end, &mut block);
        let rows = ArrayView2::from_shape((end - start, width), &block).map_err(shape)?;
        general_mat_mul(1.0, &rows.t(), &rows, 1.0, &mut gram);
        let targets = ArrayView1::from(&y[start..end]);
        general_mat_vec_mul(1.0, &rows.t(), &targets, 1.0, &mut xty);
        start = end;
    }
    Ok(NormalEquations {
        gram: gram.into_iter().collect(),
        xty: xty.to_vec(),
    })
}

/// A block whose values do not make its shape: cannot happen for a design made from a
/// checked matrix, reported rather than unwrapped.
fn shape(error: ndarray::ShapeError) -> ModelsError {
    ModelsError::Shape {
        reason: format!("a block of the centred design: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn sums_the_centred_cross_products() {
        // Centred x0 = (−1, 0, 1), x1 = (−1, −1, 2); y centred = (−1, 0, 1).
        let x = testing::matrix(&[&[0.0, 1.0], &[1.0, 1.0], &[2.0, 4.0]]);
        let design = CentredDesign::new(&x, &[1.0, 2.0, 3.0], &Cancel::never()).unwrap();
        let normal = normal_equations(&design, &x, &Cancel::never()).unwrap();
        assert_eq!(normal.gram, [2.0, 3.0, 3.0, 6.0]);
        assert_eq!(normal.xty, [2.0, 3.0]);
    }
}
