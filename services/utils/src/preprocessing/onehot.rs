//! The one-hot step: scikit-learn's `OneHotEncoder`.
//!
//! Each categorical column becomes one indicator column per category seen in the fitted
//! rows, the categories sorted as scikit-learn sorts strings (by code point, which is the
//! byte order of UTF-8), named `column=category`. Numeric columns pass through in place. A
//! category unseen at fit time gives all zeros (`Ignore`, as `handle_unknown='ignore'`) or
//! an error naming the column and the value. A missing category is refused, naming the
//! column: impute it first.

use crate::error::UtilsError;
use mltools_core::utils::UnknownCategory;
use mltools_core::{Column, ColumnData, MISSING_CODE};
use std::collections::BTreeSet;

/// Learns the sorted categories of every categorical column (`None` for a numeric one).
///
/// # Errors
/// [`UtilsError::MissingCategory`] for a missing value.
pub(crate) fn fit(step: usize, columns: &[Column]) -> Result<Vec<Option<Vec<String>>>, UtilsError> {
    columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Numeric(_) => Ok(None),
            ColumnData::Categorical { codes, categories } => {
                check_no_missing(step, &column.name, codes)?;
                let seen: BTreeSet<&String> = codes
                    .iter()
                    .map(|&code| &categories[code as usize])
                    .collect();
                Ok(Some(seen.into_iter().cloned().collect()))
            }
        })
        .collect()
}

/// Replaces each categorical column by its indicator columns.
///
/// # Errors
/// [`UtilsError::MissingCategory`] for a missing value, [`UtilsError::UnknownCategory`] for
/// an unseen category under [`UnknownCategory::Error`], [`UtilsError::BadPipeline`] when a
/// column's kind does not match what was learned.
pub(crate) fn apply(
    step: usize,
    learned: &[Option<Vec<String>>],
    unknown: UnknownCategory,
    columns: Vec<Column>,
) -> Result<Vec<Column>, UtilsError> {
    let mut encoded = Vec::with_capacity(columns.len());
    for (column, fitted) in columns.into_iter().zip(learned) {
        match (&column.data, fitted) {
            (ColumnData::Numeric(_), None) => encoded.push(column),
            (ColumnData::Categorical { codes, categories }, Some(fitted)) => {
                check_no_missing(step, &column.name, codes)?;
                // Where each of this frame's own codes lands among the fitted categories:
                // codes are per frame, labels are what the fit learned.
                let positions: Vec<Option<usize>> = categories
                    .iter()
                    .map(|label| fitted.binary_search(label).ok())
                    .collect();
                if unknown == UnknownCategory::Error {
                    check_no_unknown(step, &column.name, codes, categories, &positions)?;
                }
                encoded.extend(indicators(&column.name, codes, &positions, fitted));
            }
            _ => {
                return Err(UtilsError::BadPipeline {
                    step,
                    reason: format!(
                        "the categories learned for column `{}` are for the other kind",
                        column.name
                    ),
                });
            }
        }
    }
    Ok(encoded)
}

fn check_no_unknown(
    step: usize,
    name: &str,
    codes: &[u32],
    categories: &[String],
    positions: &[Option<usize>],
) -> Result<(), UtilsError> {
    match codes
        .iter()
        .find(|&&code| positions[code as usize].is_none())
    {
        None => Ok(()),
        Some(&code) => Err(UtilsError::UnknownCategory {
            step,
            column: name.to_owned(),
            value: categories[code as usize].clone(),
        }),
    }
}

fn indicators(
    name: &str,
    codes: &[u32],
    positions: &[Option<usize>],
    fitted: &[String],
) -> Vec<Column> {
    let mut columns: Vec<Vec<f64>> = vec![vec![0.0; codes.len()]; fitted.len()];
    for (row, &code) in codes.iter().enumerate() {
        if let Some(position) = positions[code as usize] {
            columns[position][row] = 1.0;
        }
    }
    fitted
        .iter()
        .zip(columns)
        .map(|(category, values)| Column::numeric(format!("{name}={category}"), values))
        .collect()
}

fn check_no_missing(step: usize, name: &str, codes: &[u32]) -> Result<(), UtilsError> {
    match codes.iter().position(|&code| code == MISSING_CODE) {
        None => Ok(()),
        Some(row) => Err(UtilsError::MissingCategory {
            step,
            column: name.to_owned(),
            row,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn colours(codes: Vec<u32>) -> Column {
        let categories = ["red", "green", "blue", "Black"].map(String::from).to_vec();
        Column::categorical("colour", codes, categories)
    }

    fn values(column: &Column) -> &[f64] {
        match &column.data {
            ColumnData::Numeric(values) => values,
            ColumnData::Categorical { .. } => unreachable!(),
        }
    }

    // scikit-learn: OneHotEncoder().fit([["red"], ["green"], ["blue"], ["green"]]) has
    // categories_ [["blue", "green", "red"]] and transforms "green" to [0, 1, 0].
    #[test]
    fn categories_sorted_and_seen_only() {
        let columns = vec![
            Column::numeric("size", vec![1.0, 2.0, 3.0, 4.0]),
            colours(vec![0, 1, 2, 1]),
        ];
        let learned = fit(0, &columns).unwrap();
        assert_eq!(learned[0], None);
        assert_eq!(
            learned[1],
            Some(vec!["blue".into(), "green".into(), "red".into()])
        );
        let encoded = apply(0, &learned, UnknownCategory::Error, columns).unwrap();
        let names: Vec<&str> = encoded.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["size", "colour=blue", "colour=green", "colour=red"]);
        assert_eq!(values(&encoded[1]), [0.0, 0.0, 1.0, 0.0]);
        assert_eq!(values(&encoded[2]), [0.0, 1.0, 0.0, 1.0]);
        assert_eq!(values(&encoded[3]), [1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn upper_case_sorts_first_as_in_scikit_learn() {
        let learned = fit(0, &[colours(vec![0, 3])]).unwrap();
        assert_eq!(learned[0], Some(vec!["Black".into(), "red".into()]));
    }

    #[test]
    fn unknown_categories_are_zeros_or_an_error() {
        let learned = fit(0, &[colours(vec![0, 1])]).unwrap();
        let ignored = apply(
            0,
            &learned,
            UnknownCategory::Ignore,
            vec![colours(vec![2, 0])],
        )
        .unwrap();
        assert_eq!(values(&ignored[0]), [0.0, 0.0]);
        assert_eq!(values(&ignored[1]), [0.0, 1.0]);
        let error = apply(
            3,
            &learned,
            UnknownCategory::Error,
            vec![colours(vec![0, 2])],
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "step 3 (one-hot): column `colour`: category `blue` was not seen when the pipeline was fitted"
        );
    }

    #[test]
    fn a_missing_category_names_the_column() {
        let error = fit(1, &[colours(vec![0, MISSING_CODE])]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("column `colour`, row 1: missing category"),
            "{error}"
        );
    }
}
