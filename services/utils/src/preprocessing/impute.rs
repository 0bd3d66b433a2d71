//! The impute step: scikit-learn's `SimpleImputer`, with a strategy per column kind.
//!
//! Numeric columns: mean, median, most frequent (the smallest of those tied) or a constant,
//! learned from the non-missing values. Categorical columns: the most frequent label (the
//! lexicographically smallest of those tied) or a constant label. Unlike scikit-learn,
//! which silently drops a column with no values, learning from an all-missing column is
//! refused, naming it. Infinite values are refused, as scikit-learn refuses them.

use super::stats;
use crate::error::UtilsError;
use mltools_core::utils::{CategoricalImpute, Fill, Impute};
use mltools_core::{Column, ColumnData, MISSING_CODE};
use std::collections::BTreeMap;

/// Learns one fill value per column.
///
/// # Errors
/// [`UtilsError::AllMissing`] for a column with no values under a learning strategy,
/// [`UtilsError::NonFinite`] for an infinite value.
pub(crate) fn fit(
    step: usize,
    columns: &[Column],
    numeric: Option<Impute>,
    categorical: Option<&CategoricalImpute>,
) -> Result<Vec<Option<Fill>>, UtilsError> {
    columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Numeric(values) => numeric
                .map(|strategy| numeric_fill(step, &column.name, values, strategy))
                .transpose(),
            ColumnData::Categorical { codes, categories } => categorical
                .map(|strategy| categorical_fill(step, &column.name, codes, categories, strategy))
                .transpose(),
        })
        .collect()
}

fn numeric_fill(
    step: usize,
    name: &str,
    values: &[f64],
    strategy: Impute,
) -> Result<Fill, UtilsError> {
    check_no_infinity(step, name, values)?;
    let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let learned = match strategy {
        Impute::Constant(value) => return Ok(Fill::Number(value)),
        Impute::Mean => stats::mean(&present),
        Impute::Median => stats::median_of_sorted(&stats::sorted(&present)),
        Impute::MostFrequent => stats::mode_of_sorted(&stats::sorted(&present)),
    };
    learned
        .map(Fill::Number)
        .ok_or_else(|| UtilsError::AllMissing {
            step,
            strategy: strategy_name(strategy),
            column: name.to_owned(),
        })
}

fn categorical_fill(
    step: usize,
    name: &str,
    codes: &[u32],
    categories: &[String],
    strategy: &CategoricalImpute,
) -> Result<Fill, UtilsError> {
    if let CategoricalImpute::Constant(label) = strategy {
        return Ok(Fill::Category(label.clone()));
    }
    // Counted by label, in label order, so the first of the largest counts is the smallest
    // label tied. Codes were range-checked when the frame was accepted.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for &code in codes.iter().filter(|&&code| code != MISSING_CODE) {
        *counts
            .entry(categories[code as usize].as_str())
            .or_default() += 1;
    }
    let mut best: Option<(&str, usize)> = None;
    for (label, count) in counts {
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((label, count));
        }
    }
    best.map(|(label, _)| Fill::Category(label.to_owned()))
        .ok_or_else(|| UtilsError::AllMissing {
            step,
            strategy: "most_frequent",
            column: name.to_owned(),
        })
}

/// Fills the missing values of each column with its learned value.
///
/// # Errors
/// [`UtilsError::NonFinite`] for an infinite value in a numeric column,
/// [`UtilsError::BadPipeline`] when a fill's kind does not match its column.
pub(crate) fn apply(
    step: usize,
    fills: &[Option<Fill>],
    columns: &mut [Column],
) -> Result<(), UtilsError> {
    for (column, fill) in columns.iter_mut().zip(fills) {
        match (&mut column.data, fill) {
            (ColumnData::Numeric(values), fill) => {
                check_no_infinity(step, &column.name, values)?;
                match fill {
                    None => {}
                    Some(Fill::Number(value)) => fill_numbers(values, *value),
                    Some(Fill::Category(_)) => return Err(kind_mismatch(step, &column.name)),
                }
            }
            (ColumnData::Categorical { .. }, None) => {}
            (ColumnData::Categorical { codes, categories }, Some(Fill::Category(label))) => {
                fill_codes(codes, categories, label);
            }
            (ColumnData::Categorical { .. }, Some(Fill::Number(_))) => {
                return Err(kind_mismatch(step, &column.name));
            }
        }
    }
    Ok(())
}

fn fill_numbers(values: &mut [f64], fill: f64) {
    for value in values.iter_mut().filter(|value| value.is_nan()) {
        *value = fill;
    }
}

