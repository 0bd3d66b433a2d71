//! Scores of predictions against the truth, as scikit-learn computes them.
//!
//! | metric | task | better | scikit-learn |
//! |---|---|---|---|
//! | `rmse` | regression | lower | `root_mean_squared_error` |
//! | `mae` | regression | lower | `mean_absolute_error` |
//! | `r2` | regression | higher | `r2_score` (1 for a perfect fit of a constant truth, else 0) |
//! | `mape` | regression | lower | `mean_absolute_percentage_error` (a share, not a percentage: each error over `max(\|truth\|, ε)`) |
//! | `rmsle` | regression, where every truth and prediction is above −1 | lower | `root_mean_squared_log_error` (left out of a board where undefined, with a warning saying why) |
//! | `accuracy` | classification | higher | `accuracy_score` |
//! | `balanced_accuracy` | classification | higher | `balanced_accuracy_score` |
//! | `f1_macro`, `precision_macro`, `recall_macro` | classification | higher | `average="macro"`, `zero_division=0` |
//! | `cohen_kappa` | classification | higher | `cohen_kappa_score` (left out where undefined: truth and prediction one and the same class throughout) |
//! | `mcc` | classification | higher | `matthews_corrcoef` (0 where undefined) |
//! | `roc_auc` | binary classification with scores; more classes with probabilities | higher | `roc_auc_score` (`multi_class="ovr"`, macro average, for more than two classes) |
//! | `log_loss` | classification with probabilities | lower | `log_loss` (clipped at machine epsilon) |
//!
//! ```
//! use mltools_models::metrics::{Metric, rmse};
//!
//! assert_eq!(rmse(&[1.0, 2.0], &[1.0, 4.0]), 2f64.sqrt());
//! assert!(!Metric::Rmse.higher_is_better());
//! ```

use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use crate::task::Targets;
use mltools_core::models::Task;
use std::collections::BTreeMap;

/// A score of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Root mean squared error.
    Rmse,
    /// Mean absolute error.
    Mae,
    /// Coefficient of determination.
    R2,
    /// Mean absolute percentage error, as a share (0.1 is 10 %).
    Mape,
    /// Root mean squared logarithmic error: the RMSE of `ln(1 + y)`, defined where every
    /// truth and prediction is above −1.
    Rmsle,
    /// Share of rows classified right.
    Accuracy,
    /// Mean recall over the classes of the truth.
    BalancedAccuracy,
    /// Unweighted mean of the per-class F1 scores.
    F1Macro,
    /// Unweighted mean of the per-class precisions.
    PrecisionMacro,
    /// Unweighted mean of the per-class recalls.
    RecallMacro,
    /// Cohen's kappa: agreement with the truth beyond what chance gives with the same
    /// class shares.
    CohenKappa,
    /// Matthews correlation coefficient (its multiclass form).
    Mcc,
    /// Area under the ROC curve of class 1's scores (binary problems); for more classes,
    /// the unweighted mean of each class's one-vs-rest area under its probabilities.
    RocAuc,
    /// Mean negative log-probability of the true class.
    LogLoss,
}

impl Metric {
    /// The regression metrics.
    pub const REGRESSION: [Metric; 5] = [
        Metric::R2,
        Metric::Rmse,
        Metric::Mae,
        Metric::Mape,
        Metric::Rmsle,
    ];
    /// The classification metrics.
    pub const CLASSIFICATION: [Metric; 9] = [
        Metric::Accuracy,
        Metric::BalancedAccuracy,
        Metric::F1Macro,
        Metric::PrecisionMacro,
        Metric::RecallMacro,
        Metric::CohenKappa,
        Metric::Mcc,
        Metric::RocAuc,
        Metric::LogLoss,
    ];

