//! [`ModelsError`], the error of every models operation, and its mapping onto the
//! interface's [`ServiceError`].

use mltools_core::models::Task;
use mltools_core::{DatasetId, ErrorKind, ServiceError};

/// What went wrong in a models operation; each message names the culprit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelsError {
    /// No algorithm has this id.
    #[error("unknown algorithm `{name}`; the algorithms are: {accepted}")]
    UnknownAlgorithm {
        /// The id asked for.
        name: String,
        /// Every algorithm id, comma-separated.
        accepted: String,
    },
    /// The algorithm has no parameter of this name.
    #[error("{algorithm}: unknown parameter `{param}`; its parameters are: {accepted}")]
    UnknownParam {
        /// The algorithm.
        algorithm: &'static str,
        /// The parameter given.
        param: String,
        /// The algorithm's parameters, comma-separated.
        accepted: String,
    },
    /// A parameter's value is out of range or of the wrong type.
    #[error("{algorithm}: parameter `{param}` = {value}: expected {expected}")]
    InvalidParam {
        /// The algorithm.
        algorithm: &'static str,
        /// The parameter.
        param: &'static str,
        /// The value given, as displayed.
        value: String,
        /// What it accepts.
        expected: String,
    },
    /// A request asks for more than this node allows (a parameter above its cap).
    #[error("{subject} = {value} is above this node's cap of {cap} (models setting `{setting}`)")]
    OverLimit {
        /// What is capped: the algorithm and parameter, or the request's part.
        subject: String,
        /// The value asked for.
        value: String,
        /// The cap.
        cap: String,
        /// The `[models]` setting that sets the cap.
        setting: &'static str,
    },
    /// The algorithm solves the other task.
    #[error("{algorithm} is a {algorithm_task} algorithm; the task is {task}")]
    WrongTask {
        /// The algorithm.
        algorithm: &'static str,
        /// The task it solves.
        algorithm_task: Task,
        /// The task at hand.
        task: Task,
    },
    /// The target column is not in the data.
    #[error("no target: the data has no column `{target}`; the columns are: {columns}")]
    NoTarget {
        /// The target asked for.
        target: String,
        /// The columns, comma-separated.
        columns: String,
    },
    /// Some rows have no target value.
    #[error("target `{target}` is missing in {missing} of {rows} rows (first at row {first})")]
    MissingTarget {
        /// The target column.
        target: String,
        /// How many rows lack it.
        missing: usize,
        /// All rows.
        rows: usize,
        /// The first such row, 0-based.
        first: usize,
    },
    /// A regression target has one value only.
    #[error("target `{target}` is constant ({value}): there is nothing to predict")]
    ConstantTarget {
        /// The target column.
        target: String,
        /// Its only value.
        value: String,
    },
    /// A classification target has one class only.
    #[error("target `{target}` has one class only (`{class}`): a classifier needs two or more")]
    OneClass {
        /// The target column.
        target: String,
        /// The only class.
        class: String,
    },
    /// A regression target holds an infinite value (parsed from `inf`, say).
    #[error(
        "target `{target}` has a non-finite value ({value}) at row {row}: a regression target must be finite"
    )]
    NonFiniteTarget {
        /// The target column.
        target: String,
        /// The first such row, 0-based.
        row: usize,
        /// The value there.
        value: f64,
    },
    /// The data has no column but the target.
    #[error("no feature columns besides the target `{target}`")]
    NoFeatures {
        /// The target column.
        target: String,
    },
    /// Every feature column was left out of a comparison (identifiers, columns without
    /// values).
    #[error("no feature column is left besides the target `{target}`: {left_out}")]
    NoUsableFeatures {
        /// The target column.
        target: String,
        /// Each column left out and why, `; `-separated.
        left_out: String,
    },
    /// A categorical target cannot be regressed on.
    #[error("target `{target}` is categorical: it cannot be a regression target")]
    CategoricalRegression {
        /// The target column.
        target: String,
    },
    /// The data is too small for what was asked.
    #[error("too few rows: {reason}")]
    TooFewRows {
        /// Why, with the numbers.
        reason: String,
    },
    /// The feature matrix and the target (or the fitted model) disagree in shape.
    #[error("shape mismatch: {reason}")]
    Shape {
        /// What disagrees, with the numbers.
        reason: String,
    },
    /// A feature value is missing or infinite: models need complete numeric features.
    #[error(
        "feature `{column}` has a missing or infinite value at row {row}; impute it before fitting"
    )]
    NonFinite {
        /// The column.
        column: String,
        /// The first such row, 0-based.
        row: usize,
    },
    /// Fitting failed inside the algorithm.
    #[error("{algorithm}: fit failed: {reason}")]
    Fit {
        /// The algorithm.
        algorithm: &'static str,
        /// What the algorithm reported.
        reason: String,
    },
    /// Prediction failed inside the algorithm.
    #[error("{algorithm}: predict failed: {reason}")]
    Predict {
        /// The algorithm.
        algorithm: &'static str,
        /// What the algorithm reported.
        reason: String,
    },
    /// The work panicked; the models service log has the panic's message under the
    /// incident number.
    #[error("{operation}: failed unexpectedly (incident {incident}; see the models service log)")]
    Panicked {
        /// The algorithm whose fit panicked, or the operation.
        operation: String,
        /// The number logged with the panic.
        incident: u64,
    },
    /// No metric has this name, or it does not fit the task.
    #[error("unknown {task} metric `{name}`; the {task} metrics are: {accepted}")]
    UnknownMetric {
        /// The name asked for.
        name: String,
        /// The task.
        task: Task,
        /// The metrics of the task, comma-separated.
        accepted: String,
    },
    /// The metric to rank by is undefined for this target (RMSLE of a target with a value
    /// at or below −1).
    #[error("metric `{metric}` is undefined here: {reason}")]
    UndefinedMetric {
        /// The metric.
        metric: &'static str,
        /// Why, naming the row and its value.
        reason: String,
    },
    /// A comparison has nothing to compare.
    #[error("no models to compare: {reason}")]
    NoModels {
        /// Why (none given, all excluded).
        reason: String,
    },
    /// Parameters are overridden for an algorithm that is not compared.
    #[error(
        "parameters are set for `{algorithm}`, which is not among the candidates ({candidates})"
    )]
    StrayOverride {
        /// The algorithm the overrides name.
        algorithm: String,
        /// The candidates, comma-separated.
        candidates: String,
    },
    /// The folds given do not describe the data.
    #[error("bad folds: {reason}")]
    BadFolds {
        /// What is wrong.
        reason: String,
    },
    /// The results handed to the assembly of a spread comparison do not match its plan: a
    /// (candidate, fold) missing or given twice, one the plan does not have, or a unit's
    /// predictions that do not fit its fold.
    #[error("work units: {reason}")]
    BadUnits {
        /// What is wrong, naming the (candidate, fold).
        reason: String,
    },
    /// The caller's preprocessing failed on a fold.
    #[error("preprocessing failed: {reason}")]
    Preprocess {
        /// What the preprocessing reported.
        reason: String,
    },
    /// The rows are a stored dataset, and this node reaches no datasets service.
    #[error(
        "the rows are stored dataset {dataset}, and this models node reaches no datasets service: place `datasets` in its config (`[services.datasets] at = ...`), or send the rows inline"
    )]
    NoDatasets {
        /// The dataset named by the request.
        dataset: DatasetId,
    },
    /// A call to the utils service did not answer within its deadline.
    #[error(
        "utils `{call}` did not answer within {timeout_ms} ms (models setting `utils_call_timeout_ms`)"
    )]
    UtilsTimeout {
        /// The utils method called.
        call: &'static str,
        /// The deadline given to the call, in milliseconds.
        timeout_ms: u64,
    },
    /// Stored model bytes do not decode.
    #[error("stored model is damaged or from another version: {reason}")]
    Corrupt {
        /// What the decoder reported.
        reason: String,
    },
    /// An imported model file is not one.
    #[error("bad model file: {reason}")]
    BadFile {
        /// What is wrong with it.
        reason: String,
    },
    /// Prediction rows lack columns the model's pipeline needs.
    #[error("the rows lack the model's columns {missing}; it needs: {expected}")]
    MissingColumns {
        /// The absent columns, comma-separated.
        missing: String,
        /// Every column the model needs, comma-separated.
        expected: String,
    },
    /// The work was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// A configuration value is out of range.
    #[error("models config: `{field}`: {reason}")]
    BadConfig {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No stored model has this id.
    #[error("model {id} does not exist")]
    UnknownModel {
        /// The id asked for.
        id: u64,
    },
    /// No job has this id (or it was forgotten).
    #[error("job {id} does not exist (or ended long ago and was forgotten)")]
    UnknownJob {
        /// The id asked for.
        id: u64,
    },
    /// Too much work at once; retry later.
    #[error("overloaded: {reason}")]
    Overloaded {
        /// Which limit was reached.
        reason: String,
        /// How long the node expects to stay this busy, when it can tell.
        retry_after: Option<std::time::Duration>,
    },
    /// Another service failed (utils, for folds and preprocessing).
    #[error("{0}")]
    Upstream(ServiceError),
    /// The registry's database failed.
    #[error("registry database error: {reason}")]
    Database {
        /// What SQLite reported.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{path}: {operation}: {reason}")]
    Io {
        /// The file or directory.
        path: String,
        /// What was being done.
        operation: &'static str,
        /// The I/O error.
        reason: String,
    },
}

impl ModelsError {
    /// What the caller can do about it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ModelsError::Panicked { .. }
            | ModelsError::Corrupt { .. }
            | ModelsError::BadConfig { .. }
            | ModelsError::Database { .. }
            | ModelsError::Io { .. } => ErrorKind::Internal,
            ModelsError::Cancelled => ErrorKind::Cancelled,
            ModelsError::UnknownModel { .. } | ModelsError::UnknownJob { .. } => {
                ErrorKind::NotFound
            }
            ModelsError::Overloaded { .. } => ErrorKind::Overloaded,
            ModelsError::UtilsTimeout { .. } => ErrorKind::Timeout,
            ModelsError::NoDatasets { .. } => ErrorKind::Unavailable,
            ModelsError::Upstream(error) => error.kind,
            _ => ErrorKind::InvalidInput,
        }
    }
}

