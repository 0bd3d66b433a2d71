//! Support vector classification, scikit-learn's `SVC` on our LIBSVM-style solver
//! ([`svm`]): C-SVC with an RBF kernel, `gamma = "scale"`, `C = 1`.
//!
//! More than two classes are one-vs-one, as LIBSVM: one machine per pair of classes
//! `(i, j)`, `i < j` in class order, fitted on the rows of the two classes (class `i`'s
//! first, labelled `+1`); a row goes to the class with the most votes, the lower class on a
//! tie. The support vectors of all machines are kept once, grouped by class, with LIBSVM's
//! `(classes − 1) × vectors` table of dual coefficients.
//!
//! Probabilities are on by default (`probability = true`), so a comparison can report ROC
//! AUC and log loss: as scikit-learn's `probability=True`, each pair also gets a Platt
//! sigmoid fitted on 5-fold cross-validated decision values (five extra fits per pair),
//! and the pairwise probabilities are coupled into one per class. The label still comes
//! from the votes, as scikit-learn's `predict`, so it can disagree with the most probable
//! class. With `probability = false` a binary model gives decision scores instead.

use crate::admission::DataShape;
use crate::algorithms::Cancel;
use crate::algorithms::FitLimits;
use crate::algorithms::dense::{check_classes, check_matrix, present_classes, rows, spread};
use crate::algorithms::fit::{Fit, Predict, codes};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::svm::formulations::{self, Machine};
use crate::algorithms::svm::kernel::TrainingKernel;
use crate::algorithms::svm::platt::{self, Coupling, Sigmoid, SplitMix};
use crate::algorithms::svm::{self, Kernel, KernelParams, SolverParams, check_vectors};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use crate::prediction::Prediction;
use crate::task::Targets;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

const ID: &str = "svc";

/// Parameters of support vector classification.
#[derive(Debug, Clone, PartialEq)]
pub struct SvcParams {
    /// The penalty on margin violations, scikit-learn's `C`; 1.0.
    pub c: f64,
    /// The kernel.
    pub kernel: KernelParams,
    /// The solver's tolerance, cache bound and shrinking.
    pub solver: SolverParams,
    /// Whether to fit Platt sigmoids for class probabilities; true.
    pub probability: bool,
}

impl Default for SvcParams {
    fn default() -> Self {
        SvcParams {
            c: 1.0,
            kernel: KernelParams::default(),
            solver: SolverParams::default(),
            probability: true,
        }
    }
}

/// Checked [`SvcParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct SvcValidParams(SvcParams);

impl SvcParams {
    pub(crate) const DOCS: &'static [ParamDoc] = &[
        svm::DOCS[0],
        svm::DOCS[1],
        svm::DOCS[2],
        svm::DOCS[3],
        svm::DOCS[4],
        svm::DOCS[5],
        svm::DOCS[6],
        svm::DOCS[7],
        ParamDoc {
            name: "probability",
            default: DefaultValue::Bool(true),
            accepts: "true or false",
            doc: "Class probabilities by Platt scaling on 5-fold cross-validated decision \
                  values (scikit-learn's `probability`): five extra fits per pair of classes. \
                  Off, a model gives labels, and decision scores for two classes.",
        },
    ];

    pub(crate) fn from_params(params: &Params<'_>) -> Result<Self, ModelsError> {
        Ok(SvcParams {
            c: params.number("c", 1.0)?,
            kernel: KernelParams::from_params(params)?,
            solver: SolverParams::from_params(params)?,
            probability: params.boolean("probability", true)?,
        })
    }

    /// Checks the parameters.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a non-positive `c`, `tol`, `gamma` or
    /// `cache_size_mb` (a zero-sized kernel cache), or a `degree` below 1.
    pub fn check(self) -> Result<SvcValidParams, ModelsError> {
        svm::check_penalty(ID, self.c)?;
        self.solver.check(ID)?;
        self.kernel.check(ID)?;
        Ok(SvcValidParams(self))
    }
}

