//! [`LabServer`]: the `Lab` interface over [`LabState`].

use crate::state::LabState;
use mltools_core::lab::{Lab, LabCompareRequest, LabJob, LabStatus, Report};
use mltools_core::{JobId, ServiceError};
use std::time::Duration;
use tarpc::context;

/// The longest a `report` call waits, whatever the caller asks: long waits are loops of
/// calls, each well inside an RPC deadline.
const MAX_REPORT_WAIT: Duration = Duration::from_secs(60);

/// Serves the `Lab` interface.
#[derive(Debug, Clone)]
pub struct LabServer {
    state: LabState,
}

impl LabServer {
    /// A server over `state`.
    pub fn new(state: LabState) -> Self {
        LabServer { state }
    }

    /// The state served.
    pub fn state(&self) -> &LabState {
        &self.state
    }
}

impl Lab for LabServer {
    async fn compare(
        self,
        _: context::Context,
        request: LabCompareRequest,
    ) -> Result<JobId, ServiceError> {
        Ok(self.state.compare(request).await?)
    }

    async fn status(self, _: context::Context, job: JobId) -> Result<LabStatus, ServiceError> {
        Ok(self.state.status(job).await?)
    }

    async fn report(
        self,
        ctx: context::Context,
        job: JobId,
        timeout_ms: u64,
    ) -> Result<Option<Report>, ServiceError> {
        // Never wait past the caller's own deadline (less a margin for the answer).
        let until_deadline = ctx
            .deadline
            .saturating_duration_since(std::time::Instant::now())
            .saturating_sub(Duration::from_millis(100));
        let wait = Duration::from_millis(timeout_ms)
            .min(MAX_REPORT_WAIT)
            .min(until_deadline);
        Ok(self.state.report(job, wait).await?)
    }

    async fn cancel(self, _: context::Context, job: JobId) -> Result<LabStatus, ServiceError> {
        Ok(self.state.cancel(job).await?)
    }

    async fn jobs(self, _: context::Context) -> Result<Vec<LabJob>, ServiceError> {
        Ok(self.state.jobs().await?)
    }
}