impl ModelsError {
    /// What failed, without the detail, for an internal failure a caller is told of by
    /// incident number; `None` for the errors whose message is the caller's to see (and for
    /// a panic, logged where it was caught, and a bad configuration, the operator's own and
    /// refused before the service serves).
    fn incident_summary(&self) -> Option<&'static str> {
        match self {
            ModelsError::Database { .. } => Some("the model registry's database failed"),
            ModelsError::Io { .. } => Some("a file operation of the models service failed"),
            ModelsError::Corrupt { .. } => Some("a stored model could not be read"),
            _ => None,
        }
    }
}

impl From<ModelsError> for ServiceError {
    /// An internal failure (the registry's database, the disk, a damaged stored model) is
    /// logged here in full under a new incident number, and the caller gets the number
    /// alone: no path, SQL or decoder message leaves the service.
    fn from(error: ModelsError) -> Self {
        if let Some(summary) = error.incident_summary() {
            let incident = mltools_core::error::next_incident();
            tracing::error!(incident, error = %error, "models work failed");
            return ServiceError::internal(format!(
                "{summary} (incident {incident}; see the models service log)"
            ));
        }
        match error {
            ModelsError::Upstream(error) => error,
            ModelsError::Overloaded { retry_after, .. } => {
                ServiceError::overloaded(error.to_string(), retry_after)
            }
            error => ServiceError::new(error.kind(), error.to_string()),
        }
    }
}

