//! What a comparison or a fit needs from the request and from the utils service: the
//! checked plan, the folds, the default pipelines, and the preprocessing of each fold
//! through the utils interface.

use crate::algorithms::AlgorithmId;
use crate::cv::{Candidate, Preprocess, check_fold_count};
use crate::error::ModelsError;
use crate::metrics::Metric;
use crate::task::{Targets, split_target};
use mltools_core::models::{CompareRequest, ModelSpec, ParamValue, Task, TrainingData};
use mltools_core::utils::{AlgorithmFamily, Fold, Matrix, PipelineSpec, SplitKind, SplitRequest};
use mltools_core::{DatasetId, Frame, RpcResultExt, ServiceError};
use mltools_transport::UtilsClient;
use std::collections::BTreeMap;
use std::collections::HashMap;
use tarpc::context;

/// Where the training rows came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Provenance {
    pub(crate) dataset: DatasetId,
    pub(crate) version: u32,
    pub(crate) target: String,
}

/// Training data split into features and targets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Prepared {
    pub(crate) provenance: Provenance,
    pub(crate) features: Frame,
    pub(crate) targets: Targets,
}

/// Splits the request's frame at its target (inferring the task when not given).
///
/// # Errors
/// The target errors of [`split_target`].
pub(crate) fn prepare(data: TrainingData) -> Result<Prepared, ModelsError> {
    let (features, targets) = split_target(&data.frame, &data.target, data.task)?;
    Ok(Prepared {
        provenance: Provenance {
            dataset: data.dataset,
            version: data.version,
            target: data.target,
        },
        features,
        targets,
    })
}

/// A comparison, checked before it becomes a job.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) data: Prepared,
    pub(crate) candidates: Vec<Candidate>,
    pub(crate) metric: Metric,
    pub(crate) folds: usize,
    pub(crate) seed: u64,
    pub(crate) keep_best: bool,
}

/// Checks a comparison request: the target, the metric, the models, the fold count.
///
/// # Errors
/// Every bad input the request can carry, as a typed error naming the culprit.
pub(crate) fn plan(request: CompareRequest) -> Result<Plan, ModelsError> {
    let data = prepare(request.data)?;
    let task = data.targets.task();
    let metric = match &request.metric {
        Some(name) => Metric::parse(name, task)?,
        None => Metric::default_for(task),
    };
    check_fold_count(data.targets.len(), request.folds)?;
    let candidates = with_overrides(candidates(task, request.models)?, request.overrides)?;
    Ok(Plan {
        data,
        candidates,
        metric,
        folds: request.folds,
        seed: request.seed,
        keep_best: request.keep_best,
    })
}

/// The candidates for `task`: the specs given (each of that task), or every algorithm of
/// the task with its defaults.
///
/// # Errors
/// An unknown algorithm or parameter, a bad value, or an algorithm of the other task.
pub(crate) fn candidates(task: Task, specs: Vec<ModelSpec>) -> Result<Vec<Candidate>, ModelsError> {
    if specs.is_empty() {
        return Ok(AlgorithmId::of_task(task)
            .map(Candidate::defaults)
            .collect());
    }
    specs
        .into_iter()
        .map(|spec| candidate(task, spec))
        .collect()
}

/// The candidates with `overrides` (parameters by algorithm id) merged into their specs and
/// checked again.
///
/// # Errors
/// An override for an algorithm that is not a candidate (naming the candidates), or a bad
/// parameter.
pub(crate) fn with_overrides(
    candidates: Vec<Candidate>,
    overrides: BTreeMap<String, BTreeMap<String, ParamValue>>,
) -> Result<Vec<Candidate>, ModelsError> {
    if let Some(stray) = overrides
        .keys()
        .find(|id| !candidates.iter().any(|c| &c.spec.algorithm == *id))
    {
        let names: Vec<&str> = candidates
            .iter()
            .map(|c| c.spec.algorithm.as_str())
            .collect();
        return Err(ModelsError::NoModels {
            reason: format!(
                "parameters are set for `{stray}`, which is not among the candidates ({})",
                names.join(", ")
            ),
        });
    }
    candidates
        .into_iter()
        .map(|candidate| match overrides.get(&candidate.spec.algorithm) {
            None => Ok(candidate),
            Some(params) => {
                let mut spec = candidate.spec;
                spec.params.extend(params.clone());
                Candidate::new(spec)
            }
        })
        .collect()
}

