//! [`LabState`]: the comparisons in flight and the reports of finished ones.

use crate::compare;
use crate::config::LabConfig;
use crate::error::LabError;
use mltools_core::lab::{LabCompareRequest, LabStage, LabStatus, Report};
use mltools_core::{ErrorKind, JobId, ServiceError};
use mltools_transport::{DatasetsClient, ModelsClient, UtilsClient};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The clients the lab reaches the other services with.
#[derive(Debug, Clone)]
pub struct LabClients {
    /// The datasets service.
    pub datasets: DatasetsClient,
    /// The utils service.
    pub utils: UtilsClient,
    /// The models service.
    pub models: ModelsClient,
}

/// The lab's state: a cheap `Clone` handle.
#[derive(Debug, Clone)]
pub struct LabState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    clients: LabClients,
    config: LabConfig,
    // A std mutex: it guards a map for microseconds and is never held across an await.
    jobs: Mutex<Jobs>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

#[derive(Debug, Default)]
struct Jobs {
    next_id: u64,
    running: usize,
    by_id: HashMap<JobId, Job>,
    finished: VecDeque<JobId>,
}

#[derive(Debug, Clone)]
struct Job {
    stage: watch::Receiver<LabStage>,
    report: Arc<OnceLock<Report>>,
    cancel: CancellationToken,
}

impl LabState {
    /// A lab that reaches the other services through `clients`.
    pub fn new(clients: LabClients, config: LabConfig) -> Self {
        LabState {
            inner: Arc::new(Inner {
                clients,
                config,
                jobs: Mutex::new(Jobs {
                    next_id: 1,
                    ..Jobs::default()
                }),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
            }),
        }
    }

    /// Starts a comparison on a tracked task and returns its id at once.
    ///
    /// # Errors
    /// A bad request; `Overloaded` when `max_running` comparisons run already;
    /// `Unavailable` after shutdown.
    pub fn compare(&self, request: LabCompareRequest) -> Result<JobId, LabError> {
        compare::validate(&request)?;
        if self.inner.shutdown.is_cancelled() {
            return Err(ServiceError::unavailable("the lab is shutting down").into());
        }
        let (stage_tx, stage) = watch::channel(LabStage::Preparing);
        let job = Job {
            stage,
            report: Arc::default(),
            cancel: self.inner.shutdown.child_token(),
        };
        let id = {
            let mut jobs = self.jobs();
            if jobs.running >= self.inner.config.max_running {
                return Err(LabError::Busy {
                    running: jobs.running,
                });
            }
            let id = JobId(jobs.next_id);
            jobs.next_id += 1;
            jobs.running += 1;
            jobs.by_id.insert(id, job.clone());
            id
        };
        let state = self.clone();
        self.inner.tasks.spawn(async move {
            // Retires the job however the task ends, a panic included, so a slot is never
            // lost.
            let retire = Retire {
                state: state.clone(),
                id,
            };
            let inner = &state.inner;
            let outcome = compare::run(
                &inner.clients,
                &inner.config,
                &request,
                &stage_tx,
                &job.cancel,
            )
            .await;
            let stage = match outcome {
                Ok(report) => {
                    let _ = job.report.set(report);
                    LabStage::Finished
                }
                Err(error) => {
                    let error = ServiceError::from(error);
                    if error.kind == ErrorKind::Cancelled {
                        LabStage::Cancelled
                    } else {
                        tracing::warn!(%id, %error, "comparison failed");
                        LabStage::Failed(error)
                    }
                }
            };
            // Free the slot before the end is published: a caller that saw the end may
            // start the next comparison at once.
            drop(retire);
            stage_tx.send_replace(stage);
        });
        tracing::info!(%id, "comparison started");
        Ok(id)
    }

    /// A comparison's state.
    ///
    /// # Errors
    /// An unknown id.
    pub fn status(&self, id: JobId) -> Result<LabStatus, LabError> {
        let job = self.job(id)?;
        let stage = job.stage.borrow().clone();
        Ok(LabStatus { job: id, stage })
    }

    /// Waits up to `timeout` for a comparison's report; `None` if it is still running.
    ///
    /// # Errors
    /// An unknown id; the comparison's own error if it failed or was cancelled.
    ///
    /// # Cancel safety
    /// Cancel safe: the comparison goes on.
    pub async fn report(&self, id: JobId, timeout: Duration) -> Result<Option<Report>, LabError> {
        let job = self.job(id)?;
        let mut stage = job.stage.clone();
        let ended = tokio::time::timeout(timeout, stage.wait_for(is_done)).await;
        let stage = match ended {
            Err(_) => return Ok(None),
            Ok(Ok(stage)) => stage.clone(),
            // The sender is gone without a final stage: only a panicking task does that.
            Ok(Err(_)) => {
                return Err(ServiceError::internal(format!(
                    "comparison {id} ended without a result"
                ))
                .into());
            }
        };
        match stage {
            LabStage::Finished => Ok(job.report.get().cloned()),
            LabStage::Failed(error) => Err(error.into()),
            _ => Err(ServiceError::new(
                ErrorKind::Cancelled,
                format!("comparison {id} was cancelled"),
            )
            .into()),
        }
    }

    /// Cancels a comparison (and the models job it runs); returns its state.
    ///
    /// # Errors
    /// An unknown id.
    pub fn cancel(&self, id: JobId) -> Result<LabStatus, LabError> {
        let job = self.job(id)?;
        job.cancel.cancel();
        self.status(id)
    }

    /// Cancels every comparison and waits up to `grace` for their tasks to end.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_ok()
    }

    fn job(&self, id: JobId) -> Result<Job, LabError> {
        self.jobs()
            .by_id
            .get(&id)
            .cloned()
            .ok_or(LabError::UnknownJob(id))
    }

    fn retire(&self, id: JobId) {
        let mut jobs = self.jobs();
        jobs.running = jobs.running.saturating_sub(1);
        jobs.finished.push_back(id);
        while jobs.finished.len() > self.inner.config.keep_finished {
            if let Some(old) = jobs.finished.pop_front() {
                jobs.by_id.remove(&old);
            }
        }
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Jobs> {
        // The map stays consistent even if a holder panicked: every update is one insert
        // or remove.
        self.inner
            .jobs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

struct Retire {
    state: LabState,
    id: JobId,
}

impl Drop for Retire {
    fn drop(&mut self) {
        self.state.retire(self.id);
    }
}

fn is_done(stage: &LabStage) -> bool {
    matches!(
        stage,
        LabStage::Finished | LabStage::Failed(_) | LabStage::Cancelled
    )
}
