//! [`UtilsError`], the error of every utils operation, and its mapping onto the interface's
//! [`ServiceError`].

use mltools_core::{ErrorKind, ServiceError};

/// What went wrong in a utils operation; each message names the culprit (the column, the
/// step, the class, the lengths).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum UtilsError {
    /// A configuration value is out of range.
    #[error("utils config: `{field}`: {reason}")]
    BadConfig {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The data has no rows or no columns.
    #[error("{operation}: the data is empty ({what})")]
    EmptyData {
        /// The operation (`fit_pipeline`, `transform`).
        operation: &'static str,
        /// What is missing: `no rows`, `no columns`.
        what: &'static str,
    },
    /// A column's length differs from the first column's.
    #[error("column `{column}` has {got} rows, but column `{first}` has {expected}")]
    RaggedFrame {
        /// The first column.
        first: String,
        /// Its length.
        expected: usize,
        /// The culprit.
        column: String,
        /// Its length.
        got: usize,
    },
    /// Two columns have the same name.
    #[error("column `{column}` appears more than once")]
    DuplicateColumn {
        /// The repeated name.
        column: String,
    },
    /// A categorical code points past the column's category list.
    #[error(
        "column `{column}`, row {row}: category code {code} is out of range ({categories} categories)"
    )]
    BadCategoryCode {
        /// The column.
        column: String,
        /// The 0-based row.
        row: usize,
        /// The code.
        code: u32,
        /// How many categories the column lists.
        categories: usize,
    },
    /// An imputer cannot learn a fill value from a column with no values.
    #[error(
        "step {step} (impute {strategy}): column `{column}` has only missing values in the fitted rows"
    )]
    AllMissing {
        /// The 0-based step index.
        step: usize,
        /// The strategy (`mean`, `median`, `most_frequent`).
        strategy: &'static str,
        /// The column.
        column: String,
    },
    /// A missing or infinite value reached a step that needs finite numbers.
    #[error("step {step} ({step_name}): column `{column}`, row {row}: {value} value; {hint}")]
    NonFinite {
        /// The 0-based step index.
        step: usize,
        /// The step (`scale standard`, `impute mean`).
        step_name: String,
        /// The column.
        column: String,
        /// The 0-based row.
        row: usize,
        /// `missing (NaN)`, `infinite`.
        value: &'static str,
        /// What to do about it.
        hint: &'static str,
    },
    /// A missing category reached one-hot encoding.
    #[error(
        "step {step} (one-hot): column `{column}`, row {row}: missing category; add an impute step with a categorical strategy before it"
    )]
    MissingCategory {
        /// The 0-based step index.
        step: usize,
        /// The column.
        column: String,
        /// The 0-based row.
        row: usize,
    },
    /// A category not seen at fit time, with the `Error` policy.
    #[error(
        "step {step} (one-hot): column `{column}`: category `{value}` was not seen when the pipeline was fitted"
    )]
    UnknownCategory {
        /// The 0-based step index.
        step: usize,
        /// The column.
        column: String,
        /// The unseen label.
        value: String,
    },
    /// A categorical column reaches the end of the pipeline, which must be numeric.
    #[error("categorical column `{column}` is not encoded: add a one-hot step to the pipeline")]
    UnencodedCategorical {
        /// The column.
        column: String,
    },
    /// Every column was dropped.
    #[error("step {step} (drop constant): every column is constant in the fitted rows")]
    NoColumnsLeft {
        /// The 0-based step index.
        step: usize,
    },
    /// The data to transform has a different number of columns than the fitted data.
    #[error("the pipeline was fitted on {expected} columns, the data has {got}")]
    ColumnCount {
        /// The fitted count.
        expected: usize,
        /// The data's count.
        got: usize,
    },
    /// The data to transform has another column where the fitted data had this one.
    #[error(
        "column {position}: the pipeline was fitted on `{expected}` ({expected_kind}), the data has `{got}` ({got_kind})"
    )]
    ColumnMismatch {
        /// The 0-based position.
        position: usize,
        /// The fitted column's name.
        expected: String,
        /// Its kind.
        expected_kind: String,
        /// The data's column name.
        got: String,
        /// Its kind.
        got_kind: String,
    },
    /// A fitted pipeline's learned state does not fit together (a hand-edited or damaged
    /// pipeline).
    #[error("the fitted pipeline is inconsistent at step {step}: {reason}")]
    BadPipeline {
        /// The 0-based step index.
        step: usize,
        /// What does not fit.
        reason: String,
    },
    /// A step's parameter is out of range.
    #[error("step {step} ({step_name}): {reason}")]
    BadStep {
        /// The 0-based step index.
        step: usize,
        /// The step (`cap categories`).
        step_name: &'static str,
        /// What is wrong, naming the parameter.
        reason: String,
    },
    /// A step's output, or the output matrix, would be larger than the configured budget;
    /// refused before it is allocated.
    #[error(
        "{stage}: {rows} rows × {columns} columns of 8 bytes would be {}, over the {} budget (`max_matrix_bytes`){hint}",
        human_bytes(*.bytes),
        human_bytes(*.budget)
    )]
    OverBudget {
        /// Where: `step 1 (one-hot)`, `the output matrix`.
        stage: String,
        /// The rows.
        rows: usize,
        /// The columns it would have.
        columns: usize,
        /// `rows × columns × 8`.
        bytes: u64,
        /// The budget.
        budget: u64,
        /// What to do about it, naming the widest column, starting with `; ` (or empty).
        hint: String,
    },
    /// A split's row indices would be larger than the configured budget; refused before
    /// they are allocated.
    #[error(
        "split: {folds} folds of {rows} row indices (4 bytes each) would be {}, over the {} budget (`max_matrix_bytes`); use fewer folds or rows",
        human_bytes(*.bytes),
        human_bytes(*.budget)
    )]
    SplitOverBudget {
        /// The folds asked for.
        folds: usize,
        /// The rows.
        rows: usize,
        /// `folds × rows × 4`.
        bytes: u64,
        /// The budget.
        budget: u64,
    },
    /// A split parameter is out of range.
    #[error("split: {reason}")]
    BadSplit {
        /// What is wrong.
        reason: String,
    },
    /// More folds than rows.
    #[error("split: k = {k} folds is more than the {rows} rows")]
    TooManyFolds {
        /// The folds asked for.
        k: usize,
        /// The rows.
        rows: usize,
    },
    /// A class is too small to appear in every fold.
    #[error(
        "split: class {class} has {members} members, fewer than the {needed} a stratified split needs"
    )]
    SmallClass {
        /// The class label.
        class: u32,
        /// Its member count.
        members: usize,
        /// The count needed (k, or 2 for a train/test split).
        needed: usize,
    },
    /// Two inputs that pair up have different lengths.
    #[error("{context}: `{first}` has {first_len} values but `{second}` has {second_len}")]
    LengthMismatch {
        /// The operation or plot.
        context: &'static str,
        /// The first input's name.
        first: &'static str,
        /// Its length.
        first_len: usize,
        /// The second input's name.
        second: &'static str,
        /// Its length.
        second_len: usize,
    },
    /// Plot data is unusable.
    #[error("{plot} plot: {reason}")]
    BadPlotData {
        /// The plot kind.
        plot: &'static str,
        /// What is wrong, naming the value or column.
        reason: String,
    },
    /// The requested image size is out of range.
    #[error(
        "plot size {width}×{height} is out of range: each side must be between {min} and {max} pixels"
    )]
    BadPlotSize {
        /// The width asked for.
        width: u32,
        /// The height asked for.
        height: u32,
        /// The smallest side allowed.
        min: u32,
        /// The largest side allowed.
        max: u32,
    },
    /// The plotting library failed.
    #[error("{plot} plot: rendering failed: {reason}")]
    Render {
        /// The plot kind.
        plot: &'static str,
        /// The library's message.
        reason: String,
    },
    /// The work panicked; the service log has the details under the incident number.
    #[error("`{operation}` failed unexpectedly (incident {incident}; see the utils service log)")]
    Panicked {
        /// The operation.
        operation: &'static str,
        /// The number logged with the panic.
        incident: u64,
    },
    /// The caller went away before the work started.
    #[error("`{operation}` was cancelled")]
    Cancelled {
        /// The operation.
        operation: &'static str,
    },
}

