//! [`LabState`]: the comparisons in flight, and the database of every one started (see
//! [`store`](crate::store)) for those that ended, here or before a restart.

use crate::compare;
use crate::config::LabConfig;
use crate::error::LabError;
use crate::store::Store;
use futures::FutureExt;
use mltools_core::lab::{LabCompareRequest, LabJob, LabStage, LabStatus, Report};
use mltools_core::{ErrorKind, JobId, ServiceError};
use mltools_transport::{DatasetsClient, ModelsClient, UtilsClient};
use std::collections::{HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
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
    /// The models service (the first node, when there are several).
    pub models: ModelsClient,
    /// Every models node a comparison's fits may be spread over; `models` is the first.
    pub models_nodes: Vec<ModelsClient>,
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
    store: Arc<Store>,
    // A std mutex: it guards a map for microseconds and is never held across an await.
    jobs: Mutex<Jobs>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

/// The comparisons in memory: the running ones, and ended ones whose end could not be
/// written to the database (the newest `keep_finished` of them).
#[derive(Debug, Default)]
struct Jobs {
    running: usize,
    by_id: HashMap<JobId, Job>,
    unsaved: VecDeque<JobId>,
}

#[derive(Debug, Clone)]
struct Job {
    stage: watch::Receiver<LabStage>,
    report: Arc<OnceLock<Report>>,
    cancel: CancellationToken,
    dataset: mltools_core::DatasetRef,
    started_at_ms: u64,
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}

/// Runs a blocking database call on a blocking thread.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LabError> + Send + 'static,
) -> Result<T, LabError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| LabError::Database(format!("a database call did not end: {error}")))?
}