/// The candidate a spec names, checked to be for `task`.
///
/// # Errors
/// An unknown algorithm or parameter, a bad value, or an algorithm of the other task.
pub(crate) fn candidate(task: Task, spec: ModelSpec) -> Result<Candidate, ModelsError> {
    let candidate = Candidate::new(spec)?;
    let id = candidate.estimator.id();
    if id.task() != task {
        return Err(ModelsError::WrongTask {
            algorithm: id.as_str(),
            algorithm_task: id.task(),
            task,
        });
    }
    Ok(candidate)
}

fn upstream(error: ServiceError) -> ModelsError {
    ModelsError::Upstream(error)
}

/// The folds, from the utils service: seeded, stratified for classification.
///
/// # Errors
/// What the utils service answers.
pub(crate) async fn folds(utils: &UtilsClient, plan: &Plan) -> Result<Vec<Fold>, ModelsError> {
    let stratify = match &plan.data.targets {
        Targets::Classification { codes, .. } => Some(codes.clone()),
        Targets::Regression(_) => None,
    };
    let request = SplitRequest {
        rows: plan.data.targets.len(),
        kind: SplitKind::KFold { k: plan.folds },
        seed: plan.seed,
        stratify,
    };
    utils
        .split(context::current(), request)
        .await
        .into_service("utils")
        .map_err(upstream)
}

/// The default pipeline of every family among `candidates` that names none.
///
/// # Errors
/// What the utils service answers.
pub(crate) async fn default_pipelines(
    utils: &UtilsClient,
    candidates: &[Candidate],
) -> Result<HashMap<AlgorithmFamily, PipelineSpec>, ModelsError> {
    let mut pipelines = HashMap::new();
    for candidate in candidates.iter().filter(|c| c.spec.pipeline.is_none()) {
        let family = candidate.family();
        if let std::collections::hash_map::Entry::Vacant(slot) = pipelines.entry(family) {
            let spec = utils
                .default_pipeline(context::current(), family)
                .await
                .into_service("utils")
                .map_err(upstream)?;
            slot.insert(spec);
        }
    }
    Ok(pipelines)
}

/// Preprocessing through the utils interface: fit the candidate's pipeline on the training
/// rows, transform both sets. Called on fit threads (never on the runtime), it blocks on
/// the calls through the runtime's handle.
pub(crate) struct UtilsPreprocess {
    pub(crate) utils: UtilsClient,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) defaults: HashMap<AlgorithmFamily, PipelineSpec>,
}

impl UtilsPreprocess {
    /// The pipeline spec for `candidate`: its own, or its family's default.
    pub(crate) fn pipeline(&self, candidate: &Candidate) -> PipelineSpec {
        candidate
            .spec
            .pipeline
            .clone()
            .or_else(|| self.defaults.get(&candidate.family()).cloned())
            .unwrap_or_default()
    }
}

impl Preprocess for UtilsPreprocess {
    fn prepare(
        &self,
        candidate: &Candidate,
        train: &Frame,
        test: &Frame,
    ) -> Result<(Matrix, Matrix), String> {
        let spec = self.pipeline(candidate);
        let utils = &self.utils;
        self.runtime
            .block_on(async {
                let ctx = context::current();
                let fitted = utils
                    .fit_pipeline(ctx, spec, train.clone())
                    .await
                    .into_service("utils")?;
                let train = utils
                    .transform(ctx, fitted.clone(), train.clone())
                    .await
                    .into_service("utils")?;
                let test = utils
                    .transform(ctx, fitted, test.clone())
                    .await
                    .into_service("utils")?;
                Ok((train, test))
            })
            .map_err(|error: ServiceError| error.to_string())
    }
}
