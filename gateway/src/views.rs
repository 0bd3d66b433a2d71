//! The JSON bodies of the gateway that are not the interfaces' own types: request bodies
//! with defaults and unknown fields refused, and answers shaped for HTTP clients (rows as
//! plain values, a job's state as flat fields, links to follow).

use mltools_core::lab::{LabCompareRequest, LabJob, LabStage, LabStatus, Report};
use mltools_core::models::{Leaderboard, ModelInfo, ParamValue, Task};
use mltools_core::utils::{ImageFormat, InputColumn};
use mltools_core::{ColumnData, DatasetRef, JobId, ModelId, ServiceError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A JSON scalar, as a parameter value or a row's cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// Any other number.
    Number(f64),
    /// Text.
    Text(String),
}

impl From<Scalar> for ParamValue {
    fn from(value: Scalar) -> ParamValue {
        match value {
            Scalar::Bool(flag) => ParamValue::Bool(flag),
            Scalar::Integer(number) => ParamValue::Integer(number),
            Scalar::Number(number) => ParamValue::Number(number),
            Scalar::Text(text) => ParamValue::Text(text),
        }
    }
}

/// `regression` or `classification`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskName {
    /// A numeric target.
    Regression,
    /// A categorical target.
    Classification,
}

impl From<TaskName> for Task {
    fn from(task: TaskName) -> Task {
        match task {
            TaskName::Regression => Task::Regression,
            TaskName::Classification => Task::Classification,
        }
    }
}

/// `POST /v1/compare`: what to compare.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareBody {
    /// The dataset's id or name.
    pub dataset: String,
    /// Its version; the latest when absent.
    #[serde(default)]
    pub version: Option<u32>,
    /// The target column; the dataset's own when absent.
    #[serde(default)]
    pub target: Option<String>,
    /// The task; inferred from the target when absent.
    #[serde(default)]
    pub task: Option<TaskName>,
    /// The candidate algorithms' ids (see `GET /v1/algorithms`); the defaults for the task
    /// when empty.
    #[serde(default)]
    pub models: Vec<String>,
    /// Parameter overrides by algorithm id: `{"svc": {"c": 10}}`.
    #[serde(default)]
    pub overrides: BTreeMap<String, BTreeMap<String, Scalar>>,
    /// Folds (stratified for classification). Default 5.
    #[serde(default = "default_folds")]
    #[schema(minimum = 2)]
    pub folds: usize,
    /// The seed of the folds and of randomised algorithms. Default 0.
    #[serde(default)]
    pub seed: u64,
    /// The metric to rank by; R² or accuracy when absent.
    #[serde(default)]
    pub metric: Option<String>,
}

fn default_folds() -> usize {
    5
}

impl From<CompareBody> for LabCompareRequest {
    fn from(body: CompareBody) -> LabCompareRequest {
        LabCompareRequest {
            dataset: DatasetRef::parse(&body.dataset),
            version: body.version,
            target: body.target,
            task: body.task.map(Task::from),
            models: body
                .models
                .into_iter()
                .map(|algorithm| mltools_core::models::ModelSpec {
                    algorithm,
                    params: BTreeMap::new(),
                    pipeline: None,
                })
                .collect(),
            overrides: body
                .overrides
                .into_iter()
                .map(|(algorithm, params)| {
                    let params = params
                        .into_iter()
                        .map(|(name, value)| (name, ParamValue::from(value)))
                        .collect();
                    (algorithm, params)
                })
                .collect(),
            folds: body.folds,
            seed: body.seed,
            metric: body.metric,
        }
    }
}

/// Where a comparison is, as flat fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Reading the dataset.
    Preparing,
    /// Fitting: see `fits_done` of `fits_total`.
    Fitting,
    /// Rendering the report's plots.
    Reporting,
    /// Done: the report is ready.
    Finished,
    /// Failed as a whole: see `error`.
    Failed,
    /// Cancelled by a caller.
    Cancelled,
    /// Its node stopped while it ran.
    Interrupted,
}

/// A comparison: its state, and where to follow it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobView {
    /// The comparison's id.
    pub job: JobId,
    /// Where it is.
    pub state: JobState,
    /// Whether it has ended (finished, failed, cancelled or interrupted).
    pub done: bool,
    /// Fits done, while fitting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fits_done: Option<u64>,
    /// Fits in all, while fitting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fits_total: Option<u64>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ServiceError>,
    /// The dataset, as the request named it (in job lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// When it started, milliseconds since the Unix epoch (in job lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
    /// When it ended, milliseconds since the Unix epoch (in job lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<u64>,
    /// Links: `self`, `events`, `report`, `page`, `cancel`.
    pub links: BTreeMap<String, String>,
}

