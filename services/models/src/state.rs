//! [`ModelsState`]: the service's state and its async operations, usable without RPC.

use crate::admission::{Admission, DataShape, FitGauge, Waiting, estimate};
use crate::algorithms::{Cancel, FittedModel, algorithms};
use crate::compare::{self, Plan, Prepared, UtilsCalls, UtilsPreprocess};
use crate::config::ModelsConfig;
use crate::cv::{Candidate, CvControl, CvRequest, best, cross_validate, fit_pool};
use crate::error::{ModelsError, panicked};
use crate::jobs::{Jobs, ended};
use crate::prediction::Prediction;
use crate::registry::{self, Store};
use crate::units::{FRAME_CACHE_ENTRIES, FRAME_CACHE_IDLE, FrameCache};
use mltools_core::datasets::GetRequest;
use mltools_core::models::{
    AlgorithmInfo, CompareRequest, FitRequest, JobState, JobStatus, Leaderboard, MetricValue,
    ModelFile, ModelInfo, ModelSpec, ModelsLoad, Predictions,
};
use mltools_core::models::{Rows, TrainingData};
use mltools_core::utils::PipelineSpec;
use mltools_core::{Frame, JobId, ModelId, ServiceError};
use mltools_transport::paging;
use mltools_transport::{DatasetsClient, UtilsClient};
use std::collections::BTreeMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The models service's state: the registry, the job table, the fit pool and a client of
/// the utils service. A cheap [`Clone`] (an [`Arc`]).
///
/// Fits and predictions run on a bounded rayon pool, never on a runtime thread; a
/// comparison is a job spawned by the state (tracked, so [`ModelsState::shutdown`] can wait
/// for it), which runs on when its submitter goes away. Comparisons (`max_running_jobs`)
/// and single fits (`max_running_fits`) are each bounded by a semaphore.
#[derive(Clone)]
pub struct ModelsState {
    inner: Arc<Inner>,
}

struct Inner {
    config: ModelsConfig,
    store: Store,
    jobs: Jobs,
    pool: rayon::ThreadPool,
    utils: UtilsClient,
    /// Where stored rows ([`Rows::Stored`]) are read from; `None` on a node that reaches
    /// no datasets service.
    datasets: Option<DatasetsClient>,
    /// Comparisons running; a submitted job queues for a permit.
    running: Arc<Semaphore>,
    /// Single fits running; a `fit` finding none free waits for one.
    fits: Arc<Semaphore>,
    /// The memory budget and queue every comparison and fit passes first.
    admission: Arc<Admission>,
    /// Fits running on the pool.
    gauge: Arc<FitGauge>,
    /// The frames read for work units, bounded (see [`FrameCache`]).
    frames: FrameCache,
    tracker: TaskTracker,
}

impl fmt::Debug for ModelsState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelsState")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