/// A fitted classifier: LIBSVM's model, owned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SvcModel {
    /// The class codes seen in training, ascending.
    classes: Vec<u32>,
    kernel: Kernel,
    width: usize,
    /// The support vectors of every machine, once each, grouped by class, row-major.
    vectors: Vec<f64>,
    /// Per class, how many of the support vectors are its rows.
    counts: Vec<u32>,
    /// The training row of each support vector.
    support: Vec<u32>,
    /// `(classes − 1) × vectors`, row-major: for the machine of classes `(i, j)`, class
    /// `i`'s vectors are weighted by row `j − 1` and class `j`'s by row `i`.
    coefficients: Vec<f64>,
    /// Per pair `(i, j)`, `i < j` in order, the bias subtracted from its decision value.
    rho: Vec<f64>,
    /// Per pair, its Platt sigmoid, when fitted with probabilities.
    sigmoids: Option<Vec<Sigmoid>>,
    /// False when a machine's solver stopped at its iteration limit.
    converged: bool,
}

impl SvcValidParams {
    /// The parameters.
    pub fn params(&self) -> &SvcParams {
        &self.0
    }

    /// Fits one machine per pair of the classes in `y` (and their sigmoids); `seed` drives
    /// the probability folds.
    /// Fits without a way to cancel (tests).
    #[cfg(test)]
    pub(crate) fn fit(&self, x: &Matrix, y: &[u32], seed: u64) -> Result<SvcModel, ModelsError> {
        self.fit_until(x, y, seed, &crate::algorithms::Cancel::never())
    }

    /// Fits, giving up with [`ModelsError::Cancelled`] once `cancel` fires.
    pub(crate) fn fit_until(
        &self,
        x: &Matrix,
        y: &[u32],
        seed: u64,
        cancel: &crate::algorithms::Cancel,
    ) -> Result<SvcModel, ModelsError> {
        check_matrix(x)?;
        let width = x.columns.len();
        if width == 0 || x.rows != y.len() {
            return Err(ModelsError::Shape {
                reason: format!("{} rows of {width} features for {} labels", x.rows, y.len()),
            });
        }
        if x.rows < 2 {
            return Err(ModelsError::TooFewRows {
                reason: format!("{ID} needs at least 2 training rows, got {}", x.rows),
            });
        }
        let classes = present_classes(y);
        if let [only] = classes.as_slice() {
            return Err(ModelsError::Fit {
                algorithm: ID,
                reason: format!(
                    "the training rows hold one class only (class code {only}); SVC needs two or more"
                ),
            });
        }
        let kernel = self.0.kernel.kernel(x);
        let settings = self.0.solver.settings();
        let groups: Vec<Vec<usize>> = classes
            .iter()
            .map(|&class| (0..y.len()).filter(|&row| y[row] == class).collect())
            .collect();
        let mut random = SplitMix::new(seed);
        let mut machines = Vec::new();
        let mut sigmoids = Vec::new();
        for (a, first) in groups.iter().enumerate() {
            for second in &groups[a + 1..] {
                let (training, labels) = pair_problem(x, kernel, first, second);
                cancel.check()?;
                if self.0.probability {
                    sigmoids.push(platt::fit_sigmoid(
                        kernel,
                        &training,
                        &labels,
                        self.0.c,
                        settings,
                        &mut random,
                        cancel,
                    )?);
                }
                machines.push(formulations::binary(
                    &training, &labels, self.0.c, settings, cancel,
                )?);
            }
        }
        let converged = machines.iter().all(|machine| machine.converged);
        if !converged {
            tracing::warn!(
                algorithm = ID,
                "the solver stopped at its iteration limit before the tolerance"
            );
        }
        let sigmoids = self.0.probability.then_some(sigmoids);
        Ok(SvcModel::assemble(
            x, kernel, classes, &groups, &machines, sigmoids, converged,
        ))
    }
}

