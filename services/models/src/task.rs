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
/// a row has no target value; [`ModelsError::ConstantTarget`] for a regression target with
/// one value; [`ModelsError::OneClass`] for a classification target with one class;
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
    let labels: Vec<String> = match data {
        ColumnData::Numeric(values) => values.iter().map(|value| value.to_string()).collect(),
        ColumnData::Categorical { codes, categories } => codes
            .iter()
            .map(|&code| match categories.get(code as usize) {
                Some(label) if code != MISSING_CODE => label.clone(),
                _ => String::new(),
            })
            .collect(),
    };
    let mut classes: Vec<String> = labels.clone();
    match data {
        // Numbers sort as numbers (2 before 10), not as text.
        ColumnData::Numeric(values) => {
            let mut numbers = values.clone();
            numbers.sort_by(f64::total_cmp);
            numbers.dedup();
            classes = numbers.iter().map(|value| value.to_string()).collect();
        }
        ColumnData::Categorical { .. } => {
            classes.sort();
            classes.dedup();
        }
    }
    if classes.len() < 2 {
        return Err(ModelsError::OneClass {
            target: target.to_owned(),
            class: classes.first().cloned().unwrap_or_default(),
        });
    }
    let index: BTreeMap<&str, u32> = classes
        .iter()
        .enumerate()
        .map(|(code, label)| (label.as_str(), code as u32))
        .collect();
    // Every label is in `classes` by construction.
    let codes = labels.iter().map(|label| index[label.as_str()]).collect();
    Ok(Targets::Classification { codes, classes })
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
