//! [`ModelsServer`]: the [`Models`] interface over a [`ModelsState`].

use crate::state::ModelsState;
use mltools_core::models::{
    AlgorithmInfo, ComparePlan, CompareRequest, FitRequest, JobStatus, Leaderboard, ModelFile,
    ModelInfo, Models, ModelsLoad, Predictions, UnitResult, WorkUnit,
};
use mltools_core::{Frame, JobId, ModelId, ServiceError};
use std::time::Duration;
use tarpc::context::Context;

/// Serves the [`Models`] interface: each method calls the state and maps its error. Host it
/// with `mltools_transport::service!("models", limits, ModelsServer::new(state).serve())`.
#[derive(Debug, Clone)]
pub struct ModelsServer {
    state: ModelsState,
}

impl ModelsServer {
    /// A server over `state`.
    pub fn new(state: ModelsState) -> Self {
        ModelsServer { state }
    }

    /// The state served.
    pub fn state(&self) -> &ModelsState {
        &self.state
    }
}

impl Models for ModelsServer {
    async fn algorithms(self, _: Context) -> Result<Vec<AlgorithmInfo>, ServiceError> {
        Ok(self.state.algorithms())
    }

    async fn submit(self, _: Context, request: CompareRequest) -> Result<JobId, ServiceError> {
        Ok(self.state.submit(request).await?)
    }

    async fn status(self, _: Context, job: JobId) -> Result<JobStatus, ServiceError> {
        Ok(self.state.status(job)?)
    }

    /// Keep `timeout_ms` below the call's deadline (10 s by default), or the call ends at
    /// the deadline instead.
    async fn wait(
        self,
        _: Context,
        job: JobId,
        timeout_ms: u64,
    ) -> Result<JobStatus, ServiceError> {
        Ok(self
            .state
            .wait(job, Duration::from_millis(timeout_ms))
            .await?)
    }

    async fn cancel(self, _: Context, job: JobId) -> Result<JobStatus, ServiceError> {
        Ok(self.state.cancel(job)?)
    }

    async fn fit(self, _: Context, request: FitRequest) -> Result<ModelInfo, ServiceError> {
        Ok(self.state.fit(request).await?)
    }

    async fn predict(
        self,
        _: Context,
        model: ModelId,
        rows: Frame,
    ) -> Result<Predictions, ServiceError> {
        Ok(self.state.predict(model, rows).await?)
    }

    async fn list(self, _: Context) -> Result<Vec<ModelInfo>, ServiceError> {
        Ok(self.state.list().await?)
    }

    async fn get(self, _: Context, model: ModelId) -> Result<ModelInfo, ServiceError> {
        Ok(self.state.get(model).await?)
    }

    async fn delete(self, _: Context, model: ModelId) -> Result<ModelInfo, ServiceError> {
        Ok(self.state.delete(model).await?)
    }

    async fn export(self, _: Context, model: ModelId) -> Result<ModelFile, ServiceError> {
        Ok(self.state.export(model).await?)
    }

    async fn import(self, _: Context, file: ModelFile) -> Result<ModelInfo, ServiceError> {
        Ok(self.state.import(file).await?)
    }

    async fn load(self, _: Context) -> Result<ModelsLoad, ServiceError> {
        Ok(self.state.load())
    }

    async fn plan(self, _: Context, request: CompareRequest) -> Result<ComparePlan, ServiceError> {
        Ok(self.state.plan(request).await?)
    }

    /// tarpc drops this handler at the call's deadline or when the client goes away, which
    /// cancels the unit ([`ModelsState::evaluate`]).
    async fn evaluate(self, _: Context, unit: WorkUnit) -> Result<Vec<UnitResult>, ServiceError> {
        Ok(self.state.evaluate(unit).await?)
    }

    async fn assemble(
        self,
        _: Context,
        plan: ComparePlan,
        results: Vec<UnitResult>,
    ) -> Result<Leaderboard, ServiceError> {
        Ok(self.state.assemble(plan, results).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::models::ModelsRequest;
    use tarpc::server::Serve as _;

    fn assert_send<T: Send>(_: &T) {}

    /// The node spawns served requests on a multi-threaded runtime.
    #[test]
    fn served_futures_are_send() {
        fn check(server: ModelsServer, ctx: Context, request: ModelsRequest) {
            let future = server.clone().serve().serve(ctx, request);
            assert_send(&future);
        }
        let _ = check;
    }
}