impl LabState {
    /// A lab that reaches the other services through `clients` and keeps its comparisons
    /// in `<data_dir>/lab.db` (`./.mltools` when `data_dir` is `None`). Comparisons the database shows as running were cut short
    /// when the last process stopped: they are marked [`LabStage::Interrupted`].
    ///
    /// # Errors
    /// [`LabError::Database`]: the directory or the database cannot be opened.
    pub fn open(clients: LabClients, config: LabConfig) -> Result<Self, LabError> {
        let dir = config
            .data_dir
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("./.mltools"));
        std::fs::create_dir_all(&dir)
            .map_err(|error| LabError::Database(format!("{}: {error}", dir.display())))?;
        let (store, interrupted) = Store::open(&dir.join("lab.db"))?;
        if interrupted > 0 {
            tracing::warn!(
                interrupted,
                "comparisons were running when the lab last stopped; marked interrupted"
            );
        }
        Ok(LabState {
            inner: Arc::new(Inner {
                clients,
                config,
                store: Arc::new(store),
                jobs: Mutex::new(Jobs::default()),
                tasks: TaskTracker::new(),
                shutdown: CancellationToken::new(),
            }),
        })
    }

    /// Starts a comparison on a tracked task and returns its id at once; the comparison
    /// is recorded in the database before this returns.
    ///
    /// # Errors
    /// A bad request; `Overloaded` when `max_running` comparisons run already;
    /// `Unavailable` after shutdown; a database failure.
    ///
    /// # Cancel safety
    /// Not cancel safe: a comparison recorded but not yet started when the future is
    /// dropped ends as interrupted.
    pub async fn compare(&self, request: LabCompareRequest) -> Result<JobId, LabError> {
        compare::validate(&request)?;
        if self.inner.shutdown.is_cancelled() {
            return Err(ServiceError::unavailable("the lab is shutting down").into());
        }
        {
            let mut jobs = self.table();
            if jobs.running >= self.inner.config.max_running {
                return Err(LabError::Busy {
                    running: jobs.running,
                });
            }
            jobs.running += 1;
        }
        // The slot is held from here: given back however this ends.
        let mut retire = Retire {
            state: self.clone(),
            id: None,
            saved: false,
        };
        let started_at_ms = now_ms();
        let store = self.inner.store.clone();
        let recorded = request.clone();
        let id = blocking(move || store.start(&recorded, started_at_ms)).await?;
        retire.id = Some(id);
        let (stage_tx, stage) = watch::channel(LabStage::Preparing);
        let job = Job {
            stage,
            report: Arc::default(),
            cancel: self.inner.shutdown.child_token(),
            dataset: request.dataset.clone(),
            started_at_ms,
        };
        self.table().by_id.insert(id, job.clone());
        let state = self.clone();
        self.inner.tasks.spawn(async move {
            // Retires the job however the task ends, a panic included, so a slot is never
            // lost.
            let mut retire = retire;
            let inner = &state.inner;
            let run = compare::run(
                &inner.clients,
                &inner.config,
                &request,
                &stage_tx,
                &job.cancel,
            );
            let outcome = unless_panicked(id, run).await;
            let stage = match outcome {
                Ok(report) => {
                    let _ = job.report.set(report);
                    LabStage::Finished
                }
                Err(error) => {
                    let error = ServiceError::from(error);
                    if error.kind == ErrorKind::Cancelled && inner.shutdown.is_cancelled() {
                        LabStage::Interrupted
                    } else if error.kind == ErrorKind::Cancelled {
                        LabStage::Cancelled
                    } else {
                        tracing::warn!(%id, %error, "comparison failed");
                        LabStage::Failed(error)
                    }
                }
            };
            // Recorded before the end is published, so whoever sees it ended can read it
            // back from the database, here or after a restart.
            let store = inner.store.clone();
            let (ended, report) = (stage.clone(), job.report.get().cloned());
            let keep = inner.config.keep_finished;
            let saved = blocking(move || store.end(id, &ended, report.as_ref(), now_ms(), keep))
                .await
                .inspect_err(|error| {
                    tracing::error!(%id, %error, "could not record the end of a comparison");
                })
                .is_ok();
            // Free the slot before the end is published: a caller that saw the end may
            // start the next comparison at once.
            retire.saved = saved;
            drop(retire);
            stage_tx.send_replace(stage);
        });
        tracing::info!(%id, "comparison started");
        Ok(id)
    }

    /// A comparison's state.
    ///
    /// # Errors
    /// An unknown id; a database failure.
    pub async fn status(&self, id: JobId) -> Result<LabStatus, LabError> {
        if let Some(job) = self.live(id) {
            let stage = job.stage.borrow().clone();
            return Ok(LabStatus { job: id, stage });
        }
        let (job, _) = self.recorded(id).await?;
        Ok(LabStatus {
            job: id,
            stage: job.stage,
        })
    }

    /// Every comparison known: the running ones with their live stage, and the ended ones
    /// in the database; newest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn jobs(&self) -> Result<Vec<LabJob>, LabError> {
        let store = self.inner.store.clone();
        let mut recorded = blocking(move || store.list()).await?;
        let live: HashMap<JobId, Job> = self.table().by_id.clone();
        for (job, ended) in &mut recorded {
            if let Some(running) = live.get(&job.job) {
                job.stage = running.stage.borrow().clone();
            } else if !*ended {
                // Recorded a moment ago and not yet in memory, or ending right now.
                job.stage = LabStage::Preparing;
            }
        }
        let mut jobs: Vec<LabJob> = recorded.into_iter().map(|(job, _)| job).collect();
        // Ended comparisons whose end could not be recorded are still known here.
        for (&id, job) in &live {
            if !jobs.iter().any(|known| known.job == id) {
                jobs.push(LabJob {
                    job: id,
                    stage: job.stage.borrow().clone(),
                    dataset: job.dataset.clone(),
                    started_at_ms: job.started_at_ms,
                    ended_at_ms: None,
                });
            }
        }
        jobs.sort_by_key(|job| std::cmp::Reverse(job.job));
        Ok(jobs)
    }

    /// Waits up to `timeout` for a comparison's report; `None` if it is still running.
    ///
    /// # Errors
    /// An unknown id; the comparison's own error if it failed or was cancelled.
    ///
    /// # Cancel safety
    /// Cancel safe: the comparison goes on.
    pub async fn report(&self, id: JobId, timeout: Duration) -> Result<Option<Report>, LabError> {
        let Some(job) = self.live(id) else {
            return self.recorded_report(id).await.map(Some);
        };
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
            other => Err(ended_without_a_report(id, other)),
        }
    }

    /// The report of a comparison that ended, from the database.
    async fn recorded_report(&self, id: JobId) -> Result<Report, LabError> {
        let (job, ended) = self.recorded(id).await?;
        if !ended {
            // Recorded, and its task about to be tracked: a caller's next wait finds it.
            return Err(ServiceError::unavailable(format!(
                "comparison {id} is starting; ask again"
            ))
            .into());
        }
        if job.stage != LabStage::Finished {
            return Err(ended_without_a_report(id, job.stage));
        }
        let store = self.inner.store.clone();
        blocking(move || store.report(id))
            .await?
            .ok_or_else(|| LabError::Database(format!("comparison {id} finished without a report")))
    }

    /// A comparison in the database, and whether it ended.
    async fn recorded(&self, id: JobId) -> Result<(LabJob, bool), LabError> {
        let store = self.inner.store.clone();
        blocking(move || store.job(id))
            .await?
            .ok_or(LabError::UnknownJob(id))
    }

    /// Cancels a comparison (and the models job it runs); returns its state.
    ///
    /// # Errors
    /// An unknown id.
    pub async fn cancel(&self, id: JobId) -> Result<LabStatus, LabError> {
        if let Some(job) = self.live(id) {
            job.cancel.cancel();
        }
        self.status(id).await
    }

    /// Cancels every comparison and waits up to `grace` for their tasks to end.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.inner.shutdown.cancel();
        self.inner.tasks.close();
        tokio::time::timeout(grace, self.inner.tasks.wait())
            .await
            .is_ok()
    }

    /// A comparison held in memory: running, or ended without being recorded.
    fn live(&self, id: JobId) -> Option<Job> {
        self.table().by_id.get(&id).cloned()
    }

    /// Gives a comparison's slot back; forgets it from memory when its end is recorded
    /// (or it never started), else keeps it among the newest `keep_finished` unsaved.
    fn retire(&self, id: Option<JobId>, saved: bool) {
        let mut jobs = self.table();
        jobs.running = jobs.running.saturating_sub(1);
        let Some(id) = id else { return };
        if saved {
            jobs.by_id.remove(&id);
            return;
        }
        jobs.unsaved.push_back(id);
        while jobs.unsaved.len() > self.inner.config.keep_finished {
            if let Some(old) = jobs.unsaved.pop_front() {
                jobs.by_id.remove(&old);
            }
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Jobs> {
        // The map stays consistent even if a holder panicked: every update is one insert
        // or remove.
        self.inner
            .jobs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Gives a comparison's slot back when dropped, a panic included.
struct Retire {
    state: LabState,
    /// The comparison, once recorded.
    id: Option<JobId>,
    /// Whether its end reached the database; until then it stays in memory.
    saved: bool,
}

impl Drop for Retire {
    fn drop(&mut self) {
        self.state.retire(self.id, self.saved);
    }
}

fn is_done(stage: &LabStage) -> bool {
    stage.is_done()
}

/// The error `report` answers for a comparison that ended without a report.
fn ended_without_a_report(id: JobId, stage: LabStage) -> LabError {
    match stage {
        LabStage::Failed(error) => error.into(),
        LabStage::Interrupted => ServiceError::unavailable(format!(
            "comparison {id} was interrupted: its lab node stopped while it ran; start it again"
        ))
        .into(),
        _ => ServiceError::new(
            ErrorKind::Cancelled,
            format!("comparison {id} was cancelled"),
        )
        .into(),
    }
}

/// `run`'s outcome, or for a panic inside it an internal error naming comparison `id` and
/// an incident number, the panic itself only in the log: a panic fails this comparison
/// alone, and the lab keeps serving the others.
async fn unless_panicked<T>(
    id: JobId,
    run: impl Future<Output = Result<T, LabError>>,
) -> Result<T, LabError> {
    match AssertUnwindSafe(run).catch_unwind().await {
        Ok(outcome) => outcome,
        Err(payload) => {
            let incident = mltools_core::error::next_incident();
            let panic = mltools_core::error::panic_message(payload.as_ref());
            tracing::error!(%id, incident, %panic, "a comparison panicked");
            Err(LabError::Service(ServiceError::internal(format!(
                "comparison {id} failed unexpectedly (incident {incident}; see the lab service \
                 log)"
            ))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_comparison_fails_alone_as_an_incident() {
        let id = JobId(7);
        let panicking = async {
            let rows: Vec<u32> = Vec::new();
            // An out-of-bounds index, as a bug would make it.
            Ok::<u32, LabError>(rows[rows.len()])
        };
        let error = ServiceError::from(unless_panicked(id, panicking).await.unwrap_err());
        assert_eq!(error.kind, ErrorKind::Internal);
        assert!(
            error
                .message
                .starts_with(&format!("comparison {id} failed unexpectedly (incident ")),
            "{error}"
        );
        assert!(!error.message.contains("index out of bounds"), "{error}");
        // Work that does not panic is passed through as it ended.
        assert_eq!(unless_panicked(id, async { Ok(3) }).await.unwrap(), 3);
        let refused = unless_panicked::<()>(id, async { Err(LabError::Busy { running: 2 }) });
        assert_eq!(
            ServiceError::from(refused.await.unwrap_err()).kind,
            ErrorKind::Overloaded
        );
    }
}
