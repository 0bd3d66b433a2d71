//! The routes: each a typed JSON call to one service method, through the service's client
//! (hosted in this process or reached on another node, as the node's configuration places
//! it). No route runs anything a request names: a request picks among these fixed
//! operations, and its fields are data.

use crate::GatewayConfig;
use crate::problem::Problem;
use crate::views::{
    ColumnValues, CompareBody, Health, ImportBody, ImportSource, JobView, ModelView, PredictBody,
    PredictionsView, ReportView, RowsQuery, RowsView, Scalar, UploadQuery, VersionQuery, WaitQuery,
};
use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt as _};
use mltools_core::datasets::{
    Builtin, CsvOptions, DatasetInfo, Deleted, Description, GetRequest, ImportRequest,
    MAX_UPLOAD_CHUNK_BYTES, Source, UpdateMode, UpdateRequest,
};
use mltools_core::frame::FrameBuilder;
use mltools_core::lab::{LabCompareRequest, LabStage, Report};
use mltools_core::models::{AlgorithmInfo, ModelInfo};
use mltools_core::utils::{ImageFormat, InputColumn};
use mltools_core::{DatasetRef, Frame, JobId, ModelId, RpcResultExt, ServiceError};
use mltools_transport::upload::Upload;
use mltools_transport::{DatasetsClient, LabClient, ModelsClient};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tarpc::context;
use tokio_util::sync::CancellationToken;

/// The chunk a streamed upload is sent to the datasets service in.
const UPLOAD_CHUNK_BYTES: usize = 8 * 1024 * 1024;
const _: () = assert!(UPLOAD_CHUNK_BYTES <= MAX_UPLOAD_CHUNK_BYTES);

/// How often a job's event stream asks the lab for its state.
const EVENT_POLL: Duration = Duration::from_millis(200);

/// What every handler reaches: the services' clients, and the gateway's settings.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    pub(crate) datasets: Option<DatasetsClient>,
    pub(crate) models: Option<ModelsClient>,
    pub(crate) lab: Option<LabClient>,
    pub(crate) config: Arc<GatewayConfig>,
    /// Cancelled when the gateway shuts down: event streams end.
    pub(crate) shutdown: CancellationToken,
}

type Answer<T> = Result<T, Problem>;

impl AppState {
    fn datasets(&self) -> Answer<&DatasetsClient> {
        self.datasets
            .as_ref()
            .ok_or_else(|| Problem::service_missing("datasets"))
    }

    fn models(&self) -> Answer<&ModelsClient> {
        self.models
            .as_ref()
            .ok_or_else(|| Problem::service_missing("models"))
    }

    fn lab(&self) -> Answer<&LabClient> {
        self.lab
            .as_ref()
            .ok_or_else(|| Problem::service_missing("lab"))
    }

    /// A call's context: its deadline is the gateway's request timeout.
    fn ctx(&self) -> context::Context {
        let mut ctx = context::current();
        ctx.deadline = Instant::now() + self.config.request_timeout();
        ctx
    }
}

/// A service's answer, or its error as a problem.
fn answer<T>(
    result: Result<Result<T, ServiceError>, tarpc::client::RpcError>,
    service: &str,
) -> Answer<T> {
    result.into_service(service).map_err(Problem::from)
}

fn dataset_ref(text: &str) -> DatasetRef {
    DatasetRef::parse(text)
}

/// `GET /v1/health`: answers without a token.
#[utoipa::path(get, path = "/v1/health", tag = "gateway", security(()),
    responses((status = 200, description = "The gateway serves", body = Health)))]
pub(crate) async fn health(State(state): State<AppState>) -> Json<Health> {
    let mut services = Vec::new();
    for (name, present) in [
        ("datasets", state.datasets.is_some()),
        ("models", state.models.is_some()),
        ("lab", state.lab.is_some()),
    ] {
        if present {
            services.push(name.to_owned());
        }
    }
    Json(Health {
        status: "ok".to_owned(),
        services,
    })
}

