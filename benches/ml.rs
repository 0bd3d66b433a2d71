//! Our models against scikit-learn's on identical data and folds (issues 7 and 15).
//!
//! Per model: fit + predict time summed over 5 folds on one thread, beside scikit-learn's
//! on the same folds and thread count, with the metric each side reaches (accuracy or R²,
//! and ROC AUC and log loss where there are scores or probabilities); SVC's peak memory on
//! a generated 20,000 × 20 set; and the wall time of our default compare (every default
//! model, through an embedded node, on every core) against scikit-learn running the same
//! model set, preprocessing and folds on one thread. Each target of the issue is printed
//! beside its figure with ✔ or ✘.
//!
//! Run (release build; scikit-learn optional, never part of CI):
//!
//! ```text
//! MLTOOLS_SKLEARN_PYTHON=/path/to/python cargo bench --bench ml
//! ```
//!
//! `MLTOOLS_SKLEARN_PYTHON` names a python with scikit-learn (default `python3`); without
//! one the bench prints "scikit-learn not found: our figures only" and our side alone.
//! `MLTOOLS_BENCH_ML_DATA=DIR` keeps the data and folds both sides use in `DIR` (otherwise a
//! temporary directory), for `benches/reference/sklearn_reference.py DIR` by hand.
//! `MLTOOLS_BENCH_ML_ONLY=TEXT` keeps only the runs whose label (`set model`) contains
//! `TEXT`, and skips the default compares unless `TEXT` is `compare` (then only those run).
//!
//! Same data: the built-in sets come through the datasets service (smartcore's copies:
//! breast_cancer stored as f32, diabetes the standardised copy, digits identical to
//! scikit-learn's); the 20,000 × 20 and 200,000 × 20 sets are generated here (splitmix64,
//! seed 7: uniform features, a noisy linear binary target; the larger for histogram
//! gradient boosting only). Same folds: the utils service's split, seed 0,
//! stratified for classification — the folds our compare uses — written out with the data.
//! Same scaling: mean and population standard deviation of each training fold, a constant
//! column only centred (scikit-learn's `StandardScaler`), fitted by each side. Timing: the
//! best of 3 rounds when a round takes under 2 s, else one round, on both sides; scaling is
//! outside the timed span, prediction (with probabilities where the model gives them)
//! inside it.

#[path = "support/machine.rs"]
mod machine;
#[path = "support/memory.rs"]
#[allow(dead_code)] // Each bench uses part of it.
mod memory;

use memory::{reset_peak, status_mb};
use mltools::core::lab::LabCompareRequest;
use mltools::core::models::ParamValue;
use mltools::core::utils::{Fold, Matrix, SplitKind, SplitRequest};
use mltools::core::{ColumnData, Frame};
use mltools::prelude::*;
use mltools_models::algorithms::{AlgorithmId, Estimator, ParamMap};
use mltools_models::cv::fit_pool;
use mltools_models::metrics;
use mltools_models::prediction::Prediction;
use mltools_models::task::{Targets, split_target};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error>;

const FOLDS: usize = 5;
/// A round under this many seconds is repeated, and the best of [`REPEATS`] kept.
const REPEAT_BELOW_SECONDS: f64 = 2.0;
const REPEATS: usize = 3;
/// Rounds of each default compare; the fastest counts, on both sides.
const COMPARE_ROUNDS: usize = 3;
/// The largest metric difference from scikit-learn's the issue accepts.
const METRIC_TOLERANCE: f64 = 0.005;
/// The same for the tree family (issue 15), whose randomness the two sides seed
/// differently, and for the default compare's best metric.
const TREE_METRIC_TOLERANCE: f64 = 0.01;
/// Our default compare's wall time, on every core, over scikit-learn's on one (issue 15).
const COMPARE_TARGET: f64 = 0.8;
/// SVC's peak memory on the 20,000 × 20 set, megabytes.
const MEMORY_LIMIT_MB: f64 = 500.0;
const GENERATED: &str = "generated_20k";
/// The same generator at 200,000 rows, for histogram gradient boosting (issue 15).
const GENERATED_LARGE: &str = "generated_200k";
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/benches/reference/sklearn_reference.py"
);

/// A data set as both sides see it.
struct Set {
    name: &'static str,
    /// The dataset in the node, for the default compare (built-in sets only).
    dataset: Option<DatasetId>,
    columns: Vec<String>,
    /// `rows × columns`, row-major, unscaled.
    values: Vec<f64>,
    targets: Targets,
    folds: Vec<Fold>,
}