    /// The metrics of a task.
    pub fn of_task(task: Task) -> &'static [Metric] {
        match task {
            Task::Regression => &Metric::REGRESSION,
            Task::Classification => &Metric::CLASSIFICATION,
        }
    }

    /// The metric a leaderboard is sorted by when none is chosen: R² or accuracy.
    pub fn default_for(task: Task) -> Metric {
        match task {
            Task::Regression => Metric::R2,
            Task::Classification => Metric::Accuracy,
        }
    }

    /// The name used in requests and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Rmse => "rmse",
            Metric::Mae => "mae",
            Metric::R2 => "r2",
            Metric::Mape => "mape",
            Metric::Rmsle => "rmsle",
            Metric::Accuracy => "accuracy",
            Metric::BalancedAccuracy => "balanced_accuracy",
            Metric::F1Macro => "f1_macro",
            Metric::PrecisionMacro => "precision_macro",
            Metric::RecallMacro => "recall_macro",
            Metric::CohenKappa => "cohen_kappa",
            Metric::Mcc => "mcc",
            Metric::RocAuc => "roc_auc",
            Metric::LogLoss => "log_loss",
        }
    }

    /// The task it scores.
    pub fn task(self) -> Task {
        if Metric::REGRESSION.contains(&self) {
            Task::Regression
        } else {
            Task::Classification
        }
    }

    /// Whether a larger value is better (false for errors and losses).
    pub fn higher_is_better(self) -> bool {
        !matches!(
            self,
            Metric::Rmse | Metric::Mae | Metric::Mape | Metric::Rmsle | Metric::LogLoss
        )
    }

    /// The metric called `name`, for `task`.
    ///
    /// # Errors
    /// [`ModelsError::UnknownMetric`] listing the task's metrics.
    pub fn parse(name: &str, task: Task) -> Result<Metric, ModelsError> {
        Metric::of_task(task)
            .iter()
            .copied()
            .find(|metric| metric.as_str() == name)
            .ok_or_else(|| Metric::unknown(name, task))
    }

    /// [`ModelsError::UnknownMetric`] for `name`, listing the metrics of `task`.
    pub(crate) fn unknown(name: &str, task: Task) -> ModelsError {
        ModelsError::UnknownMetric {
            name: name.to_owned(),
            task,
            accepted: Metric::of_task(task)
                .iter()
                .map(|metric| metric.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Refuses to rank by `metric` when the targets make it undefined: RMSLE of a target with
/// a value at or below −1. `target` names the target in the message.
///
/// # Errors
/// [`ModelsError::UndefinedMetric`] naming the first such row and its value.
pub(crate) fn check_defined(
    metric: Metric,
    targets: &Targets,
    target: &str,
) -> Result<(), ModelsError> {
    if let (Metric::Rmsle, Targets::Regression(values)) = (metric, targets)
        && let Some((row, value)) = below_log_domain(values)
    {
        return Err(ModelsError::UndefinedMetric {
            metric: metric.as_str(),
            reason: format!(
                "{target} is {value} at row {row}, and ln(1 + y) needs every value above −1"
            ),
        });
    }
    Ok(())
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Root mean squared error.
pub fn rmse(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(truth.iter().zip(predicted).map(|(t, p)| (t - p) * (t - p))).sqrt()
}

/// Mean absolute error.
pub fn mae(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(truth.iter().zip(predicted).map(|(t, p)| (t - p).abs()))
}

/// R², `1 − SS_res / SS_tot`; for a constant truth, 1 when every prediction is exact and 0
/// otherwise (scikit-learn's `force_finite`).
pub fn r2(truth: &[f64], predicted: &[f64]) -> f64 {
    let centre = mean(truth.iter().copied());
    let total: f64 = truth.iter().map(|t| (t - centre) * (t - centre)).sum();
    let residual: f64 = truth
        .iter()
        .zip(predicted)
        .map(|(t, p)| (t - p) * (t - p))
        .sum();
    if total == 0.0 {
        return if residual == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - residual / total
}

/// Mean of `|truth − prediction| / max(|truth|, ε)` (ε = `f64::EPSILON`, as scikit-learn
/// does): a share, so 0.1 is 10 %. A zero truth with a wrong prediction gives a huge
/// value, as in scikit-learn, rather than an infinite one.
pub fn mape(truth: &[f64], predicted: &[f64]) -> f64 {
    mean(
        truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| (t - p).abs() / t.abs().max(f64::EPSILON)),
    )
}

/// The first value at or below −1 (where `ln(1 + y)` is undefined), or that is not a
/// number, with its index.
pub fn below_log_domain(values: &[f64]) -> Option<(usize, f64)> {
    values
        .iter()
        .copied()
        .enumerate()
        .find(|(_, value)| value.is_nan() || *value <= -1.0)
}

/// The RMSE of `ln(1 + truth)` against `ln(1 + prediction)`; `None` when a truth or a
/// prediction is at or below −1, where scikit-learn refuses the score.
pub fn rmsle(truth: &[f64], predicted: &[f64]) -> Option<f64> {
    if below_log_domain(truth).is_some() || below_log_domain(predicted).is_some() {
        return None;
    }
    let squares = truth.iter().zip(predicted).map(|(t, p)| {
        let difference = t.ln_1p() - p.ln_1p();
        difference * difference
    });
    Some(mean(squares).sqrt())
}

/// Share of rows whose predicted class is the true one.
pub fn accuracy(truth: &[u32], predicted: &[u32]) -> f64 {
    mean(
        truth
            .iter()
            .zip(predicted)
            .map(|(t, p)| f64::from(u8::from(t == p))),
    )
}

/// Per class (the union of the true and predicted classes, ascending): true positives,
/// predicted count, true count.
fn class_counts(truth: &[u32], predicted: &[u32]) -> BTreeMap<u32, (f64, f64, f64)> {
    let mut counts: BTreeMap<u32, (f64, f64, f64)> = BTreeMap::new();
    for (&t, &p) in truth.iter().zip(predicted) {
        counts.entry(t).or_default().2 += 1.0;
        counts.entry(p).or_default().1 += 1.0;
        if t == p {
            counts.entry(t).or_default().0 += 1.0;
        }
    }
    counts
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// Mean recall over the classes that occur in the truth.
pub fn balanced_accuracy(truth: &[u32], predicted: &[u32]) -> f64 {
    let counts = class_counts(truth, predicted);
    mean(
        counts
            .values()
            .filter(|(_, _, actual)| *actual > 0.0)
            .map(|&(hits, _, actual)| hits / actual),
    )
}

/// Unweighted mean precision over the true and predicted classes (0 for a class never
/// predicted).
pub fn precision_macro(truth: &[u32], predicted: &[u32]) -> f64 {
    let counts = class_counts(truth, predicted);
    mean(
        counts
            .values()
            .map(|&(hits, guessed, _)| ratio(hits, guessed)),
    )
}

/// Unweighted mean recall over the true and predicted classes.
pub fn recall_macro(truth: &[u32], predicted: &[u32]) -> f64 {
    let counts = class_counts(truth, predicted);
    mean(
        counts
            .values()
            .map(|&(hits, _, actual)| ratio(hits, actual)),
    )
}

/// Unweighted mean F1 over the true and predicted classes.
pub fn f1_macro(truth: &[u32], predicted: &[u32]) -> f64 {
    let counts = class_counts(truth, predicted);
    mean(
        counts
            .values()
            .map(|&(hits, guessed, actual)| ratio(2.0 * hits, guessed + actual)),
    )
}

/// Cohen's kappa, `(p_o − p_e) / (1 − p_e)`: `p_o` the share of agreeing rows, `p_e` the
/// share chance gives with each class's true and predicted counts. `None` when `p_e` is 1
/// (every row's truth and prediction is the same one class), where scikit-learn gives NaN.
pub fn cohen_kappa(truth: &[u32], predicted: &[u32]) -> Option<f64> {
    let rows = truth.len().min(predicted.len()) as f64;
    if rows == 0.0 {
        return None;
    }
    let counts = class_counts(truth, predicted);
    let agree = counts.values().map(|&(hits, _, _)| hits).sum::<f64>() / rows;
    let chance = counts
        .values()
        .map(|&(_, guessed, actual)| (guessed / rows) * (actual / rows))
        .sum::<f64>();
    let room = 1.0 - chance;
    (room > 0.0).then(|| (agree - chance) / room)
}

/// The Matthews correlation coefficient in its multiclass form (Gorodkin's R_K, as
/// scikit-learn's `matthews_corrcoef`): the covariance of the one-hot truth and prediction
/// over the square root of their variances; 0 when either has one class only.
pub fn mcc(truth: &[u32], predicted: &[u32]) -> f64 {
    let counts = class_counts(truth, predicted);
    let rows = truth.len().min(predicted.len()) as f64;
    let (mut hits, mut cross, mut guessed_squares, mut actual_squares) = (0.0, 0.0, 0.0, 0.0);
    for &(class_hits, guessed, actual) in counts.values() {
        hits += class_hits;
        cross += guessed * actual;
        guessed_squares += guessed * guessed;
        actual_squares += actual * actual;
    }
    let covariance = hits * rows - cross;
    let spread = (rows * rows - guessed_squares) * (rows * rows - actual_squares);
    if spread == 0.0 {
        0.0
    } else {
        covariance / spread.sqrt()
    }
}

/// The area under the ROC curve of `scores` for class 1 against class 0 (the Mann–Whitney
/// statistic with tied scores sharing their mean rank, equal to scikit-learn's trapezoids).
/// `None` when the truth has one class only.
pub fn roc_auc(truth: &[u32], scores: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum_positive = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        // Ranks are 1-based; a run of ties shares the mean of its ranks.
        let shared_rank = (start + end) as f64 / 2.0 + 1.0;
        for &row in &order[start..=end] {
            if truth[row] == 1 {
                rank_sum_positive += shared_rank;
            }
        }
        start = end + 1;
    }
    let positives = truth.iter().filter(|&&t| t == 1).count() as f64;
    let negatives = truth.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    Some((rank_sum_positive - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// scikit-learn's `roc_auc_score(multi_class="ovr")` with its default macro average: the
/// unweighted mean over the classes of the area under the ROC curve of each class's
/// probability against the rest. `probabilities` is `rows × classes`, row-major. `None`
/// unless every class occurs in the truth (scikit-learn refuses the score then).
pub fn roc_auc_one_vs_rest(truth: &[u32], probabilities: &[f64], classes: usize) -> Option<f64> {
    if classes < 2 || probabilities.len() != truth.len() * classes {
        return None;
    }
    let mut total = 0.0;
    for class in 0..classes {
        let is_class: Vec<u32> = truth
            .iter()
            .map(|&t| u32::from(t as usize == class))
            .collect();
        let scores: Vec<f64> = probabilities
            .iter()
            .skip(class)
            .step_by(classes)
            .copied()
            .collect();
        total += roc_auc(&is_class, &scores)?;
    }
    Some(total / classes as f64)
}

/// Mean of `−ln p(true class)`, with each row's probabilities normalised to sum to 1 and
/// clipped to `[ε, 1 − ε]` (ε = `f64::EPSILON`, as scikit-learn does for `float64`).
pub fn log_loss(truth: &[u32], probabilities: &[f64], classes: usize) -> f64 {
    let rows = probabilities.chunks_exact(classes.max(1));
    mean(truth.iter().zip(rows).map(|(&t, row)| {
        let total: f64 = row.iter().sum();
        let p = ratio(row[t as usize], total).clamp(f64::EPSILON, 1.0 - f64::EPSILON);
        -p.ln()
    }))
}

/// Every regression metric that is defined here: RMSLE only when every truth and
/// prediction is above −1.
pub fn regression_scores(truth: &[f64], predicted: &[f64]) -> BTreeMap<Metric, f64> {
    let mut scores = BTreeMap::from([
        (Metric::Rmse, rmse(truth, predicted)),
        (Metric::Mae, mae(truth, predicted)),
        (Metric::R2, r2(truth, predicted)),
        (Metric::Mape, mape(truth, predicted)),
    ]);
    if let Some(value) = rmsle(truth, predicted) {
        scores.insert(Metric::Rmsle, value);
    }
    scores
}

/// Every classification metric the prediction allows: Cohen's kappa where defined; ROC
/// AUC for two classes with scores or probabilities (and both classes in the truth), or for
/// more classes with probabilities (and every class in the truth); log loss only with
/// probabilities.
pub fn classification_scores(
    truth: &[u32],
    prediction: &ClassPrediction,
    classes: usize,
) -> BTreeMap<Metric, f64> {
    let predicted = &prediction.labels;
    let mut scores = BTreeMap::from([
        (Metric::Accuracy, accuracy(truth, predicted)),
        (
            Metric::BalancedAccuracy,
            balanced_accuracy(truth, predicted),
        ),
        (Metric::F1Macro, f1_macro(truth, predicted)),
        (Metric::PrecisionMacro, precision_macro(truth, predicted)),
        (Metric::RecallMacro, recall_macro(truth, predicted)),
        (Metric::Mcc, mcc(truth, predicted)),
    ]);
    if let Some(kappa) = cohen_kappa(truth, predicted) {
        scores.insert(Metric::CohenKappa, kappa);
    }
    if let Some(auc) = prediction
        .positive_scores(classes)
        .and_then(|positive| roc_auc(truth, &positive))
    {
        scores.insert(Metric::RocAuc, auc);
    } else if let Some(probabilities) = prediction.probabilities.as_deref()
        && classes > 2
        && let Some(auc) = roc_auc_one_vs_rest(truth, probabilities, classes)
    {
        scores.insert(Metric::RocAuc, auc);
    }
    if let Some(probabilities) = &prediction.probabilities {
        scores.insert(Metric::LogLoss, log_loss(truth, probabilities, classes));
    }
    scores
}

/// The mean; 0 for no values.
fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, count) = values.fold((0.0, 0usize), |(sum, count), value| {
        (sum + value, count + 1)
    });
    if count == 0 { 0.0 } else { sum / count as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-12,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn regression_metrics_by_hand() {
        // Errors: 0.5, 0, -1.5, -1 → squares 0.25, 0, 2.25, 1 (mean 0.875); |e| mean 0.75.
        let truth = [3.0, -0.5, 2.0, 7.0];
        let predicted = [2.5, -0.5, 3.5, 8.0];
        close(rmse(&truth, &predicted), 0.875f64.sqrt());
        close(mae(&truth, &predicted), 0.75);
        // Mean 2.875; SS_tot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875.
        close(r2(&truth, &predicted), 1.0 - 3.5 / 29.1875);
        close(r2(&[2.0, 2.0], &[2.0, 2.0]), 1.0);
        close(r2(&[2.0, 2.0], &[2.0, 3.0]), 0.0);
    }

    #[test]
    fn classification_metrics_by_hand() {
        // Class 0: true twice, predicted twice (rows 0, 5), 1 hit. Class 1: true twice,
        // predicted 4 times (rows 1–4), 2 hits. Class 2: true twice, never predicted.
        let truth = [0, 0, 1, 1, 2, 2];
        let predicted = [0, 1, 1, 1, 1, 0];
        close(accuracy(&truth, &predicted), 3.0 / 6.0);
        close(recall_macro(&truth, &predicted), (0.5 + 1.0 + 0.0) / 3.0);
        close(
            balanced_accuracy(&truth, &predicted),
            (0.5 + 1.0 + 0.0) / 3.0,
        );
        close(precision_macro(&truth, &predicted), (0.5 + 0.5 + 0.0) / 3.0);
        // F1 per class: 2·1/(2+2) = 0.5, 2·2/(4+2) = 2/3, 0.
        close(f1_macro(&truth, &predicted), (0.5 + 2.0 / 3.0) / 3.0);
    }

    // scikit-learn's documented examples: mean_absolute_percentage_error gives
    // 0.3273809523809524 and 112589990684262.48; root_mean_squared_log_error 0.199...
    #[test]
    fn mape_and_rmsle_against_scikit_learn() {
        close(
            mape(&[3.0, -0.5, 2.0, 7.0], &[2.5, 0.0, 2.0, 8.0]),
            0.3273809523809524,
        );
        let zero_truth = mape(&[1.0, 0.0, 2.4, 7.0], &[1.2, 0.1, 2.4, 8.0]);
        assert!(
            (zero_truth / 112589990684262.48 - 1.0).abs() < 1e-12,
            "{zero_truth}"
        );
        let truth = [3.0, 5.0, 2.5, 7.0];
        close(
            rmsle(&truth, &[2.5, 5.0, 4.0, 8.0]).unwrap(),
            0.19932416558108,
        );
        // Undefined at or below −1 on either side, and for NaN; defined just above.
        assert_eq!(rmsle(&[-1.0, 2.0], &[0.0, 2.0]), None);
        assert_eq!(rmsle(&[0.0, 2.0], &[0.0, -1.5]), None);
        assert_eq!(rmsle(&[f64::NAN], &[0.0]), None);
        assert!(rmsle(&[-0.5], &[0.0]).is_some());
        assert_eq!(below_log_domain(&[0.0, 3.0, -2.0, -7.0]), Some((2, -2.0)));
        let scores = regression_scores(&truth, &[2.5, 5.0, -1.0, 8.0]);
        assert!(!scores.contains_key(&Metric::Rmsle));
        assert!(scores.contains_key(&Metric::Mape));
    }

    // scikit-learn: cohen_kappa_score(["negative", "positive", "negative", "neutral",
    // "positive"], ["negative", "positive", "negative", "neutral", "negative"]) = 0.6875;
    // matthews_corrcoef([+1, +1, +1, -1], [+1, -1, +1, +1]) = -0.333...
    #[test]
    fn kappa_and_mcc_against_scikit_learn() {
        close(
            cohen_kappa(&[0, 1, 0, 2, 1], &[0, 1, 0, 2, 0]).unwrap(),
            0.6875,
        );
        close(mcc(&[1, 1, 1, 0], &[1, 0, 1, 1]), -1.0 / 3.0);
        // Perfect and perfectly inverted.
        close(cohen_kappa(&[0, 1, 2, 1], &[0, 1, 2, 1]).unwrap(), 1.0);
        close(mcc(&[0, 1, 0, 1], &[1, 0, 1, 0]), -1.0);
        // One class throughout on both sides: kappa undefined (scikit-learn: NaN), MCC 0.
        assert_eq!(cohen_kappa(&[2, 2, 2], &[2, 2, 2]), None);
        close(mcc(&[2, 2, 2], &[2, 2, 2]), 0.0);
        assert_eq!(cohen_kappa(&[], &[]), None);
        let scores = classification_scores(&[1, 1], &ClassPrediction::labels(vec![1, 1]), 2);
        assert!(!scores.contains_key(&Metric::CohenKappa));
        assert_eq!(scores[&Metric::Mcc], 0.0);
    }

    // On two classes the multiclass MCC is the usual
    // (tp·tn − fp·fn) / √((tp + fp)(tp + fn)(tn + fp)(tn + fn)).
    #[test]
    fn mcc_on_two_classes_is_the_textbook_formula() {
        let truth = [1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0];
        let predicted = [1, 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0];
        let count = |t: u32, p: u32| {
            truth
                .iter()
                .zip(&predicted)
                .filter(|pair| *pair == (&t, &p))
                .count() as f64
        };
        let (tp, tn, fp, fn_) = (count(1, 1), count(0, 0), count(0, 1), count(1, 0));
        let expected =
            (tp * tn - fp * fn_) / ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt();
        close(mcc(&truth, &predicted), expected);
    }

    // Three classes by hand: confusion (rows truth, columns prediction)
    // [[2, 1, 0], [0, 2, 1], [1, 0, 2]]: 6 of 9 right, every class 3 true and 3 predicted.
    // Kappa: p_o = 6/9, p_e = 3 · (3/9)² = 1/3 → (2/3 − 1/3) / (2/3) = 0.5.
    // MCC: (6·9 − 27) / (81 − 27) = 0.5.
    #[test]
    fn kappa_and_mcc_on_three_classes_by_hand() {
        let truth = [0, 0, 0, 1, 1, 1, 2, 2, 2];
        let predicted = [0, 0, 1, 1, 1, 2, 2, 2, 0];
        close(cohen_kappa(&truth, &predicted).unwrap(), 0.5);
        close(mcc(&truth, &predicted), 0.5);
    }

    #[test]
    fn balanced_accuracy_ignores_classes_only_predicted() {
        // Class 2 is predicted but never true: scikit-learn leaves it out of the mean.
        close(
            balanced_accuracy(&[0, 0, 1, 1], &[0, 2, 1, 1]),
            (0.5 + 1.0) / 2.0,
        );
    }

    #[test]
    fn roc_auc_by_hand() {
        // scikit-learn's doc example: 0.75.
        close(
            roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap(),
            0.75,
        );
        // A tie between a positive and a negative counts one half: pairs (p, n) =
        // (0.5, 0.5) ½, (0.5, 0.2) 1, (0.9, 0.5) 1, (0.9, 0.2) 1 → 3.5 / 4.
        close(
            roc_auc(&[1, 0, 1, 0], &[0.5, 0.5, 0.9, 0.2]).unwrap(),
            0.875,
        );
        assert_eq!(roc_auc(&[1, 1], &[0.5, 0.7]), None);
    }

    #[test]
    fn log_loss_by_hand() {
        // −(ln 0.9 + ln 0.8 + ln 0.3) / 3, with the last row normalised from (0.35, 0.15).
        let probabilities = [0.1, 0.9, 0.8, 0.2, 0.7, 0.3];
        let expected = -(0.9f64.ln() + 0.8f64.ln() + 0.3f64.ln()) / 3.0;
        close(log_loss(&[1, 0, 1], &probabilities, 2), expected);
        let halves = [0.35, 0.15];
        close(log_loss(&[0], &halves, 2), -(0.7f64.ln()));
        // A certain wrong answer is clipped, not infinite.
        assert!(log_loss(&[0], &[0.0, 1.0], 2).is_finite());
    }

    #[test]
    fn scores_include_auc_and_loss_only_when_possible() {
        let labels_only = ClassPrediction::labels(vec![0, 1]);
        let scores = classification_scores(&[0, 1], &labels_only, 2);
        assert!(!scores.contains_key(&Metric::RocAuc));
        assert!(!scores.contains_key(&Metric::LogLoss));
        let with_probabilities = ClassPrediction::from_probabilities(vec![0.8, 0.2, 0.3, 0.7], 2);
        let scores = classification_scores(&[0, 1], &with_probabilities, 2);
        close(scores[&Metric::RocAuc], 1.0);
        close(scores[&Metric::LogLoss], -(0.8f64.ln() + 0.7f64.ln()) / 2.0);
    }

    // y = [0, 1, 2, 2, 1, 0, 1, 2]; p = the rows below
    // roc_auc_score(y, p, multi_class="ovr") -> 0.861111111111111; with a class missing
    // from y it raises "Number of classes in y_true not equal to the number of columns".
    #[test]
    fn multiclass_roc_auc_is_the_one_vs_rest_macro_mean() {
        let probabilities = [
            0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.1, 0.2, 0.7, 0.3, 0.4, 0.3, 0.5, 0.4, 0.1, 0.4, 0.4,
            0.2, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8,
        ];
        let truth = [0, 1, 2, 2, 1, 0, 1, 2];
        close(
            roc_auc_one_vs_rest(&truth, &probabilities, 3).unwrap(),
            0.861111111111111,
        );
        let prediction = ClassPrediction::from_probabilities(probabilities.to_vec(), 3);
        let scores = classification_scores(&truth, &prediction, 3);
        close(scores[&Metric::RocAuc], 0.861111111111111);
        assert_eq!(
            roc_auc_one_vs_rest(&[0, 1, 1, 0], &probabilities[..12], 3),
            None
        );
        // Labels only: no ROC AUC for three classes.
        let labels = ClassPrediction::labels(vec![0, 1, 2, 2, 1, 0, 1, 2]);
        assert!(!classification_scores(&truth, &labels, 3).contains_key(&Metric::RocAuc));
    }

    #[test]
    fn metric_names_parse_per_task() {
        assert_eq!(
            Metric::parse("rmse", Task::Regression).unwrap(),
            Metric::Rmse
        );
        let error = Metric::parse("accuracy", Task::Regression).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown regression metric `accuracy`; the regression metrics are: r2, rmse, mae, \
             mape, rmsle"
        );
        assert!(Metric::LogLoss.task() == Task::Classification);
        assert_eq!(
            Metric::parse("mcc", Task::Classification).unwrap(),
            Metric::Mcc
        );
        assert_eq!(Metric::Rmsle.task(), Task::Regression);
        assert!(!Metric::Mape.higher_is_better() && Metric::CohenKappa.higher_is_better());
    }
}
