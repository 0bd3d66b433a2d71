//! The cap-categories step: each categorical column keeps its most frequent labels, the
//! others become one `(other)` label.
//!
//! One-hot encoding makes one indicator column per label, so a column with a label per row
//! (an identifier, free text) would make a matrix of rows² values. Capped first, a column
//! gives at most `max_categories + 1` indicator columns whatever its cardinality. The kept
//! labels are the most frequent in the fitted rows, ties going to the label sorting first
//! (by code point, as everywhere in the pipeline); counting is linear in the rows and the
//! ranking is over the distinct labels only. At transform time any label not kept (seen at
//! fit time or not) becomes `(other)` when the column has it; a column that had no more
//! labels than the cap passes through, its unseen labels left to the one-hot step's policy.

use crate::error::UtilsError;
use mltools_core::utils::CappedLabels;
use mltools_core::{Column, ColumnData, MISSING_CODE};
use std::collections::HashMap;

/// The smallest cap: with one label kept, a column would be all `(other)` but a label.
pub(crate) const MIN_MAX_CATEGORIES: usize = 2;

/// The label the other labels become, made distinct from every kept label.
const OTHER: &str = "(other)";

/// Learns the kept labels of every categorical column with more than `max_categories`
/// labels (`None` for the others and for numeric columns).
///
/// # Errors
/// [`UtilsError::BadStep`] for a `max_categories` below [`MIN_MAX_CATEGORIES`].
pub(crate) fn fit(
    step: usize,
    columns: &[Column],
    max_categories: usize,
) -> Result<Vec<Option<CappedLabels>>, UtilsError> {
    if max_categories < MIN_MAX_CATEGORIES {
        return Err(UtilsError::BadStep {
            step,
            step_name: "cap categories",
            reason: format!(
                "max_categories = {max_categories}; it must be at least {MIN_MAX_CATEGORIES}"
            ),
        });
    }
    Ok(columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Numeric(_) => None,
            ColumnData::Categorical { codes, categories } => {
                capped(codes, categories, max_categories)
            }
        })
        .collect())
}

/// The kept labels of one column, or `None` when it has no more than `max_categories`.
fn capped(codes: &[u32], categories: &[String], max_categories: usize) -> Option<CappedLabels> {
    // Counted per code (codes were range-checked with the frame), then per label: a frame
    // may list a label under two codes.
    let mut per_code = vec![0usize; categories.len()];
    for &code in codes.iter().filter(|&&code| code != MISSING_CODE) {
        per_code[code as usize] += 1;
    }
    let mut per_label: HashMap<&str, usize> = HashMap::new();
    for (label, &count) in categories
        .iter()
        .zip(&per_code)
        .filter(|(_, count)| **count > 0)
    {
        *per_label.entry(label.as_str()).or_default() += count;
    }
    if per_label.len() <= max_categories {
        return None;
    }
    let mut ranked: Vec<(&str, usize)> = per_label.into_iter().collect();
    // Most frequent first, then by label: the order is total, so the kept set is the same
    // whatever order the frame lists its labels in.
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut kept: Vec<String> = ranked[..max_categories]
        .iter()
        .map(|(label, _)| (*label).to_owned())
        .collect();
    kept.sort_unstable();
    let mut other = OTHER.to_owned();
    while kept.binary_search(&other).is_ok() {
        other = format!("({other})");
    }
    Some(CappedLabels { kept, other })
}

