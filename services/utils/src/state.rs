//! [`UtilsState`], the service's handle: configuration and concurrency limits, with plain
//! async methods usable without any RPC.
//!
//! All the work is synchronous CPU work (the `preprocessing` and `visualization`
//! functions), so each method runs it on tokio's blocking pool and never on a runtime
//! thread. Two semaphores bound it: one for fits, transforms and splits, one for plot
//! rendering. A permit travels with the blocking work, so a caller that goes away (a
//! deadline passed) cannot let more work run at once than configured; work whose caller
//! has gone before it started is skipped.

use crate::config::UtilsConfig;
use crate::error::UtilsError;
use crate::{preprocessing, visualization};
use mltools_core::Frame;
use mltools_core::utils::{
    AlgorithmFamily, FittedPipeline, Fold, FoldMatrices, Matrix, PipelineSpec, Plot, PlotRequest,
    SplitRequest,
};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::Semaphore;
use tracing::instrument;

/// The utils service's state: a cheap `Clone` around an `Arc`.
#[derive(Clone)]
pub struct UtilsState {
    inner: Arc<Inner>,
}

struct Inner {
    config: UtilsConfig,
    compute: Arc<Semaphore>,
    render: Arc<Semaphore>,
}

impl fmt::Debug for UtilsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UtilsState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl UtilsState {
    /// A state with `config`, checked.
    ///
    /// # Errors
    /// [`UtilsError::BadConfig`] naming the field, as [`UtilsConfig::validate`].
    pub fn new(config: UtilsConfig) -> Result<Self, UtilsError> {
        config.validate()?;
        Ok(UtilsState {
            inner: Arc::new(Inner {
                compute: Arc::new(Semaphore::new(config.compute_concurrency)),
                render: Arc::new(Semaphore::new(config.render_concurrency)),
                config,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &UtilsConfig {
        &self.inner.config
    }

    /// Learns `spec`'s statistics from `data` (the training rows' feature columns) within
    /// the configured `max_matrix_bytes`; see [`preprocessing::fit_within`].
    ///
    /// # Errors
    /// As [`preprocessing::fit_within`]; [`UtilsError::Panicked`] for a bug.
    ///
    /// # Cancel safety
    /// Dropping the future before the work starts skips it; once started it finishes on
    /// its blocking thread and the result is dropped.
    #[instrument(skip_all, fields(rows = data.rows(), columns = data.columns.len(), steps = spec.steps.len()))]
    pub async fn fit_pipeline(
        &self,
        spec: PipelineSpec,
        data: Frame,
    ) -> Result<FittedPipeline, UtilsError> {
        let permits = Arc::clone(&self.inner.compute);
        let budget = self.inner.config.max_matrix_bytes;
        self.run_blocking("fit_pipeline", permits, move || {
            preprocessing::fit_within(&spec, data, budget)
        })
        .await
    }

    /// One fold's preprocessing in one piece of work: fits `spec` on `train` and gives both
    /// sets transformed, within the configured `max_matrix_bytes`; see
    /// [`preprocessing::fit_transform_within`].
    ///
    /// # Errors
    /// As [`preprocessing::fit_transform_within`]; [`UtilsError::Panicked`] for a bug.
    ///
    /// # Cancel safety
    /// As [`UtilsState::fit_pipeline`].
    #[instrument(skip_all, fields(rows = train.rows(), test_rows = test.rows(), columns = train.columns.len(), steps = spec.steps.len()))]
    pub async fn fit_transform(
        &self,
        spec: PipelineSpec,
        train: Frame,
        test: Frame,
    ) -> Result<FoldMatrices, UtilsError> {
        let permits = Arc::clone(&self.inner.compute);
        let budget = self.inner.config.max_matrix_bytes;
        self.run_blocking("fit_transform", permits, move || {
            let (_, train, test) = preprocessing::fit_transform_within(&spec, train, test, budget)?;
            Ok(FoldMatrices { train, test })
        })
        .await
    }

    /// Applies a fitted pipeline to `data` within the configured `max_matrix_bytes`; see
    /// [`preprocessing::transform_within`].
    ///
    /// # Errors
    /// As [`preprocessing::transform_within`]; [`UtilsError::Panicked`] for a bug.
    ///
    /// # Cancel safety
    /// As [`UtilsState::fit_pipeline`].
    #[instrument(skip_all, fields(rows = data.rows(), columns = data.columns.len()))]
    pub async fn transform(
        &self,
        pipeline: FittedPipeline,
        data: Frame,
    ) -> Result<Matrix, UtilsError> {
        let permits = Arc::clone(&self.inner.compute);
        let budget = self.inner.config.max_matrix_bytes;
        self.run_blocking("transform", permits, move || {
            preprocessing::transform_within(&pipeline, data, budget)
        })
        .await
    }

    /// Train/test or k-fold indices within the configured `max_matrix_bytes`; see
    /// [`preprocessing::split_within`].
    ///
    /// # Errors
    /// As [`preprocessing::split_within`]; [`UtilsError::Panicked`] for a bug.
    ///
    /// # Cancel safety
    /// As [`UtilsState::fit_pipeline`].
    #[instrument(skip_all, fields(rows = request.rows, kind = ?request.kind, stratified = request.stratify.is_some()))]
    pub async fn split(&self, request: SplitRequest) -> Result<Vec<Fold>, UtilsError> {
        let permits = Arc::clone(&self.inner.compute);
        let budget = self.inner.config.max_matrix_bytes;
        self.run_blocking("split", permits, move || {
            preprocessing::split_within(&request, budget)
        })
        .await
    }

    /// The default pipeline of `family`; see [`preprocessing::default_pipeline`].
    pub fn default_pipeline(&self, family: AlgorithmFamily) -> PipelineSpec {
        preprocessing::default_pipeline(family)
    }

    /// Renders a plot, at the configured default size where the request names none.
    ///
    /// # Errors
    /// [`UtilsError::BadPlotSize`] for a side outside 200..=`max_plot_side`; as
    /// [`visualization::render`]; [`UtilsError::Panicked`] for a bug.
    ///
    /// # Cancel safety
    /// As [`UtilsState::fit_pipeline`].
    #[instrument(skip_all, fields(plot = visualization::kind_name(&request.kind), format = ?request.format))]
    pub async fn plot(&self, request: PlotRequest) -> Result<Plot, UtilsError> {
        let config = &self.inner.config;
        let width = request.width.unwrap_or(config.plot_width);
        let height = request.height.unwrap_or(config.plot_height);
        visualization::check_size(width, height, config.max_plot_side)?;
        let permits = Arc::clone(&self.inner.render);
        let PlotRequest {
            kind,
            format,
            title,
            ..
        } = request;
        let plot = self
            .run_blocking("plot", permits, move || {
                visualization::render(kind, format, (width, height), title.as_deref())
            })
            .await?;
        tracing::debug!(width, height, bytes = plot.bytes.len(), "plot rendered");
        Ok(plot)
    }

    /// Runs `work` on the blocking pool under a permit of `permits`, in the current span.
    async fn run_blocking<T, F>(
        &self,
        operation: &'static str,
        permits: Arc<Semaphore>,
        work: F,
    ) -> Result<T, UtilsError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, UtilsError> + Send + 'static,
    {
        // The semaphores are never closed; a closed one would mean the state is going away.
        let permit = permits
            .acquire_owned()
            .await
            .map_err(|_| UtilsError::Cancelled { operation })?;
        let caller_gone = CancelOnDrop::default();
        let skip = Arc::clone(&caller_gone.flag);
        let span = tracing::Span::current();
        let started = Instant::now();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let _entered = span.enter();
            if skip.load(Ordering::Acquire) {
                tracing::debug!(operation, "skipped: the caller went away before it started");
                return Err(UtilsError::Cancelled { operation });
            }
            work()
        });
        let outcome = task.await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(result) => {
                match &result {
                    Ok(_) => tracing::debug!(operation, elapsed_ms, "done"),
                    Err(error) => tracing::debug!(operation, elapsed_ms, %error, "refused"),
                }
                result
            }
            Err(join_error) if join_error.is_panic() => {
                let incident = mltools_core::error::next_incident();
                let cause = mltools_core::error::panic_message(join_error.into_panic().as_ref());
                tracing::error!(operation, incident, %cause, elapsed_ms, "utils work panicked");
                Err(UtilsError::Panicked {
                    operation,
                    incident,
                })
            }
            // The runtime is shutting down and dropped the task before it ran.
            Err(_) => Err(UtilsError::Cancelled { operation }),
        }
    }
}

/// Sets its flag when dropped: the blocking work checks it before starting, so work whose
/// caller's future was dropped (at its deadline) is skipped.
#[derive(Default)]
struct CancelOnDrop {
    flag: Arc<AtomicBool>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.flag.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_blocking_work_is_an_internal_incident() {
        let state = UtilsState::new(UtilsConfig::default()).unwrap();
        let permits = Arc::clone(&state.inner.compute);
        let result: Result<(), _> = state
            .run_blocking("test", permits, || panic!("column 3 is cursed"))
            .await;
        let error = result.unwrap_err();
        assert!(
            matches!(
                error,
                UtilsError::Panicked {
                    operation: "test",
                    incident: 1..
                }
            ),
            "{error:?}"
        );
        let service = mltools_core::ServiceError::from(error);
        assert_eq!(service.kind, mltools_core::ErrorKind::Internal);
        // The caller gets the number; the panic's message stays in the log.
        assert!(!service.message.contains("cursed"), "{service}");
        // The permit came back: the state keeps working.
        assert_eq!(state.inner.compute.available_permits(), 4);
    }

    #[test]
    fn a_bad_config_is_refused() {
        let config = UtilsConfig {
            compute_concurrency: 0,
            ..UtilsConfig::default()
        };
        let error = UtilsState::new(config).unwrap_err();
        assert!(error.to_string().contains("compute_concurrency"), "{error}");
    }
}
