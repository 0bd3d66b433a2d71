//! Fitting a pipeline on training rows and applying it to any rows.
//!
//! [`fit`] runs the steps in order over a working copy of the columns: each step learns its
//! statistics from the output of the steps before it, then transforms the working copy for
//! the next. [`transform`] replays the learned steps only; nothing is learned from the rows
//! it transforms, which is what keeps a held-out fold out of its own preprocessing.

use super::{drop_constant, impute, onehot, scale};
use crate::error::UtilsError;
use mltools_core::utils::{FittedPipeline, FittedStep, InputColumn, Matrix, PipelineSpec, Step};
use mltools_core::{Column, ColumnData, Frame, MISSING_CODE};
use std::collections::HashSet;

/// Learns `spec`'s statistics from `data`, the feature columns of the training rows.
///
/// # Errors
/// Bad data ([`UtilsError::EmptyData`], [`UtilsError::RaggedFrame`],
/// [`UtilsError::DuplicateColumn`], [`UtilsError::BadCategoryCode`]) and each step's own
/// refusals ([`UtilsError::AllMissing`], [`UtilsError::NonFinite`],
/// [`UtilsError::MissingCategory`], [`UtilsError::NoColumnsLeft`]);
/// [`UtilsError::UnencodedCategorical`] when a categorical column reaches the output.
pub fn fit(spec: &PipelineSpec, data: Frame) -> Result<FittedPipeline, UtilsError> {
    check_frame("fit_pipeline", &data)?;
    let input_columns = data
        .columns
        .iter()
        .map(|column| InputColumn {
            name: column.name.clone(),
            kind: column.data.kind(),
        })
        .collect();
    let mut columns = data.columns;
    let mut steps = Vec::with_capacity(spec.steps.len());
    for (index, step) in spec.steps.iter().enumerate() {
        let fitted = fit_step(index, step, &columns)?;
        columns = apply_step(index, &fitted, columns)?;
        steps.push(fitted);
    }
    let output_columns = output_names(&columns)?;
    Ok(FittedPipeline {
        spec: spec.clone(),
        input_columns,
        steps,
        output_columns,
    })
}

/// Applies a fitted pipeline to `data`, which must have the columns it was fitted on, in
/// the same order and of the same kinds.
///
/// # Errors
/// Bad data as for [`fit`]; [`UtilsError::ColumnCount`] or [`UtilsError::ColumnMismatch`]
/// when the columns differ from the fitted ones; the steps' refusals of values they cannot
/// take ([`UtilsError::NonFinite`], [`UtilsError::MissingCategory`],
/// [`UtilsError::UnknownCategory`]); [`UtilsError::BadPipeline`] when the learned state
/// does not fit together.
pub fn transform(pipeline: &FittedPipeline, data: Frame) -> Result<Matrix, UtilsError> {
    check_frame("transform", &data)?;
    check_columns(&pipeline.input_columns, &data)?;
    let rows = data.rows();
    let mut columns = data.columns;
    for (index, step) in pipeline.steps.iter().enumerate() {
        columns = apply_step(index, step, columns)?;
    }
    let names = output_names(&columns)?;
    if names != pipeline.output_columns {
        return Err(UtilsError::BadPipeline {
            step: pipeline.steps.len(),
            reason: format!(
                "the output columns are {names:?}, but the pipeline lists {:?}",
                pipeline.output_columns
            ),
        });
    }
    Ok(to_matrix(rows, names, &columns))
}

fn fit_step(index: usize, step: &Step, columns: &[Column]) -> Result<FittedStep, UtilsError> {
    Ok(match step {
        Step::Impute {
            numeric,
            categorical,
        } => FittedStep::Impute {
            fill: impute::fit(index, columns, *numeric, categorical.as_ref())?,
        },
        Step::Scale(method) => FittedStep::Scale {
            method: *method,
            columns: scale::fit(index, columns, *method)?,
        },
        Step::OneHot { unknown } => FittedStep::OneHot {
            categories: onehot::fit(index, columns)?,
            unknown: *unknown,
        },
        Step::DropConstant => {
            let (keep, dropped) = drop_constant::fit(index, columns)?;
            FittedStep::DropConstant { keep, dropped }
        }
    })
}

