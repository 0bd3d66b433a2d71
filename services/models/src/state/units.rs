//! [`ModelsState::plan`], [`ModelsState::evaluate`] and [`ModelsState::assemble`]: a
//! comparison spread over several nodes, the async shell around [`crate::units`].

use super::ModelsState;
use crate::admission::estimate;
use crate::algorithms::Cancel;
use crate::compare::{self, UtilsPreprocess};
use crate::cv::{self, Candidate};
use crate::error::ModelsError;
use crate::units::{self, shape_of};
use mltools_core::models::{
    ComparePlan, CompareRequest, Leaderboard, ModelSpec, Rows, TrainingData, UnitResult, WorkUnit,
};
use mltools_core::{DatasetId, Frame};
use std::sync::Arc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

impl ModelsState {
    /// Checks a comparison and plans it as work units for any node: reads the rows (a
    /// stored dataset's through datasets, kept in the frame cache for this node's units),
    /// checks the target, task, metric and fold count, resolves the candidates (the
    /// defaults for the task and rows, overrides merged), leaves out the unusable columns
    /// (with warnings), and has utils make the seeded folds. Nothing is fitted.
    ///
    /// The plan of inline rows carries them, and so does each of its units; a stored
    /// dataset's plan names the version, and each node reads it once.
    ///
    /// # Errors
    /// The errors [`ModelsState::submit`]'s job gives for the same request: a bad model,
    /// parameter, metric, target or fold count, a cap of this node, an unknown dataset;
    /// the utils service's errors.
    ///
    /// # Cancel safety
    /// Dropping the future drops the reads and the utils call; nothing is left behind but
    /// the cached frame.
    #[tracing::instrument(skip_all, fields(dataset = %request.data.dataset, folds = request.folds))]
    pub async fn plan(&self, mut request: CompareRequest) -> Result<ComparePlan, ModelsError> {
        let explicit = request
            .models
            .iter()
            .cloned()
            .map(Candidate::new)
            .collect::<Result<Vec<_>, _>>()?;
        self.check_limits(&explicit)?;
        cv::check_fold_count(usize::MAX, request.folds)?;
        let stored = matches!(request.data.rows, Rows::Stored);
        let frame = self.unit_frame(&mut request.data).await?;
        let (dataset, version, target) = (
            request.data.dataset,
            request.data.version,
            request.data.target.clone(),
        );
        let for_plan = Arc::clone(&frame);
        let plan = self
            .run_blocking("plan", move |_| compare::plan(request, &for_plan))
            .await?;
        self.check_limits(&plan.candidates)?;
        let cancel = CancellationToken::new();
        let _cancel_on_drop = cancel.clone().drop_guard();
        let utils = self.utils_calls(cancel);
        let folds = compare::folds(&utils, &plan).await?;
        let defaults = compare::default_pipelines(&utils, &plan.candidates).await?;
        let groups = compare::pipeline_groups(&plan.candidates, &defaults);
        let rows = plan.data.targets.len();
        let test_fold = self
            .run_blocking("folds", move |_| units::test_fold(&folds, rows))
            .await?;
        let resolved = plan.data.targets.task();
        let source = if stored {
            Rows::Stored
        } else {
            Rows::Inline(Arc::unwrap_or_clone(frame))
        };
        Ok(ComparePlan {
            data: TrainingData {
                dataset,
                version,
                rows: source,
                target,
                task: Some(resolved),
            },
            rows: rows as u64,
            classes: units::classes(&plan.data.targets),
            features: plan.data.features.names().map(str::to_owned).collect(),
            candidates: plan.candidates.into_iter().map(|c| c.spec).collect(),
            groups,
            folds: plan.folds,
            test_fold,
            metric: plan.metric.as_str().to_owned(),
            higher_is_better: plan.metric.higher_is_better(),
            seed: plan.seed,
            keep_best: plan.keep_best,
            warnings: plan.warnings,
        })
    }

