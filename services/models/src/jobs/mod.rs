//! The job table: every comparison's state and progress, by id, watched by `wait`.
//!
//! A job is a task spawned by the state, not by the caller's RPC handler, so it runs on
//! when the client that submitted it goes away. Jobs live in memory: a restart of the
//! node forgets them (the models they stored stay in the registry).

use crate::admission::FitGauge;
use crate::cv::CvControl;
use crate::error::ModelsError;
use mltools_core::JobId;
use mltools_core::models::{JobState, JobStatus};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;

/// One job's shared state.
struct Job {
    state: watch::Sender<JobState>,
    control: Arc<CvControl>,
}

/// Whether a job has ended (finished, failed or cancelled).
pub(crate) fn ended(state: &JobState) -> bool {
    !matches!(state, JobState::Queued | JobState::Running)
}

/// Every job the service remembers.
pub(crate) struct Jobs {
    // A std mutex: held for map lookups only, never across an `.await`.
    table: Mutex<Table>,
    max_kept: usize,
    /// Counts every job's fits.
    gauge: Arc<FitGauge>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    jobs: BTreeMap<u64, Job>,
}

impl Jobs {
    /// A table remembering at most `max_kept` jobs, whose fits `gauge` counts.
    pub(crate) fn new(max_kept: usize, gauge: Arc<FitGauge>) -> Jobs {
        Jobs {
            table: Mutex::new(Table {
                next_id: 1,
                jobs: BTreeMap::new(),
            }),
            max_kept,
            gauge,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new queued job; the oldest ended job is forgotten when the table is full.
    ///
    /// # Errors
    /// [`ModelsError::Overloaded`] when every remembered job is still queued or running.
    pub(crate) fn create(&self, total: u64) -> Result<(JobId, Arc<CvControl>), ModelsError> {
        let mut table = self.lock();
        if table.jobs.len() >= self.max_kept {
            let oldest_ended = table
                .jobs
                .iter()
                .find(|(_, job)| ended(&job.state.borrow()))
                .map(|(&id, _)| id);
            match oldest_ended {
                Some(id) => {
                    table.jobs.remove(&id);
                }
                None => {
                    return Err(ModelsError::Overloaded {
                        reason: format!("{} comparisons are queued or running", table.jobs.len()),
                        retry_after: None,
                    });
                }
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let control = Arc::new(CvControl::with_total(total).counted_by(Arc::clone(&self.gauge)));
        let (state, _) = watch::channel(JobState::Queued);
        table.jobs.insert(
            id,
            Job {
                state,
                control: Arc::clone(&control),
            },
        );
        Ok((JobId(id), control))
    }

    /// Moves a job on; an ended job (a cancelled one, say) keeps its end. Whether the state
    /// changed: `false` tells a finishing job it was cancelled meanwhile (under the table's
    /// lock, so a cancel is either before this or sees the job ended).
    pub(crate) fn set(&self, id: JobId, next: JobState) -> bool {
        match self.lock().jobs.get(&id.0) {
            Some(job) => job.state.send_if_modified(|state| {
                if ended(state) {
                    return false;
                }
                *state = next;
                true
            }),
            None => false,
        }
    }

    /// A job's state and progress.
    ///
    /// # Errors
    /// [`ModelsError::UnknownJob`].
    pub(crate) fn status(&self, id: JobId) -> Result<JobStatus, ModelsError> {
        let table = self.lock();
        let job = table
            .jobs
            .get(&id.0)
            .ok_or(ModelsError::UnknownJob { id: id.0 })?;
        let (done, total) = job.control.progress();
        Ok(JobStatus {
            id,
            state: job.state.borrow().clone(),
            done,
            total,
        })
    }

    /// A receiver that sees every change of the job's state.
    ///
    /// # Errors
    /// [`ModelsError::UnknownJob`].
    pub(crate) fn watch(&self, id: JobId) -> Result<watch::Receiver<JobState>, ModelsError> {
        let table = self.lock();
        let job = table
            .jobs
            .get(&id.0)
            .ok_or(ModelsError::UnknownJob { id: id.0 })?;
        Ok(job.state.subscribe())
    }

    /// Cancels a job: it ends as cancelled at once; fits already running finish, and no
    /// further fit starts.
    ///
    /// # Errors
    /// [`ModelsError::UnknownJob`].
    pub(crate) fn cancel(&self, id: JobId) -> Result<JobStatus, ModelsError> {
        if let Some(job) = self.lock().jobs.get(&id.0) {
            job.control.cancel();
        }
        self.set(id, JobState::Cancelled);
        self.status(id)
    }

    /// Cancels every job (at shutdown).
    pub(crate) fn cancel_all(&self) {
        let ids: Vec<u64> = self.lock().jobs.keys().copied().collect();
        for id in ids {
            // Every id was just read from the table; one forgotten since is fine to skip.
            let _ = self.cancel(JobId(id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::ErrorKind;

    #[test]
    fn a_cancelled_job_stays_cancelled_and_old_ended_jobs_are_forgotten() {
        let jobs = Jobs::new(2, Arc::default());
        let (first, control) = jobs.create(10).unwrap();
        assert_eq!(jobs.status(first).unwrap().total, 10);
        assert!(jobs.set(first, JobState::Running));
        let status = jobs.cancel(first).unwrap();
        assert_eq!(status.state, JobState::Cancelled);
        assert!(control.is_cancelled());
        assert!(
            !jobs.set(first, JobState::Running),
            "a cancelled job stays cancelled"
        );
        assert_eq!(jobs.status(first).unwrap().state, JobState::Cancelled);
        let (second, _) = jobs.create(1).unwrap();
        // Full: the ended first job makes room.
        let (third, _) = jobs.create(1).unwrap();
        assert_eq!(jobs.status(first).unwrap_err().kind(), ErrorKind::NotFound);
        // Full of live jobs: refused.
        let error = jobs.create(1).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Overloaded);
        assert_eq!((second, third), (JobId(2), JobId(3)));
    }
}
