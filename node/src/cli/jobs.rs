//! `mltools jobs`: the lab's comparisons, followed, cancelled and collected from any
//! process, by id (see `mltools compare --detach`).

use super::compare::{follow, present};
use super::{CliError, output};
use crate::node::Node;
use clap::Subcommand;
use mltools_core::lab::{LabJob, LabStage};
use mltools_core::{JobId, RpcResultExt, ServiceError};
use std::path::PathBuf;
use std::time::Duration;
use tarpc::context;

/// The jobs commands.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List the lab's comparisons, running and kept, newest first.
    List,
    /// Show a comparison's stage.
    Status {
        /// The comparison's job id.
        job: JobId,
    },
    /// Wait for a comparison to end, then show its leaderboard.
    Wait {
        /// The comparison's job id.
        job: JobId,
        /// Write DIR/report.html too.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Cancel a running comparison.
    Cancel {
        /// The comparison's job id.
        job: JobId,
    },
    /// Show a finished comparison's leaderboard (kept after its node restarts).
    Report {
        /// The comparison's job id.
        job: JobId,
        /// Write DIR/report.html too.
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

fn context_for(duration: Duration) -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + duration;
    ctx
}

/// Runs a jobs command.
///
/// # Errors
/// An unknown job; a comparison that failed, was cancelled or interrupted (for `wait` and
/// `report`); a lab that cannot be reached.
pub(super) async fn run(node: &Node, command: &JobsCommand, json: bool) -> Result<(), CliError> {
    let lab = node.lab()?;
    let short = || context_for(Duration::from_secs(30));
    match command {
        JobsCommand::List => {
            let jobs = lab.jobs(short()).await.into_service("lab")?;
            if json {
                output::print_json(&jobs)?;
            } else {
                println!("{}", jobs_table(&jobs));
            }
        }
        JobsCommand::Status { job } => {
            let status = lab.status(short(), *job).await.into_service("lab")?;
            if json {
                output::print_json(&status)?;
            } else {
                println!("comparison {job}: {}", status.stage);
            }
        }
        JobsCommand::Cancel { job } => {
            let status = lab.cancel(short(), *job).await.into_service("lab")?;
            if json {
                output::print_json(&status)?;
            } else if status.is_done() {
                println!("comparison {job} has ended: {}", status.stage);
            } else {
                println!("comparison {job} is being cancelled");
            }
        }
        JobsCommand::Wait { job, report } => {
            let finished = follow(node, *job, json).await?;
            present(&finished, report.as_deref(), json)?;
        }
        JobsCommand::Report { job, report } => {
            let status = lab.status(short(), *job).await.into_service("lab")?;
            if !status.is_done() {
                return Err(ServiceError::new(
                    mltools_core::ErrorKind::Unavailable,
                    format!(
                        "comparison {job} is still running ({}); `mltools jobs wait {job}` \
                         waits for it",
                        status.stage
                    ),
                )
                .into());
            }
            let finished = lab
                .report(short(), *job, 0)
                .await
                .into_service("lab")?
                .ok_or_else(|| {
                    ServiceError::internal(format!("comparison {job} ended without a report"))
                })?;
            present(&finished, report.as_deref(), json)?;
        }
    }
    Ok(())
}

/// The comparisons as a table.
fn jobs_table(jobs: &[LabJob]) -> String {
    let mut out = output::table(&["job", "dataset", "stage", "started", "ended"]);
    for job in jobs {
        let stage = match &job.stage {
            // The whole error is for `jobs status`: the table keeps its kind.
            LabStage::Failed(error) => format!("failed ({})", error.kind),
            stage => stage.to_string(),
        };
        out.add_row(vec![
            job.job.to_string(),
            job.dataset.to_string(),
            stage,
            output::timestamp(job.started_at_ms as i64),
            job.ended_at_ms
                .map_or_else(String::new, |ms| output::timestamp(ms as i64)),
        ]);
    }
    out.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::DatasetRef;

    #[test]
    fn the_table_shows_each_stage_and_a_failure_s_kind() {
        let jobs = [
            LabJob {
                job: JobId(2),
                stage: LabStage::Fitting { done: 3, total: 10 },
                dataset: DatasetRef::Name("iris".into()),
                started_at_ms: 0,
                ended_at_ms: None,
            },
            LabJob {
                job: JobId(1),
                stage: LabStage::Failed(ServiceError::invalid_input("no column `x`")),
                dataset: DatasetRef::Id(mltools_core::DatasetId(4)),
                started_at_ms: 0,
                ended_at_ms: Some(1000),
            },
        ];
        let table = jobs_table(&jobs);
        assert!(table.contains("fitting (3/10 fits)"), "{table}");
        assert!(table.contains("failed (invalid input)"), "{table}");
        assert!(table.contains("1970-01-01T00:00:01Z"), "{table}");
    }
}