/// One model on one set, timed on both sides.
struct Run {
    set: &'static str,
    model: AlgorithmId,
    /// SVC only: Platt-scaled probabilities.
    probability: Option<bool>,
    /// The issue's bound on our time ÷ scikit-learn's; `None` for a row shown for information.
    ratio_target: Option<f64>,
    /// The largest metric difference from scikit-learn's accepted.
    metric_tolerance: f64,
}

/// What one side measured for a run.
struct Measured {
    seconds: f64,
    /// `score` (accuracy or R²), `roc_auc`, `log_loss`: means over the folds.
    metrics: BTreeMap<String, f64>,
    /// SVC on the generated set: (resident set before the run, peak during it), MB.
    memory_mb: Option<(f64, f64)>,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench ml: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), BoxError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let node_dir = tempfile::tempdir()?;
    let mut builder = Node::builder().data_dir(node_dir.path());
    let mut config = builder.config().clone();
    // The compare fits on every core (the default, said here as the issue asks for it).
    config.models.fit_threads = None;
    builder = NodeBuilder::from_config(config);
    let node = runtime.block_on(builder.start())?;
    let sets = runtime.block_on(load_sets(&node))?;

    let kept = std::env::var_os("MLTOOLS_BENCH_ML_DATA");
    let temporary = tempfile::tempdir()?;
    let data_dir = kept.as_ref().map_or(temporary.path(), Path::new);
    std::fs::create_dir_all(data_dir)?;
    let only = std::env::var("MLTOOLS_BENCH_ML_ONLY").ok();
    let runs: Vec<Run> = runs()
        .into_iter()
        .filter(|run| {
            only.as_deref()
                .is_none_or(|text| run.label().contains(text))
        })
        .collect();
    let compared = only.as_deref().is_none_or(|text| text == "compare");
    write_data(data_dir, &sets, &runs, compared)?;

    let ours = runs
        .iter()
        .map(|run| measure_ours(run, find(&sets, run.set)?))
        .collect::<Result<Vec<_>, BoxError>>()?;
    let reference = sklearn(data_dir);
    let compares = if compared {
        runtime.block_on(compare_ours(&node, &sets))?
    } else {
        Vec::new()
    };
    runtime.block_on(node.shutdown());

    let judged = reference.as_ref().ok();
    let theirs: Vec<Option<Measured>> = runs.iter().map(|run| their_run(judged, run)).collect();
    let mut verdicts = Verdicts::default();
    print_header(&reference);
    // A filtered run (`MLTOOLS_BENCH_ML_ONLY`) prints only the tables it has rows for.
    if !runs.is_empty() {
        print_runs(&runs, &ours, &theirs, &mut verdicts);
        print_probability_metrics(&runs, &ours, &theirs, &mut verdicts);
    }
    if ours.iter().any(|measured| measured.memory_mb.is_some()) {
        print_memory(&runs, &ours, &mut verdicts);
    }
    if !compares.is_empty() {
        print_compares(&compares, judged, &mut verdicts);
        print_compare_scores(&compares, judged);
    }
    print_verdicts(&verdicts, judged.is_some());
    Ok(())
}

fn find<'a>(sets: &'a [Set], name: &str) -> Result<&'a Set, BoxError> {
    Ok(sets
        .iter()
        .find(|set| set.name == name)
        .ok_or_else(|| format!("no set {name}"))?)
}

/// The runs of the issue, grouped by set (the script loads each set once).
fn runs() -> Vec<Run> {
    use AlgorithmId as A;
    let run = |set, model, probability, ratio_target| Run {
        set,
        model,
        probability,
        ratio_target,
        metric_tolerance: METRIC_TOLERANCE,
    };
    // Issue 15: our trees at scikit-learn's time or better, metric within 0.01.
    let tree = |set, model| Run {
        metric_tolerance: TREE_METRIC_TOLERANCE,
        ..run(set, model, None, Some(1.0))
    };
    vec![
        run("breast_cancer", A::Svc, Some(false), Some(1.5)),
        run("breast_cancer", A::Svc, Some(true), Some(1.5)),
        run("breast_cancer", A::LogisticRegression, None, Some(2.0)),
        run("digits", A::Svc, Some(false), Some(1.5)),
        run("digits", A::Svc, Some(true), Some(1.5)),
        run("digits", A::LogisticRegression, None, Some(2.0)),
        run("digits", A::KnnClassifier, None, Some(2.5)),
        run("digits", A::GaussianNb, None, None),
        tree("digits", A::DecisionTreeClassifier),
        tree("digits", A::RandomForestClassifier),
        tree("digits", A::ExtraTreesClassifier),
        tree("digits", A::HistGradientBoostingClassifier),
        run(GENERATED, A::Svc, Some(false), Some(1.5)),
        run(GENERATED, A::Svc, Some(true), Some(1.5)),
        run(GENERATED, A::LogisticRegression, None, Some(2.0)),
        tree(GENERATED, A::DecisionTreeClassifier),
        tree(GENERATED, A::RandomForestClassifier),
        tree(GENERATED, A::ExtraTreesClassifier),
        tree(GENERATED, A::HistGradientBoostingClassifier),
        tree(GENERATED_LARGE, A::HistGradientBoostingClassifier),
        run("diabetes", A::Svr, None, Some(1.5)),
    ]
}

