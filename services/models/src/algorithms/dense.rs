//! What the algorithms share about our row-major [`Matrix`]: its check, its rows, and class
//! bookkeeping.

use crate::error::ModelsError;
use mltools_core::utils::Matrix;

/// Checks that `x` is rectangular and every value finite.
///
/// # Errors
/// [`ModelsError::Shape`] for a ragged matrix, [`ModelsError::NonFinite`] naming the first
/// column with a missing or infinite value.
pub(crate) fn check_matrix(x: &Matrix) -> Result<(), ModelsError> {
    check_matrix_with(x, false)
}

/// [`check_matrix`], taking missing values (NaN) when `missing` (an infinity is still
/// refused).
pub(crate) fn check_matrix_with(x: &Matrix, missing: bool) -> Result<(), ModelsError> {
    let columns = x.columns.len();
    if x.values.len() != x.rows * columns {
        return Err(ModelsError::Shape {
            reason: format!(
                "{} values do not make {} rows of {columns} columns",
                x.values.len(),
                x.rows
            ),
        });
    }
    if let Some(index) = x
        .values
        .iter()
        .position(|value| !(value.is_finite() || missing && value.is_nan()))
    {
        return Err(ModelsError::NonFinite {
            column: x.columns[index % columns].clone(),
            row: index / columns,
        });
    }
    Ok(())
}

/// The distinct class codes of `y`, ascending (the order of a model's probability
/// columns over its present classes).
pub(crate) fn present_classes(y: &[u32]) -> Vec<u32> {
    let mut classes = y.to_vec();
    classes.sort_unstable();
    classes.dedup();
    classes
}

/// Probabilities over the `present` classes (row-major, one column per present class)
/// spread into one column per class code `0..classes`; absent classes get 0.
///
/// # Errors
/// [`ModelsError::Corrupt`] when a present class is not below `classes` (a damaged model,
/// or one whose class count was altered): it would land in another row's columns.
pub(crate) fn spread(
    present_probabilities: &[f64],
    present: &[u32],
    classes: usize,
) -> Result<Vec<f64>, ModelsError> {
    check_classes(present, classes)?;
    let rows = present_probabilities.len() / present.len().max(1);
    let mut all = vec![0.0; rows * classes];
    for (row, values) in present_probabilities
        .chunks_exact(present.len().max(1))
        .enumerate()
    {
        for (&class, &value) in present.iter().zip(values) {
            all[row * classes + class as usize] = value;
        }
    }
    Ok(all)
}

/// Checks that every class code a model predicts is below the model's class count.
///
/// # Errors
/// [`ModelsError::Corrupt`] naming the first code out of range.
pub(crate) fn check_classes(present: &[u32], classes: usize) -> Result<(), ModelsError> {
    match present.iter().find(|&&class| class as usize >= classes) {
        None => Ok(()),
        Some(class) => Err(ModelsError::Corrupt {
            reason: format!("class code {class} is past the model's {classes} classes"),
        }),
    }
}

/// The rows of a row-major matrix.
pub(crate) fn rows(x: &Matrix) -> impl Iterator<Item = &[f64]> {
    x.values.chunks_exact(x.columns.len().max(1))
}

/// `exp` of each value minus the largest, normalised: a numerically safe softmax.
pub(crate) fn softmax(values: &mut [f64]) {
    let largest = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for value in values.iter_mut() {
        *value = (*value - largest).exp();
        total += *value;
    }
    for value in values.iter_mut() {
        *value /= total;
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small data sets for the algorithm tests.
    use mltools_core::utils::Matrix;

    /// A matrix with columns `x0..`.
    pub(crate) fn matrix(rows: &[&[f64]]) -> Matrix {
        let columns = rows.first().map_or(0, |row| row.len());
        Matrix {
            rows: rows.len(),
            columns: (0..columns).map(|column| format!("x{column}")).collect(),
            values: rows.iter().flat_map(|row| row.iter().copied()).collect(),
        }
    }

    /// Two well separated blobs in two dimensions, 10 rows each, classes 0 and 1.
    pub(crate) fn blobs() -> (Matrix, Vec<u32>) {
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..20u32 {
            let class = i % 2;
            let offset = if class == 0 { -2.0 } else { 2.0 };
            let jitter = f64::from(i) * 0.05 - 0.5;
            rows.push(vec![offset + jitter, offset - jitter * 0.5]);
            labels.push(class);
        }
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        (matrix(&refs), labels)
    }

    /// Three blobs, classes 0, 1, 2, 8 rows each.
    pub(crate) fn three_blobs() -> (Matrix, Vec<u32>) {
        let centres = [(-3.0, 0.0), (3.0, 0.0), (0.0, 4.0)];
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for i in 0..24u32 {
            let class = i % 3;
            let (cx, cy) = centres[class as usize];
            let jitter = f64::from(i / 3) * 0.1 - 0.35;
            rows.push(vec![cx + jitter, cy - jitter]);
            labels.push(class);
        }
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        (matrix(&refs), labels)
    }

    /// `y = 3 + 2·x0 − x1` on a small grid, with a constant third column.
    pub(crate) fn linear() -> (Matrix, Vec<f64>) {
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for i in 0..30 {
            let x0 = f64::from(i % 6);
            let x1 = f64::from(i / 6) * 0.7 + f64::from(i % 4) * 0.3;
            rows.push(vec![x0, x1, 1.0]);
            y.push(3.0 + 2.0 * x0 - x1);
        }
        let refs: Vec<&[f64]> = rows.iter().map(Vec::as_slice).collect();
        (matrix(&refs), y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_value_names_its_column_and_row() {
        let x = testing::matrix(&[&[1.0, 2.0], &[3.0, f64::NAN]]);
        let error = check_matrix(&x).unwrap_err();
        assert_eq!(
            error.to_string(),
            "feature `x1` has a missing or infinite value at row 1; impute it before fitting"
        );
    }

    #[test]
    fn probabilities_spread_to_every_class() {
        let spread_out = spread(&[0.25, 0.75], &[0, 2], 3).unwrap();
        assert_eq!(spread_out, [0.25, 0.0, 0.75]);
        let error = spread(&[0.25, 0.75], &[0, 2], 2).unwrap_err();
        assert_eq!(
            error.to_string(),
            "stored model is damaged or from another version: class code 2 is past the model's 2 classes"
        );
    }
}
