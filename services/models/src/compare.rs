//! What a comparison or a fit needs from the request and from the utils service: the
//! checked plan, the folds, the default pipelines, and the preprocessing of each fold
//! through the utils interface.

use crate::algorithms::AlgorithmId;
use crate::cv::{Candidate, Preprocess, check_fold_count};
use crate::error::ModelsError;
use crate::metrics::{Metric, check_defined};
use crate::task::{Targets, split_target};
use mltools_core::models::{CompareRequest, ModelSpec, ParamValue, Task, TrainingData};
use mltools_core::utils::{AlgorithmFamily, Fold, Matrix, PipelineSpec, SplitKind, SplitRequest};
use mltools_core::{Column, ColumnData, DatasetId, ErrorKind, Frame, MISSING_CODE, ServiceError};
use mltools_transport::UtilsClient;
use std::collections::BTreeMap;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use tarpc::client::RpcError;
use tarpc::context;
use tokio_util::sync::CancellationToken;

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

/// Splits `frame`, the rows of `data` (its [`Rows`](mltools_core::models::Rows) already
/// resolved), at its target, inferring the task when not given.
///
/// # Errors
/// The target errors of [`split_target`].
pub(crate) fn prepare(data: TrainingData, frame: &Frame) -> Result<Prepared, ModelsError> {
    let (features, targets) = split_target(frame, &data.target, data.task)?;
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
    /// The comparison's own warnings, for its leaderboard: the columns left out of the
    /// features, and why.
    pub(crate) warnings: Vec<String>,
}

/// Checks a comparison request whose rows are `frame`: the target, the metric, the models,
/// the fold count.
///
/// # Errors
/// Every bad input the request can carry, as a typed error naming the culprit.
pub(crate) fn plan(request: CompareRequest, frame: &Frame) -> Result<Plan, ModelsError> {
    let mut data = prepare(request.data, frame)?;
    let (features, warnings) =
        leave_out_unusable(std::mem::take(&mut data.features), &data.provenance.target)?;
    data.features = features;
    let task = data.targets.task();
    let metric = match &request.metric {
        Some(name) => Metric::parse(name, task)?,
        None => Metric::default_for(task),
    };
    check_defined(
        metric,
        &data.targets,
        &format!("target `{}`", data.provenance.target),
    )?;
    check_fold_count(data.targets.len(), request.folds)?;
    let (candidates, left_out) = if request.models.is_empty() {
        default_candidates(task, data.targets.len(), &request.overrides)
    } else {
        (candidates(task, request.models)?, Vec::new())
    };
    let mut warnings = warnings;
    warnings.extend(left_out);
    let candidates = with_overrides(candidates, request.overrides)?;
    Ok(Plan {
        data,
        candidates,
        metric,
        folds: request.folds,
        seed: request.seed,
        keep_best: request.keep_best,
        warnings,
    })
}

/// A categorical column with at least this many rows is an identifier when nearly every row
/// has its own label ([`IDENTIFIER_SHARE`]).
pub(crate) const IDENTIFIER_MIN_ROWS: usize = 20;

/// The share of distinct labels, per row, from which a categorical column of at least
/// [`IDENTIFIER_MIN_ROWS`] rows is an identifier: 0.9.
const IDENTIFIER_SHARE: (usize, usize) = (9, 10);

/// A categorical column of at least this many rows with a different label in every row is an
/// identifier however few rows there are below [`IDENTIFIER_MIN_ROWS`].
const ALL_DISTINCT_MIN_ROWS: usize = 10;

/// `features` without the columns no model can learn from, and a warning naming each: a
/// categorical column that looks like an identifier (nearly a label per row: a customer id,
/// free text), which would only be memorised, and a column without a single value, which
/// every imputer refuses. The target is not among `features`, so it is never left out.
///
/// # Errors
/// [`ModelsError::NoUsableFeatures`] when every feature column is left out.
pub(crate) fn leave_out_unusable(
    features: Frame,
    target: &str,
) -> Result<(Frame, Vec<String>), ModelsError> {
    let rows = features.rows();
    let mut kept = Vec::with_capacity(features.columns.len());
    let mut warnings = Vec::new();
    for column in features.columns {
        match unusable(&column, rows) {
            None => kept.push(column),
            Some(why) => warnings.push(format!(
                "column `{}` {why}: left out of the features",
                column.name
            )),
        }
    }
    if kept.is_empty() {
        return Err(ModelsError::NoUsableFeatures {
            target: target.to_owned(),
            left_out: warnings.join("; "),
        });
    }
    Ok((Frame { columns: kept }, warnings))
}

