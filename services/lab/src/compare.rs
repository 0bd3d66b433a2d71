//! One comparison: describe the dataset, run a models job on its stored rows, follow it to
//! the end, plot the result.

use crate::config::LabConfig;
use crate::error::LabError;
use crate::refit::{EarlyRefit, UnitScore};
use crate::report;
use crate::state::LabClients;
use mltools_core::datasets::{DatasetInfo, GetRequest};
use mltools_core::frame::ColumnKind;
use mltools_core::lab::{LabCompareRequest, LabStage, Report, ReportDataset};
use mltools_core::models::{
    ComparePlan, CompareRequest, JobState, Leaderboard, ModelsLoad, Rows, TrainingData,
    UnitOutcome, UnitResult,
};
use mltools_core::{ColumnData, DatasetRef, Frame, JobId, RpcResultExt, ServiceError};
use mltools_transport::paging;
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
    let (dataset, sample, data) = read_training_data(clients, request).await?;
    let compare = CompareRequest {
        data,
        models: request.models.clone(),
        overrides: request.overrides.clone(),
        folds: request.folds,
        seed: request.seed,
        metric: request.metric.clone(),
        keep_best: true,
    };
    // The features' overview needs no leaderboard: it renders (on the utils node) while
    // the models are compared, and is dropped unfinished if the comparison fails.
    let overview =
        async { Ok(report::render(&clients.utils, report::overview_plots(&sample)).await) };
    let compared = async {
        if clients.models_nodes.len() > 1 {
            let (mut leaderboard, plan, early) =
                spread_compare(clients, compare, stage, cancel).await?;
            stage.send_replace(LabStage::Reporting);
            // The best model's refit (a models node) and the result plots (utils) run at
            // once.
            let kinds = report::result_plots(&dataset.target, &leaderboard);
            let (best, plots) = tokio::join!(
                crate::refit::refit_best(&clients.models_nodes, &leaderboard, &plan, early),
                report::render(&clients.utils, kinds)
            );
            leaderboard.best = best?;
            Ok::<_, LabError>((leaderboard, plots))
        } else {
            let job = submit(clients, compare, cancel).await?;
            let leaderboard = follow(clients, config, job, stage, cancel).await?;
            stage.send_replace(LabStage::Reporting);
            let kinds = report::result_plots(&dataset.target, &leaderboard);
            let plots = report::render(&clients.utils, kinds).await;
            Ok((leaderboard, plots))
        }
    };
    let ((leaderboard, (mut plots, mut skipped_plots)), (overview, skipped_overview)) =
        tokio::try_join!(compared, overview)?;
    plots.extend(overview);
    skipped_plots.extend(skipped_overview);
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

/// Deadline of each fit of a unit on a models node: a unit's deadline is this times its
/// candidates, which it fits one after another (a node caps it at its `max_deadline_ms`).
const UNIT_CALL: Duration = Duration::from_secs(60 * 60);