// ---------------------------------------------------------------------------------------
// Data and folds

async fn load_sets(node: &Node) -> Result<Vec<Set>, BoxError> {
    let mut sets = Vec::new();
    for (name, builtin) in [
        ("breast_cancer", Builtin::BreastCancer),
        ("digits", Builtin::Digits),
        ("diabetes", Builtin::Diabetes),
    ] {
        let datasets = node.datasets()?;
        let info = datasets
            .import(
                context::current(),
                ImportRequest::new(Source::Builtin { name: builtin }),
            )
            .await
            .into_service("datasets")?;
        let page = datasets
            .get(context::current(), GetRequest::all(info.id))
            .await
            .into_service("datasets")?;
        let target = info
            .schema
            .target
            .ok_or("a built-in set names its target")?;
        // As our compare splits it: the same target codes, so the same stratified folds.
        let (features, targets) = split_target(&page.frame, &target, None)?;
        let folds = folds(node, &targets).await?;
        sets.push(Set {
            name,
            dataset: Some(info.id),
            columns: features.names().map(str::to_owned).collect(),
            values: row_major(&features)?,
            targets,
            folds,
        });
    }
    for (name, rows) in [(GENERATED, 20_000), (GENERATED_LARGE, 200_000)] {
        let (columns, values, targets) = generated(rows);
        let folds = folds(node, &targets).await?;
        sets.push(Set {
            name,
            dataset: None,
            columns,
            values,
            targets,
            folds,
        });
    }
    Ok(sets)
}

/// The utils service's 5 folds, seed 0, stratified by class for classification.
async fn folds(node: &Node, targets: &Targets) -> Result<Vec<Fold>, BoxError> {
    let stratify = match targets {
        Targets::Classification { codes, .. } => Some(codes.clone()),
        Targets::Regression(_) => None,
    };
    let request = SplitRequest {
        rows: targets.len(),
        kind: SplitKind::KFold { k: FOLDS },
        seed: 0,
        stratify,
    };
    Ok(node
        .utils()?
        .split(context::current(), request)
        .await
        .into_service("utils")?)
}

fn row_major(features: &Frame) -> Result<Vec<f64>, BoxError> {
    let columns = features
        .columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Numeric(values) => Ok(values.as_slice()),
            ColumnData::Categorical { .. } => Err(format!("column {} is not numeric", column.name)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rows = features.rows();
    Ok((0..rows)
        .flat_map(|row| columns.iter().map(move |column| column[row]))
        .collect())
}

/// 20,000 rows of 20 uniform features in [−2, 2) and a noisy linear binary target
/// (splitmix64, seed 7; the set `services/models/tests/speed.rs` times).
fn generated(rows: usize) -> (Vec<String>, Vec<f64>, Targets) {
    let mut state = 7u64;
    let mut uniform = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / 9_007_199_254_740_992.0
    };
    let width = 20;
    let mut values = Vec::with_capacity(rows * width);
    let mut codes = Vec::with_capacity(rows);
    for _ in 0..rows {
        let mut score = 0.0;
        for feature in 0..width {
            let value = 4.0 * uniform() - 2.0;
            score += value * (feature as f64 - 9.5) / 10.0;
            values.push(value);
        }
        codes.push(u32::from(score + 2.0 * (uniform() - 0.5) > 0.0));
    }
    let columns = (0..width).map(|column| format!("x{column}")).collect();
    let classes = vec!["no".to_owned(), "yes".to_owned()];
    (columns, values, Targets::Classification { codes, classes })
}