/// The problem of the machine separating two classes: their rows copied out contiguous
/// (LIBSVM's order: the first class's rows, then the second's), labelled `+1` and `−1`.
fn pair_problem(
    x: &Matrix,
    kernel: Kernel,
    first: &[usize],
    second: &[usize],
) -> (TrainingKernel, Vec<i8>) {
    let width = x.columns.len();
    let values = first
        .iter()
        .chain(second)
        .flat_map(|&row| x.values[row * width..(row + 1) * width].iter().copied())
        .collect();
    let labels = (0..first.len() + second.len())
        .map(|k| if k < first.len() { 1 } else { -1 })
        .collect();
    (TrainingKernel::new(kernel, values, width), labels)
}

impl SvcModel {
    /// Checks a decoded model: ascending class codes below `classes`, the machines' parts
    /// consistent in size with each other and `features`, every value finite.
    pub(crate) fn check_model(&self, features: usize, classes: usize) -> Result<(), String> {
        use crate::algorithms::validate::{class_codes, finite};
        class_codes("the class list", &self.classes, classes)?;
        let total = self.support.len();
        let counted: u64 = self.counts.iter().map(|&count| u64::from(count)).sum();
        let consistent = self.classes.len() >= 2
            && self.width == features
            && self.counts.len() == self.classes.len()
            && counted == total as u64
            && Some(self.vectors.len()) == total.checked_mul(features)
            && Some(self.coefficients.len()) == (self.classes.len() - 1).checked_mul(total)
            && self.rho.len() == self.pairs()
            && self
                .sigmoids
                .as_ref()
                .is_none_or(|s| s.len() == self.pairs());
        if !consistent {
            return Err(format!(
                "an svc model of {} classes, {} features, {} vector values, {} class counts, \
                 {} coefficients, {} biases for {features} features",
                self.classes.len(),
                self.width,
                self.vectors.len(),
                self.counts.len(),
                self.coefficients.len(),
                self.rho.len()
            ));
        }
        self.kernel.check_finite()?;
        finite("the support vectors", &self.vectors)?;
        finite("the dual coefficients", &self.coefficients)?;
        finite("the biases", &self.rho)?;
        for (pair, sigmoid) in self.sigmoids.iter().flatten().enumerate() {
            finite(&format!("sigmoid {pair}"), &[sigmoid.a, sigmoid.b])?;
        }
        Ok(())
    }