fn fill_codes(codes: &mut [u32], categories: &mut Vec<String>, label: &str) {
    if !codes.contains(&MISSING_CODE) {
        return;
    }
    let code = match categories.iter().position(|category| category == label) {
        Some(position) => position as u32,
        None => {
            categories.push(label.to_owned());
            (categories.len() - 1) as u32
        }
    };
    for slot in codes.iter_mut().filter(|code| **code == MISSING_CODE) {
        *slot = code;
    }
}

fn check_no_infinity(step: usize, name: &str, values: &[f64]) -> Result<(), UtilsError> {
    match values.iter().position(|value| value.is_infinite()) {
        None => Ok(()),
        Some(row) => Err(UtilsError::NonFinite {
            step,
            step_name: "impute".to_owned(),
            column: name.to_owned(),
            row,
            value: "infinite",
            hint: "replace or drop infinite values before preprocessing",
        }),
    }
}

fn kind_mismatch(step: usize, name: &str) -> UtilsError {
    UtilsError::BadPipeline {
        step,
        reason: format!("the fill value of column `{name}` is of the other kind"),
    }
}

fn strategy_name(strategy: Impute) -> &'static str {
    match strategy {
        Impute::Mean => "mean",
        Impute::Median => "median",
        Impute::MostFrequent => "most_frequent",
        Impute::Constant(_) => "constant",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAN: f64 = f64::NAN;

    fn numeric_fill_of(values: Vec<f64>, strategy: Impute) -> Result<Fill, UtilsError> {
        let columns = [Column::numeric("x", values)];
        let fills = fit(0, &columns, Some(strategy), None)?;
        Ok(fills.into_iter().next().flatten().unwrap())
    }

    // Expected values are scikit-learn's: SimpleImputer(strategy=...).fit(X).statistics_
    // with X = [[1], [nan], [2], [2], [10], [nan], [4]].
    #[test]
    fn numeric_strategies_match_simple_imputer() {
        let values = vec![1.0, NAN, 2.0, 2.0, 10.0, NAN, 4.0];
        let fill = |strategy| numeric_fill_of(values.clone(), strategy).unwrap();
        assert_eq!(fill(Impute::Mean), Fill::Number(3.8));
        assert_eq!(fill(Impute::Median), Fill::Number(2.0));
        assert_eq!(fill(Impute::MostFrequent), Fill::Number(2.0));
        assert_eq!(fill(Impute::Constant(-1.0)), Fill::Number(-1.0));
        // Ties go to the smallest value: [3, 1, 3, 1] → 1.
        let tied = numeric_fill_of(vec![3.0, 1.0, 3.0, 1.0], Impute::MostFrequent).unwrap();
        assert_eq!(tied, Fill::Number(1.0));
        // An even count's median is the mean of the middle two: [4, 1, 3, 2] → 2.5.
        let even = numeric_fill_of(vec![4.0, 1.0, 3.0, 2.0], Impute::Median).unwrap();
        assert_eq!(even, Fill::Number(2.5));
    }

    #[test]
    fn categorical_most_frequent_breaks_ties_by_smallest_label() {
        let categories = vec!["zebra".to_owned(), "ant".to_owned(), "moth".to_owned()];
        let mut columns = [Column::categorical(
            "animal",
            vec![0, 1, MISSING_CODE, 0, 1, 2],
            categories,
        )];
        let fills = fit(0, &columns, None, Some(&CategoricalImpute::MostFrequent)).unwrap();
        assert_eq!(fills, vec![Some(Fill::Category("ant".into()))]);
        apply(0, &fills, &mut columns).unwrap();
        assert_eq!(columns[0].data.display_value(2), "ant");
    }

    #[test]
    fn a_constant_label_becomes_a_category() {
        let mut columns = [Column::categorical(
            "c",
            vec![0, MISSING_CODE],
            vec!["a".into()],
        )];
        let strategy = CategoricalImpute::Constant("missing".into());
        let fills = fit(0, &columns, None, Some(&strategy)).unwrap();
        apply(0, &fills, &mut columns).unwrap();
        assert_eq!(
            columns[0].data,
            ColumnData::Categorical {
                codes: vec![0, 1],
                categories: vec!["a".into(), "missing".into()]
            }
        );
    }

    #[test]
    fn all_missing_and_infinite_are_refused_by_name() {
        let error = numeric_fill_of(vec![NAN, NAN], Impute::Median).unwrap_err();
        assert!(
            error.to_string().contains("column `x` has only missing"),
            "{error}"
        );
        let error = numeric_fill_of(vec![1.0, f64::INFINITY], Impute::Mean).unwrap_err();
        assert!(
            error.to_string().contains("column `x`, row 1: infinite"),
            "{error}"
        );
        let columns = [Column::categorical(
            "c",
            vec![MISSING_CODE],
            vec!["a".into()],
        )];
        let error = fit(0, &columns, None, Some(&CategoricalImpute::MostFrequent)).unwrap_err();
        assert!(error.to_string().contains("column `c`"), "{error}");
    }
}