/// `<set>.csv` (features, `target`, `fold`: the fold holding the row out) per set, and
/// `manifest.json`: the sets, the runs, the compares and the repeat rule.
fn write_data(dir: &Path, sets: &[Set], runs: &[Run], compared: bool) -> Result<(), BoxError> {
    for set in sets {
        let mut fold_of = vec![0; set.targets.len()];
        for (index, fold) in set.folds.iter().enumerate() {
            for &row in &fold.test {
                fold_of[row as usize] = index;
            }
        }
        let mut writer = csv::Writer::from_path(dir.join(format!("{}.csv", set.name)))?;
        let mut header = set.columns.clone();
        header.extend(["target".to_owned(), "fold".to_owned()]);
        writer.write_record(&header)?;
        let width = set.columns.len();
        for (row, values) in set.values.chunks_exact(width).enumerate() {
            let mut record: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
            record.push(match &set.targets {
                Targets::Classification { codes, .. } => codes[row].to_string(),
                Targets::Regression(values) => format!("{:?}", values[row]),
            });
            record.push(fold_of[row].to_string());
            writer.write_record(&record)?;
        }
        writer.flush()?;
    }
    let manifest = json!({
        "sets": sets.iter().map(|set| json!({
            "name": set.name,
            "task": task_name(&set.targets),
        })).collect::<Vec<_>>(),
        "runs": runs.iter().map(|run| json!({
            "set": run.set,
            "model": run.model.as_str(),
            "probability": run.probability.unwrap_or(false),
        })).collect::<Vec<_>>(),
        "compares": sets.iter().filter(|set| compared && set.dataset.is_some()).map(|set| json!({
            "set": set.name,
            "models": default_models(&set.targets),
        })).collect::<Vec<_>>(),
        "repeat_below_seconds": REPEAT_BELOW_SECONDS,
        "repeats": REPEATS,
        "compare_rounds": COMPARE_ROUNDS,
    });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)?,
    )?;
    Ok(())
}

fn task_name(targets: &Targets) -> &'static str {
    match targets {
        Targets::Classification { .. } => "classification",
        Targets::Regression(_) => "regression",
    }
}

/// The models our default compare fits for the set's task.
fn default_models(targets: &Targets) -> Vec<&'static str> {
    AlgorithmId::of_task(targets.task())
        .map(AlgorithmId::as_str)
        .collect()
}

/// Training and test rows of one fold, standard-scaled on the training rows.
struct ScaledFold {
    train: Matrix,
    test: Matrix,
    train_targets: Targets,
    test_targets: Targets,
}