impl JobView {
    pub(crate) fn of(job: JobId, stage: &LabStage) -> JobView {
        let (state, fits_done, fits_total, error) = match stage {
            LabStage::Preparing => (JobState::Preparing, None, None, None),
            LabStage::Fitting { done, total } => {
                (JobState::Fitting, Some(*done), Some(*total), None)
            }
            LabStage::Reporting => (JobState::Reporting, None, None, None),
            LabStage::Finished => (JobState::Finished, None, None, None),
            LabStage::Failed(error) => (JobState::Failed, None, None, Some(error.clone())),
            LabStage::Cancelled => (JobState::Cancelled, None, None, None),
            LabStage::Interrupted => (JobState::Interrupted, None, None, None),
        };
        let base = format!("/v1/jobs/{job}");
        let links = BTreeMap::from([
            ("self".to_owned(), base.clone()),
            ("events".to_owned(), format!("{base}/events")),
            ("report".to_owned(), format!("{base}/report")),
            ("cancel".to_owned(), format!("{base}/cancel")),
            ("page".to_owned(), format!("/v1/reports/{job}")),
        ]);
        JobView {
            job,
            state,
            done: stage.is_done(),
            fits_done,
            fits_total,
            error,
            dataset: None,
            started_at_ms: None,
            ended_at_ms: None,
            links,
        }
    }
}

impl From<&LabStatus> for JobView {
    fn from(status: &LabStatus) -> JobView {
        JobView::of(status.job, &status.stage)
    }
}

impl From<&LabJob> for JobView {
    fn from(job: &LabJob) -> JobView {
        JobView {
            dataset: Some(match &job.dataset {
                DatasetRef::Id(id) => id.to_string(),
                DatasetRef::Name(name) => name.clone(),
            }),
            started_at_ms: Some(job.started_at_ms),
            ended_at_ms: job.ended_at_ms,
            ..JobView::of(job.job, &job.stage)
        }
    }
}

/// A plot of a report, served at `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlotLink {
    /// Its title.
    pub title: String,
    /// `svg` or `png`.
    pub format: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Where its image is.
    pub url: String,
}

/// A plot that could not be drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SkippedPlot {
    /// Its title.
    pub title: String,
    /// Why.
    pub error: ServiceError,
}

/// A finished comparison's report, its plots as links.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportView {
    /// The comparison.
    pub job: JobId,
    /// The dataset compared on.
    pub dataset: mltools_core::lab::ReportDataset,
    /// The leaderboard, best first; `best` is the best model refitted on every row and
    /// stored (see `/v1/models/{model}`).
    pub leaderboard: Leaderboard,
    /// Folds used.
    pub folds: usize,
    /// Seed used.
    pub seed: u64,
    /// Wall time of the comparison, in milliseconds.
    pub elapsed_ms: u64,
    /// The plots.
    pub plots: Vec<PlotLink>,
    /// The plots that could not be drawn, with why.
    pub skipped_plots: Vec<SkippedPlot>,
    /// The report as one HTML page.
    pub page: String,
}

impl ReportView {
    pub(crate) fn of(job: JobId, report: Report) -> ReportView {
        let plots = report
            .plots
            .iter()
            .enumerate()
            .map(|(index, (title, plot))| PlotLink {
                title: title.clone(),
                format: match plot.format {
                    ImageFormat::Svg => "svg".to_owned(),
                    ImageFormat::Png => "png".to_owned(),
                },
                width: plot.width,
                height: plot.height,
                url: format!("/v1/jobs/{job}/plots/{index}"),
            })
            .collect();
        ReportView {
            job,
            dataset: report.dataset,
            leaderboard: report.leaderboard,
            folds: report.folds,
            seed: report.seed,
            elapsed_ms: report.elapsed_ms,
            plots,
            skipped_plots: report
                .skipped_plots
                .into_iter()
                .map(|(title, error)| SkippedPlot { title, error })
                .collect(),
            page: format!("/v1/reports/{job}"),
        }
    }
}

/// One column of a page of rows, its values as JSON: numbers, labels, `null` when missing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ColumnValues {
    /// The column's name.
    pub name: String,
    /// `numeric` or `categorical`.
    pub kind: mltools_core::frame::ColumnKind,
    /// One value per row.
    #[schema(value_type = Vec<Value>)]
    pub values: Values,
}

/// A column's values, written straight from the column as JSON (no value tree between).
#[derive(Debug, Clone, PartialEq)]
pub struct Values(ColumnData);

impl Serialize for Values {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        match &self.0 {
            ColumnData::Numeric(values) => {
                for value in values {
                    if value.is_finite() {
                        seq.serialize_element(value)?;
                    } else {
                        seq.serialize_element(&())?;
                    }
                }
            }
            ColumnData::Categorical { codes, categories } => {
                for code in codes {
                    seq.serialize_element(&categories.get(*code as usize))?;
                }
            }
        }
        seq.end()
    }
}

impl From<mltools_core::Column> for ColumnValues {
    fn from(column: mltools_core::Column) -> ColumnValues {
        ColumnValues {
            name: column.name,
            kind: column.data.kind(),
            values: Values(column.data),
        }
    }
}

/// A page of a dataset version's rows, by column.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RowsView {
    /// The version read.
    pub info: mltools_core::datasets::DatasetInfo,
    /// The index of the first row.
    pub offset: u64,
    /// Rows in this page.
    pub rows: u64,
    /// The columns.
    pub columns: Vec<ColumnValues>,
}