/// Replaces every label a capped column does not keep by its `(other)` label.
///
/// # Errors
/// [`UtilsError::BadPipeline`] when labels were learned for a numeric column or are not
/// sorted and distinct.
pub(crate) fn apply(
    step: usize,
    learned: &[Option<CappedLabels>],
    columns: &mut [Column],
) -> Result<(), UtilsError> {
    for (column, capped) in columns.iter_mut().zip(learned) {
        let Some(capped) = capped else { continue };
        let bad = |reason: String| UtilsError::BadPipeline { step, reason };
        if capped.kept.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(bad(format!(
                "the labels kept for column `{}` are not sorted and distinct",
                column.name
            )));
        }
        let ColumnData::Categorical { codes, categories } = &mut column.data else {
            return Err(bad(format!(
                "labels were learned for column `{}`, which is numeric",
                column.name
            )));
        };
        let other_code = capped.kept.len() as u32;
        // Where each of this frame's own codes goes among the kept labels, else to other.
        let remap: Vec<u32> = categories
            .iter()
            .map(|label| match capped.kept.binary_search(label) {
                Ok(position) => position as u32,
                Err(_) => other_code,
            })
            .collect();
        for code in codes.iter_mut().filter(|code| **code != MISSING_CODE) {
            *code = remap[*code as usize];
        }
        let mut labels = Vec::with_capacity(capped.kept.len() + 1);
        labels.extend(capped.kept.iter().cloned());
        labels.push(capped.other.clone());
        *categories = labels;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(labels: &[&str]) -> Column {
        let mut categories: Vec<String> = Vec::new();
        let codes = labels
            .iter()
            .map(|label| {
                if *label == "?" {
                    return MISSING_CODE;
                }
                match categories.iter().position(|c| c == label) {
                    Some(code) => code as u32,
                    None => {
                        categories.push((*label).to_owned());
                        (categories.len() - 1) as u32
                    }
                }
            })
            .collect();
        Column::categorical("city", codes, categories)
    }

    fn labels(column: &Column) -> Vec<String> {
        match &column.data {
            ColumnData::Categorical { codes, categories } => codes
                .iter()
                .map(|&code| match code {
                    MISSING_CODE => "?".to_owned(),
                    code => categories[code as usize].clone(),
                })
                .collect(),
            ColumnData::Numeric(_) => unreachable!(),
        }
    }

    fn kept(learned: &[Option<CappedLabels>]) -> Vec<&str> {
        learned[0]
            .as_ref()
            .map(|capped| capped.kept.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    #[test]
    fn the_most_frequent_are_kept_and_the_rest_become_other() {
        let city = column(&["b", "a", "c", "a", "b", "a", "d", "?"]);
        let learned = fit(0, std::slice::from_ref(&city), 2).unwrap();
        assert_eq!(kept(&learned), ["a", "b"]);
        assert_eq!(learned[0].as_ref().unwrap().other, "(other)");
        let mut columns = vec![city];
        apply(0, &learned, &mut columns).unwrap();
        assert_eq!(
            labels(&columns[0]),
            ["b", "a", "(other)", "a", "b", "a", "(other)", "?"]
        );
    }

    #[test]
    fn ties_go_to_the_label_sorting_first_whatever_the_listing_order() {
        // Every label once: the cap keeps the two sorting first, by code point.
        for order in [["d", "B", "c", "a"], ["a", "c", "B", "d"]] {
            let learned = fit(0, &[column(&order)], 2).unwrap();
            assert_eq!(kept(&learned), ["B", "a"]);
        }
        // A more frequent label beats a smaller one.
        let learned = fit(0, &[column(&["z", "z", "a", "b", "c"])], 2).unwrap();
        assert_eq!(kept(&learned), ["a", "z"]);
    }

    #[test]
    fn within_the_cap_a_column_passes_through() {
        let city = column(&["a", "b", "a"]);
        let learned = fit(0, &[city.clone(), Column::numeric("x", vec![1.0; 3])], 2).unwrap();
        assert_eq!(learned, [None, None]);
        let mut columns = vec![city.clone()];
        apply(0, &learned[..1], &mut columns).unwrap();
        assert_eq!(columns[0], city);
    }

    #[test]
    fn an_unseen_label_becomes_other() {
        let learned = fit(0, &[column(&["a", "a", "b", "c"])], 2).unwrap();
        let mut columns = vec![column(&["new", "c", "a", "?"])];
        apply(0, &learned, &mut columns).unwrap();
        assert_eq!(labels(&columns[0]), ["(other)", "(other)", "a", "?"]);
    }

    #[test]
    fn other_never_collides_with_a_kept_label() {
        let learned = fit(0, &[column(&["(other)", "(other)", "x", "x", "y"])], 2).unwrap();
        let capped = learned[0].as_ref().unwrap();
        assert_eq!(capped.kept, ["(other)", "x"]);
        assert_eq!(capped.other, "((other))");
    }

    #[test]
    fn a_cap_below_two_is_refused_naming_the_step() {
        let error = fit(3, &[column(&["a"])], 1).unwrap_err();
        assert_eq!(
            error.to_string(),
            "step 3 (cap categories): max_categories = 1; it must be at least 2"
        );
    }

    #[test]
    fn a_damaged_fitted_state_is_refused() {
        let learned = vec![Some(CappedLabels {
            kept: vec!["b".into(), "a".into()],
            other: "(other)".into(),
        })];
        let error = apply(2, &learned, &mut [column(&["a"])]).unwrap_err();
        assert!(
            matches!(error, UtilsError::BadPipeline { step: 2, .. }),
            "{error}"
        );
        let sorted = vec![Some(CappedLabels {
            kept: vec!["a".into(), "b".into()],
            other: "(other)".into(),
        })];
        let error = apply(2, &sorted, &mut [Column::numeric("city", vec![1.0])]).unwrap_err();
        assert!(error.to_string().contains("numeric"), "{error}");
    }
}