    /// LIBSVM's model from the machines of each pair: a row is a support vector when any
    /// machine gives it a non-zero coefficient.
    fn assemble(
        x: &Matrix,
        kernel: Kernel,
        classes: Vec<u32>,
        groups: &[Vec<usize>],
        machines: &[Machine],
        sigmoids: Option<Vec<Sigmoid>>,
        converged: bool,
    ) -> SvcModel {
        let width = x.columns.len();
        let mut nonzero: Vec<Vec<bool>> = groups.iter().map(|g| vec![false; g.len()]).collect();
        let mut pairs = machines.iter();
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let Some(machine) = pairs.next() else { break };
                let (first, second) = machine.coefficients.split_at(groups[a].len());
                for (flags, coefficients) in [(a, first), (b, second)] {
                    for (flag, &coefficient) in nonzero[flags].iter_mut().zip(coefficients) {
                        *flag |= coefficient != 0.0;
                    }
                }
            }
        }
        let mut positions: Vec<Vec<usize>> = Vec::with_capacity(groups.len());
        let (mut vectors, mut counts, mut support) = (Vec::new(), Vec::new(), Vec::new());
        for (group, flags) in groups.iter().zip(&nonzero) {
            let mut class_positions = vec![usize::MAX; group.len()];
            let mut count = 0;
            for ((&row, &flag), position) in group.iter().zip(flags).zip(&mut class_positions) {
                if flag {
                    *position = support.len();
                    support.push(row as u32);
                    vectors.extend_from_slice(&x.values[row * width..(row + 1) * width]);
                    count += 1;
                }
            }
            counts.push(count);
            positions.push(class_positions);
        }
        let total = support.len();
        let mut coefficients = vec![0.0; (groups.len() - 1) * total];
        let mut pairs = machines.iter();
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                let Some(machine) = pairs.next() else { break };
                let (first, second) = machine.coefficients.split_at(groups[a].len());
                for (class, table_row, values) in [(a, b - 1, first), (b, a, second)] {
                    for (&position, &coefficient) in positions[class].iter().zip(values) {
                        if position != usize::MAX {
                            coefficients[table_row * total + position] = coefficient;
                        }
                    }
                }
            }
        }
        SvcModel {
            classes,
            kernel,
            width,
            vectors,
            counts,
            support,
            coefficients,
            rho: machines.iter().map(|machine| machine.rho).collect(),
            sigmoids,
            converged,
        }
    }

    #[cfg(test)]
    /// The training rows that are support vectors, grouped by class (scikit-learn's
    /// `support_`).
    pub(crate) fn support(&self) -> &[u32] {
        &self.support
    }

    #[cfg(test)]
    /// Per class, its number of support vectors (scikit-learn's `n_support_`).
    pub(crate) fn support_counts(&self) -> &[u32] {
        &self.counts
    }

    #[cfg(test)]
    /// LIBSVM's dual coefficients, `(classes − 1) × support vectors` row-major. For two
    /// classes, scikit-learn's `dual_coef_` is their negation (it flips the binary machine
    /// so that a positive decision means its second class); otherwise they are equal.
    pub(crate) fn dual_coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    #[cfg(test)]
    /// Per pair of classes `(i, j)`, `i < j` in order, the bias subtracted from its decision
    /// value (scikit-learn's `intercept_` is `−rho`, negated again for two classes).
    pub(crate) fn rho(&self) -> &[f64] {
        &self.rho
    }

    #[cfg(test)]
    /// Per pair, the Platt sigmoid giving the probability of its first class.
    pub(crate) fn sigmoids(&self) -> Option<&[Sigmoid]> {
        self.sigmoids.as_deref()
    }

    /// False when a machine's solver stopped at its iteration limit.
    pub(crate) fn converged(&self) -> bool {
        self.converged
    }

    fn pairs(&self) -> usize {
        self.classes.len() * self.classes.len().saturating_sub(1) / 2
    }

    /// Refuses a model whose parts disagree in size (damaged bytes), and rows of another
    /// width: every index `decide` takes is then in range.
    fn check(&self, x: &Matrix) -> Result<(), ModelsError> {
        let total = self.support.len();
        let counted: u64 = self.counts.iter().map(|&count| u64::from(count)).sum();
        let pairs = self.pairs();
        let consistent = self.classes.len() >= 2
            && self.counts.len() == self.classes.len()
            && counted == total as u64
            && self.coefficients.len() == (self.classes.len() - 1) * total
            && self.rho.len() == pairs
            && self.sigmoids.as_ref().is_none_or(|s| s.len() == pairs);
        if !consistent {
            return Err(ModelsError::Corrupt {
                reason: format!(
                    "an svc model of {} classes with {} class counts, {} coefficients, {} biases",
                    self.classes.len(),
                    self.counts.len(),
                    self.coefficients.len(),
                    self.rho.len()
                ),
            });
        }
        check_vectors(self.width, &self.vectors, total, x)
    }

    /// The decision value of every pair for `row`, into `decisions` (LIBSVM's
    /// `predict_values`: the kernel against every support vector once, each pair's sum
    /// over its two classes' vectors, then its bias subtracted).
    fn decide(&self, row: &[f64], kernel_values: &mut [f64], decisions: &mut [f64]) {
        for (value, vector) in kernel_values
            .iter_mut()
            .zip(self.vectors.chunks_exact(self.width))
        {
            *value = self.kernel.apply(row, vector);
        }
        let total = kernel_values.len();
        let mut starts = 0;
        let mut pair = 0;
        for (a, &count_a) in self.counts.iter().enumerate() {
            let own = starts..starts + count_a as usize;
            let mut other_start = own.end;
            for (b, &count_b) in self.counts.iter().enumerate().skip(a + 1) {
                let other = other_start..other_start + count_b as usize;
                let first = &self.coefficients[(b - 1) * total..b * total];
                let second = &self.coefficients[a * total..(a + 1) * total];
                let mut sum = 0.0;
                for k in own.clone() {
                    sum += first[k] * kernel_values[k];
                }
                for k in other.clone() {
                    sum += second[k] * kernel_values[k];
                }
                decisions[pair] = sum - self.rho[pair];
                pair += 1;
                other_start = other.end;
            }
            starts = own.end;
        }
    }

    /// The most voted class index; the lower index on a tie (LIBSVM, scikit-learn).
    fn vote(&self, decisions: &[f64], votes: &mut [usize]) -> usize {
        votes.fill(0);
        let mut pair = 0;
        for a in 0..votes.len() {
            for b in a + 1..votes.len() {
                if decisions[pair] > 0.0 {
                    votes[a] += 1;
                } else {
                    votes[b] += 1;
                }
                pair += 1;
            }
        }
        let mut best = 0;
        for (index, &count) in votes.iter().enumerate() {
            if count > votes[best] {
                best = index;
            }
        }
        best
    }

    #[cfg(test)]
    /// scikit-learn's `decision_function` (with `decision_function_shape="ovo"`): for two
    /// classes, one value per row, positive for the second class; for more, per row the
    /// value of each pair of classes `(i, j)`, `i < j` in order, row-major, positive for
    /// class `i` (LIBSVM's sign, which scikit-learn flips for two classes only).
    ///
    /// # Errors
    /// [`ModelsError::Shape`] for rows of another width; [`ModelsError::Corrupt`] for a
    /// damaged model.
    pub(crate) fn decision_function(&self, x: &Matrix) -> Result<Vec<f64>, ModelsError> {
        self.check(x)?;
        let pairs = self.pairs();
        let mut kernel_values = vec![0.0; self.support.len()];
        let mut decisions = vec![0.0; x.rows * pairs];
        for (row, out) in rows(x).zip(decisions.chunks_exact_mut(pairs.max(1))) {
            self.decide(row, &mut kernel_values, out);
        }
        if pairs == 1 {
            decisions.iter_mut().for_each(|value| *value = -*value);
        }
        Ok(decisions)
    }

    pub(crate) fn predict(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        check_classes(&self.classes, classes)?;
        self.check(x)?;
        let k = self.classes.len();
        let mut kernel_values = vec![0.0; self.support.len()];
        let mut decisions = vec![0.0; self.pairs()];
        let mut votes = vec![0; k];
        let mut labels = Vec::with_capacity(x.rows);
        let mut scores = Vec::new();
        let mut coupling = Coupling::new(k);
        let mut row_probabilities = vec![0.0; k];
        let mut probabilities = Vec::new();
        for row in rows(x) {
            self.decide(row, &mut kernel_values, &mut decisions);
            labels.push(self.classes[self.vote(&decisions, &mut votes)]);
            match &self.sigmoids {
                Some(sigmoids) => {
                    coupling.probabilities(&decisions, sigmoids, &mut row_probabilities);
                    probabilities.extend_from_slice(&row_probabilities);
                }
                // scikit-learn's binary decision_function: positive means the second class.
                None if k == 2 => scores.push(-decisions[0]),
                None => {}
            }
        }
        let probabilities = match self.sigmoids {
            Some(_) => Some(spread(&probabilities, &self.classes, classes)?),
            None => None,
        };
        let scores =
            (probabilities.is_none() && classes == 2 && self.classes == [0, 1]).then_some(scores);
        Ok(ClassPrediction {
            labels,
            probabilities,
            scores,
        })
    }
}

