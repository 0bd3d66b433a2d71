//! The drop-constant step: scikit-learn's `VarianceThreshold(threshold=0)`.
//!
//! A column is constant when its non-missing values in the fitted rows are all equal (or
//! there are none): a numeric column whose minimum equals its maximum, a categorical column
//! with at most one label. Constant columns carry no information for any model and make
//! scalers and some solvers misbehave; the same columns are dropped at transform time,
//! whatever values they hold there.

use crate::error::UtilsError;
use mltools_core::{Column, ColumnData, MISSING_CODE};

/// The indices of the non-constant columns, and the names of the others.
///
/// # Errors
/// [`UtilsError::NoColumnsLeft`] when every column is constant.
pub(crate) fn fit(
    step: usize,
    columns: &[Column],
) -> Result<(Vec<usize>, Vec<String>), UtilsError> {
    let mut keep = Vec::with_capacity(columns.len());
    let mut dropped = Vec::new();
    for (index, column) in columns.iter().enumerate() {
        if is_constant(&column.data) {
            dropped.push(column.name.clone());
        } else {
            keep.push(index);
        }
    }
    if keep.is_empty() {
        return Err(UtilsError::NoColumnsLeft { step });
    }
    Ok((keep, dropped))
}

fn is_constant(data: &ColumnData) -> bool {
    match data {
        ColumnData::Numeric(values) => {
            let mut present = values.iter().filter(|value| !value.is_nan());
            match present.next() {
                None => true,
                Some(first) => present.all(|value| value == first),
            }
        }
        ColumnData::Categorical { codes, categories } => {
            let mut labels = codes
                .iter()
                .filter(|&&code| code != MISSING_CODE)
                .map(|&code| &categories[code as usize]);
            match labels.next() {
                None => true,
                Some(first) => labels.all(|label| label == first),
            }
        }
    }
}

/// Keeps the columns at `keep`.
///
/// # Errors
/// [`UtilsError::BadPipeline`] when an index is past the columns or out of order.
pub(crate) fn apply(
    step: usize,
    keep: &[usize],
    columns: Vec<Column>,
) -> Result<Vec<Column>, UtilsError> {
    if keep.windows(2).any(|pair| pair[0] >= pair[1])
        || keep.last().is_some_and(|&last| last >= columns.len())
    {
        return Err(UtilsError::BadPipeline {
            step,
            reason: format!(
                "kept column indices {keep:?} are not ascending indices into {} columns",
                columns.len()
            ),
        });
    }
    let mut wanted = keep.iter().peekable();
    Ok(columns
        .into_iter()
        .enumerate()
        .filter_map(|(index, column)| (wanted.next_if_eq(&&index).is_some()).then_some(column))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_columns_of_both_kinds_are_dropped() {
        let columns = vec![
            Column::numeric("flat", vec![2.0, f64::NAN, 2.0]),
            Column::numeric("varies", vec![1.0, 2.0, 3.0]),
            Column::categorical(
                "one_label",
                vec![0, 1, MISSING_CODE],
                vec!["a".into(), "a".into()],
            ),
            Column::categorical("two_labels", vec![0, 1, 1], vec!["a".into(), "b".into()]),
        ];
        let (keep, dropped) = fit(0, &columns).unwrap();
        assert_eq!(keep, [1, 3]);
        assert_eq!(dropped, ["flat", "one_label"]);
        let kept = apply(0, &keep, columns).unwrap();
        let names: Vec<&str> = kept.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["varies", "two_labels"]);
    }

    #[test]
    fn all_constant_is_an_error() {
        let error = fit(4, &[Column::numeric("x", vec![1.0, 1.0])]).unwrap_err();
        assert_eq!(error, UtilsError::NoColumnsLeft { step: 4 });
    }
}
