//! `mltools compare` and `mltools predict`.

use super::datasets::{SourcePlace, discard, source_for};
use super::{CliError, output};
use crate::node::Node;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mltools_core::datasets::{ImportRequest, Source, UpdateMode, UpdateRequest};
use mltools_core::lab::{LabCompareRequest, LabStage, Report};
use mltools_core::models::{ModelSpec, ParamValue, Task};
use mltools_core::{DatasetRef, ErrorKind, RpcResultExt, ServiceError, ServiceName};
use mltools_transport::DatasetsClient;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tarpc::context;

/// `mltools compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// A stored dataset's id or name, builtin:NAME, an http(s):// URL or a CSV path.
    pub dataset: String,
    /// The target column (default: the dataset's own).
    #[arg(long)]
    pub target: Option<String>,
    /// The metric to rank by (default: r2 for regression, accuracy for classification).
    #[arg(long)]
    pub metric: Option<String>,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Only these algorithms (comma-separated ids; see `mltools models algorithms`).
    #[arg(long, value_delimiter = ',')]
    pub models: Vec<String>,
    /// The seed of the folds and of randomised algorithms.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Override a parameter: ALGORITHM.PARAM=VALUE (repeatable), e.g. knn_classifier.k=7.
    #[arg(long = "set", value_name = "ALGORITHM.PARAM=VALUE", value_parser = parse_override)]
    pub overrides: Vec<(String, String, ParamValue)>,
    /// Force the task instead of inferring it from the target.
    #[arg(long, value_parser = ["regression", "classification"])]
    pub task: Option<String>,
    /// Write DIR/report.html: the leaderboard and every plot, in one self-contained page.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Start the comparison on the lab's node and exit at once, printing its job id; follow
    /// it from any process with `mltools jobs wait|status|cancel|report ID`. Needs a lab on
    /// a node daemon (`[services.lab] at = ...`): a lab in this process ends with it.
    #[arg(long, conflicts_with = "report")]
    pub detach: bool,
}

/// The task named on the command line (clap has checked it is one of the two).
pub(super) fn parse_task(task: &str) -> Task {
    match task {
        "regression" => Task::Regression,
        _ => Task::Classification,
    }
}

/// Parses `ALGORITHM.PARAM=VALUE`; the value is an integer, a number, a boolean or text.
pub(super) fn parse_override(text: &str) -> Result<(String, String, ParamValue), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not ALGORITHM.PARAM=VALUE"))?;
    let (algorithm, name) = key
        .split_once('.')
        .ok_or_else(|| format!("`{key}` is not ALGORITHM.PARAM"))?;
    let value = if let Ok(integer) = value.parse::<i64>() {
        ParamValue::Integer(integer)
    } else if let Ok(number) = value.parse::<f64>() {
        ParamValue::Number(number)
    } else if let Ok(switch) = value.parse::<bool>() {
        ParamValue::Bool(switch)
    } else {
        ParamValue::Text(value.to_owned())
    };
    Ok((algorithm.to_owned(), name.to_owned(), value))
}

fn context_for(duration: Duration) -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + duration;
    ctx
}

/// Finds or imports the dataset a locator names: a stored id or name as is; a built-in is
/// imported once and reused; a file or URL is imported, or stored as a new version of the
/// dataset of the same name. A file is this machine's: uploaded when the datasets service
/// runs on another node.
async fn resolve(
    datasets: &DatasetsClient,
    place: SourcePlace,
    locator: &str,
) -> Result<DatasetRef, CliError> {
    let is_source = locator.starts_with("builtin:")
        || locator.contains("://")
        || std::path::Path::new(locator).is_file();
    if !is_source {
        return Ok(DatasetRef::parse(locator));
    }
    let (source, name) = source_for(datasets, place, locator).await?;
    let resolved = import_or_replace(datasets, source.clone(), name).await;
    if resolved.is_err() {
        discard(datasets, &source).await;
    }
    resolved
}

/// Imports `source` as `name`, or stores it as a new version of the dataset of that name
/// (a built-in already stored is reused as it is).
async fn import_or_replace(
    datasets: &DatasetsClient,
    source: Source,
    name: String,
) -> Result<DatasetRef, CliError> {
    let long = context_for(Duration::from_secs(6 * 60 * 60));
    let imported = datasets
        .import(long, ImportRequest::new(source.clone()))
        .await
        .into_service("datasets");
    match imported {
        Ok(info) => Ok(DatasetRef::Id(info.id)),
        Err(error) if error.kind == ErrorKind::AlreadyExists => {
            if matches!(source, Source::Builtin { .. }) {
                return Ok(DatasetRef::Name(name));
            }
            let request = UpdateRequest {
                dataset: DatasetRef::Name(name),
                source,
                mode: UpdateMode::Replace,
                target: None,
                csv: Default::default(),
            };
            let info = datasets
                .update(long, request)
                .await
                .into_service("datasets")?;
            Ok(DatasetRef::Id(info.id))
        }
        Err(error) => Err(error.into()),
    }
}