impl Fit for SvcValidParams {
    fn fit(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<Fitted, ModelsError> {
        let y = codes(y, AlgorithmId::Svc)?;
        Ok(Fitted::Svc(self.fit_until(x, y, seed, cancel)?))
    }

    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        self.params().solver.check_limits(id, limits)
    }

    fn working_bytes(&self, shape: DataShape) -> u64 {
        self.params().solver.working_bytes(shape)
    }
}

impl Predict for SvcModel {
    fn predict(&self, x: &Matrix, classes: usize, _: &Cancel) -> Result<Prediction, ModelsError> {
        Ok(Prediction::Classification(SvcModel::predict(
            self, x, classes,
        )?))
    }

    fn check(&self, _: AlgorithmId, features: usize, classes: usize) -> Result<(), String> {
        self.check_model(features, classes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    fn fit(probability: bool, x: &Matrix, y: &[u32]) -> SvcModel {
        let params = SvcParams {
            probability,
            ..SvcParams::default()
        };
        params.check().unwrap().fit(x, y, 3).unwrap()
    }

    #[test]
    fn blobs_separate_with_scores_or_probabilities() {
        let (x, y) = testing::blobs();
        let scored = fit(false, &x, &y).predict(&x, 2).unwrap();
        assert_eq!(scored.labels, y);
        assert!(scored.probabilities.is_none());
        let scores = scored.scores.unwrap();
        assert!(
            y.iter()
                .zip(&scores)
                .all(|(&class, &score)| (score > 0.0) == (class == 1))
        );
        let probable = fit(true, &x, &y).predict(&x, 2).unwrap();
        assert_eq!(probable.labels, y);
        assert_eq!(probable.scores, None);
        let probabilities = probable.probabilities.unwrap();
        for (row, &class) in probabilities.chunks_exact(2).zip(&y) {
            assert!((row[0] + row[1] - 1.0).abs() < 1e-9);
            assert!(row[class as usize] > 0.5, "{row:?}");
        }
    }

    #[test]
    fn one_vs_one_separates_three_classes() {
        let (x, y) = testing::three_blobs();
        let model = fit(false, &x, &y);
        assert_eq!(model.rho().len(), 3);
        let prediction = model.predict(&x, 3).unwrap();
        assert_eq!(prediction.labels, y);
        assert_eq!(prediction.scores, None);
        // A model told it has fewer classes than it votes for refuses, rather than panic.
        let error = model.predict(&x, 2).unwrap_err();
        assert!(matches!(error, ModelsError::Corrupt { .. }), "{error}");
    }

    #[test]
    fn ties_go_to_the_lower_class() {
        let (x, y) = testing::three_blobs();
        let model = fit(false, &x, &y);
        let mut votes = vec![0; 3];
        // (0,1) → 0, (0,2) → 2, (1,2) → 1: one vote each.
        assert_eq!(model.vote(&[1.0, -1.0, 1.0], &mut votes), 0);
        // (0,1) → 1, (0,2) → 2, (1,2) → 1: two votes for class 1.
        assert_eq!(model.vote(&[-1.0, -1.0, 1.0], &mut votes), 1);
        // A zero decision is a vote for the pair's second class, as LIBSVM.
        assert_eq!(model.vote(&[0.0, 0.0, 0.0], &mut votes), 2);
    }

    #[test]
    fn a_damaged_model_is_refused() {
        let (x, y) = testing::three_blobs();
        let mut model = fit(false, &x, &y);
        model.rho.pop();
        let error = model.predict(&x, 3).unwrap_err();
        assert!(matches!(error, ModelsError::Corrupt { .. }), "{error}");
    }
}