impl ModelsState {
    /// Opens the state: creates `data_dir` if needed, opens the registry
    /// `data_dir/models.db` and starts the fit threads. Blocking, and quick. Preprocessing
    /// goes through `utils`; requests whose rows are [`Rows::Stored`] are read through
    /// `datasets` (refused when it is `None`).
    ///
    /// # Errors
    /// A bad configuration value, a directory or database that cannot be opened.
    pub fn open(
        config: ModelsConfig,
        utils: UtilsClient,
        datasets: Option<DatasetsClient>,
    ) -> Result<Self, ModelsError> {
        config.validate()?;
        std::fs::create_dir_all(&config.data_dir).map_err(|error| ModelsError::Io {
            path: config.data_dir.display().to_string(),
            operation: "create directory",
            reason: error.to_string(),
        })?;
        let store = Store::open(&config.data_dir.join("models.db"))?;
        let gauge = Arc::new(FitGauge::default());
        Ok(ModelsState {
            inner: Arc::new(Inner {
                pool: fit_pool(config.fit_threads)?,
                jobs: Jobs::new(config.max_kept_jobs, Arc::clone(&gauge)),
                admission: Admission::new(config.memory_budget_mib(), config.max_queued),
                gauge,
                frames: FrameCache::new(FRAME_CACHE_ENTRIES, FRAME_CACHE_IDLE),
                running: Arc::new(Semaphore::new(config.max_running_jobs)),
                fits: Arc::new(Semaphore::new(config.max_running_fits)),
                tracker: TaskTracker::new(),
                store,
                utils,
                datasets,
                config,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &ModelsConfig {
        &self.inner.config
    }

    /// Every algorithm, with its parameters and defaults.
    pub fn algorithms(&self) -> Vec<AlgorithmInfo> {
        algorithms()
    }

    /// What the node is doing now.
    pub fn load(&self) -> ModelsLoad {
        let inner = &self.inner;
        ModelsLoad {
            fits_running: inner.gauge.running() as u64,
            fits_peak: inner.gauge.peak() as u64,
            fit_threads: inner.pool.current_num_threads() as u64,
            jobs_running: (inner.config.max_running_jobs - inner.running.available_permits())
                as u64,
            queued: inner.admission.queued() as u64,
            memory_reserved_mb: u64::from(inner.admission.reserved_mib()),
            memory_budget_mb: u64::from(inner.admission.budget_mib()),
        }
    }

    /// Checks a comparison and starts it as a job, returning its id at once; the job waits
    /// for memory (see the `admission` module) before it reads a row. Inline rows are checked here
    /// whole; of a stored dataset only what its description tells (the target is a
    /// column) is checked here, the rest (the target's values, the task, enough rows for
    /// the folds) by the job once it has read the rows, failing with the same errors.
    ///
    /// # Errors
    /// A model, parameter or metric that is unknown or bad, a target that is not a column,
    /// bad inline rows, before any job exists; [`ModelsError::OverLimit`] for more models
    /// than `max_models_per_comparison`, a parameter above its cap (`max_trees`,
    /// `max_leaf_nodes`, `max_iterations`, `max_kernel_cache_mb`), or an estimated memory above the node's
    /// whole budget; [`ModelsError::Overloaded`], with a retry-after hint, when
    /// `max_queued` requests wait already or the job table is full of live jobs.
    #[tracing::instrument(skip_all, fields(dataset = %request.data.dataset, folds = request.folds))]
    pub async fn submit(&self, mut request: CompareRequest) -> Result<JobId, ModelsError> {
        let explicit = request
            .models
            .iter()
            .cloned()
            .map(Candidate::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.check_limits(&explicit)?;
        crate::cv::check_fold_count(usize::MAX, request.folds)?;
        let shape = self.shape(&request.data).await?;
        let pending = if matches!(request.data.rows, Rows::Inline(_)) {
            let frame = self.rows(&mut request.data).await?;
            // Splitting the frame copies every column: off the runtime threads.
            let plan = self
                .run_blocking("submit", move |_| compare::plan(request, &frame))
                .await?;
            self.check_limits(&plan.candidates)?;
            Pending::Planned(plan)
        } else {
            Pending::Stored(request)
        };
        // The candidates as far as they are known: all of them once planned, else those
        // the request names (none: every default candidate is counted).
        let (planned_models, folds): (Vec<ModelSpec>, usize) = match &pending {
            Pending::Planned(plan) => (
                plan.candidates.iter().map(|c| c.spec.clone()).collect(),
                plan.folds,
            ),
            Pending::Stored(request) => (request.models.clone(), request.folds),
        };
        let units = (planned_models.len().max(1) * folds) as u64;
        let concurrent = (self.inner.pool.current_num_threads() as u64).min(units);
        let bytes = estimate(shape, &planned_models, folds as u64, concurrent);
        let waiting = self.inner.admission.enqueue("this comparison", bytes)?;
        let (id, control) = self.inner.jobs.create(units)?;
        tracing::info!(job = %id, estimated_mb = bytes >> 20, "comparison submitted");
        let state = self.clone();
        self.inner
            .tracker
            .spawn(async move { state.run_job(id, pending, waiting, control).await });
        Ok(id)
    }

    /// The shape of the rows a request names, without reading them: the stored dataset's
    /// description, or the inline frame; the target left out.
    ///
    /// # Errors
    /// A target that is not a column (naming the columns); the datasets service's errors.
    async fn shape(&self, data: &TrainingData) -> Result<DataShape, ModelsError> {
        let (rows, columns): (u64, Vec<(String, bool)>) = match &data.rows {
            Rows::Inline(frame) => (
                frame.rows() as u64,
                frame
                    .columns
                    .iter()
                    .map(|column| {
                        let numeric = matches!(column.data, mltools_core::ColumnData::Numeric(_));
                        (column.name.clone(), numeric)
                    })
                    .collect(),
            ),
            Rows::Stored => {
                let Some(datasets) = &self.inner.datasets else {
                    return Err(ModelsError::NoDatasets {
                        dataset: data.dataset,
                    });
                };
                let mut ctx = tarpc::context::current();
                ctx.deadline = std::time::Instant::now() + self.inner.config.utils_call_timeout();
                let described = datasets
                    .get(
                        ctx,
                        GetRequest {
                            version: Some(data.version),
                            limit: Some(0),
                            ..GetRequest::all(data.dataset)
                        },
                    )
                    .await
                    .map_err(|error| {
                        ModelsError::Upstream(ServiceError::from_rpc("datasets", error))
                    })?
                    .map_err(ModelsError::Upstream)?;
                let info = described.info;
                let columns = info
                    .schema
                    .columns
                    .iter()
                    .map(|column| {
                        let numeric = column.kind == mltools_core::frame::ColumnKind::Numeric;
                        (column.name.clone(), numeric)
                    })
                    .collect();
                (info.rows, columns)
            }
        };
        if !columns.iter().any(|(name, _)| *name == data.target) {
            return Err(ModelsError::NoTarget {
                target: data.target.clone(),
                columns: columns
                    .iter()
                    .map(|(name, _)| name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let features = columns.iter().filter(|(name, _)| *name != data.target);
        let (numeric, categorical) =
            features.fold(
                (0, 0),
                |(n, c), (_, numeric)| {
                    if *numeric { (n + 1, c) } else { (n, c + 1) }
                },
            );
        Ok(DataShape {
            rows,
            numeric,
            categorical,
        })
    }

    async fn run_job(self, id: JobId, pending: Pending, waiting: Waiting, control: Arc<CvControl>) {
        let jobs = &self.inner.jobs;
        // A queued job waits for a slot, then for its memory, or for its cancel, whichever
        // comes first: cancelled, it ends at once. It reads no row before.
        // Its place in the queue is held until both are had.
        let permit = tokio::select! {
            biased;
            () = control.token().cancelled() => None,
            permit = Arc::clone(&self.inner.running).acquire_owned() => permit.ok(),
        };
        let admitted = match permit {
            None => None,
            Some(_) => tokio::select! {
                biased;
                () = control.token().cancelled() => None,
                admitted = waiting.admitted() => admitted.ok(),
            },
        };
        let (Some(_admitted), Some(_permit)) = (admitted, permit) else {
            jobs.set(id, JobState::Cancelled);
            return;
        };
        jobs.set(id, JobState::Running);
        let started = std::time::Instant::now();
        let outcome = async {
            let plan = match pending {
                Pending::Planned(plan) => plan,
                Pending::Stored(mut request) => {
                    let frame = self.rows(&mut request.data).await?;
                    // Splitting the frame copies every column: off the runtime threads.
                    let plan = self
                        .run_blocking("plan", move |_| compare::plan(request, &frame))
                        .await?;
                    self.check_limits(&plan.candidates)?;
                    plan
                }
            };
            self.compare(plan, Arc::clone(&control)).await
        }
        .await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(board) => {
                let kept = board.best;
                tracing::info!(job = %id, elapsed_ms, best = ?kept, "comparison finished");
                if !jobs.set(id, JobState::Finished(Box::new(board)))
                    && let Some(model) = kept
                {
                    // Cancelled after the kept model was stored: nobody will learn its id.
                    self.discard(model).await;
                }
            }
            Err(ModelsError::Cancelled) => {
                jobs.set(id, JobState::Cancelled);
            }
            Err(error) => {
                tracing::warn!(job = %id, elapsed_ms, %error, "comparison failed");
                jobs.set(id, JobState::Failed(error.into()));
            }
        }
    }

    /// Deletes a model stored for a job that was cancelled meanwhile.
    async fn discard(&self, model: ModelId) {
        match self
            .run_blocking("discard", move |inner| inner.store.delete(model))
            .await
        {
            Ok(_) => tracing::info!(model = %model, "kept model discarded: its job was cancelled"),
            Err(error) => tracing::warn!(model = %model, %error, "cannot discard a kept model"),
        }
    }

    /// The rows of `data`: taken out of the request when inline, else read from the
    /// datasets service in pages (each within the `datasets_page_bytes` setting), the
    /// version pinned by the request.
    async fn rows(&self, data: &mut TrainingData) -> Result<Frame, ModelsError> {
        let stored = match std::mem::replace(&mut data.rows, Rows::Stored) {
            Rows::Inline(frame) => return Ok(frame),
            Rows::Stored => GetRequest {
                version: Some(data.version),
                ..GetRequest::all(data.dataset)
            },
        };
        let Some(datasets) = &self.inner.datasets else {
            return Err(ModelsError::NoDatasets {
                dataset: data.dataset,
            });
        };
        let started = std::time::Instant::now();
        let page = paging::read_all_within(datasets, stored, self.inner.config.datasets_page_bytes)
            .await
            .map_err(ModelsError::Upstream)?;
        tracing::debug!(
            dataset = %data.dataset,
            version = data.version,
            rows = page.info.rows,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stored rows read"
        );
        Ok(page.frame)
    }

    /// How this state calls utils, cancelled by `cancel`.
    fn utils_calls(&self, cancel: CancellationToken) -> UtilsCalls {
        UtilsCalls {
            client: self.inner.utils.clone(),
            timeout: self.inner.config.utils_call_timeout(),
            cancel,
        }
    }

    async fn compare(
        &self,
        plan: Plan,
        control: Arc<CvControl>,
    ) -> Result<Leaderboard, ModelsError> {
        let utils = self.utils_calls(control.token().clone());
        let folds = compare::folds(&utils, &plan).await?;
        let preprocess = UtilsPreprocess {
            utils: utils.clone(),
            runtime: tokio::runtime::Handle::current(),
            defaults: compare::default_pipelines(&utils, &plan.candidates).await?,
        };
        let (mut board, plan, preprocess) = self
            .run_blocking("compare", move |inner| {
                let request = CvRequest {
                    features: &plan.data.features,
                    targets: &plan.data.targets,
                    folds: &folds,
                    candidates: &plan.candidates,
                    metric: plan.metric,
                    seed: plan.seed,
                };
                let board = cross_validate(&request, &preprocess, &control, &inner.pool)?;
                Ok((board, plan, preprocess))
            })
            .await?;
        // The plan's own warnings first, then the board's (a metric left out, and why).
        board.warnings.splice(0..0, plan.warnings.iter().cloned());
        // Only a winner by the board's metric is kept: a top entry without it (every model
        // lacking it) has not won anything.
        if plan.keep_best
            && let Some(entry) = best(&board.entries, plan.metric)
        {
            let candidate = Candidate::new(entry.model.clone())?;
            let pipeline = preprocess.pipeline(&candidate);
            let metrics = entry.metrics.clone();
            let refit = Refit {
                candidate: &candidate,
                pipeline,
                seed: plan.seed,
                metrics,
            };
            let stored = self.fit_and_store(plan.data, refit, &utils, None).await?;
            board.best = Some(stored.id);
        }
        Ok(board)
    }

    /// Fits `refit.candidate` on every row through its pipeline, and stores it; gives up
    /// (storing nothing) once `utils.cancel` fires. `permit`, if any, is held until the
    /// fit itself ends, even when the caller stops waiting.
    async fn fit_and_store(
        &self,
        data: Prepared,
        refit: Refit<'_>,
        utils: &UtilsCalls,
        permit: Option<(crate::admission::Admitted, OwnedSemaphorePermit)>,
    ) -> Result<ModelInfo, ModelsError> {
        let Prepared {
            provenance,
            features,
            targets,
        } = data;
        // Each utils call takes the frame by value: the copy is made off the runtime.
        let (features, copy) = self
            .run_blocking("copy", move |_| {
                let copy = features.clone();
                Ok((features, copy))
            })
            .await?;
        let pipeline = refit.pipeline;
        let fitted_pipeline = utils
            .call("fit_pipeline", |client, ctx| async move {
                client.fit_pipeline(ctx, pipeline, copy).await
            })
            .await?;
        let for_transform = fitted_pipeline.clone();
        let matrix = utils
            .call("transform", |client, ctx| async move {
                client.transform(ctx, for_transform, features).await
            })
            .await?;
        let task = targets.task();
        let classes = match &targets {
            crate::task::Targets::Classification { classes, .. } => Some(classes.clone()),
            crate::task::Targets::Regression(_) => None,
        };
        let (estimator, seed) = (refit.candidate.estimator.clone(), refit.seed);
        let cancel = Cancel::new(utils.cancel.clone());
        let gauge = Arc::clone(&self.inner.gauge);
        let bytes = self
            .run_pooled("fit", move || {
                let _permit = permit;
                let _counted = gauge.enter();
                estimator
                    .fit_until(&matrix, &targets, seed, &cancel)?
                    .to_bytes()
            })
            .await?;
        let info = ModelInfo {
            id: ModelId(0),
            spec: refit.candidate.spec.clone(),
            task,
            dataset: provenance.dataset,
            version: provenance.version,
            target: provenance.target,
            classes,
            pipeline: fitted_pipeline,
            metrics: refit.metrics,
            created_at_ms: now_ms(),
        };
        let cancel = utils.cancel.clone();
        let stored = self
            .run_blocking("store", move |inner| {
                // A job cancelled during its refit keeps nothing (no orphan model).
                if cancel.is_cancelled() {
                    return Err(ModelsError::Cancelled);
                }
                inner.store.insert(&info, &bytes)
            })
            .await?;
        tracing::info!(model = %stored.id, algorithm = %stored.spec.algorithm, "model stored");
        Ok(stored)
    }

    /// A job's state and progress.
    ///
    /// # Errors
    /// [`ModelsError::UnknownJob`].
    pub fn status(&self, job: JobId) -> Result<JobStatus, ModelsError> {
        self.inner.jobs.status(job)
    }

    /// Waits up to `timeout` for a job to end; its status either way.
    ///
    /// # Errors
    /// [`ModelsError::UnknownJob`].
    ///
    /// # Cancel safety
    /// Safe: dropping the future only stops waiting; the job goes on.
    pub async fn wait(&self, job: JobId, timeout: Duration) -> Result<JobStatus, ModelsError> {
        let mut changes = self.inner.jobs.watch(job)?;
        // A closed channel means the job was forgotten; the status call below says so.
        let _ = tokio::time::timeout(timeout, changes.wait_for(ended)).await;
        self.inner.jobs.status(job)
    }

    /// Cancels a job: it ends as cancelled at once. A queued job's task ends at once; a
    /// running one abandons its utils calls, its fits already running stop at their next
    /// look at the cancel, no further fit starts, and a best model being refitted is not
    /// kept.
    ///
    /// # Errors
    /// [`ModelsError::UnknownJob`].
    pub fn cancel(&self, job: JobId) -> Result<JobStatus, ModelsError> {
        self.inner.jobs.cancel(job)
    }

    /// Fits one model on every row and stores it. At most `max_running_fits` run at once;
    /// the fit itself runs on the fit threads.
    ///
    /// # Errors
    /// [`ModelsError::Overloaded`], with a retry-after hint, when `max_queued` requests
    /// wait for memory already (a fit waits, within its deadline, for its memory and for
    /// one of `max_running_fits`); [`ModelsError::OverLimit`] for an estimated memory over
    /// the whole budget; bad input
    /// (target, model spec); [`ModelsError::OverLimit`] for a parameter above its cap; the utils service's errors, [`ModelsError::UtilsTimeout`]; a
    /// fit failure.
    ///
    /// # Cancel safety
    /// Dropping the future stops the preprocessing and cancels a fit already on the fit
    /// threads, which stops at its next look at the cancel (holding its slot until then);
    /// nothing is stored.
    #[tracing::instrument(skip_all, fields(dataset = %request.data.dataset, algorithm = %request.model.algorithm))]
    pub async fn fit(&self, request: FitRequest) -> Result<ModelInfo, ModelsError> {
        // A parameter over its cap is named as such, before its memory is estimated.
        self.check_limits(&[Candidate::new(request.model.clone())?])?;
        let shape = self.shape(&request.data).await?;
        let bytes = estimate(shape, std::slice::from_ref(&request.model), 1, 1);
        // The place in the queue is held until both a fit slot and the memory are had.
        let waiting = self.inner.admission.enqueue("this fit", bytes)?;
        let permit = Arc::clone(&self.inner.fits)
            .acquire_owned()
            .await
            .map_err(|_| ModelsError::Cancelled)?;
        let permit = (waiting.admitted().await?, permit);
        let mut request = request;
        let frame = self.rows(&mut request.data).await?;
        // Splitting the frame copies every column: off the runtime threads.
        let (data, candidate) = self
            .run_blocking("prepare", move |_| {
                let data = compare::prepare(request.data, &frame)?;
                let candidate = compare::candidate(data.targets.task(), request.model)?;
                Ok((data, candidate))
            })
            .await?;
        self.check_limits(std::slice::from_ref(&candidate))?;
        let cancel = CancellationToken::new();
        // This call dropped (its deadline passed, its client went away): the fit on the fit
        // threads is cancelled too, and lets go of its thread and its slot.
        let _cancel_on_drop = cancel.clone().drop_guard();
        let utils = self.utils_calls(cancel);
        let defaults = compare::default_pipelines(&utils, std::slice::from_ref(&candidate)).await?;
        let refit = Refit {
            candidate: &candidate,
            pipeline: compare::pipeline_for(&candidate, &defaults),
            seed: request.seed,
            metrics: BTreeMap::new(),
        };
        self.fit_and_store(data, refit, &utils, Some(permit)).await
    }

    /// Predicts `rows` with a stored model: its pipeline's columns are taken from the rows
    /// by name (others, the target say, are ignored). The model runs on the fit threads.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; [`ModelsError::MissingColumns`] naming what the rows
    /// lack; the utils service's errors (a category unseen at fit time, say).
    #[tracing::instrument(skip_all, fields(model = %model, rows = rows.rows()))]
    pub async fn predict(&self, model: ModelId, rows: Frame) -> Result<Predictions, ModelsError> {
        let (info, bytes) = self
            .run_blocking("predict", move |inner| inner.store.get(model))
            .await?;
        let rows = pipeline_columns(&info, rows)?;
        let pipeline = info.pipeline.clone();
        let matrix = self
            .utils_calls(CancellationToken::new())
            .call("transform", |client, ctx| async move {
                client.transform(ctx, pipeline, rows).await
            })
            .await?;
        let cancel = CancellationToken::new();
        // This call dropped (its deadline passed): a long prediction (k-NN) stops too.
        let _cancel_on_drop = cancel.clone().drop_guard();
        let cancel = Cancel::new(cancel);
        let prediction = self
            .run_pooled("predict", move || {
                FittedModel::from_stored(&bytes)?.predict_until(&matrix, &cancel)
            })
            .await?;
        let values = match prediction {
            Prediction::Regression(values) => values,
            Prediction::Classification(classes) => {
                classes.labels.iter().map(|&c| f64::from(c)).collect()
            }
        };
        Ok(Predictions {
            model,
            values,
            classes: info.classes,
        })
    }

    /// Every stored model.
    ///
    /// # Errors
    /// A database failure.
    pub async fn list(&self) -> Result<Vec<ModelInfo>, ModelsError> {
        self.run_blocking("list", |inner| inner.store.list()).await
    }

    /// One stored model.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; a database failure.
    pub async fn get(&self, model: ModelId) -> Result<ModelInfo, ModelsError> {
        self.run_blocking("get", move |inner| inner.store.info(model))
            .await
    }

    /// Deletes a stored model.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; a database failure.
    pub async fn delete(&self, model: ModelId) -> Result<ModelInfo, ModelsError> {
        self.run_blocking("delete", move |inner| inner.store.delete(model))
            .await
    }

    /// A stored model as a self-contained file.
    ///
    /// # Errors
    /// [`ModelsError::UnknownModel`]; a database failure.
    pub async fn export(&self, model: ModelId) -> Result<ModelFile, ModelsError> {
        self.run_blocking("export", move |inner| {
            let (info, bytes) = inner.store.get(model)?;
            registry::export(&info, &bytes)
        })
        .await
    }

    /// Stores a model from an exported file, under a new id.
    ///
    /// # Errors
    /// [`ModelsError::BadFile`]; a database failure.
    pub async fn import(&self, file: ModelFile) -> Result<ModelInfo, ModelsError> {
        self.run_blocking("import", move |inner| {
            let (info, bytes) = registry::import(&file)?;
            inner.store.insert(&info, &bytes)
        })
        .await
    }

    /// Refuses candidates that ask more than this node's caps (`[models]` `max_trees`,
    /// `max_leaf_nodes`, `max_iterations`, `max_kernel_cache_mb`,
    /// `max_models_per_comparison`), before anything is fitted.
    fn check_limits(&self, candidates: &[Candidate]) -> Result<(), ModelsError> {
        let config = &self.inner.config;
        if candidates.len() > config.max_models_per_comparison {
            return Err(ModelsError::OverLimit {
                subject: "the comparison's model count".to_owned(),
                value: candidates.len().to_string(),
                cap: config.max_models_per_comparison.to_string(),
                setting: "max_models_per_comparison",
            });
        }
        let limits = config.fit_limits();
        candidates
            .iter()
            .try_for_each(|candidate| candidate.estimator.check_limits(&limits))
    }

    /// Job tasks alive: queued, running, or finishing after a cancel (a cancelled job's
    /// fits in flight finish first). It drops as each job's task ends and lets go of its
    /// copy of the data.
    pub fn job_tasks(&self) -> usize {
        self.inner.tracker.len()
    }

    /// Cancels every job, stops accepting new ones and waits for the running ones to end
    /// (their fits in flight finish first).
    pub async fn shutdown(&self) {
        self.inner.jobs.cancel_all();
        self.inner.admission.close();
        self.inner.running.close();
        self.inner.fits.close();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
    }

    /// Runs CPU work (a fit, a prediction) on the bounded fit pool inside the caller's span,
    /// turning a panic into [`ModelsError::Panicked`]. No thread waits for it: the result
    /// comes back on a oneshot.
    ///
    /// # Cancel safety
    /// Dropping the future stops waiting; the work runs to its end on the pool.
    async fn run_pooled<T, F>(&self, operation: &'static str, work: F) -> Result<T, ModelsError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, ModelsError> + Send + 'static,
    {
        let span = tracing::Span::current();
        let (sender, receiver) = oneshot::channel();
        self.inner.pool.spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| span.in_scope(work)));
            // The caller may have stopped waiting: then nobody needs the result.
            let _ = sender.send(outcome);
        });
        let result = match receiver.await {
            Ok(Ok(result)) => result,
            Ok(Err(payload)) => Err(panicked(operation, payload.as_ref())),
            // The pool dropped the work unrun: it is shutting down.
            Err(_) => Err(ModelsError::Cancelled),
        };
        // An internal failure is logged once, under its incident number, where it becomes
        // the caller's answer (`From<ModelsError> for ServiceError`).
        result
    }

    /// Runs blocking work on tokio's blocking pool inside the caller's span, turning a
    /// panic into [`ModelsError::Panicked`].
    async fn run_blocking<T, F>(&self, operation: &'static str, work: F) -> Result<T, ModelsError>
    where
        T: Send + 'static,
        F: FnOnce(&Inner) -> Result<T, ModelsError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || span.in_scope(|| work(&inner))).await;
        let result = joined.unwrap_or_else(|error| {
            if !error.is_panic() {
                return Err(ModelsError::Cancelled);
            }
            Err(panicked(operation, error.into_panic().as_ref()))
        });
        // An internal failure is logged once, under its incident number, where it becomes
        // the caller's answer (`From<ModelsError> for ServiceError`).
        result
    }
}

/// A submitted comparison, as its job finds it: planned already (its rows came inline),
/// or still to read its stored rows and plan.
enum Pending {
    Planned(Plan),
    Stored(CompareRequest),
}

/// What to fit on every row and store.
struct Refit<'a> {
    candidate: &'a Candidate,
    pipeline: PipelineSpec,
    seed: u64,
    /// The cross-validated metrics, when the model won a comparison.
    metrics: BTreeMap<String, MetricValue>,
}

/// The columns a model's pipeline takes, by name, in its order.
fn pipeline_columns(info: &ModelInfo, rows: Frame) -> Result<Frame, ModelsError> {
    let expected = &info.pipeline.input_columns;
    let missing: Vec<&str> = expected
        .iter()
        .filter(|column| rows.column(&column.name).is_none())
        .map(|column| column.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(ModelsError::MissingColumns {
            missing: missing.join(", "),
            expected: expected
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let mut columns = rows.columns;
    let picked = expected
        .iter()
        .filter_map(|wanted| {
            let index = columns
                .iter()
                .position(|column| column.name == wanted.name)?;
            Some(columns.swap_remove(index))
        })
        .collect();
    Ok(Frame { columns: picked })
}

mod units;
