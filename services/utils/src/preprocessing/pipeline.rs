//! Fitting a pipeline on training rows and applying it to any rows.
//!
//! [`fit`] runs the steps in order over a working copy of the columns: each step learns its
//! statistics from the output of the steps before it, then transforms the working copy for
//! the next. [`transform`] replays the learned steps only; nothing is learned from the rows
//! it transforms, which is what keeps a held-out fold out of its own preprocessing.
//!
//! Both check the memory they are about to take against a budget before taking it: a
//! one-hot step's output (rows × its output columns × 8 bytes, known from the learned
//! categories before any indicator is built) and the output matrix. The other steps work
//! in place or shrink the data.

use super::{cap, drop_constant, impute, onehot, scale};
use crate::config::DEFAULT_MAX_MATRIX_BYTES;
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
/// [`UtilsError::UnencodedCategorical`] when a categorical column reaches the output;
/// [`UtilsError::OverBudget`] past the default budget, 2 GiB (see [`fit_within`]).
pub fn fit(spec: &PipelineSpec, data: Frame) -> Result<FittedPipeline, UtilsError> {
    fit_within(spec, data, DEFAULT_MAX_MATRIX_BYTES)
}

/// [`fit`], refusing any step output or output matrix larger than `max_bytes` before it
/// is allocated.
///
/// # Errors
/// As [`fit`]; [`UtilsError::OverBudget`] naming the step, the size, the budget and the
/// widest column; [`UtilsError::BadStep`] for a step parameter out of range.
pub fn fit_within(
    spec: &PipelineSpec,
    data: Frame,
    max_bytes: u64,
) -> Result<FittedPipeline, UtilsError> {
    fit_columns(spec, data, max_bytes).map(|(fitted, _)| fitted)
}

/// One fold's preprocessing: fits `spec` on `train` within `max_bytes` as [`fit_within`]
/// does, and gives the fitted pipeline, the training rows as the fit's own pass left them
/// (what [`transform_within`] would give for them, without a second pass) and `test`
/// transformed by it.
///
/// # Errors
/// As [`fit_within`] for `train`, then as [`transform_within`] for `test`.
pub fn fit_transform_within(
    spec: &PipelineSpec,
    train: Frame,
    test: Frame,
    max_bytes: u64,
) -> Result<(FittedPipeline, Matrix, Matrix), UtilsError> {
    let rows = train.rows();
    let (fitted, columns) = fit_columns(spec, train, max_bytes)?;
    let train = to_matrix(rows, fitted.output_columns.clone(), &columns);
    let test = transform_within(&fitted, test, max_bytes)?;
    Ok((fitted, train, test))
}

/// [`fit_within`], keeping the training columns as the steps left them (their matrix is
/// within `max_bytes`: checked here).
fn fit_columns(
    spec: &PipelineSpec,
    data: Frame,
    max_bytes: u64,
) -> Result<(FittedPipeline, Vec<Column>), UtilsError> {
    check_frame("fit_pipeline", &data)?;
    let rows = data.rows();
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
        check_step_budget(index, &fitted, &columns, rows, max_bytes)?;
        columns = apply_step(index, &fitted, columns)?;
        steps.push(fitted);
    }
    let output_columns = output_names(&columns)?;
    // Fitting builds no matrix, but the transforms of these rows will.
    check_matrix_budget(rows, &columns, max_bytes)?;
    let fitted = FittedPipeline {
        spec: spec.clone(),
        input_columns,
        steps,
        output_columns,
    };
    Ok((fitted, columns))
}

