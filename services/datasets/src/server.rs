//! [`DatasetsServer`]: the [`Datasets`] interface over a [`DatasetsState`].

use crate::state::DatasetsState;
use mltools_core::datasets::{
    AppendUpload, BeginUpload, DatasetInfo, DatasetPage, Datasets, Deleted, Description,
    GetRequest, ImportRequest, UpdateRequest, UploadId,
};
use mltools_core::{DatasetRef, ServiceError};
use tarpc::context::Context;

/// Serves the [`Datasets`] interface: each method calls the state and maps its error.
///
/// ```no_run
/// # fn demo() -> Result<(), mltools_datasets::DatasetsError> {
/// use mltools_core::datasets::Datasets as _;
/// use mltools_datasets::{DatasetsConfig, DatasetsServer, DatasetsState};
///
/// let state = DatasetsState::open(DatasetsConfig::with_data_dir("/tmp/mltools"))?;
/// let serve = DatasetsServer::new(state).serve(); // a tarpc `Serve`, for any transport
/// # let _ = serve;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DatasetsServer {
    state: DatasetsState,
}

impl DatasetsServer {
    /// A server over `state`.
    pub fn new(state: DatasetsState) -> Self {
        DatasetsServer { state }
    }

    /// The state served.
    pub fn state(&self) -> &DatasetsState {
        &self.state
    }
}

impl Datasets for DatasetsServer {
    async fn import(self, _: Context, request: ImportRequest) -> Result<DatasetInfo, ServiceError> {
        Ok(self.state.import(request).await?)
    }

    async fn list(self, _: Context) -> Result<Vec<DatasetInfo>, ServiceError> {
        Ok(self.state.list().await?)
    }

    async fn versions(
        self,
        _: Context,
        dataset: DatasetRef,
    ) -> Result<Vec<DatasetInfo>, ServiceError> {
        Ok(self.state.versions(dataset).await?)
    }

    async fn get(self, _: Context, request: GetRequest) -> Result<DatasetPage, ServiceError> {
        Ok(self.state.get(request).await?)
    }

    async fn describe(
        self,
        _: Context,
        dataset: DatasetRef,
        version: Option<u32>,
    ) -> Result<Description, ServiceError> {
        Ok(self.state.describe(dataset, version).await?)
    }

    async fn update(self, _: Context, request: UpdateRequest) -> Result<DatasetInfo, ServiceError> {
        Ok(self.state.update(request).await?)
    }

    async fn delete(self, _: Context, dataset: DatasetRef) -> Result<Deleted, ServiceError> {
        Ok(self.state.delete(dataset).await?)
    }

    async fn begin_upload(
        self,
        _: Context,
        request: BeginUpload,
    ) -> Result<UploadId, ServiceError> {
        Ok(self.state.begin_upload(request).await?)
    }

    async fn append_upload(self, _: Context, request: AppendUpload) -> Result<u64, ServiceError> {
        Ok(self.state.append_upload(request).await?)
    }

    async fn abort_upload(self, _: Context, upload: UploadId) -> Result<(), ServiceError> {
        Ok(self.state.abort_upload(upload).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::datasets::DatasetsRequest;
    use tarpc::server::Serve as _;

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn errors_cross_the_interface_with_their_kind() {
        use mltools_core::datasets::{Builtin, Source};
        use mltools_core::{DatasetId, ErrorKind};
        let dir = tempfile::tempdir().unwrap();
        let config = crate::DatasetsConfig::with_data_dir(dir.path());
        let server = DatasetsServer::new(DatasetsState::open(config).unwrap());
        let ctx = tarpc::context::current();
        let request = ImportRequest::new(Source::Builtin {
            name: Builtin::Iris,
        });
        let info = server.clone().import(ctx, request).await.unwrap();
        assert_eq!(info.rows, 150);
        let error = server
            .clone()
            .get(ctx, GetRequest::all(DatasetId(99)))
            .await
            .unwrap_err();
        assert_eq!(
            (error.kind, error.message.as_str()),
            (ErrorKind::NotFound, "dataset 99 does not exist")
        );
        let request = ImportRequest::new(Source::Builtin {
            name: Builtin::Iris,
        });
        let error = server.import(ctx, request).await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::AlreadyExists);
    }

    /// The node spawns served requests on a multi-threaded runtime.
    #[test]
    fn served_futures_are_send() {
        fn check(server: DatasetsServer, ctx: Context, request: DatasetsRequest) {
            let future = server.clone().serve().serve(ctx, request);
            assert_send(&future);
        }
        let _ = check;
    }
}