    /// Fits and scores the candidates of one work unit (a group of a plan on one fold),
    /// exactly as a comparison on one node does: the fold prepared through utils once per
    /// distinct pipeline (a candidate's own, or its family's default), then each candidate
    /// in turn with the unit's seed, scored by every metric of the task with the test
    /// rows' predictions. The unit passes admission as a fit does (the memory estimate of
    /// its hungriest candidate, then one of `max_running_fits`) before it reads a row; a
    /// stored dataset's rows come from the frame cache, read once per node.
    ///
    /// A model's own failure (bad parameters for this data, a solver error, a panic, a
    /// pipeline that does not suit the rows) is inside its result, as its leaderboard row
    /// shows it.
    ///
    /// # Errors
    /// What stops this node doing the work, for the caller to retry elsewhere:
    /// [`ModelsError::Overloaded`], [`ModelsError::Cancelled`], the datasets or utils
    /// service unavailable or past its deadline, an unknown dataset; and a unit that does
    /// not fit its data (no candidates or more than `max_models_per_comparison`, a bad
    /// spec, a cap of this node, a fold past the rows, a missing column), which no node
    /// would do better.
    ///
    /// # Cancel safety
    /// Dropping the future (the call's deadline, the client gone) cancels the unit: the
    /// preprocessing stops, and a fit already on the fit threads stops at its next look at
    /// the cancel (holding its slot and memory until then).
    #[tracing::instrument(skip_all, fields(dataset = %unit.data.dataset, models = unit.candidates.len(), fold = unit.fold))]
    pub async fn evaluate(&self, mut unit: WorkUnit) -> Result<Vec<UnitResult>, ModelsError> {
        if unit.candidates.is_empty() {
            return Err(ModelsError::NoModels {
                reason: "the work unit names no candidate".to_owned(),
            });
        }
        // Counted and checked for repeats before any spec is read.
        let cap = self.inner.config.max_models_per_comparison;
        if unit.candidates.len() > cap {
            return Err(ModelsError::OverLimit {
                subject: "the work unit's model count".to_owned(),
                value: unit.candidates.len().to_string(),
                cap: cap.to_string(),
                setting: "max_models_per_comparison",
            });
        }
        let mut positions: Vec<usize> = unit.candidates.iter().map(|c| c.candidate).collect();
        positions.sort_unstable();
        if let Some(pair) = positions.windows(2).find(|pair| pair[0] == pair[1]) {
            return Err(ModelsError::BadUnits {
                reason: format!("candidate {} appears twice in one unit", pair[0]),
            });
        }
        let candidates = unit
            .candidates
            .iter()
            .map(|c| Candidate::new(c.model.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        self.check_limits(&candidates)?;
        let key = (unit.data.dataset, unit.data.version);
        let shape = match (&unit.data.rows, self.inner.frames.peek(key)) {
            (Rows::Inline(frame), _) => shape_of(frame, &unit.data.target),
            (Rows::Stored, Some(frame)) => shape_of(&frame, &unit.data.target),
            (Rows::Stored, None) => self.shape(&unit.data).await?,
        };
        // Its candidates fit one after another: the hungriest counts.
        let specs: Vec<ModelSpec> = unit.candidates.iter().map(|c| c.model.clone()).collect();
        let bytes = estimate(shape, &specs, 1, 1);
        // The place in the queue is held until both a fit slot and the memory are had.
        let waiting = self.inner.admission.enqueue("this work unit", bytes)?;
        let permit = Arc::clone(&self.inner.fits)
            .acquire_owned()
            .await
            .map_err(|_| ModelsError::Cancelled)?;
        let permits = (waiting.admitted().await?, permit);
        let frame = self.unit_frame(&mut unit.data).await?;
        let cancel = CancellationToken::new();
        // This call dropped: the preprocessing and the fit stop too.
        let _cancel_on_drop = cancel.clone().drop_guard();
        let utils = self.utils_calls(cancel.clone());
        let defaults = compare::default_pipelines(&utils, &candidates).await?;
        let preprocess = UtilsPreprocess {
            utils,
            runtime: tokio::runtime::Handle::current(),
            defaults,
        };
        let gauge = Arc::clone(&self.inner.gauge);
        let fold = unit.fold;
        let positions: Vec<usize> = unit.candidates.iter().map(|c| c.candidate).collect();
        let scored = self
            .run_pooled("evaluate", move || {
                let _permits = permits;
                let data =
                    units::fold_data(&frame, &unit.data, &unit.features, &unit.test_fold, fold)?;
                drop(frame);
                let _counted = gauge.enter();
                let cancel = Cancel::new(cancel);
                cv::evaluate_fold(
                    unit.seed,
                    &preprocess,
                    &candidates,
                    &data,
                    &cancel,
                    units::is_node_trouble,
                )
            })
            .await?;
        positions
            .into_iter()
            .zip(scored)
            .map(|(candidate, scored)| {
                Ok(UnitResult {
                    candidate,
                    fold,
                    outcome: units::outcome(scored)?,
                })
            })
            .collect()
    }

    /// The leaderboard of `plan` from its units' results, in any order: the same board,
    /// bit for bit, as [`ModelsState::submit`] gives on one node for the plan's request
    /// (timings aside), without a kept model. Pure and quick, off the runtime threads.
    ///
    /// # Errors
    /// [`ModelsError::BadUnits`] naming a (candidate, fold) missing, given twice, not in
    /// the plan, or with predictions that do not fit its fold; a plan that is not one.
    pub async fn assemble(
        &self,
        plan: ComparePlan,
        results: Vec<UnitResult>,
    ) -> Result<Leaderboard, ModelsError> {
        self.run_blocking("assemble", move |_| units::assemble(&plan, results))
            .await
    }

    /// The (dataset, version) of every frame the unit cache holds, least recently used
    /// first: at most 2, each dropped after a minute unused (at the next unit or plan).
    pub fn cached_frames(&self) -> Vec<(DatasetId, u32)> {
        self.inner.frames.keys()
    }

    /// The rows of `data` for a plan or a unit: taken out of the request when inline, else
    /// from the frame cache, read once (units asking together share the read).
    async fn unit_frame(&self, data: &mut TrainingData) -> Result<Arc<Frame>, ModelsError> {
        if let Rows::Inline(_) = &data.rows {
            return self.rows(data).await.map(Arc::new);
        }
        let key = (data.dataset, data.version);
        let slot = self.inner.frames.slot(key, Instant::now());
        let read = slot
            .get_or_try_init(|| async {
                let mut data = data.clone();
                self.rows(&mut data).await.map(Arc::new)
            })
            .await;
        match read {
            Ok(frame) => Ok(Arc::clone(frame)),
            Err(error) => {
                self.inner.frames.forget_unread(key);
                Err(error)
            }
        }
    }
}
