//! The task (regression or classification) and the target values, taken from a frame's
//! target column.
//!
//! Inference follows what a person would decide looking at the column: a categorical column
//! is a classification target; a numeric column whose values are all integers with at most
//! [`MAX_INFERRED_CLASSES`] distinct values (0/1 flags, ratings, digit labels) is one too;
//! anything else numeric is a regression target. The caller can override the inference.
//!
//! ```
//! use mltools_core::{Column, Frame};
//! use mltools_core::models::Task;
//! use mltools_models::task::{Targets, split_target};
//!
//! let frame = Frame {
//!     columns: vec![
//!         Column::numeric("x", vec![1.0, 2.0, 3.0, 4.0]),
//!         Column::numeric("label", vec![0.0, 1.0, 1.0, 0.0]),
//!     ],
//! };
//! let (features, targets) = split_target(&frame, "label", None).unwrap();
//! assert_eq!(targets.task(), Task::Classification);
//! assert_eq!(features.columns.len(), 1);
//! assert!(matches!(targets, Targets::Classification { ref classes, .. } if classes == &["0", "1"]));
//! ```

use crate::error::ModelsError;
use mltools_core::frame::{ColumnData, Frame, MISSING_CODE};
use mltools_core::models::Task;
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The most distinct integer values a numeric target may have and still be inferred a
/// classification target.
pub const MAX_INFERRED_CLASSES: usize = 20;

/// The target values of a task.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One number per row.
    Regression(Vec<f64>),
    /// One class code per row, into `classes`.
    Classification {
        /// Per row: an index into `classes`.
        codes: Vec<u32>,
        /// The class labels, sorted (as scikit-learn's `LabelEncoder` does); every class has
        /// at least one row.
        classes: Vec<String>,
    },
}