impl UtilsError {
    /// What the caller can do about it.
    pub fn kind(&self) -> ErrorKind {
        use UtilsError as E;
        match self {
            E::BadConfig { .. } | E::Render { .. } | E::Panicked { .. } => ErrorKind::Internal,
            E::Cancelled { .. } => ErrorKind::Cancelled,
            E::EmptyData { .. }
            | E::RaggedFrame { .. }
            | E::DuplicateColumn { .. }
            | E::BadCategoryCode { .. }
            | E::AllMissing { .. }
            | E::NonFinite { .. }
            | E::MissingCategory { .. }
            | E::UnknownCategory { .. }
            | E::UnencodedCategorical { .. }
            | E::NoColumnsLeft { .. }
            | E::ColumnCount { .. }
            | E::ColumnMismatch { .. }
            | E::BadPipeline { .. }
            | E::BadStep { .. }
            | E::OverBudget { .. }
            | E::SplitOverBudget { .. }
            | E::BadSplit { .. }
            | E::TooManyFolds { .. }
            | E::SmallClass { .. }
            | E::LengthMismatch { .. }
            | E::BadPlotData { .. }
            | E::BadPlotSize { .. } => ErrorKind::InvalidInput,
        }
    }
}

/// `bytes` in the largest binary unit that keeps it at least 1 (`1.5 GiB`, `512 B`).
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

impl From<UtilsError> for ServiceError {
    /// A rendering failure is logged here in full under a new incident number, and the
    /// caller gets the number alone (a panic is logged where it was caught; a bad
    /// configuration is the operator's own, refused before the service serves).
    fn from(error: UtilsError) -> Self {
        let summary = match &error {
            UtilsError::Render { plot, .. } => format!("{plot} plot: rendering failed"),
            _ => return ServiceError::new(error.kind(), error.to_string()),
        };
        let incident = mltools_core::error::next_incident();
        tracing::error!(incident, error = %error, "utils work failed");
        ServiceError::internal(format!(
            "{summary} (incident {incident}; see the utils service log)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_messages_name_the_culprit() {
        let error = ServiceError::from(UtilsError::AllMissing {
            step: 0,
            strategy: "mean",
            column: "age".into(),
        });
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert_eq!(
            error.message,
            "step 0 (impute mean): column `age` has only missing values in the fitted rows"
        );
        let error = ServiceError::from(UtilsError::Panicked {
            operation: "plot",
            incident: 3,
        });
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(error.message.contains("incident 3"), "{error}");
        let error = ServiceError::from(UtilsError::Render {
            plot: "roc",
            reason: "font cache at /usr/share/fonts is unreadable".to_owned(),
        });
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(
            error
                .message
                .starts_with("roc plot: rendering failed (incident "),
            "{error}"
        );
        assert!(!error.message.contains("/usr/share"), "{error}");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(2 << 30), "2.0 GiB");
        assert_eq!(human_bytes(80_000_000_000), "74.5 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }
}