/// `GET /v1/datasets`.
#[utoipa::path(get, path = "/v1/datasets", tag = "datasets",
    responses((status = 200, description = "Every dataset at its latest version", body = Vec<DatasetInfo>),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_datasets(State(state): State<AppState>) -> Answer<Json<Vec<DatasetInfo>>> {
    let datasets = state.datasets()?;
    Ok(Json(answer(datasets.list(state.ctx()).await, "datasets")?))
}

/// `GET /v1/datasets/{dataset}`.
#[utoipa::path(get, path = "/v1/datasets/{dataset}", tag = "datasets",
    params(("dataset" = String, Path, description = "The dataset's id or name"), VersionQuery),
    responses((status = 200, description = "The dataset version", body = DatasetInfo),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_dataset(
    State(state): State<AppState>,
    dataset: Result<Path<String>, PathRejection>,
    query: Result<Query<VersionQuery>, QueryRejection>,
) -> Answer<Json<DatasetInfo>> {
    let Path(dataset) = dataset?;
    let Query(query) = query?;
    let request = GetRequest {
        version: query.version,
        limit: Some(0),
        ..GetRequest::all(dataset_ref(&dataset))
    };
    let page = answer(
        state.datasets()?.get(state.ctx(), request).await,
        "datasets",
    )?;
    Ok(Json(page.info))
}

/// `GET /v1/datasets/{dataset}/versions`.
#[utoipa::path(get, path = "/v1/datasets/{dataset}/versions", tag = "datasets",
    params(("dataset" = String, Path, description = "The dataset's id or name")),
    responses((status = 200, description = "Every version, oldest first", body = Vec<DatasetInfo>),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn dataset_versions(
    State(state): State<AppState>,
    dataset: Result<Path<String>, PathRejection>,
) -> Answer<Json<Vec<DatasetInfo>>> {
    let Path(dataset) = dataset?;
    let versions = state
        .datasets()?
        .versions(state.ctx(), dataset_ref(&dataset))
        .await;
    Ok(Json(answer(versions, "datasets")?))
}

/// `GET /v1/datasets/{dataset}/rows`.
#[utoipa::path(get, path = "/v1/datasets/{dataset}/rows", tag = "datasets",
    params(("dataset" = String, Path, description = "The dataset's id or name"), RowsQuery),
    responses((status = 200, description = "A page of rows, by column", body = RowsView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn dataset_rows(
    State(state): State<AppState>,
    dataset: Result<Path<String>, PathRejection>,
    query: Result<Query<RowsQuery>, QueryRejection>,
) -> Answer<Json<RowsView>> {
    let Path(dataset) = dataset?;
    let Query(query) = query?;
    let cap = state.config.max_rows_per_page;
    let limit = query.limit.unwrap_or(cap);
    if limit > cap {
        return Err(Problem::invalid_input(format!(
            "limit = {limit} is over the gateway's max_rows_per_page ({cap}); page with offset"
        )));
    }
    let request = GetRequest {
        dataset: dataset_ref(&dataset),
        version: query.version,
        offset: query.offset.unwrap_or(0),
        limit: Some(limit),
        columns: query.columns.as_deref().map(split_list),
    };
    let page = answer(
        state.datasets()?.get(state.ctx(), request).await,
        "datasets",
    )?;
    Ok(Json(RowsView {
        rows: page.frame.rows() as u64,
        offset: page.offset,
        columns: page
            .frame
            .columns
            .into_iter()
            .map(ColumnValues::from)
            .collect(),
        info: page.info,
    }))
}

/// `GET /v1/datasets/{dataset}/description`.
#[utoipa::path(get, path = "/v1/datasets/{dataset}/description", tag = "datasets",
    params(("dataset" = String, Path, description = "The dataset's id or name"), VersionQuery),
    responses((status = 200, description = "Per-column statistics", body = Description),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn describe_dataset(
    State(state): State<AppState>,
    dataset: Result<Path<String>, PathRejection>,
    query: Result<Query<VersionQuery>, QueryRejection>,
) -> Answer<Json<Description>> {
    let Path(dataset) = dataset?;
    let Query(query) = query?;
    let description = state
        .datasets()?
        .describe(state.ctx(), dataset_ref(&dataset), query.version)
        .await;
    Ok(Json(answer(description, "datasets")?))
}

/// `DELETE /v1/datasets/{dataset}`.
#[utoipa::path(delete, path = "/v1/datasets/{dataset}", tag = "datasets",
    params(("dataset" = String, Path, description = "The dataset's id or name")),
    responses((status = 200, description = "What was deleted", body = Deleted),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete_dataset(
    State(state): State<AppState>,
    dataset: Result<Path<String>, PathRejection>,
) -> Answer<Json<Deleted>> {
    let Path(dataset) = dataset?;
    let deleted = state
        .datasets()?
        .delete(state.ctx(), dataset_ref(&dataset))
        .await;
    Ok(Json(answer(deleted, "datasets")?))
}

/// `POST /v1/datasets`: a CSV body (`text/csv`), streamed into an upload and imported; or
/// JSON naming a built-in set or a URL.
#[utoipa::path(post, path = "/v1/datasets", tag = "datasets",
    params(UploadQuery),
    request_body(content(
        (String = "text/csv"),
        (ImportBody = "application/json"),
    )),
    responses((status = 201, description = "The imported dataset", body = DatasetInfo),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn import_dataset(
    State(state): State<AppState>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    request: Request,
) -> Answer<Response> {
    let Query(query) = query?;
    let datasets = state.datasets()?;
    let request = match media_type(request.headers()).as_str() {
        "text/csv" | "application/csv" => {
            let csv = csv_options(&query)?;
            if query.mode.is_some() {
                return Err(Problem::invalid_input(
                    "`mode` applies to a new version (POST /v1/datasets/{dataset}/versions)",
                ));
            }
            let label = format!("{}.csv", query.name.as_deref().unwrap_or("upload"));
            let source = stream_upload(&state, datasets, label, request).await?;
            ImportRequest {
                source,
                name: query.name,
                target: query.target,
                csv,
            }
        }
        "application/json" => {
            if query != UploadQuery::default() {
                return Err(Problem::invalid_input(
                    "a JSON import takes its options in the body, not the query",
                ));
            }
            let body: ImportBody = read_json(request, state.config.max_body_bytes).await?;
            let source = match body.source {
                ImportSource::Builtin(name) => Source::Builtin {
                    name: name.parse::<Builtin>().map_err(Problem::from)?,
                },
                ImportSource::Url(url) => Source::Url { url },
            };
            ImportRequest {
                source,
                name: body.name,
                target: body.target,
                csv: CsvOptions::default(),
            }
        }
        other => return Err(unsupported(other, "text/csv or application/json")),
    };
    let source = request.source.clone();
    let imported = datasets.import(long_call(&state), request).await;
    let imported = committed(datasets, &source, answer(imported, "datasets")).await?;
    Ok(created(format!("/v1/datasets/{}", imported.id), imported))
}

/// `POST /v1/datasets/{dataset}/versions`: a CSV body, appended to the dataset (or
/// replacing its rows with `mode=replace`): a new version.
#[utoipa::path(post, path = "/v1/datasets/{dataset}/versions", tag = "datasets",
    params(("dataset" = String, Path, description = "The dataset's id or name"), UploadQuery),
    request_body(content((String = "text/csv"))),
    responses((status = 201, description = "The new version", body = DatasetInfo),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn update_dataset(
    State(state): State<AppState>,
    dataset: Result<Path<String>, PathRejection>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    request: Request,
) -> Answer<Response> {
    let Path(dataset) = dataset?;
    let Query(query) = query?;
    let datasets = state.datasets()?;
    let media = media_type(request.headers());
    if !matches!(media.as_str(), "text/csv" | "application/csv") {
        return Err(unsupported(&media, "text/csv"));
    }
    let mode = match query.mode.as_deref() {
        None | Some("append") => UpdateMode::Append,
        Some("replace") => UpdateMode::Replace,
        Some(other) => {
            return Err(Problem::invalid_input(format!(
                "mode = `{other}`: use `append` or `replace`"
            )));
        }
    };
    if query.name.is_some() {
        return Err(Problem::invalid_input(
            "`name` applies to an import; a new version keeps the dataset's name",
        ));
    }
    let csv = csv_options(&query)?;
    let label = format!("{dataset}.csv");
    let source = stream_upload(&state, datasets, label, request).await?;
    let request = UpdateRequest {
        dataset: dataset_ref(&dataset),
        source: source.clone(),
        mode,
        target: query.target,
        csv,
    };
    let updated = datasets.update(long_call(&state), request).await;
    let updated = committed(datasets, &source, answer(updated, "datasets")).await?;
    Ok(created(
        format!("/v1/datasets/{}?version={}", updated.id, updated.version),
        updated,
    ))
}

/// A failed commit leaves its upload for another try; the gateway's caller cannot retry
/// it, so it is dropped.
async fn committed(
    datasets: &DatasetsClient,
    source: &Source,
    result: Answer<DatasetInfo>,
) -> Answer<DatasetInfo> {
    if result.is_err()
        && let Source::Upload { id } = source
    {
        let _ = datasets.abort_upload(context::current(), *id).await;
    }
    result
}

/// A call that may take as long as an upload may (an import parses and stores every row).
fn long_call(state: &AppState) -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = Instant::now() + state.config.upload_timeout();
    ctx
}

fn created<T: serde::Serialize>(location: String, body: T) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Sends a request's body to the datasets service as an upload, a chunk at a time, never
/// holding more than one chunk; refuses a body over `max_upload_bytes`, by its declared
/// length before any byte is read, or as the bytes arrive.
async fn stream_upload(
    state: &AppState,
    datasets: &DatasetsClient,
    label: String,
    request: Request,
) -> Answer<Source> {
    let limit = state.config.max_upload_bytes;
    let too_large = |size: u64| {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the upload of {size} bytes is over the gateway's max_upload_bytes ({limit})"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if let Some(size) = declared
        && size > limit
    {
        return Err(too_large(size));
    }
    let mut upload = Upload::begin(datasets, label, declared)
        .await
        .map_err(Problem::from)?;
    let mut body = request.into_body().into_data_stream();
    let mut chunk: Vec<u8> = Vec::new();
    let mut received = 0u64;
    let outcome: Answer<()> = async {
        while let Some(frame) = body.next().await {
            let bytes = frame.map_err(|error| {
                Problem::invalid_input(format!("the upload's body broke off: {error}"))
            })?;
            received += bytes.len() as u64;
            if received > limit {
                return Err(too_large(received));
            }
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                if chunk.capacity() == 0 {
                    chunk.reserve_exact(UPLOAD_CHUNK_BYTES);
                }
                let take = rest.len().min(UPLOAD_CHUNK_BYTES - chunk.len());
                chunk.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if chunk.len() == UPLOAD_CHUNK_BYTES {
                    upload
                        .send(std::mem::take(&mut chunk))
                        .await
                        .map_err(Problem::from)?;
                }
            }
        }
        upload.send(chunk).await.map_err(Problem::from)
    }
    .await;
    match outcome {
        Ok(()) => Ok(upload.finish()),
        Err(problem) => {
            upload.abort().await;
            Err(problem)
        }
    }
}

fn csv_options(query: &UploadQuery) -> Answer<CsvOptions> {
    let delimiter = match query.delimiter.as_deref() {
        None => None,
        Some(text) => match text.as_bytes() {
            [byte] => Some(*byte),
            _ if text == "\\t" || text == "tab" => Some(b'\t'),
            _ => {
                return Err(Problem::invalid_input(format!(
                    "delimiter = `{text}`: give one ASCII character"
                )));
            }
        },
    };
    Ok(CsvOptions {
        delimiter,
        categorical: query
            .categorical
            .as_deref()
            .map(split_list)
            .unwrap_or_default(),
    })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The media type of a request's body, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

fn unsupported(media: &str, wanted: &str) -> Problem {
    let given = if media.is_empty() {
        "no Content-Type".to_owned()
    } else {
        format!("Content-Type `{media}`")
    };
    Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("the body has {given}; send {wanted}"),
    )
}

/// Reads a JSON body of at most `limit` bytes: malformed JSON is 400, JSON of the wrong
/// shape 422 (naming the field, line and column), a larger body 413.
async fn read_json<T: serde::de::DeserializeOwned>(request: Request, limit: u64) -> Answer<T> {
    let bytes = read_body(request, limit).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json",
                format!("the JSON body does not fit: {error}"),
            ),
            Category::Syntax | Category::Eof | Category::Io => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {error}"),
            ),
        }
    })
}

async fn read_body(request: Request, limit: u64) -> Answer<axum::body::Bytes> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is over the gateway's max_body_bytes ({limit})"),
            )
        })
}