impl Targets {
    /// The task these targets are for.
    pub fn task(&self) -> Task {
        match self {
            Targets::Regression(_) => Task::Regression,
            Targets::Classification { .. } => Task::Classification,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            Targets::Regression(values) => values.len(),
            Targets::Classification { codes, .. } => codes.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of classes (0 for regression).
    pub fn class_count(&self) -> usize {
        match self {
            Targets::Regression(_) => 0,
            Targets::Classification { classes, .. } => classes.len(),
        }
    }

    /// The targets of the given rows, in that order; the classes stay the same.
    ///
    /// # Panics
    /// A row out of range (folds are checked against the data before use).
    pub fn select(&self, rows: &[u32]) -> Targets {
        match self {
            Targets::Regression(values) => {
                Targets::Regression(rows.iter().map(|&row| values[row as usize]).collect())
            }
            Targets::Classification { codes, classes } => Targets::Classification {
                codes: rows.iter().map(|&row| codes[row as usize]).collect(),
                classes: classes.clone(),
            },
        }
    }
}

/// The task a target column suggests (see the module docs).
pub fn infer_task(column: &ColumnData) -> Task {
    match column {
        ColumnData::Categorical { .. } => Task::Classification,
        ColumnData::Numeric(values) => {
            let mut distinct = BTreeMap::new();
            for &value in values.iter().filter(|value| !value.is_nan()) {
                if value.fract() != 0.0 || !value.is_finite() {
                    return Task::Regression;
                }
                distinct.insert(value.to_bits(), ());
                if distinct.len() > MAX_INFERRED_CLASSES {
                    return Task::Regression;
                }
            }
            Task::Classification
        }
    }
}

/// Splits `frame` into its feature columns and the targets of column `target`, for `task`
/// (inferred when `None`).
///
/// # Errors
/// [`ModelsError::NoTarget`] when the column is absent; [`ModelsError::MissingTarget`] when
/// a row has no target value; [`ModelsError::NoFeatures`] when the target is the only
/// column; [`ModelsError::NonFiniteTarget`] for an infinite regression target;
/// [`ModelsError::ConstantTarget`] for a regression target with one value;
/// [`ModelsError::OneClass`] for a classification target with one class;
/// [`ModelsError::CategoricalRegression`] when regression is asked of a categorical column.
pub fn split_target(
    frame: &Frame,
    target: &str,
    task: Option<Task>,
) -> Result<(Frame, Targets), ModelsError> {
    let Some(column) = frame.column(target) else {
        return Err(ModelsError::NoTarget {
            target: target.to_owned(),
            columns: frame.names().collect::<Vec<_>>().join(", "),
        });
    };
    if frame.columns.iter().all(|column| column.name == target) {
        return Err(ModelsError::NoFeatures {
            target: target.to_owned(),
        });
    }
    check_complete(target, &column.data)?;
    let task = task.unwrap_or_else(|| infer_task(&column.data));
    let targets = match (task, &column.data) {
        (Task::Regression, ColumnData::Numeric(values)) => regression(target, values)?,
        (Task::Regression, ColumnData::Categorical { .. }) => {
            return Err(ModelsError::CategoricalRegression {
                target: target.to_owned(),
            });
        }
        (Task::Classification, data) => classification(target, data)?,
    };
    let features = Frame {
        columns: frame
            .columns
            .iter()
            .filter(|column| column.name != target)
            .cloned()
            .collect(),
    };
    Ok((features, targets))
}

fn check_complete(target: &str, data: &ColumnData) -> Result<(), ModelsError> {
    let missing: Vec<usize> = (0..data.len())
        .filter(|&row| data.is_missing(row))
        .collect();
    match missing.first() {
        None => Ok(()),
        Some(&first) => Err(ModelsError::MissingTarget {
            target: target.to_owned(),
            missing: missing.len(),
            rows: data.len(),
            first,
        }),
    }
}

fn regression(target: &str, values: &[f64]) -> Result<Targets, ModelsError> {
    // Missing values (NaN) were refused already; what is left is ±inf, which no metric or
    // ranking survives.
    if let Some(row) = values.iter().position(|value| !value.is_finite()) {
        return Err(ModelsError::NonFiniteTarget {
            target: target.to_owned(),
            row,
            value: values[row],
        });
    }
    if let Some(&first) = values.first()
        && values.iter().all(|&value| value == first)
    {
        return Err(ModelsError::ConstantTarget {
            target: target.to_owned(),
            value: first.to_string(),
        });
    }
    Ok(Targets::Regression(values.to_vec()))
}

/// Codes the rows by their sorted distinct labels.
fn classification(target: &str, data: &ColumnData) -> Result<Targets, ModelsError> {
    let (codes, classes) = match data {
        // Numbers sort as numbers (2 before 10), not as text. −0 and 0 are one class (they
        // compare equal, and both print as a zero); normalising first keeps every label's
        // bits equal to its class's.
        ColumnData::Numeric(values) => {
            let values: Vec<f64> = values
                .iter()
                .map(|&value| if value == 0.0 { 0.0 } else { value })
                .collect();
            let (codes, firsts) = code_by_sorted(&values, f64::total_cmp);
            let classes: Vec<String> = firsts.iter().map(|&row| values[row].to_string()).collect();
            (codes, classes)
        }
        ColumnData::Categorical { codes, categories } => {
            let labels: Vec<&str> = codes
                .iter()
                .map(|&code| match categories.get(code as usize) {
                    Some(label) if code != MISSING_CODE => label.as_str(),
                    _ => "",
                })
                .collect();
            let (codes, firsts) = code_by_sorted(&labels, |a, b| a.cmp(b));
            let classes = firsts.iter().map(|&row| labels[row].to_owned()).collect();
            (codes, classes)
        }
    };
    if classes.len() < 2 {
        return Err(ModelsError::OneClass {
            target: target.to_owned(),
            class: classes.first().cloned().unwrap_or_default(),
        });
    }
    Ok(Targets::Classification { codes, classes })
}

/// Per row, the rank of its key among the distinct keys (ordered by `order`), and for each
/// distinct key the first row (in sorted order) holding it. Sorting row indices rather than
/// looking keys up in a map means no key can go missing.
fn code_by_sorted<T>(keys: &[T], order: impl Fn(&T, &T) -> Ordering) -> (Vec<u32>, Vec<usize>) {
    let mut rows: Vec<usize> = (0..keys.len()).collect();
    rows.sort_by(|&a, &b| order(&keys[a], &keys[b]));
    let mut codes = vec![0u32; keys.len()];
    let mut firsts: Vec<usize> = Vec::new();
    for &row in &rows {
        match firsts.last() {
            Some(&first) if order(&keys[first], &keys[row]) == Ordering::Equal => {}
            _ => firsts.push(row),
        }
        codes[row] = (firsts.len() - 1) as u32;
    }
    (codes, firsts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::Column;

    fn frame(target: Column) -> Frame {
        let rows = target.data.len();
        Frame {
            columns: vec![
                Column::numeric("x", (0..rows).map(|row| row as f64).collect()),
                target,
            ],
        }
    }

    #[test]
    fn inference_follows_the_values() {
        let flags = ColumnData::Numeric(vec![0.0, 1.0, 1.0]);
        assert_eq!(infer_task(&flags), Task::Classification);
        let prices = ColumnData::Numeric(vec![1.5, 2.0, 3.0]);
        assert_eq!(infer_task(&prices), Task::Regression);
        let many = ColumnData::Numeric((0..21).map(f64::from).collect());
        assert_eq!(infer_task(&many), Task::Regression);
        let twenty = ColumnData::Numeric((0..20).map(f64::from).collect());
        assert_eq!(infer_task(&twenty), Task::Classification);
        let labels = ColumnData::Categorical {
            codes: vec![0, 1],
            categories: vec!["a".into(), "b".into()],
        };
        assert_eq!(infer_task(&labels), Task::Classification);
    }

    #[test]
    fn numeric_classes_sort_as_numbers_and_can_be_overridden() {
        let column = Column::numeric("y", vec![10.0, 2.0, 10.0, 2.0]);
        let (_, targets) = split_target(&frame(column.clone()), "y", None).unwrap();
        assert_eq!(
            targets,
            Targets::Classification {
                codes: vec![1, 0, 1, 0],
                classes: vec!["2".into(), "10".into()],
            }
        );
        let (_, targets) = split_target(&frame(column), "y", Some(Task::Regression)).unwrap();
        assert_eq!(targets, Targets::Regression(vec![10.0, 2.0, 10.0, 2.0]));
    }

    #[test]
    fn categorical_classes_are_sorted_labels_of_present_rows() {
        let column = Column::categorical(
            "y",
            vec![0, 2, 0],
            vec!["malignant".into(), "unused".into(), "benign".into()],
        );
        let (features, targets) = split_target(&frame(column), "y", None).unwrap();
        assert_eq!(features.names().collect::<Vec<_>>(), ["x"]);
        assert_eq!(
            targets,
            Targets::Classification {
                codes: vec![1, 0, 1],
                classes: vec!["benign".into(), "malignant".into()],
            }
        );
    }

    #[test]
    fn minus_zero_and_zero_are_one_class() {
        let column = Column::numeric("y", vec![0.0, -0.0, 1.0, -0.0, 1.0]);
        let (_, targets) = split_target(&frame(column), "y", None).unwrap();
        assert_eq!(
            targets,
            Targets::Classification {
                codes: vec![0, 0, 1, 0, 1],
                classes: vec!["0".into(), "1".into()],
            }
        );
        let only_zeros = Column::numeric("y", vec![0.0, -0.0, -0.0]);
        let error = split_target(&frame(only_zeros), "y", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "target `y` has one class only (`0`): a classifier needs two or more"
        );
    }

    #[test]
    fn infinite_regression_targets_and_a_lone_target_are_refused() {
        let infinite = frame(Column::numeric(
            "y",
            vec![1.5, 2.5, f64::INFINITY, -f64::INFINITY],
        ));
        let error = split_target(&infinite, "y", None).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "target `y` has a non-finite value (inf) at row 2: a regression target must be finite"
        );
        let error = split_target(&infinite, "y", Some(Task::Regression)).unwrap_err();
        assert!(matches!(error, ModelsError::NonFiniteTarget { row: 2, .. }));
        let lone = Frame {
            columns: vec![Column::numeric("y", vec![1.0, 2.0, 3.0])],
        };
        let error = split_target(&lone, "y", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no feature columns besides the target `y`"
        );
    }

    #[test]
    fn bad_targets_are_typed_errors_naming_the_column() {
        let data = frame(Column::numeric("y", vec![1.0, 2.0]));
        let error = split_target(&data, "price", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no target: the data has no column `price`; the columns are: x, y"
        );
        let constant = frame(Column::numeric("y", vec![3.5, 3.5, 3.5]));
        let error = split_target(&constant, "y", None).unwrap_err();
        assert!(
            matches!(error, ModelsError::ConstantTarget { .. }),
            "{error}"
        );
        let one_class = frame(Column::numeric("y", vec![1.0, 1.0]));
        let error = split_target(&one_class, "y", None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "target `y` has one class only (`1`): a classifier needs two or more"
        );
        let missing = frame(Column::numeric("y", vec![1.0, f64::NAN, 2.5]));
        let error = split_target(&missing, "y", None).unwrap_err();
        assert!(matches!(
            error,
            ModelsError::MissingTarget {
                missing: 1,
                first: 1,
                ..
            }
        ));
        let labels = frame(Column::categorical(
            "y",
            vec![0, 1],
            vec!["a".into(), "b".into()],
        ));
        let error = split_target(&labels, "y", Some(Task::Regression)).unwrap_err();
        assert!(matches!(error, ModelsError::CategoricalRegression { .. }));
    }
}