/// Why `column` cannot be a feature, or `None` when it can.
fn unusable(column: &Column, rows: usize) -> Option<String> {
    match &column.data {
        ColumnData::Numeric(values) => values
            .iter()
            .all(|value| value.is_nan())
            .then(|| "has no values".to_owned()),
        ColumnData::Categorical { codes, categories } => {
            if codes.iter().all(|&code| code == MISSING_CODE) {
                return Some("has no values".to_owned());
            }
            let distinct = distinct_labels(codes, categories);
            let (share, of) = IDENTIFIER_SHARE;
            let identifier = (rows >= IDENTIFIER_MIN_ROWS && distinct * of >= rows * share)
                || (rows >= ALL_DISTINCT_MIN_ROWS && distinct == rows);
            identifier.then(|| {
                format!(
                    "looks like an identifier ({} distinct values in {} rows)",
                    thousands(distinct),
                    thousands(rows)
                )
            })
        }
    }
}

/// The number of distinct labels among the present values (a frame may list a label under
/// two codes; a code past the list counts as nothing).
fn distinct_labels(codes: &[u32], categories: &[String]) -> usize {
    let mut used = vec![false; categories.len()];
    for &code in codes {
        if let Some(slot) = used.get_mut(code as usize) {
            *slot = true;
        }
    }
    categories
        .iter()
        .zip(used)
        .filter(|(_, used)| *used)
        .map(|(label, _)| label.as_str())
        .collect::<HashSet<&str>>()
        .len()
}

/// `n` with a comma between thousands: `9,998`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
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

/// The most rows a default comparison fits `algorithm` on, for the algorithms whose cost
/// outgrows the others' on large data: kernel SVMs (time grows with the square of the rows,
/// and probabilities fit five more machines), k-NN (every held-out row is compared with
/// every training row) and the forests built by smartcore (a hundred unpruned trees per
/// fold). Above it the default candidates leave it out, with a warning; a comparison that
/// names it, or sets one of its parameters, runs it whatever the rows.
pub(crate) fn default_row_limit(algorithm: AlgorithmId) -> Option<usize> {
    match algorithm {
        AlgorithmId::Svc | AlgorithmId::Svr => Some(20_000),
        AlgorithmId::KnnClassifier | AlgorithmId::KnnRegressor => Some(KNN_DEFAULT_MAX_ROWS),
        AlgorithmId::RandomForestClassifier
        | AlgorithmId::RandomForestRegressor
        | AlgorithmId::ExtraTreesRegressor => Some(FOREST_DEFAULT_MAX_ROWS),
        _ => None,
    }
}

/// See [`default_row_limit`].
const KNN_DEFAULT_MAX_ROWS: usize = 100_000;

/// See [`default_row_limit`].
const FOREST_DEFAULT_MAX_ROWS: usize = 50_000;