/// Applies a fitted pipeline to `data`, which must have the columns it was fitted on, in
/// the same order and of the same kinds.
///
/// # Errors
/// Bad data as for [`fit`]; [`UtilsError::ColumnCount`] or [`UtilsError::ColumnMismatch`]
/// when the columns differ from the fitted ones; the steps' refusals of values they cannot
/// take ([`UtilsError::NonFinite`], [`UtilsError::MissingCategory`],
/// [`UtilsError::UnknownCategory`]); [`UtilsError::BadPipeline`] when the learned state
/// does not fit together; [`UtilsError::OverBudget`] past the default budget, 2 GiB (see
/// [`transform_within`]).
pub fn transform(pipeline: &FittedPipeline, data: Frame) -> Result<Matrix, UtilsError> {
    transform_within(pipeline, data, DEFAULT_MAX_MATRIX_BYTES)
}

/// [`transform`], refusing any step output or output matrix larger than `max_bytes` before
/// it is allocated.
///
/// # Errors
/// As [`transform`]; [`UtilsError::OverBudget`] naming the step, the size, the budget and
/// the widest column.
pub fn transform_within(
    pipeline: &FittedPipeline,
    data: Frame,
    max_bytes: u64,
) -> Result<Matrix, UtilsError> {
    check_frame("transform", &data)?;
    check_columns(&pipeline.input_columns, &data)?;
    let rows = data.rows();
    let mut columns = data.columns;
    for (index, step) in pipeline.steps.iter().enumerate() {
        check_step_budget(index, step, &columns, rows, max_bytes)?;
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
    check_matrix_budget(rows, &columns, max_bytes)?;
    Ok(to_matrix(rows, names, &columns))
}

/// Refuses a step whose output would be over `max_bytes`: only one-hot encoding widens the
/// data, and its width is known from the learned categories before anything is built.
fn check_step_budget(
    index: usize,
    step: &FittedStep,
    columns: &[Column],
    rows: usize,
    max_bytes: u64,
) -> Result<(), UtilsError> {
    let FittedStep::OneHot { categories, .. } = step else {
        return Ok(());
    };
    // Per column, its output width; a mismatch of lengths is refused by the step itself.
    let widths = categories
        .iter()
        .zip(columns)
        .map(|(learned, column)| (column, learned.as_ref().map_or(1, Vec::len)));
    let width: usize = widths.clone().map(|(_, width)| width).sum();
    let bytes = matrix_bytes(rows, width);
    if bytes <= max_bytes {
        return Ok(());
    }
    let hint = widths
        .filter(|(column, _)| matches!(column.data, ColumnData::Categorical { .. }))
        .max_by_key(|&(_, width)| width)
        .map(|(column, width)| {
            format!(
                "; the widest column is `{}` with {width} categories: cap it with a \
                 cap-categories step before the one-hot step (the default pipelines keep 32), \
                 or leave it out",
                column.name
            )
        })
        .unwrap_or_default();
    Err(UtilsError::OverBudget {
        stage: format!("step {index} (one-hot)"),
        rows,
        columns: width,
        bytes,
        budget: max_bytes,
        hint,
    })
}

/// Refuses an output matrix of `columns` over `max_bytes`.
fn check_matrix_budget(rows: usize, columns: &[Column], max_bytes: u64) -> Result<(), UtilsError> {
    let bytes = matrix_bytes(rows, columns.len());
    if bytes <= max_bytes {
        return Ok(());
    }
    Err(UtilsError::OverBudget {
        stage: "the output matrix".to_owned(),
        rows,
        columns: columns.len(),
        bytes,
        budget: max_bytes,
        hint: "; use fewer rows or columns".to_owned(),
    })
}

/// `rows × columns × 8`, saturating: a hostile size is over any budget, never a wrap.
fn matrix_bytes(rows: usize, columns: usize) -> u64 {
    (rows as u64)
        .saturating_mul(columns as u64)
        .saturating_mul(8)
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
        Step::CapCategories { max_categories } => FittedStep::CapCategories {
            max_categories: *max_categories,
            columns: cap::fit(index, columns, *max_categories)?,
        },
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
        FittedStep::CapCategories { columns, .. } => Some(columns.len()),
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
        FittedStep::CapCategories {
            columns: learned, ..
        } => cap::apply(index, learned, &mut columns)?,
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