/// A stored model, without its fitted state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ModelView {
    /// Its id.
    pub id: ModelId,
    /// Its algorithm.
    pub algorithm: String,
    /// The parameters it overrides.
    pub params: BTreeMap<String, ParamValue>,
    /// The task.
    pub task: Task,
    /// The dataset it was fitted on.
    pub dataset: mltools_core::DatasetId,
    /// That dataset's version.
    pub version: u32,
    /// The target column.
    pub target: String,
    /// The class labels, for classification.
    pub classes: Option<Vec<String>>,
    /// The columns a prediction needs, with their kinds.
    pub input_columns: Vec<InputColumn>,
    /// Cross-validated metrics, when it came from a comparison.
    pub metrics: BTreeMap<String, mltools_core::models::MetricValue>,
    /// When it was stored, milliseconds since the Unix epoch.
    pub created_at_ms: i64,
}

impl From<ModelInfo> for ModelView {
    fn from(info: ModelInfo) -> ModelView {
        ModelView {
            id: info.id,
            algorithm: info.spec.algorithm,
            params: info.spec.params,
            task: info.task,
            dataset: info.dataset,
            version: info.version,
            target: info.target,
            classes: info.classes,
            input_columns: info.pipeline.input_columns,
            metrics: info.metrics,
            created_at_ms: info.created_at_ms,
        }
    }
}

/// `POST /v1/models/{model}/predict` with JSON: the rows, each an object of column values
/// (`null`, or a column left out, is missing; other keys are ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictBody {
    /// The rows.
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<BTreeMap<String, Option<Scalar>>>,
}

/// Predictions, one per row given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PredictionsView {
    /// The model used.
    pub model: ModelId,
    /// The target column predicted.
    pub target: String,
    /// One per row: a class label for classification, a number for regression (`null`
    /// where the model could not predict a number).
    #[schema(value_type = Vec<Value>)]
    pub predictions: Vec<serde_json::Value>,
}

/// `POST /v1/datasets` with JSON: a dataset from a built-in set or an HTTP(S) URL. (CSV
/// data is sent as the body itself, `Content-Type: text/csv`; paths on the server are never
/// read for a gateway's callers.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    /// Where the rows come from.
    pub source: ImportSource,
    /// The dataset's name; from the source when absent.
    #[serde(default)]
    pub name: Option<String>,
    /// The target column.
    #[serde(default)]
    pub target: Option<String>,
}

/// The sources a JSON import may name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ImportSource {
    /// A built-in set: `iris`, `breast_cancer`, `diabetes`, `digits`, `boston`.
    Builtin(String),
    /// A CSV at an `http://` or `https://` URL (fetched by the datasets service, which
    /// refuses private addresses unless its operator allows them).
    Url(String),
}

/// The query of a CSV upload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The dataset's name (for an import); `upload` when absent.
    pub name: Option<String>,
    /// The target column.
    pub target: Option<String>,
    /// The field delimiter, one character; detected from the header line when absent.
    pub delimiter: Option<String>,
    /// Columns to read as categorical, comma-separated.
    pub categorical: Option<String>,
    /// For a new version: `append` (default) or `replace`.
    pub mode: Option<String>,
}

/// The query of a page of rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RowsQuery {
    /// The version; the latest when absent.
    pub version: Option<u32>,
    /// The first row (0-based). Default 0.
    pub offset: Option<u64>,
    /// At most this many rows. Default and cap: the gateway's `max_rows_per_page`.
    pub limit: Option<u64>,
    /// Only these columns, comma-separated, in this order.
    pub columns: Option<String>,
}

/// The query naming a version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// The version; the latest when absent.
    pub version: Option<u32>,
}

/// The query of a report: how long to wait for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    /// Wait up to this many milliseconds for a running comparison to end (capped below
    /// the gateway's request timeout). Default 0: answer at once.
    pub wait_ms: Option<u64>,
}

/// An event of `GET /v1/jobs/{job}/events`: `status` and `done` carry the job, `error` a
/// problem.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum JobEvent {
    /// `status` or `done`.
    Job(JobView),
    /// `error`.
    Error(crate::Problem),
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// The services this gateway reaches.
    pub services: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::{Column, MISSING_CODE};

    #[test]
    fn columns_are_plain_json_values_with_null_for_missing() {
        let numbers = ColumnValues::from(Column::numeric("x", vec![1.5, f64::NAN, 2.0]));
        let labels = ColumnValues::from(Column::categorical(
            "colour",
            vec![1, MISSING_CODE, 0],
            vec!["red".into(), "blue".into()],
        ));
        assert_eq!(
            serde_json::to_value([numbers, labels]).unwrap(),
            serde_json::json!([
                {"name": "x", "kind": "numeric", "values": [1.5, null, 2.0]},
                {"name": "colour", "kind": "categorical", "values": ["blue", null, "red"]},
            ])
        );
    }
}