/// Every algorithm of `task` with its defaults, but those whose [`default_row_limit`] is
/// below `rows` (unless `overrides` sets one of their parameters), and a warning naming each
/// one left out.
pub(crate) fn default_candidates(
    task: Task,
    rows: usize,
    overrides: &BTreeMap<String, BTreeMap<String, ParamValue>>,
) -> (Vec<Candidate>, Vec<String>) {
    let mut warnings = Vec::new();
    let candidates = AlgorithmId::of_task(task)
        .filter(|&algorithm| match default_row_limit(algorithm) {
            Some(limit) if rows > limit && !overrides.contains_key(algorithm.as_str()) => {
                warnings.push(format!(
                    "{algorithm} left out of the default candidates: {} rows is more than the \
                     {} it is compared on by default (it would take far longer than the \
                     others); name it with the models to compare it anyway",
                    thousands(rows),
                    thousands(limit)
                ));
                false
            }
            _ => true,
        })
        .map(Candidate::defaults)
        .collect();
    (candidates, warnings)
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
        return Err(ModelsError::StrayOverride {
            algorithm: stray.clone(),
            candidates: names.join(", "),
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

/// How the models service calls utils: each call with its own deadline, and given up
/// when `cancel` fires.
#[derive(Clone)]
pub(crate) struct UtilsCalls {
    pub(crate) client: UtilsClient,
    /// The deadline of each call, from its start.
    pub(crate) timeout: Duration,
    /// Cancels the calls in flight (a cancelled job's); never cancelled for a plain fit.
    pub(crate) cancel: CancellationToken,
}

impl UtilsCalls {
    /// A context whose deadline is the configured timeout from now: each call gets its own,
    /// so a fold's three calls (or a refit's two) do not share one budget.
    fn context(&self) -> context::Context {
        let mut ctx = context::current();
        let now = Instant::now();
        ctx.deadline = now.checked_add(self.timeout).unwrap_or(now);
        ctx
    }

    /// Runs the utils call `call` (named for errors), made by `make` from a fresh context.
    ///
    /// # Errors
    /// [`ModelsError::UtilsTimeout`] when the deadline passes; [`ModelsError::Cancelled`]
    /// when `cancel` fires first; otherwise what utils (or the transport) answers, as
    /// [`ModelsError::Upstream`].
    ///
    /// # Cancel safety
    /// Dropping the future drops the call (the transport cancels it).
    pub(crate) async fn call<T, F>(
        &self,
        call: &'static str,
        make: impl FnOnce(UtilsClient, context::Context) -> F,
    ) -> Result<T, ModelsError>
    where
        F: Future<Output = Result<Result<T, ServiceError>, RpcError>>,
    {
        let answer = tokio::select! {
            biased;
            () = self.cancel.cancelled() => return Err(ModelsError::Cancelled),
            answer = make(self.client.clone(), self.context()) => answer,
        };
        match answer {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(ModelsError::Upstream(error)),
            Err(RpcError::DeadlineExceeded) => Err(ModelsError::UtilsTimeout {
                call,
                timeout_ms: u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX),
            }),
            Err(error) => Err(ModelsError::Upstream(ServiceError::from_rpc(
                "utils", error,
            ))),
        }
    }
}

/// The folds, from the utils service: seeded, stratified for classification.
///
/// # Errors
/// What the utils service answers.
pub(crate) async fn folds(utils: &UtilsCalls, plan: &Plan) -> Result<Vec<Fold>, ModelsError> {
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
        .call("split", |client, ctx| async move {
            client.split(ctx, request).await
        })
        .await
}

/// The default pipeline of every family among `candidates` that names none.
///
/// # Errors
/// What the utils service answers.
pub(crate) async fn default_pipelines(
    utils: &UtilsCalls,
    candidates: &[Candidate],
) -> Result<HashMap<AlgorithmFamily, PipelineSpec>, ModelsError> {
    let mut pipelines = HashMap::new();
    for candidate in candidates.iter().filter(|c| c.spec.pipeline.is_none()) {
        let family = candidate.family();
        if let std::collections::hash_map::Entry::Vacant(slot) = pipelines.entry(family) {
            let spec = utils
                .call("default_pipeline", |client, ctx| async move {
                    client.default_pipeline(ctx, family).await
                })
                .await?;
            slot.insert(spec);
        }
    }
    Ok(pipelines)
}

/// The pipeline spec for `candidate`: its own, or its family's default.
pub(crate) fn pipeline_for(
    candidate: &Candidate,
    defaults: &HashMap<AlgorithmFamily, PipelineSpec>,
) -> PipelineSpec {
    candidate
        .spec
        .pipeline
        .clone()
        .or_else(|| defaults.get(&candidate.family()).cloned())
        .unwrap_or_default()
}

/// `candidates` grouped by their pipeline spec (their own, or their family's default from
/// `defaults`): positions, each group ascending, groups in the order of their first
/// candidate.
pub(crate) fn pipeline_groups(
    candidates: &[Candidate],
    defaults: &HashMap<AlgorithmFamily, PipelineSpec>,
) -> Vec<Vec<usize>> {
    let mut specs: Vec<PipelineSpec> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (index, candidate) in candidates.iter().enumerate() {
        let spec = pipeline_for(candidate, defaults);
        match specs.iter().position(|known| *known == spec) {
            Some(group) => groups[group].push(index),
            None => {
                specs.push(spec);
                groups.push(vec![index]);
            }
        }
    }
    groups
}

/// Preprocessing through the utils interface: one `fit_transform` call per fold fits the
/// candidate's pipeline on the training rows and transforms both sets. Called on fit
/// threads (never on the runtime), it blocks on the call through the runtime's handle.
pub(crate) struct UtilsPreprocess {
    pub(crate) utils: UtilsCalls,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) defaults: HashMap<AlgorithmFamily, PipelineSpec>,
}

impl UtilsPreprocess {
    /// The pipeline spec for `candidate`: its own, or its family's default.
    pub(crate) fn pipeline(&self, candidate: &Candidate) -> PipelineSpec {
        pipeline_for(candidate, &self.defaults)
    }
}

impl Preprocess for UtilsPreprocess {
    fn prepare(
        &self,
        candidate: &Candidate,
        train: &Frame,
        test: &Frame,
    ) -> Result<(Matrix, Matrix), ModelsError> {
        let spec = self.pipeline(candidate);
        self.runtime
            .block_on(self.utils.call("fit_transform", |client, ctx| {
                // The call takes its frames by value: one copy each, made on this fit
                // thread.
                let (train, test) = (train.clone(), test.clone());
                async move { client.fit_transform(ctx, spec, train, test).await }
            }))
            .map(|fold| (fold.train, fold.test))
            .map_err(|error| match error {
                // The pipeline does not suit these rows: the candidate's failure, in words.
                ModelsError::Upstream(error) if error.kind == ErrorKind::InvalidInput => {
                    ModelsError::Preprocess {
                        reason: error.to_string(),
                    }
                }
                // A timeout, an unavailable utils, a cancel: kept as they are.
                error => error,
            })
    }

    /// Candidates with the same pipeline (their own, or their family's default) share
    /// each fold's preparation: the default pipelines of linear models, SVMs and k-NN
    /// are one, and those of trees and naive Bayes another.
    fn shared_pipeline(&self, candidate: &Candidate) -> Option<PipelineSpec> {
        Some(self.pipeline(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mltools_core::Column;
    use mltools_core::models::{ParamValue, Rows};

    fn request(target: Column, folds: usize) -> CompareRequest {
        let rows = target.data.len();
        CompareRequest {
            data: TrainingData {
                dataset: DatasetId(1),
                version: 1,
                rows: Rows::Inline(Frame {
                    columns: vec![
                        Column::numeric("x", (0..rows).map(|row| row as f64).collect()),
                        target,
                    ],
                }),
                target: "y".to_owned(),
                task: None,
            },
            models: Vec::new(),
            overrides: BTreeMap::new(),
            folds,
            seed: 0,
            metric: None,
            keep_best: false,
        }
    }

    /// [`plan`] of a request whose rows are inline.
    fn plan_of(request: CompareRequest) -> Result<Plan, ModelsError> {
        let Rows::Inline(frame) = request.data.rows.clone() else {
            panic!("the test requests carry their rows");
        };
        plan(request, &frame)
    }

    fn three_classes() -> Column {
        Column::numeric("y", (0..12).map(|row| f64::from(row % 3)).collect())
    }

    #[test]
    fn roc_auc_ranks_two_classes_and_more() {
        // One-vs-rest beyond two classes, as the leaderboard reports it.
        for target in [
            three_classes(),
            Column::numeric("y", (0..12).map(|row| f64::from(row % 2)).collect()),
        ] {
            let mut request = request(target, 3);
            request.metric = Some("roc_auc".to_owned());
            assert_eq!(plan_of(request).unwrap().metric, Metric::RocAuc);
        }
    }

    #[test]
    fn rmsle_is_refused_as_the_ranking_metric_of_a_target_below_minus_one() {
        let target = |low: f64| {
            Column::numeric(
                "y",
                (0..12)
                    .map(|row| if row == 7 { low } else { f64::from(row) })
                    .collect(),
            )
        };
        let mut refused = request(target(-2.5), 3);
        refused.metric = Some("rmsle".to_owned());
        let error = plan_of(refused).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "metric `rmsle` is undefined here: target `y` is -2.5 at row 7, and ln(1 + y) \
             needs every value above −1"
        );
        // Ranked by another metric, the same target is compared (the board leaves RMSLE
        // out); just above −1 RMSLE ranks.
        let mut other = request(target(-2.5), 3);
        other.metric = Some("mape".to_owned());
        assert_eq!(plan_of(other).unwrap().metric, Metric::Mape);
        let mut above = request(target(-0.5), 3);
        above.metric = Some("rmsle".to_owned());
        assert_eq!(plan_of(above).unwrap().metric, Metric::Rmsle);
    }

    #[test]
    fn folds_past_the_cap_are_refused_naming_it() {
        let many = Column::numeric("y", (0..500).map(|row| f64::from(row) * 0.5).collect());
        let error = plan_of(request(many.clone(), 101)).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "bad folds: 101 folds; at most 100 are allowed"
        );
        assert_eq!(plan_of(request(many, 100)).unwrap().folds, 100);
        let error = plan_of(request(three_classes(), 13)).unwrap_err();
        assert!(matches!(error, ModelsError::TooFewRows { .. }), "{error}");
    }

    #[test]
    fn an_override_for_a_non_candidate_has_its_own_error() {
        let mut stray = request(three_classes(), 3);
        stray.models = vec![ModelSpec {
            algorithm: "gaussian_nb".to_owned(),
            params: BTreeMap::new(),
            pipeline: None,
        }];
        stray.overrides.insert(
            "knn_classifier".to_owned(),
            BTreeMap::from([("k".to_owned(), ParamValue::Integer(7))]),
        );
        let error = plan_of(stray).unwrap_err();
        assert!(
            matches!(&error, ModelsError::StrayOverride { algorithm, .. } if algorithm == "knn_classifier"),
            "{error:?}"
        );
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "parameters are set for `knn_classifier`, which is not among the candidates (gaussian_nb)"
        );
    }

    /// A frame with `columns` and a two-class target `y`.
    fn frame_of(columns: Vec<Column>) -> Frame {
        let rows = columns[0].data.len();
        let mut columns = columns;
        columns.push(Column::numeric(
            "y",
            (0..rows).map(|row| (row % 2) as f64).collect(),
        ));
        Frame { columns }
    }

    fn labels(name: &str, labels: impl IntoIterator<Item = String>) -> Column {
        let categories: Vec<String> = labels.into_iter().collect();
        Column::categorical(name, (0..categories.len() as u32).collect(), categories)
    }

    #[test]
    fn large_data_leaves_the_slowest_defaults_out_with_a_warning_unless_asked_for() {
        let none = BTreeMap::new();
        let (small, warnings) = default_candidates(Task::Regression, 20_000, &none);
        assert_eq!(small.len(), AlgorithmId::of_task(Task::Regression).count());
        assert!(warnings.is_empty());

        let (large, warnings) = default_candidates(Task::Classification, 200_000, &none);
        let names: Vec<&str> = large.iter().map(|c| c.spec.algorithm.as_str()).collect();
        assert_eq!(
            names,
            [
                "logistic_regression",
                "decision_tree_classifier",
                "hist_gradient_boosting_classifier",
                "gaussian_nb"
            ]
        );
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert_eq!(
            warnings[1],
            "svc left out of the default candidates: 200,000 rows is more than the 20,000 it \
             is compared on by default (it would take far longer than the others); name it \
             with the models to compare it anyway"
        );

        // Parameters set for a left-out default bring it back.
        let svc = BTreeMap::from([(
            "svc".to_owned(),
            BTreeMap::from([("probability".to_owned(), ParamValue::Bool(false))]),
        )]);
        let (asked, warnings) = default_candidates(Task::Classification, 50_000, &svc);
        assert!(asked.iter().any(|c| c.spec.algorithm == "svc"));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    fn plan_of_frame(frame: Frame) -> Result<Plan, ModelsError> {
        let mut request = request(Column::numeric("y", Vec::new()), 2);
        request.data.rows = Rows::Inline(frame.clone());
        plan(request, &frame)
    }

    #[test]
    fn an_identifier_column_is_left_out_with_a_warning() {
        // 10,000 rows, 9,998 distinct ids (two repeated), a 5,000-label city, a colour.
        let rows = 10_000;
        let frame = frame_of(vec![
            labels(
                "customer_id",
                (0..rows).map(|row| format!("C{}", row.min(9_997))),
            ),
            labels("city", (0..rows).map(|row| format!("city {}", row % 5_000))),
            labels(
                "colour",
                (0..rows).map(|row| ["red", "blue"][row % 2].to_owned()),
            ),
        ]);
        let plan = plan_of_frame(frame).unwrap();
        let names: Vec<&str> = plan.data.features.names().collect();
        assert_eq!(names, ["city", "colour"]);
        assert_eq!(
            plan.warnings,
            [
                "column `customer_id` looks like an identifier (9,998 distinct values in 10,000 \
              rows): left out of the features"
            ]
        );
    }

    #[test]
    fn the_identifier_threshold_is_nine_tenths_from_twenty_rows() {
        let column = |distinct: usize, rows: usize| {
            labels(
                "id",
                (0..rows).map(move |row| format!("v{}", row % distinct)),
            )
        };
        assert!(unusable(&column(18, 20), 20).is_some());
        assert!(unusable(&column(17, 20), 20).is_none());
        // Fewer rows: only a label in every row, and from 10 rows.
        assert!(unusable(&column(10, 10), 10).is_some());
        assert!(unusable(&column(9, 10), 10).is_none());
        assert!(unusable(&column(5, 5), 5).is_none());
        // A numeric column is never an identifier.
        let numbers = Column::numeric("n", (0..100).map(f64::from).collect());
        assert!(unusable(&numbers, 100).is_none());
    }

    #[test]
    fn columns_without_values_are_left_out_and_constant_ones_kept() {
        let rows = 30;
        let frame = frame_of(vec![
            Column::numeric("x", (0..rows).map(|row| row as f64).collect()),
            Column::numeric("empty", vec![f64::NAN; rows]),
            Column::categorical("blank", vec![MISSING_CODE; rows], Vec::new()),
            Column::categorical("same", vec![0; rows], vec!["a".to_owned()]),
        ]);
        let plan = plan_of_frame(frame).unwrap();
        let names: Vec<&str> = plan.data.features.names().collect();
        assert_eq!(names, ["x", "same"]);
        assert_eq!(
            plan.warnings,
            [
                "column `empty` has no values: left out of the features",
                "column `blank` has no values: left out of the features"
            ]
        );
    }

    #[test]
    fn nothing_left_to_learn_from_is_refused_naming_every_column() {
        let frame = frame_of(vec![
            labels("id", (0..25).map(|row| format!("r{row}"))),
            Column::numeric("empty", vec![f64::NAN; 25]),
        ]);
        let error = plan_of_frame(frame).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "no feature column is left besides the target `y`: column `id` looks like an \
             identifier (25 distinct values in 25 rows): left out of the features; column \
             `empty` has no values: left out of the features"
        );
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(9_998), "9,998");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_frame_of_the_target_alone_is_refused_at_plan() {
        let mut lone = request(three_classes(), 3);
        if let Rows::Inline(frame) = &mut lone.data.rows {
            frame.columns.retain(|column| column.name == "y");
        }
        let error = plan_of(lone).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no feature columns besides the target `y`"
        );
    }
}