/// A comparison spread over several models nodes: one node plans it (rows read, candidates
/// resolved, folds made once, candidates grouped by pipeline), every (group, fold) unit
/// goes to the least busy node, which prepares the fold once per group
/// (see [`spread`](crate::spread)), a node lost mid-way has its units retried on the
/// others, and one node assembles the leaderboard from the results — the leaderboard a
/// single node gives for the same request and seed (its best model not yet refitted).
/// Returns the plan with it, and the refit started early in the comparison's tail, if any
/// (see [`refit`](crate::refit)).
///
/// # Errors
/// The plan's errors (bad input); every node lost for longer than the spread's patience;
/// `Cancelled` when `cancel` fires.
async fn spread_compare(
    clients: &LabClients,
    compare: CompareRequest,
    stage: &watch::Sender<LabStage>,
    cancel: &CancellationToken,
) -> Result<(Leaderboard, ComparePlan, Option<EarlyRefit>), LabError> {
    let nodes = &clients.models_nodes;
    let plan = on_any_node(nodes, |client| {
        let compare = compare.clone();
        async move { client.plan(deadline(DATA_CALL), compare).await }
    })
    .await?;
    let units = plan.units();
    let total = plan.fits() as u64;
    stage.send_replace(LabStage::Fitting { done: 0, total });
    // Each node takes one unit more than it has fit threads (the fewest of them): the
    // spare one is read and preprocessed while the others fit, so no fit thread waits for
    // a round trip.
    let mut per_node = usize::MAX;
    for client in nodes {
        let load: Option<ModelsLoad> = client
            .load(deadline(SHORT_CALL))
            .await
            .ok()
            .and_then(Result::ok);
        per_node = per_node.min(load.map_or(1, |load| load.fit_threads.max(1) as usize) + 1);
    }
    let policy = crate::spread::SpreadPolicy {
        per_node,
        ..crate::spread::SpreadPolicy::default()
    };
    let done = std::sync::atomic::AtomicU64::new(0);
    // The scores so far, for the provisional leader whose refit starts in the tail.
    let scores = std::sync::Mutex::new(Vec::with_capacity(units.len()));
    let mut early = None;
    let spread = crate::spread::spread(
        &units,
        nodes.len(),
        policy,
        cancel,
        |node, unit| {
            let (client, unit, done, scores, plan) =
                (nodes[node].clone(), unit.clone(), &done, &scores, &plan);
            async move {
                // Bounded, so the deadline stays a time a clock can hold.
                let fits = unit.candidates.len().clamp(1, 1000) as u32;
                let result = client
                    .evaluate(deadline(UNIT_CALL * fits), unit)
                    .await
                    .into_service("models");
                if let Ok(results) = &result {
                    scores
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(results.iter().map(|result| UnitScore::of(plan, result)));
                    let fits = results.len() as u64;
                    let done = done.fetch_add(fits, std::sync::atomic::Ordering::Relaxed) + fits;
                    stage.send_replace(LabStage::Fitting { done, total });
                }
                result
            }
        },
        |node| {
            let scores = scores
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            early = EarlyRefit::start(&plan, &scores, nodes[node].clone());
        },
    )
    .await;
    let outcomes = match spread {
        Ok(outcomes) => outcomes,
        Err(error) => {
            if let Some(early) = early {
                early.discard().await;
            }
            return Err(error.into());
        }
    };
    // A unit whose nodes were all lost (past its retries) fails its candidates' rows.
    let results: Vec<UnitResult> = outcomes
        .into_iter()
        .zip(&units)
        .flat_map(|(outcome, unit)| {
            outcome.unwrap_or_else(|error| {
                unit.candidates
                    .iter()
                    .map(|c| UnitResult {
                        candidate: c.candidate,
                        fold: unit.fold,
                        outcome: UnitOutcome::Failed(error.clone()),
                    })
                    .collect()
            })
        })
        .collect();
    let board = on_any_node(nodes, |client| {
        let (plan, results) = (plan.clone(), results.clone());
        async move { client.assemble(deadline(DATA_CALL), plan, results).await }
    })
    .await;
    match board {
        Ok(board) => Ok((board, plan, early)),
        Err(error) => {
            if let Some(early) = early {
                early.discard().await;
            }
            Err(error)
        }
    }
}

/// Runs `call` on the first node that answers: a node that cannot be reached, does not
/// answer in time or is shutting down is skipped for the next.
///
/// # Errors
/// The first answer that is an error of another kind; the last node's error when none
/// answered.
pub(crate) async fn on_any_node<T, F, Fut>(
    nodes: &[mltools_transport::ModelsClient],
    call: F,
) -> Result<T, LabError>
where
    F: Fn(mltools_transport::ModelsClient) -> Fut,
    Fut: std::future::Future<Output = Result<Result<T, ServiceError>, tarpc::client::RpcError>>,
{
    let mut last = ServiceError::unavailable("no models node is configured");
    for client in nodes {
        match call(client.clone()).await.into_service("models") {
            Ok(value) => return Ok(value),
            Err(error) if crate::spread::is_node_loss(&error) => last = error,
            Err(error) => return Err(error.into()),
        }
    }
    Err(last.into())
}

/// The longest the lab keeps retrying a submission the models node refuses as
/// overloaded.
const OVERLOADED_PATIENCE: Duration = Duration::from_secs(30 * 60);
/// The wait between retries when an overloaded answer gives no hint.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
/// The longest single wait, whatever the hint.
const MAX_RETRY: Duration = Duration::from_secs(60);

