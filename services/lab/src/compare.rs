//! One comparison: read the rows from datasets, run a models job, follow it to the end.

use crate::config::LabConfig;
use crate::error::LabError;
use crate::report;
use crate::state::LabClients;
use mltools_core::datasets::GetRequest;
use mltools_core::lab::{LabCompareRequest, LabStage, Report, ReportDataset};
use mltools_core::models::{CompareRequest, JobState, Leaderboard, TrainingData};
use mltools_core::{DatasetRef, Frame, JobId, RpcResultExt, ServiceError};
use std::time::{Duration, Instant};
use tarpc::context;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Deadline of the calls that move a whole dataset.
const DATA_CALL: Duration = Duration::from_secs(300);
/// Deadline of short calls.
const SHORT_CALL: Duration = Duration::from_secs(30);

fn deadline(after: Duration) -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + after;
    ctx
}

/// Checks a request before any work starts.
///
/// # Errors
/// Fewer than 2 folds.
pub(crate) fn validate(request: &LabCompareRequest) -> Result<(), LabError> {
    if request.folds < 2 {
        return Err(LabError::Invalid(format!(
            "folds must be at least 2, got {}",
            request.folds
        )));
    }
    Ok(())
}

/// Runs a comparison to its report, publishing its stage on `stage`.
///
/// # Errors
/// Whatever a service answers (an unknown dataset, no target, a failed models job), or
/// `Cancelled` when `cancel` fires.
pub(crate) async fn run(
    clients: &LabClients,
    config: &LabConfig,
    request: &LabCompareRequest,
    stage: &watch::Sender<LabStage>,
    cancel: &CancellationToken,
) -> Result<Report, LabError> {
    let started = Instant::now();
    let (dataset, features, data) = read_training_data(clients, request).await?;
    let compare = CompareRequest {
        data,
        models: request.models.clone(),
        overrides: request.overrides.clone(),
        folds: request.folds,
        seed: request.seed,
        metric: request.metric.clone(),
        keep_best: true,
    };
    let job = clients
        .models
        .submit(deadline(DATA_CALL), compare)
        .await
        .into_service("models")?;
    let leaderboard = follow(clients, config, job, stage, cancel).await?;
    stage.send_replace(LabStage::Reporting);
    let (plots, skipped_plots) =
        report::plots(&clients.utils, &features, &dataset.target, &leaderboard).await;
    Ok(Report {
        dataset,
        leaderboard,
        folds: request.folds,
        seed: request.seed,
        elapsed_ms: started.elapsed().as_millis() as u64,
        plots,
        skipped_plots,
    })
}

/// Reads the dataset version and splits off its target.
async fn read_training_data(
    clients: &LabClients,
    request: &LabCompareRequest,
) -> Result<(ReportDataset, Frame, TrainingData), LabError> {
    // In pages: a whole large dataset would exceed a remote transport's frame limit.
    let page = crate::paging::read_all(
        &clients.datasets,
        GetRequest {
            version: request.version,
            ..GetRequest::all(request.dataset.clone())
        },
        crate::paging::DEFAULT_PAGE_ROWS,
    )
    .await?;
    let info = page.info;
    let target = match request.target.clone().or(info.schema.target.clone()) {
        Some(target) => target,
        None => {
            return Err(LabError::Invalid(format!(
                "{} has no target column; name one (--target COL)",
                DatasetRef::Id(info.id)
            )));
        }
    };
    if page.frame.column(&target).is_none() {
        let names: Vec<&str> = page.frame.names().collect();
        return Err(LabError::Invalid(format!(
            "dataset `{}` has no column `{target}`; its columns: {}",
            info.name,
            names.join(", ")
        )));
    }
    let features = Frame {
        columns: page
            .frame
            .columns
            .iter()
            .filter(|column| column.name != target)
            .cloned()
            .collect(),
    };
    let dataset = ReportDataset {
        id: info.id,
        name: info.name.clone(),
        version: info.version,
        rows: info.rows,
        target: target.clone(),
    };
    let data = TrainingData {
        dataset: info.id,
        version: info.version,
        frame: page.frame,
        target,
        task: request.task,
    };
    Ok((dataset, features, data))
}

/// Follows a models job to its end, forwarding progress and cancellation.
async fn follow(
    clients: &LabClients,
    config: &LabConfig,
    job: JobId,
    stage: &watch::Sender<LabStage>,
    cancel: &CancellationToken,
) -> Result<Leaderboard, LabError> {
    let slice = config.wait_slice_ms;
    loop {
        let waited = tokio::select! {
            () = cancel.cancelled() => {
                let cancelled = clients.models.cancel(deadline(SHORT_CALL), job).await;
                if let Err(error) = cancelled.into_service("models") {
                    tracing::warn!(%job, %error, "could not cancel the models job");
                }
                return Err(ServiceError::new(mltools_core::ErrorKind::Cancelled, "the comparison was cancelled").into());
            }
            waited = clients.models.wait(deadline(Duration::from_millis(slice) + SHORT_CALL), job, slice) => waited,
        };
        let status = waited.into_service("models")?;
        match status.state {
            JobState::Finished(leaderboard) => return Ok(*leaderboard),
            JobState::Failed(error) => return Err(error.into()),
            JobState::Cancelled => {
                return Err(ServiceError::new(
                    mltools_core::ErrorKind::Cancelled,
                    format!("models job {job} was cancelled"),
                )
                .into());
            }
            JobState::Queued | JobState::Running => {
                stage.send_replace(LabStage::Fitting {
                    done: status.done,
                    total: status.total,
                });
            }
        }
    }
}