fn scaled_folds(set: &Set) -> Vec<ScaledFold> {
    let width = set.columns.len();
    let value = |row: u32, column: usize| set.values[row as usize * width + column];
    set.folds
        .iter()
        .map(|fold| {
            let count = fold.train.len() as f64;
            let scale: Vec<(f64, f64)> = (0..width)
                .map(|column| {
                    let mean = fold.train.iter().map(|&r| value(r, column)).sum::<f64>() / count;
                    let variance = fold
                        .train
                        .iter()
                        .map(|&r| (value(r, column) - mean).powi(2))
                        .sum::<f64>()
                        / count;
                    let std = variance.sqrt();
                    (mean, if std > 0.0 { std } else { 1.0 })
                })
                .collect();
            let matrix = |rows: &[u32]| Matrix {
                rows: rows.len(),
                columns: set.columns.clone(),
                values: rows
                    .iter()
                    .flat_map(|&row| {
                        let scale = &scale;
                        (0..width).map(move |c| (value(row, c) - scale[c].0) / scale[c].1)
                    })
                    .collect(),
            };
            ScaledFold {
                train: matrix(&fold.train),
                test: matrix(&fold.test),
                train_targets: set.targets.select(&fold.train),
                test_targets: set.targets.select(&fold.test),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Our side

fn measure_ours(run: &Run, set: &Set) -> Result<Measured, BoxError> {
    let mut params = ParamMap::new();
    if let Some(probability) = run.probability {
        params.insert("probability".to_owned(), ParamValue::Bool(probability));
    }
    let estimator = Estimator::new(run.model.as_str(), &params)?;
    let folds = scaled_folds(set);
    // One fit thread: our algorithms run on the calling thread, and anything that reached
    // for rayon would find a one-thread pool.
    let pool = fit_pool(Some(1))?;
    let memory = run.set == GENERATED && run.model == AlgorithmId::Svc;
    let before_mb = memory.then(|| {
        reset_peak();
        status_mb("VmRSS:")
    });
    let round = || pool.install(|| one_round(&estimator, &folds));
    let (mut seconds, metrics) = round()?;
    let memory_mb = before_mb.map(|before| (before, status_mb("VmHWM:")));
    let mut rounds = 1;
    if seconds < REPEAT_BELOW_SECONDS {
        for _ in 1..REPEATS {
            seconds = seconds.min(round()?.0);
            rounds += 1;
        }
    }
    eprintln!("ours: {}: {seconds:.3} s (best of {rounds})", run.label());
    Ok(Measured {
        seconds,
        metrics,
        memory_mb,
    })
}

/// Fit + predict on every fold: the time summed, each metric's mean over the folds.
fn one_round(
    estimator: &Estimator,
    folds: &[ScaledFold],
) -> Result<(f64, BTreeMap<String, f64>), String> {
    let mut seconds = 0.0;
    let mut sums: BTreeMap<String, f64> = BTreeMap::new();
    for fold in folds {
        let started = Instant::now();
        let model = estimator
            .fit(&fold.train, &fold.train_targets, 0)
            .map_err(|e| e.to_string())?;
        let prediction = model.predict(&fold.test).map_err(|e| e.to_string())?;
        seconds += started.elapsed().as_secs_f64();
        for (name, value) in fold_metrics(&fold.test_targets, &prediction) {
            *sums.entry(name.to_owned()).or_default() += value;
        }
    }
    let count = folds.len() as f64;
    Ok((
        seconds,
        sums.into_iter().map(|(k, v)| (k, v / count)).collect(),
    ))
}

fn fold_metrics(truth: &Targets, prediction: &Prediction) -> Vec<(&'static str, f64)> {
    match (truth, prediction) {
        (Targets::Regression(truth), Prediction::Regression(predicted)) => {
            vec![("score", metrics::r2(truth, predicted))]
        }
        (Targets::Classification { codes, classes }, Prediction::Classification(predicted)) => {
            let classes = classes.len();
            let mut found = vec![("score", metrics::accuracy(codes, &predicted.labels))];
            let auc = match (&predicted.probabilities, predicted.positive_scores(classes)) {
                (_, Some(positive)) => metrics::roc_auc(codes, &positive),
                (Some(probabilities), None) => {
                    metrics::roc_auc_one_vs_rest(codes, probabilities, classes)
                }
                (None, None) => None,
            };
            found.extend(auc.map(|auc| ("roc_auc", auc)));
            if let Some(probabilities) = &predicted.probabilities {
                found.push(("log_loss", metrics::log_loss(codes, probabilities, classes)));
            }
            found
        }
        _ => Vec::new(),
    }
}

/// Our default compare's report and best-of-rounds wall time, per built-in set.
struct OurCompare {
    set: &'static str,
    models: usize,
    seconds: f64,
    /// Per algorithm: `score` (the ranking metric), `roc_auc`, `log_loss`, and
    /// `fit_predict_seconds` (fit + predict summed over the folds, from the leaderboard).
    metrics: BTreeMap<String, BTreeMap<String, f64>>,
}

async fn compare_ours(node: &Node, sets: &[Set]) -> Result<Vec<OurCompare>, BoxError> {
    let lab = node.lab()?;
    let mut compares = Vec::new();
    for set in sets {
        let Some(dataset) = set.dataset else { continue };
        let mut walls = Vec::new();
        let mut last = None;
        for _ in 0..COMPARE_ROUNDS {
            let started = Instant::now();
            let request = LabCompareRequest::new(dataset);
            let patience = Duration::from_secs(1800);
            let report = mltools::lab::compare_and_wait(&lab, request, patience).await?;
            walls.push(started.elapsed().as_secs_f64());
            last = Some(report);
        }
        let best = walls.iter().copied().fold(f64::INFINITY, f64::min);
        let report = last.ok_or("no compare rounds")?;
        let folds = report.folds as f64;
        let ranking = &report.leaderboard.metric;
        let metrics = report
            .leaderboard
            .entries
            .iter()
            .map(|entry| {
                let value = |name: &str| entry.metrics.get(name).map(|m| m.mean);
                let mut found: BTreeMap<String, f64> =
                    [("score", ranking.as_str()), ("roc_auc", "roc_auc")]
                        .into_iter()
                        .chain([("log_loss", "log_loss")])
                        .filter_map(|(key, name)| value(name).map(|v| (key.to_owned(), v)))
                        .collect();
                let fitting = folds * (entry.fit_ms + entry.predict_ms) / 1000.0;
                found.insert("fit_predict_seconds".to_owned(), fitting);
                (entry.model.algorithm.clone(), found)
            })
            .collect();
        eprintln!("ours: compare {}: rounds {walls:.2?} s", set.name);
        compares.push(OurCompare {
            set: set.name,
            models: report.leaderboard.entries.len(),
            seconds: best,
            metrics,
        });
    }
    Ok(compares)
}

// ---------------------------------------------------------------------------------------
// scikit-learn's side

/// The reference script's results, or why there are none (a sentence for the header).
fn sklearn(data_dir: &Path) -> Result<Value, String> {
    let python = std::env::var("MLTOOLS_SKLEARN_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let found = Command::new(&python)
        .args(["-c", "import sklearn"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        return Err("scikit-learn not found: our figures only".to_owned());
    }
    let output = Command::new(&python)
        .arg(SCRIPT)
        .arg(data_dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run {python} ({error}): our figures only"))?;
    if !output.status.success() {
        let status = output.status;
        return Err(format!(
            "the reference script failed ({status}): our figures only"
        ));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("the reference script wrote no JSON ({error}): our figures only"))
}

/// The script's result for `run`.
fn their_run(reference: Option<&Value>, run: &Run) -> Option<Measured> {
    let found = reference?["runs"].as_array()?.iter().find(|entry| {
        entry["set"] == run.set
            && entry["model"] == run.model.as_str()
            && entry["probability"] == run.probability.unwrap_or(false)
    })?;
    Some(Measured {
        seconds: found["seconds"].as_f64()?,
        metrics: numbers(&found["metrics"]),
        memory_mb: None,
    })
}

/// The script's default compare of `set`: `seconds`, and per model its metrics.
fn their_compare<'a>(reference: Option<&'a Value>, set: &str) -> Option<&'a Value> {
    reference?["compares"]
        .as_array()?
        .iter()
        .find(|entry| entry["set"] == set)
}

fn numbers(value: &Value) -> BTreeMap<String, f64> {
    value
        .as_object()
        .map(|object| {
            object
                .iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_f64()?)))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Tables

/// The issue's targets met and missed, in the order the tables judge them.
#[derive(Default)]
struct Verdicts(Vec<(String, bool)>);

impl Verdicts {
    /// Records a target; the mark for its cell.
    fn judge(&mut self, what: String, met: bool) -> &'static str {
        self.0.push((what, met));
        if met { "✔" } else { "✘" }
    }

    /// The cell for `ours − theirs` of a metric, judged against `tolerance`.
    fn metric(
        &mut self,
        ours: Option<f64>,
        theirs: Option<f64>,
        what: &str,
        tolerance: f64,
    ) -> String {
        match (ours, theirs) {
            (Some(ours), Some(theirs)) => {
                let gap = ours - theirs;
                let what = format!("{what} within {tolerance}");
                let mark = self.judge(what, gap.abs() <= tolerance);
                format!("{gap:+.4} {mark}")
            }
            _ => "—".to_owned(),
        }
    }
}

impl Run {
    fn model_label(&self) -> String {
        let probability = match self.probability {
            Some(true) => " (probability)",
            Some(false) => " (no probability)",
            None => "",
        };
        format!("{}{probability}", self.model)
    }

    fn label(&self) -> String {
        format!("{} {}", self.set, self.model_label())
    }
}

/// `value` to `places` decimals, or a dash.
fn fixed(value: Option<f64>, places: usize) -> String {
    value.map_or("—".to_owned(), |v| format!("{v:.places$}"))
}

fn print_header(reference: &Result<Value, String>) {
    let cpu = machine::cpu_model();
    let python = std::env::var("MLTOOLS_SKLEARN_PYTHON")
        .map(|p| format!("MLTOOLS_SKLEARN_PYTHON={p} "))
        .unwrap_or_default();
    println!("\n# mltools models against scikit-learn (benches/ml.rs)\n");
    println!("- machine: {cpu}, nproc {}", machine::cores());
    println!("- command: `{python}cargo bench --bench ml`");
    match reference {
        Ok(reference) => {
            let text = |key: &str| reference[key].as_str().unwrap_or("?").to_owned();
            println!(
                "- scikit-learn {}, numpy {}, python {}; one thread (OMP, OpenBLAS and MKL threads 1, threadpoolctl)",
                text("sklearn"),
                text("numpy"),
                text("python")
            );
        }
        Err(reason) => println!("- {reason}"),
    }
    println!(
        "- identical data and folds on both sides: 5 folds from the utils service (seed 0, stratified for classification)"
    );
}

fn print_runs(
    runs: &[Run],
    ours: &[Measured],
    theirs: &[Option<Measured>],
    verdicts: &mut Verdicts,
) {
    println!("\n## Fit + predict over 5 folds, one thread\n");
    println!(
        "Features standard-scaled on each training fold (outside the timed span). Time summed over the folds, the best of {REPEATS} rounds when a round takes under {REPEAT_BELOW_SECONDS} s. Metric: the mean over the folds of accuracy (classification) or R² (regression). Difference: ours − theirs.\n"
    );
    println!(
        "| dataset | model | ours (s) | scikit-learn (s) | × scikit-learn | target | our metric | theirs | difference |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for ((run, ours), theirs) in runs.iter().zip(ours).zip(theirs) {
        let ratio = theirs.as_ref().map(|t| ours.seconds / t.seconds);
        let target = match (run.ratio_target, ratio) {
            (Some(bound), Some(ratio)) => {
                let what = format!("{}: time ≤ {bound}× scikit-learn's", run.label());
                format!("≤ {bound}× {}", verdicts.judge(what, ratio <= bound))
            }
            (Some(bound), None) => format!("≤ {bound}×"),
            (None, _) => "— (information)".to_owned(),
        };
        let score = |m: &Measured| m.metrics.get("score").copied();
        let (our_score, their_score) = (score(ours), theirs.as_ref().and_then(score));
        println!(
            "| {} | {} | {} | {} | {} | {target} | {} | {} | {} |",
            run.set,
            run.model_label(),
            fixed(Some(ours.seconds), 3),
            fixed(theirs.as_ref().map(|t| t.seconds), 3),
            fixed(ratio, 2),
            fixed(our_score, 4),
            fixed(their_score, 4),
            verdicts.metric(
                our_score,
                their_score,
                &format!("{}: metric", run.label()),
                run.metric_tolerance
            ),
        );
    }
}

fn print_probability_metrics(
    runs: &[Run],
    ours: &[Measured],
    theirs: &[Option<Measured>],
    verdicts: &mut Verdicts,
) {
    println!("\n### ROC AUC and log loss, same runs (models with scores or probabilities)\n");
    println!(
        "| dataset | model | our ROC AUC | theirs | difference | our log loss | theirs | difference |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for ((run, ours), theirs) in runs.iter().zip(ours).zip(theirs) {
        let get = |m: Option<&Measured>, key: &str| m.and_then(|m| m.metrics.get(key).copied());
        let (our_auc, our_loss) = (get(Some(ours), "roc_auc"), get(Some(ours), "log_loss"));
        if our_auc.is_none() && our_loss.is_none() {
            continue;
        }
        let (their_auc, their_loss) = (
            get(theirs.as_ref(), "roc_auc"),
            get(theirs.as_ref(), "log_loss"),
        );
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            run.set,
            run.model_label(),
            fixed(our_auc, 4),
            fixed(their_auc, 4),
            verdicts.metric(
                our_auc,
                their_auc,
                &format!("{}: ROC AUC", run.label()),
                run.metric_tolerance
            ),
            fixed(our_loss, 4),
            fixed(their_loss, 4),
            if run.model == AlgorithmId::DecisionTreeClassifier {
                // A grown tree's leaves are pure, so each wrong answer costs ln(1/ε) ≈ 36:
                // its log loss is about 36 × its error rate, and differs by 36× the
                // accuracy's difference. Information, not a target.
                match (our_loss, their_loss) {
                    (Some(ours), Some(theirs)) => format!("{:+.4} (information)", ours - theirs),
                    _ => "—".to_owned(),
                }
            } else {
                verdicts.metric(
                    our_loss,
                    their_loss,
                    &format!("{}: log loss", run.label()),
                    run.metric_tolerance,
                )
            },
        );
    }
}

fn print_memory(runs: &[Run], ours: &[Measured], verdicts: &mut Verdicts) {
    println!("\n## SVC peak memory, {GENERATED} (20,000 × 20)\n");
    println!(
        "Resident set of the whole bench process (the node, every set and its scaled folds included): before the run, and its peak over the run's 5 folds (VmHWM, reset through /proc/self/clear_refs before the run).\n"
    );
    println!("| model | RSS before | peak RSS | target |");
    println!("|---|---|---|---|");
    for (run, ours) in runs.iter().zip(ours) {
        let Some((before, peak)) = ours.memory_mb else {
            continue;
        };
        let mark = if peak.is_finite() {
            let what = format!("{}: peak memory < {MEMORY_LIMIT_MB} MB", run.label());
            verdicts.judge(what, peak < MEMORY_LIMIT_MB)
        } else {
            "— (no /proc/self/status)"
        };
        println!(
            "| {} | {before:.0} MB | {peak:.0} MB | < {MEMORY_LIMIT_MB} MB {mark} |",
            run.model_label()
        );
    }
}

fn print_compares(compares: &[OurCompare], reference: Option<&Value>, verdicts: &mut Verdicts) {
    let cores = machine::cores();
    println!("\n## Default compare: every default model of the task, 5 folds\n");
    println!(
        "Ours: `compare` through an embedded node (datasets → lab → models, each fold preprocessed through utils; the best model refitted on every row and stored; the report's plots), fits on {cores} threads. scikit-learn: the same models with our defaults, our default pipelines (linear, SVM, k-NN: constant columns dropped, then standard scaling; trees, boosting, naive Bayes: none, as no set here has a missing value), SVC with probabilities (our default), the same metrics, the best model refitted on every row; one thread. Wall time, best of {COMPARE_ROUNDS} on each side; fit + predict: summed over every model and fold (our figure from the leaderboard).\n"
    );
    println!(
        "| dataset | models | ours, {cores} threads (s) | scikit-learn, one thread (s) | × scikit-learn | target | our fit + predict (s) | theirs (s) | our best accuracy / R² | theirs | difference |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for compare in compares {
        let theirs = their_compare(reference, compare.set);
        let their_seconds = theirs.and_then(|t| t["seconds"].as_f64());
        let ratio = their_seconds.map(|t| compare.seconds / t);
        let target = match ratio {
            Some(ratio) => {
                let what = format!(
                    "{} default compare: wall time ≤ {COMPARE_TARGET}× scikit-learn's",
                    compare.set
                );
                format!(
                    "≤ {COMPARE_TARGET}× {}",
                    verdicts.judge(what, ratio <= COMPARE_TARGET)
                )
            }
            None => format!("≤ {COMPARE_TARGET}×"),
        };
        let our_fitting: Option<f64> = compare
            .metrics
            .values()
            .map(|m| m.get("fit_predict_seconds").copied())
            .sum();
        let their_fitting: Option<f64> = theirs.and_then(|t| {
            let models = t["models"].as_object()?;
            models
                .values()
                .map(|m| m["fit_predict_seconds"].as_f64())
                .sum()
        });
        // The best model's accuracy or R² on each side (both rank higher first).
        let our_best = compare
            .metrics
            .values()
            .filter_map(|m| m.get("score").copied())
            .reduce(f64::max);
        let their_best = theirs.and_then(|t| {
            t["models"]
                .as_object()?
                .values()
                .filter_map(|m| m["score"].as_f64())
                .reduce(f64::max)
        });
        println!(
            "| {} | {} | {:.2} | {} | {} | {target} | {} | {} | {} | {} | {} |",
            compare.set,
            compare.models,
            compare.seconds,
            fixed(their_seconds, 2),
            fixed(ratio, 2),
            fixed(our_fitting, 2),
            fixed(their_fitting, 2),
            fixed(our_best, 4),
            fixed(their_best, 4),
            verdicts.metric(
                our_best,
                their_best,
                &format!("{} default compare: best metric", compare.set),
                TREE_METRIC_TOLERANCE
            ),
        );
    }
}

/// The compares' scores side by side (information: the targets are on the runs above).
fn print_compare_scores(compares: &[OurCompare], reference: Option<&Value>) {
    println!("\n### Default compare scores (means over the folds; information)\n");
    println!(
        "| dataset | model | our accuracy / R² | theirs | difference | our ROC AUC | theirs | our log loss | theirs | our fit + predict (s) | theirs (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for compare in compares {
        let theirs = their_compare(reference, compare.set);
        for (model, ours) in &compare.metrics {
            let their = theirs
                .map(|t| numbers(&t["models"][model.as_str()]))
                .unwrap_or_default();
            let pair = |key: &str| (ours.get(key).copied(), their.get(key).copied());
            let (score, auc, loss) = (pair("score"), pair("roc_auc"), pair("log_loss"));
            let fitting = pair("fit_predict_seconds");
            let gap = match score {
                (Some(ours), Some(theirs)) => Some(ours - theirs),
                _ => None,
            };
            println!(
                "| {} | {model} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                compare.set,
                fixed(score.0, 4),
                fixed(score.1, 4),
                gap.map_or("—".to_owned(), |gap| format!("{gap:+.4}")),
                fixed(auc.0, 4),
                fixed(auc.1, 4),
                fixed(loss.0, 4),
                fixed(loss.1, 4),
                fixed(fitting.0, 3),
                fixed(fitting.1, 3),
            );
        }
    }
}

fn print_verdicts(verdicts: &Verdicts, judged: bool) {
    if !judged {
        println!("\nNo scikit-learn figures: the time and metric targets are not judged.");
    }
    let met = verdicts.0.iter().filter(|(_, met)| *met).count();
    println!("\n## Targets: {met} of {} met\n", verdicts.0.len());
    for (what, _) in verdicts.0.iter().filter(|(_, met)| !met) {
        println!("- ✘ {what}");
    }
}