/// `GET /v1/algorithms`.
#[utoipa::path(get, path = "/v1/algorithms", tag = "models",
    responses((status = 200, description = "The algorithms, their tasks and parameters", body = Vec<AlgorithmInfo>),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn algorithms(State(state): State<AppState>) -> Answer<Json<Vec<AlgorithmInfo>>> {
    let models = state.models()?;
    Ok(Json(answer(
        models.algorithms(state.ctx()).await,
        "models",
    )?))
}

/// `POST /v1/compare`: starts a comparison; answers 202 with the job at once.
#[utoipa::path(post, path = "/v1/compare", tag = "jobs",
    request_body = CompareBody,
    responses((status = 202, description = "The comparison started", body = JobView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn compare(
    State(state): State<AppState>,
    body: Result<Json<CompareBody>, JsonRejection>,
) -> Answer<Response> {
    let Json(body) = body?;
    if body.dataset.trim().is_empty() {
        return Err(Problem::invalid_input(
            "`dataset` is empty: name the dataset by its id or name",
        ));
    }
    let lab = state.lab()?;
    let request = LabCompareRequest::from(body);
    let job = answer(lab.compare(state.ctx(), request).await, "lab")?;
    // A comparison starts by preparing; asking the lab would cost a second call.
    let view = JobView::of(job, &LabStage::Preparing);
    let mut response = (StatusCode::ACCEPTED, Json(view)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("/v1/jobs/{job}")) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /v1/jobs`.
#[utoipa::path(get, path = "/v1/jobs", tag = "jobs",
    responses((status = 200, description = "The comparisons, newest first", body = Vec<JobView>),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_jobs(State(state): State<AppState>) -> Answer<Json<Vec<JobView>>> {
    let jobs = answer(state.lab()?.jobs(state.ctx()).await, "lab")?;
    Ok(Json(jobs.iter().map(JobView::from).collect()))
}

fn job_id(path: Result<Path<String>, PathRejection>) -> Answer<JobId> {
    let Path(text) = path?;
    text.parse::<JobId>().map_err(Problem::from)
}

/// `GET /v1/jobs/{job}`.
#[utoipa::path(get, path = "/v1/jobs/{job}", tag = "jobs",
    params(("job" = u64, Path, description = "The comparison's id")),
    responses((status = 200, description = "Where the comparison is", body = JobView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn job_status(
    State(state): State<AppState>,
    job: Result<Path<String>, PathRejection>,
) -> Answer<Json<JobView>> {
    let job = job_id(job)?;
    let status = answer(state.lab()?.status(state.ctx(), job).await, "lab")?;
    Ok(Json(JobView::from(&status)))
}

/// `POST /v1/jobs/{job}/cancel`.
#[utoipa::path(post, path = "/v1/jobs/{job}/cancel", tag = "jobs",
    params(("job" = u64, Path, description = "The comparison's id")),
    responses((status = 200, description = "The comparison, cancelled (or already ended)", body = JobView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn cancel_job(
    State(state): State<AppState>,
    job: Result<Path<String>, PathRejection>,
) -> Answer<Json<JobView>> {
    let job = job_id(job)?;
    let status = answer(state.lab()?.cancel(state.ctx(), job).await, "lab")?;
    Ok(Json(JobView::from(&status)))
}

/// `GET /v1/jobs/{job}/events`: server-sent events, `status` each time the comparison
/// moves (with the same body as `GET /v1/jobs/{job}`), then `done` once it has ended, and
/// the stream closes. A lab that cannot be reached ends the stream with an `error` event
/// carrying a problem.
#[utoipa::path(get, path = "/v1/jobs/{job}/events", tag = "jobs",
    params(("job" = u64, Path, description = "The comparison's id")),
    responses((status = 200, description = "`text/event-stream`: `status` events, then `done` (or `error`)", body = crate::views::JobEvent, content_type = "text/event-stream"),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn job_events(
    State(state): State<AppState>,
    job: Result<Path<String>, PathRejection>,
) -> Answer<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let job = job_id(job)?;
    let lab = state.lab()?.clone();
    // An unknown job is a 404 before the stream starts.
    let first = answer(lab.status(state.ctx(), job).await, "lab")?;
    let follow = Follow {
        lab,
        job,
        last: None,
        next: Some(JobView::from(&first)),
        ended: false,
        shutdown: state.shutdown.clone(),
        timeout: state.config.request_timeout(),
    };
    let stream = futures::stream::unfold(follow, |mut follow| async move {
        let event = follow.next_event().await?;
        Some((Ok(event), follow))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The state of one event stream.
struct Follow {
    lab: LabClient,
    job: JobId,
    last: Option<JobView>,
    /// A state read and not yet sent.
    next: Option<JobView>,
    ended: bool,
    shutdown: CancellationToken,
    timeout: Duration,
}

impl Follow {
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(view) = self.next.take() {
                if view.done {
                    self.ended = true;
                    return Some(json_event("done", &view));
                }
                if self.last.as_ref() != Some(&view) {
                    self.last = Some(view.clone());
                    return Some(json_event("status", &view));
                }
            }
            tokio::select! {
                () = self.shutdown.cancelled() => {
                    self.ended = true;
                    let problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable",
                        "the gateway is shutting down; follow the job again from another");
                    return Some(json_event("error", &problem));
                }
                () = tokio::time::sleep(EVENT_POLL) => {}
            }
            let mut ctx = context::current();
            ctx.deadline = Instant::now() + self.timeout;
            match answer(self.lab.status(ctx, self.job).await, "lab") {
                Ok(status) => self.next = Some(JobView::from(&status)),
                Err(problem) => {
                    self.ended = true;
                    return Some(json_event("error", &problem));
                }
            }
        }
    }
}

fn json_event(name: &str, body: &impl serde::Serialize) -> Event {
    Event::default()
        .event(name)
        .data(serde_json::to_string(body).unwrap_or_default())
}

/// A comparison's report, waiting up to `wait_ms` (capped below the request timeout); a
/// comparison still running is 409 `not_finished`, naming where it is.
async fn fetch_report(state: &AppState, job: JobId, wait_ms: u64) -> Answer<Report> {
    let lab = state.lab()?;
    let cap = state.config.request_timeout_ms.saturating_sub(1000);
    let wait = wait_ms.min(cap);
    match answer(lab.report(state.ctx(), job, wait).await, "lab")? {
        Some(report) => Ok(report),
        None => {
            let status = answer(lab.status(state.ctx(), job).await, "lab")?;
            Err(Problem::new(
                StatusCode::CONFLICT,
                "not_finished",
                format!(
                    "job {job} has not finished ({}); follow /v1/jobs/{job}/events",
                    status.stage
                ),
            ))
        }
    }
}

/// `GET /v1/jobs/{job}/report`.
#[utoipa::path(get, path = "/v1/jobs/{job}/report", tag = "jobs",
    params(("job" = u64, Path, description = "The comparison's id"), WaitQuery),
    responses((status = 200, description = "The finished comparison's report", body = ReportView),
        (status = 409, description = "Still running (`not_finished`), or cancelled", body = Problem, content_type = "application/problem+json"),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn job_report(
    State(state): State<AppState>,
    job: Result<Path<String>, PathRejection>,
    query: Result<Query<WaitQuery>, QueryRejection>,
) -> Answer<Json<ReportView>> {
    let job = job_id(job)?;
    let Query(query) = query?;
    let report = fetch_report(&state, job, query.wait_ms.unwrap_or(0)).await?;
    Ok(Json(ReportView::of(job, report)))
}

/// What a served report page or plot may do: show itself, nothing else (no script, no
/// request elsewhere).
const REPORT_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'";

/// `GET /v1/jobs/{job}/plots/{index}`.
#[utoipa::path(get, path = "/v1/jobs/{job}/plots/{index}", tag = "jobs",
    params(("job" = u64, Path, description = "The comparison's id"), ("index" = usize, Path, description = "The plot's place in the report")),
    responses((status = 200, description = "The image", content_type = "image/svg+xml"),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn job_plot(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Answer<Response> {
    let Path((job, index)) = path?;
    let job = job.parse::<JobId>().map_err(Problem::from)?;
    let index: usize = index.parse().map_err(|_| {
        Problem::invalid_input(format!("`{index}` is not a plot index (0, 1, ...)"))
    })?;
    let report = fetch_report(&state, job, 0).await?;
    let count = report.plots.len();
    let Some((_, plot)) = report.plots.into_iter().nth(index) else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("job {job}'s report has {count} plots; there is no plot {index}"),
        ));
    };
    let media = match plot.format {
        ImageFormat::Svg => "image/svg+xml",
        ImageFormat::Png => "image/png",
    };
    Ok(page_response(media, plot.bytes))
}

fn page_response(media: &'static str, body: impl Into<Body>) -> Response {
    let mut response = (StatusCode::OK, body.into()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(REPORT_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `GET /v1/reports/{job}`: the report as one HTML page.
#[utoipa::path(get, path = "/v1/reports/{job}", tag = "jobs",
    params(("job" = u64, Path, description = "The comparison's id")),
    responses((status = 200, description = "The report page", content_type = "text/html"),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn report_page(
    State(state): State<AppState>,
    job: Result<Path<String>, PathRejection>,
) -> Answer<Response> {
    let job = job_id(job)?;
    let report = fetch_report(&state, job, 0).await?;
    let page = mltools_core::report::html(&report);
    Ok(page_response("text/html; charset=utf-8", page))
}

fn model_id(path: Result<Path<String>, PathRejection>) -> Answer<ModelId> {
    let Path(text) = path?;
    text.parse::<ModelId>().map_err(Problem::from)
}

/// `GET /v1/models`.
#[utoipa::path(get, path = "/v1/models", tag = "models",
    responses((status = 200, description = "The stored models", body = Vec<ModelView>),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn list_models(State(state): State<AppState>) -> Answer<Json<Vec<ModelView>>> {
    let models = answer(state.models()?.list(state.ctx()).await, "models")?;
    Ok(Json(models.into_iter().map(ModelView::from).collect()))
}

/// `GET /v1/models/{model}`.
#[utoipa::path(get, path = "/v1/models/{model}", tag = "models",
    params(("model" = u64, Path, description = "The model's id")),
    responses((status = 200, description = "The model", body = ModelView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_model(
    State(state): State<AppState>,
    model: Result<Path<String>, PathRejection>,
) -> Answer<Json<ModelView>> {
    let model = model_id(model)?;
    let info = answer(state.models()?.get(state.ctx(), model).await, "models")?;
    Ok(Json(ModelView::from(info)))
}

/// `DELETE /v1/models/{model}`.
#[utoipa::path(delete, path = "/v1/models/{model}", tag = "models",
    params(("model" = u64, Path, description = "The model's id")),
    responses((status = 200, description = "The deleted model", body = ModelView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delete_model(
    State(state): State<AppState>,
    model: Result<Path<String>, PathRejection>,
) -> Answer<Json<ModelView>> {
    let model = model_id(model)?;
    let info = answer(state.models()?.delete(state.ctx(), model).await, "models")?;
    Ok(Json(ModelView::from(info)))
}

/// `POST /v1/models/{model}/predict`: rows as JSON (`{"rows": [{...}, ...]}`) or as CSV
/// with a header row (`text/csv`); the model's input columns are read by name, others
/// ignored.
#[utoipa::path(post, path = "/v1/models/{model}/predict", tag = "models",
    params(("model" = u64, Path, description = "The model's id")),
    request_body(content(
        (PredictBody = "application/json"),
        (String = "text/csv"),
    )),
    responses((status = 200, description = "One prediction per row", body = PredictionsView),
        (status = "default", description = "An error", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn predict(
    State(state): State<AppState>,
    model: Result<Path<String>, PathRejection>,
    request: Request,
) -> Answer<Json<PredictionsView>> {
    let model = model_id(model)?;
    let models = state.models()?;
    let info: ModelInfo = answer(models.get(state.ctx(), model).await, "models")?;
    let wanted = &info.pipeline.input_columns;
    let limit = state.config.max_body_bytes;
    let frame = match media_type(request.headers()).as_str() {
        "application/json" => {
            let body: PredictBody = read_json(request, limit).await?;
            frame_of_records(&body, wanted)?
        }
        "text/csv" | "application/csv" => {
            let bytes = read_body(request, limit).await?;
            frame_of_csv(&bytes, wanted)?
        }
        other => return Err(unsupported(other, "application/json or text/csv")),
    };
    let predictions = answer(models.predict(state.ctx(), model, frame).await, "models")?;
    let values = predictions
        .values
        .iter()
        .map(|value| match &predictions.classes {
            Some(classes) => classes
                .get(*value as usize)
                .map_or(serde_json::Value::Null, |label| label.clone().into()),
            None => {
                serde_json::Number::from_f64(*value).map_or(serde_json::Value::Null, Into::into)
            }
        })
        .collect();
    Ok(Json(PredictionsView {
        model,
        target: info.target,
        predictions: values,
    }))
}

fn frame_of_records(body: &PredictBody, wanted: &[InputColumn]) -> Answer<Frame> {
    let mut frame = FrameBuilder::new(wanted);
    for (row, record) in body.rows.iter().enumerate() {
        for (name, builder) in frame.columns_mut() {
            let wrong = |what: String| {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    format!("rows[{row}].{name}: {what}"),
                )
            };
            match record.get(name).and_then(Option::as_ref) {
                None => builder.push_missing(),
                Some(Scalar::Integer(number)) => builder.push_number(*number as f64),
                Some(Scalar::Number(number)) => builder.push_number(*number),
                Some(Scalar::Text(text)) => builder.push_text(text).map_err(|value| {
                    wrong(format!("`{value}` is not a number (the column is numeric)"))
                })?,
                Some(Scalar::Bool(_)) => {
                    return Err(wrong("a boolean; give a number or a label".to_owned()));
                }
            }
        }
    }
    Ok(frame.finish())
}

fn frame_of_csv(bytes: &[u8], wanted: &[InputColumn]) -> Answer<Frame> {
    mltools_core::frame::read_csv_columns(bytes, wanted, "the CSV body").map_err(Problem::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::frame::ColumnKind;
    use mltools_core::{ColumnData, MISSING_CODE};
    use std::collections::BTreeMap;

    fn wanted() -> Vec<InputColumn> {
        vec![
            InputColumn {
                name: "size".into(),
                kind: ColumnKind::Numeric,
            },
            InputColumn {
                name: "colour".into(),
                kind: ColumnKind::Categorical,
            },
        ]
    }

    #[test]
    fn csv_and_json_rows_make_the_same_frame() {
        let csv = b"colour;size;other\nred;1.5;x\n;NA;y\n";
        let from_csv = frame_of_csv(csv, &wanted()).unwrap();
        let rows = vec![
            BTreeMap::from([
                ("size".to_owned(), Some(Scalar::Number(1.5))),
                ("colour".to_owned(), Some(Scalar::Text("red".into()))),
            ]),
            BTreeMap::from([("size".to_owned(), None)]),
        ];
        let from_json = frame_of_records(&PredictBody { rows }, &wanted()).unwrap();
        assert_eq!(from_csv.columns.len(), 2);
        assert_eq!(from_csv.columns[1].data, from_json.columns[1].data);
        assert_eq!(
            from_json.columns[1].data,
            ColumnData::Categorical {
                codes: vec![0, MISSING_CODE],
                categories: vec!["red".into()],
            }
        );
        let ColumnData::Numeric(sizes) = &from_csv.columns[0].data else {
            panic!("size is numeric");
        };
        assert_eq!(sizes[0], 1.5);
        assert!(sizes[1].is_nan());
    }

    #[test]
    fn bad_cells_name_their_row_and_column() {
        let problem = frame_of_csv(b"size,colour\nbig,red\n", &wanted()).unwrap_err();
        assert_eq!(
            problem.detail,
            "the CSV body: line 2, column `size`: `big` is not a number"
        );
        let problem = frame_of_csv(b"colour\nred\n", &wanted()).unwrap_err();
        assert!(problem.detail.contains("size"), "{}", problem.detail);
        let rows = vec![BTreeMap::from([(
            "size".to_owned(),
            Some(Scalar::Bool(true)),
        )])];
        let problem = frame_of_records(&PredictBody { rows }, &wanted()).unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(
            problem.detail.starts_with("rows[0].size"),
            "{}",
            problem.detail
        );
    }
}