fn apply_step(
    index: usize,
    step: &FittedStep,
    mut columns: Vec<Column>,
) -> Result<Vec<Column>, UtilsError> {
    let learned_for = match step {
        FittedStep::Impute { fill } => Some(fill.len()),
        FittedStep::Scale { columns, .. } => Some(columns.len()),
        FittedStep::OneHot { categories, .. } => Some(categories.len()),
        FittedStep::DropConstant { .. } => None,
    };
    if let Some(learned) = learned_for.filter(|&learned| learned != columns.len()) {
        return Err(UtilsError::BadPipeline {
            step: index,
            reason: format!(
                "it learned {learned} columns but receives {}",
                columns.len()
            ),
        });
    }
    match step {
        FittedStep::Impute { fill } => impute::apply(index, fill, &mut columns)?,
        FittedStep::Scale {
            method,
            columns: learned,
        } => scale::apply(index, *method, learned, &mut columns)?,
        FittedStep::OneHot {
            categories,
            unknown,
        } => return onehot::apply(index, categories, *unknown, columns),
        FittedStep::DropConstant { keep, .. } => return drop_constant::apply(index, keep, columns),
    }
    Ok(columns)
}

/// Checks what every step relies on: rows and columns, equal lengths, unique names, codes
/// within their category lists.
fn check_frame(operation: &'static str, data: &Frame) -> Result<(), UtilsError> {
    let Some(first) = data.columns.first() else {
        return Err(UtilsError::EmptyData {
            operation,
            what: "no columns",
        });
    };
    let rows = first.data.len();
    if rows == 0 {
        return Err(UtilsError::EmptyData {
            operation,
            what: "no rows",
        });
    }
    let mut names = HashSet::with_capacity(data.columns.len());
    for column in &data.columns {
        if column.data.len() != rows {
            return Err(UtilsError::RaggedFrame {
                first: first.name.clone(),
                expected: rows,
                column: column.name.clone(),
                got: column.data.len(),
            });
        }
        if !names.insert(column.name.as_str()) {
            return Err(UtilsError::DuplicateColumn {
                column: column.name.clone(),
            });
        }
        if let ColumnData::Categorical { codes, categories } = &column.data {
            check_codes(&column.name, codes, categories.len())?;
        }
    }
    Ok(())
}

fn check_codes(name: &str, codes: &[u32], categories: usize) -> Result<(), UtilsError> {
    let bad = codes
        .iter()
        .position(|&code| code != MISSING_CODE && code as usize >= categories);
    match bad {
        None => Ok(()),
        Some(row) => Err(UtilsError::BadCategoryCode {
            column: name.to_owned(),
            row,
            code: codes[row],
            categories,
        }),
    }
}

fn check_columns(expected: &[InputColumn], data: &Frame) -> Result<(), UtilsError> {
    if expected.len() != data.columns.len() {
        return Err(UtilsError::ColumnCount {
            expected: expected.len(),
            got: data.columns.len(),
        });
    }
    for (position, (want, got)) in expected.iter().zip(&data.columns).enumerate() {
        if want.name != got.name || want.kind != got.data.kind() {
            return Err(UtilsError::ColumnMismatch {
                position,
                expected: want.name.clone(),
                expected_kind: want.kind.to_string(),
                got: got.name.clone(),
                got_kind: got.data.kind().to_string(),
            });
        }
    }
    Ok(())
}

fn output_names(columns: &[Column]) -> Result<Vec<String>, UtilsError> {
    columns
        .iter()
        .map(|column| match column.data {
            ColumnData::Numeric(_) => Ok(column.name.clone()),
            ColumnData::Categorical { .. } => Err(UtilsError::UnencodedCategorical {
                column: column.name.clone(),
            }),
        })
        .collect()
}

/// Lays numeric `columns` out row-major; categorical ones were refused by `output_names`.
fn to_matrix(rows: usize, names: Vec<String>, columns: &[Column]) -> Matrix {
    let mut values = Vec::with_capacity(rows * columns.len());
    for row in 0..rows {
        for column in columns {
            if let ColumnData::Numeric(column_values) = &column.data {
                values.push(column_values[row]);
            }
        }
    }
    Matrix {
        rows,
        columns: names,
        values,
    }
}
