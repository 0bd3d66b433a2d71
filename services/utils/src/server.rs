//! [`UtilsServer`], the `Utils` interface over a [`UtilsState`]: each handler calls the
//! state and maps its error onto the interface's [`ServiceError`].

use crate::state::UtilsState;
use mltools_core::utils::{
    AlgorithmFamily, FittedPipeline, Fold, FoldMatrices, Matrix, PipelineSpec, Plot, PlotRequest,
    SplitRequest, Utils,
};
use mltools_core::{Frame, ServiceError};
use tarpc::context::Context;

/// The utils service behind its tarpc interface; host it with
/// `mltools_transport::service!("utils", limits, UtilsServer::new(state).serve())`.
///
/// Deadlines, the in-flight limit, a span per call and panic catching come from the
/// hosting transport; the state bounds the blocking work.
#[derive(Clone, Debug)]
pub struct UtilsServer {
    state: UtilsState,
}

impl UtilsServer {
    /// A server over `state`.
    pub fn new(state: UtilsState) -> Self {
        UtilsServer { state }
    }

    /// The state it serves.
    pub fn state(&self) -> &UtilsState {
        &self.state
    }
}

impl Utils for UtilsServer {
    async fn fit_pipeline(
        self,
        _: Context,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<FittedPipeline, ServiceError> {
        Ok(self.state.fit_pipeline(spec, data).await?)
    }

    async fn transform(
        self,
        _: Context,
        pipeline: FittedPipeline,
        data: Frame,
    ) -> Result<Matrix, ServiceError> {
        Ok(self.state.transform(pipeline, data).await?)
    }

    async fn fit_transform(
        self,
        _: Context,
        spec: PipelineSpec,
        train: Frame,
        test: Frame,
    ) -> Result<FoldMatrices, ServiceError> {
        Ok(self.state.fit_transform(spec, train, test).await?)
    }

    async fn split(self, _: Context, request: SplitRequest) -> Result<Vec<Fold>, ServiceError> {
        Ok(self.state.split(request).await?)
    }

    async fn default_pipeline(
        self,
        _: Context,
        family: AlgorithmFamily,
    ) -> Result<PipelineSpec, ServiceError> {
        Ok(self.state.default_pipeline(family))
    }

    async fn plot(self, _: Context, request: PlotRequest) -> Result<Plot, ServiceError> {
        Ok(self.state.plot(request).await?)
    }
}

// Compile-time check: every call's future is `Send`, so the server can be hosted by the
// transports (which box each call as a `Send` future) and spawned on a multi-thread runtime.
const _: fn(UtilsServer, Context, mltools_core::utils::UtilsRequest) =
    |server, context, request| {
        fn assert_send<T: Send>(_: &T) {}
        let call = tarpc::server::Serve::serve(server.serve(), context, request);
        assert_send(&call);
    };