/// A panic caught in models work, logged with its message under a new incident number:
/// the [`ModelsError::Panicked`] its caller gets names `operation` and the number only.
pub(crate) fn panicked(operation: &str, payload: &(dyn std::any::Any + Send)) -> ModelsError {
    let message = mltools_core::error::panic_message(payload);
    let incident = mltools_core::error::next_incident();
    tracing::error!(operation, incident, panic = %message, "models work panicked");
    ModelsError::Panicked {
        operation: operation.to_owned(),
        incident,
    }
}

impl From<rusqlite::Error> for ModelsError {
    fn from(error: rusqlite::Error) -> Self {
        ModelsError::Database {
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_culprit_and_kinds_follow() {
        let error = ModelsError::UnknownParam {
            algorithm: "ridge",
            param: "alpah".into(),
            accepted: "alpha".into(),
        };
        assert_eq!(
            error.to_string(),
            "ridge: unknown parameter `alpah`; its parameters are: alpha"
        );
        let service = ServiceError::from(error);
        assert_eq!(service.kind, ErrorKind::InvalidInput);
        let payload: Box<dyn std::any::Any + Send> = Box::new("index 9 out of range");
        let error = panicked("svc", payload.as_ref());
        assert_eq!(error.kind(), ErrorKind::Internal);
        let service = ServiceError::from(error);
        assert_eq!(service.kind, ErrorKind::Internal);
        assert!(
            service
                .message
                .starts_with("svc: failed unexpectedly (incident "),
            "{service}"
        );
        assert!(!service.message.contains("index 9"), "{service}");
    }

    #[test]
    fn internal_failures_reach_the_caller_as_an_incident_without_the_detail() {
        let leaky = [
            ModelsError::Database {
                reason: "no such table: models_v9 in /srv/models/registry.db".into(),
            },
            ModelsError::Io {
                path: "/srv/models/tmp/fit-3".into(),
                operation: "write",
                reason: "No space left on device".into(),
            },
            ModelsError::Corrupt {
                reason: "postcard: unexpected end at byte 17 of /srv/models".into(),
            },
        ];
        let mut numbers = Vec::new();
        for error in leaky {
            let service = ServiceError::from(error);
            assert_eq!(service.kind, ErrorKind::Internal);
            assert!(!service.message.contains("/srv"), "{service}");
            let (_, number) = service
                .message
                .split_once("(incident ")
                .expect("the message names its incident");
            numbers.push(number.split(';').next().unwrap().to_owned());
        }
        numbers.dedup();
        assert_eq!(numbers.len(), 3, "one incident each: {numbers:?}");
        // The caller's own errors keep their detail.
        let refused = ServiceError::from(ModelsError::UnknownModel { id: 4 });
        assert_eq!(refused.message, "model 4 does not exist");
    }
}