pub(super) async fn compare(node: &Node, args: &CompareArgs, json: bool) -> Result<(), CliError> {
    let lab = node.lab()?;
    if args.detach && node.config().remote(ServiceName::Lab).is_none() {
        return Err(ServiceError::invalid_input(
            "--detach needs a lab on a node daemon (`[services.lab] at = ...` in the config): \
             the lab of this process would end with it",
        )
        .into());
    }
    let dataset = resolve(&node.datasets()?, SourcePlace::of(node), &args.dataset).await?;
    let request = LabCompareRequest {
        target: args.target.clone(),
        task: args.task.as_deref().map(parse_task),
        models: args
            .models
            .iter()
            .map(|algorithm| ModelSpec {
                algorithm: algorithm.clone(),
                params: Default::default(),
                pipeline: None,
            })
            .collect(),
        overrides: args.overrides.iter().fold(
            BTreeMap::new(),
            |mut all, (algorithm, name, value)| {
                all.entry(algorithm.clone())
                    .or_insert_with(BTreeMap::new)
                    .insert(name.clone(), value.clone());
                all
            },
        ),
        folds: args.folds,
        seed: args.seed,
        metric: args.metric.clone(),
        ..LabCompareRequest::new(dataset)
    };
    let job = lab
        .compare(context::current(), request)
        .await
        .into_service("lab")?;
    if args.detach {
        if json {
            output::print_json(&serde_json::json!({ "job": job }))?;
        } else {
            println!("comparison {job} started; follow it with `mltools jobs wait {job}`");
        }
        return Ok(());
    }
    let report = follow(node, job, json).await?;
    present(&report, args.report.as_deref(), json)
}

/// Shows a comparison's report: the leaderboard (a table, or JSON), the stored best model,
/// and `report_dir/report.html` when asked for. Fails (exit code 1) when every model failed.
pub(super) fn present(
    report: &Report,
    report_dir: Option<&std::path::Path>,
    json: bool,
) -> Result<(), CliError> {
    if let Some(dir) = report_dir {
        write_report(dir, report)?;
    }
    if json {
        output::print_json(&report.leaderboard)?;
    } else {
        println!("{}", output::leaderboard_table(report));
        if let Some(best) = report.leaderboard.best {
            println!("best model stored as model {best} (mltools predict {best} FILE.csv)");
        }
        if let Some(dir) = report_dir {
            println!("report written to {}", dir.join("report.html").display());
        }
    }
    every_model_failed(&report.leaderboard).map_or(Ok(()), |error| Err(error.into()))
}

/// A comparison in which no model could be evaluated has no result: the command fails
/// (exit code 1) with the first model's error, after the leaderboard showed every one.
fn every_model_failed(leaderboard: &mltools_core::models::Leaderboard) -> Option<ServiceError> {
    let mut errors = leaderboard.entries.iter().map(|entry| entry.error.as_ref());
    let first = errors.next()??;
    if !errors.all(|error| error.is_some()) {
        return None;
    }
    Some(ServiceError::new(
        first.kind,
        format!(
            "all {} models failed; the first: {}",
            leaderboard.entries.len(),
            first.message
        ),
    ))
}

/// Waits for a comparison's report, drawing a progress bar (unless `quiet`).
pub(super) async fn follow(
    node: &Node,
    job: mltools_core::JobId,
    quiet: bool,
) -> Result<Report, CliError> {
    let lab = node.lab()?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len} fits, {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("reading the dataset");
    let started = Instant::now();
    loop {
        let waited = lab
            .report(context_for(Duration::from_secs(30)), job, 200)
            .await
            .into_service("lab")?;
        if let Some(report) = waited {
            bar.finish_and_clear();
            return Ok(report);
        }
        let status = lab
            .status(context::current(), job)
            .await
            .into_service("lab")?;
        match status.stage {
            LabStage::Fitting { done, total } => {
                bar.set_message("fitting");
                bar.set_length(total);
                bar.set_position(done);
            }
            LabStage::Reporting => bar.set_message("plotting"),
            LabStage::Preparing => bar.set_message("reading the dataset"),
            LabStage::Finished
            | LabStage::Failed(_)
            | LabStage::Cancelled
            | LabStage::Interrupted => {}
        }
        bar.tick();
        tracing::debug!(
            elapsed_ms = started.elapsed().as_millis() as u64,
            "waiting for the report"
        );
    }
}

fn write_report(dir: &std::path::Path, report: &Report) -> Result<(), CliError> {
    let path = dir.join("report.html");
    std::fs::create_dir_all(dir)
        .and_then(|()| super::atomic::write(&path, mltools_lab::html::render(report).as_bytes()))
        .map_err(|error| {
            ServiceError::invalid_input(format!("cannot write {}: {error}", path.display())).into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::models::{Leaderboard, LeaderboardEntry};

    fn entry(algorithm: &str, error: Option<&str>) -> LeaderboardEntry {
        LeaderboardEntry {
            model: ModelSpec {
                algorithm: algorithm.to_owned(),
                params: BTreeMap::new(),
                pipeline: None,
            },
            metrics: BTreeMap::new(),
            fit_ms: 0.0,
            predict_ms: 0.0,
            error: error.map(ServiceError::invalid_input),
            warnings: Vec::new(),
        }
    }

    fn board(entries: Vec<LeaderboardEntry>) -> Leaderboard {
        Leaderboard {
            task: Task::Classification,
            metric: "accuracy".to_owned(),
            entries,
            best: None,
            out_of_fold: None,
            importances: None,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_comparison_fails_only_when_every_model_failed() {
        let all_failed = board(vec![
            entry("svc", Some("column `x` has only missing values")),
            entry("gaussian_nb", Some("another reason")),
        ]);
        let error = every_model_failed(&all_failed).expect("no model evaluated");
        assert_eq!(error.kind, ErrorKind::InvalidInput);
        assert_eq!(
            error.message,
            "all 2 models failed; the first: column `x` has only missing values"
        );
        let one_stood = board(vec![
            entry("svc", Some("failed")),
            entry("gaussian_nb", None),
        ]);
        assert!(every_model_failed(&one_stood).is_none());
        assert!(every_model_failed(&board(Vec::new())).is_none());
    }
}