/// Submits the comparison to the models node; while it answers overloaded, waits as long
/// as it says (its retry-after hint) and tries again, for up to [`OVERLOADED_PATIENCE`].
///
/// # Errors
/// The node's refusal, once patience runs out or for any other error; `Cancelled` when
/// `cancel` fires meanwhile.
async fn submit(
    clients: &LabClients,
    compare: CompareRequest,
    cancel: &CancellationToken,
) -> Result<JobId, LabError> {
    let started = Instant::now();
    loop {
        let answer = clients
            .models
            .submit(deadline(DATA_CALL), compare.clone())
            .await
            .into_service("models");
        let error = match answer {
            Ok(job) => return Ok(job),
            Err(error) if error.kind == mltools_core::ErrorKind::Overloaded => error,
            Err(error) => return Err(error.into()),
        };
        let wait = error.retry_after().unwrap_or(DEFAULT_RETRY).min(MAX_RETRY);
        if started.elapsed() + wait > OVERLOADED_PATIENCE {
            return Err(error.into());
        }
        tracing::info!(wait_ms = wait.as_millis() as u64, %error, "models node overloaded; retrying");
        tokio::select! {
            () = cancel.cancelled() => {
                return Err(ServiceError::new(
                    mltools_core::ErrorKind::Cancelled,
                    "the comparison was cancelled",
                )
                .into());
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Rows of the features drawn in a report's overview plots: every row up to this many,
/// else evenly spaced blocks that add up to it.
pub const PLOT_SAMPLE_ROWS: u64 = 100_000;
/// Blocks of a plot sample drawn from a larger dataset.
const PLOT_SAMPLE_BLOCKS: u64 = 10;

/// Reads the dataset version's description and a sample of its numeric features for the
/// overview plots. The rows themselves go to the models service by reference
/// ([`Rows::Stored`]): the models node reads them from the datasets service in pages, so
/// they cross the network once and the lab never holds them.
async fn read_training_data(
    clients: &LabClients,
    request: &LabCompareRequest,
) -> Result<(ReportDataset, Sample, TrainingData), LabError> {
    let described = clients
        .datasets
        .get(
            deadline(SHORT_CALL),
            GetRequest {
                version: request.version,
                limit: Some(0),
                ..GetRequest::all(request.dataset.clone())
            },
        )
        .await
        .into_service("datasets")?;
    let info = described.info;
    let target = match request.target.clone().or(info.schema.target.clone()) {
        Some(target) => target,
        None => {
            return Err(LabError::Invalid(format!(
                "{} has no target column; name one (--target COL)",
                DatasetRef::Id(info.id)
            )));
        }
    };
    if !info
        .schema
        .columns
        .iter()
        .any(|column| column.name == target)
    {
        let names: Vec<&str> = info
            .schema
            .columns
            .iter()
            .map(|column| column.name.as_str())
            .collect();
        return Err(LabError::Invalid(format!(
            "dataset `{}` has no column `{target}`; its columns: {}",
            info.name,
            names.join(", ")
        )));
    }
    let numeric: Vec<String> = info
        .schema
        .columns
        .iter()
        .filter(|column| column.name != target && column.kind == ColumnKind::Numeric)
        .map(|column| column.name.clone())
        .collect();
    let sample = plot_sample(clients, &info, numeric).await?;
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
        rows: Rows::Stored,
        target,
        task: request.task,
    };
    Ok((dataset, sample, data))
}

/// Numeric feature columns for the overview plots, and how many rows they hold of all.
#[derive(Debug)]
pub(crate) struct Sample {
    /// The sampled rows of the numeric features.
    pub(crate) frame: Frame,
    /// Rows in the dataset version.
    pub(crate) of_rows: u64,
}

/// Every row of the numeric features when there are at most [`PLOT_SAMPLE_ROWS`], else
/// [`PLOT_SAMPLE_BLOCKS`] evenly spaced blocks of rows adding up to it.
async fn plot_sample(
    clients: &LabClients,
    info: &DatasetInfo,
    numeric: Vec<String>,
) -> Result<Sample, LabError> {
    let mut frame = Frame::default();
    if numeric.is_empty() || info.rows == 0 {
        return Ok(Sample {
            frame,
            of_rows: info.rows,
        });
    }
    let request = GetRequest {
        version: Some(info.version),
        columns: Some(numeric),
        ..GetRequest::all(info.id)
    };
    if info.rows <= PLOT_SAMPLE_ROWS {
        let page =
            paging::read_all_within(&clients.datasets, request, paging::DEFAULT_PAGE_BYTES).await?;
        return Ok(Sample {
            frame: page.frame,
            of_rows: info.rows,
        });
    }
    let block = PLOT_SAMPLE_ROWS / PLOT_SAMPLE_BLOCKS;
    let stride = info.rows / PLOT_SAMPLE_BLOCKS;
    for index in 0..PLOT_SAMPLE_BLOCKS {
        let page = clients
            .datasets
            .get(
                deadline(DATA_CALL),
                GetRequest {
                    offset: index * stride,
                    limit: Some(block),
                    ..request.clone()
                },
            )
            .await
            .into_service("datasets")?;
        if frame.columns.is_empty() {
            frame = page.frame;
            continue;
        }
        for (column, part) in frame.columns.iter_mut().zip(page.frame.columns) {
            if let (ColumnData::Numeric(values), ColumnData::Numeric(more)) =
                (&mut column.data, part.data)
            {
                values.extend(more);
            }
        }
    }
    Ok(Sample {
        frame,
        of_rows: info.rows,
    })
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
