//! Histogram gradient boosting, scikit-learn's `HistGradientBoostingRegressor` and
//! `HistGradientBoostingClassifier`, with their defaults: 255 bins, learning rate 0.1, 100
//! iterations, at most 31 leaves per tree, 20 rows per leaf, no L2 penalty, early stopping
//! on more than 10,000 rows (10 % held out, stopped after 10 iterations without a gain of
//! 1e-7 in the held-out loss). Missing values are routed by every split, to the side that
//! serves them best in training (the busier side when training had none). The engine is
//! [`boosting`](super::boosting).

use crate::admission::DataShape;
use crate::algorithms::boosting::{self, Booster, MAX_BINS, Settings, Target};
use crate::algorithms::dense::{present_classes, spread};
use crate::algorithms::fit::{Fit, Predict, codes, values};
use crate::algorithms::fitted::Fitted;
use crate::algorithms::limits::within;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, invalid, require};
use crate::algorithms::registry::AlgorithmId;
use crate::algorithms::validate::class_codes;
use crate::algorithms::{Cancel, FitLimits};
use crate::error::ModelsError;
use crate::prediction::{ClassPrediction, Prediction};
use crate::task::Targets;
use mltools_core::models::{ParamValue, Task};
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

/// Rows above which `early_stopping = "auto"` holds rows out (scikit-learn's 10,000).
const AUTO_EARLY_STOPPING_ROWS: usize = 10_000;

/// The parameters both boosting algorithms take.
pub(crate) const DOCS: &[ParamDoc] = &[
    ParamDoc {
        name: "learning_rate",
        default: DefaultValue::Number(0.1),
        accepts: "a number > 0",
        doc: "How much of each tree's values is added (shrinkage).",
    },
    ParamDoc {
        name: "max_iter",
        default: DefaultValue::Integer(100),
        accepts: "an integer ≥ 1",
        doc: "Boosting iterations at most (one tree per class per iteration beyond two classes).",
    },
    ParamDoc {
        name: "max_leaf_nodes",
        default: DefaultValue::Integer(31),
        accepts: "an integer ≥ 2",
        doc: "Leaves per tree at most; trees grow best-first.",
    },
    ParamDoc {
        name: "max_depth",
        default: DefaultValue::Text("none"),
        accepts: "an integer ≥ 1, or `none`",
        doc: "The deepest a tree may grow; unlimited by default.",
    },
    ParamDoc {
        name: "min_samples_leaf",
        default: DefaultValue::Integer(20),
        accepts: "an integer ≥ 1",
        doc: "The fewest rows a leaf may hold.",
    },
    ParamDoc {
        name: "l2_regularization",
        default: DefaultValue::Number(0.0),
        accepts: "a number ≥ 0",
        doc: "The L2 penalty on leaf values.",
    },
    ParamDoc {
        name: "max_bins",
        default: DefaultValue::Integer(255),
        accepts: "an integer from 2 to 255",
        doc: "Bins per feature for its values (missing values get one more).",
    },
    ParamDoc {
        name: "early_stopping",
        default: DefaultValue::Text("auto"),
        accepts: "`auto` (on above 10,000 rows), `true` or `false`",
        doc: "Whether to hold rows out and stop once their loss stops improving.",
    },
    ParamDoc {
        name: "validation_fraction",
        default: DefaultValue::Number(0.1),
        accepts: "a number > 0 and < 1",
        doc: "The share of rows held out for early stopping.",
    },
    ParamDoc {
        name: "n_iter_no_change",
        default: DefaultValue::Integer(10),
        accepts: "an integer ≥ 1",
        doc: "Iterations without improvement before early stopping stops.",
    },
    ParamDoc {
        name: "tol",
        default: DefaultValue::Number(1e-7),
        accepts: "a number ≥ 0",
        doc: "The held-out loss improvement that counts for early stopping.",
    },
];

/// Whether to stop early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyStopping {
    /// On above 10,000 rows.
    Auto,
    /// Always.
    On,
    /// Never.
    Off,
}

/// The parameters of histogram gradient boosting, for one of its two algorithms.
#[derive(Debug, Clone, PartialEq)]
pub struct BoostingParams {
    /// The algorithm: `hist_gradient_boosting_regressor` or `_classifier`.
    pub algorithm: AlgorithmId,
    /// Shrinkage; 0.1.
    pub learning_rate: f64,
    /// Iterations at most; 100.
    pub max_iter: usize,
    /// Leaves per tree at most; 31.
    pub max_leaf_nodes: usize,
    /// Depth at most; unlimited.
    pub max_depth: Option<usize>,
    /// Rows per leaf at least; 20.
    pub min_samples_leaf: usize,
    /// L2 penalty; 0.
    pub l2_regularization: f64,
    /// Bins per feature; 255.
    pub max_bins: usize,
    /// Early stopping; auto.
    pub early_stopping: EarlyStopping,
    /// Held-out share; 0.1.
    pub validation_fraction: f64,
    /// Patience; 10.
    pub n_iter_no_change: usize,
    /// Improvement that counts; 1e-7.
    pub tol: f64,
}

/// Checked [`BoostingParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct BoostingValidParams(BoostingParams);

impl BoostingParams {
    /// scikit-learn's defaults for `algorithm`.
    pub fn new(algorithm: AlgorithmId) -> BoostingParams {
        BoostingParams {
            algorithm,
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: 31,
            max_depth: None,
            min_samples_leaf: 20,
            l2_regularization: 0.0,
            max_bins: MAX_BINS,
            early_stopping: EarlyStopping::Auto,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
        }
    }

    /// Reads the overrides of `p` for `algorithm`.
    pub(crate) fn from_params(
        algorithm: AlgorithmId,
        p: &Params<'_>,
    ) -> Result<BoostingParams, ModelsError> {
        let name = algorithm.as_str();
        let defaults = BoostingParams::new(algorithm);
        let early_stopping = match p.raw("early_stopping") {
            None => EarlyStopping::Auto,
            Some(ParamValue::Bool(true)) => EarlyStopping::On,
            Some(ParamValue::Bool(false)) => EarlyStopping::Off,
            Some(ParamValue::Text(text)) if text == "auto" => EarlyStopping::Auto,
            Some(ParamValue::Text(text)) if text == "true" => EarlyStopping::On,
            Some(ParamValue::Text(text)) if text == "false" => EarlyStopping::Off,
            Some(other) => return Err(p.refuse("early_stopping", other)),
        };
        let max_depth = match p.integer_or_none("max_depth")? {
            None => None,
            Some(depth) => Some(count(name, "max_depth", depth, 1)?),
        };
        // A count given, at least `min`, or its default.
        let count_of = |param: &'static str, default: usize, min: i64| {
            count(name, param, p.integer(param, default as i64)?, min)
        };
        Ok(BoostingParams {
            algorithm,
            learning_rate: p.number("learning_rate", defaults.learning_rate)?,
            max_iter: count_of("max_iter", defaults.max_iter, 1)?,
            max_leaf_nodes: count_of("max_leaf_nodes", defaults.max_leaf_nodes, 2)?,
            max_depth,
            min_samples_leaf: count_of("min_samples_leaf", defaults.min_samples_leaf, 1)?,
            l2_regularization: p.number("l2_regularization", defaults.l2_regularization)?,
            max_bins: count_of("max_bins", defaults.max_bins, 2)?,
            early_stopping,
            validation_fraction: p.number("validation_fraction", defaults.validation_fraction)?,
            n_iter_no_change: count_of("n_iter_no_change", defaults.n_iter_no_change, 1)?,
            tol: p.number("tol", defaults.tol)?,
        })
    }

    /// Checks the values.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] naming the first value out of range.
    pub fn check(self) -> Result<BoostingValidParams, ModelsError> {
        let name = self.algorithm.as_str();
        if !matches!(
            self.algorithm,
            AlgorithmId::HistGradientBoostingRegressor
                | AlgorithmId::HistGradientBoostingClassifier
        ) {
            return Err(invalid(
                name,
                "algorithm",
                name,
                "hist_gradient_boosting_regressor or hist_gradient_boosting_classifier",
            ));
        }
        let positive = |value: f64| value.is_finite() && value > 0.0;
        let non_negative = |value: f64| value.is_finite() && value >= 0.0;
        require(
            positive(self.learning_rate),
            name,
            "learning_rate",
            self.learning_rate,
            "a number > 0",
        )?;
        require(
            non_negative(self.l2_regularization),
            name,
            "l2_regularization",
            self.l2_regularization,
            "a number ≥ 0",
        )?;
        require(
            (2..=MAX_BINS).contains(&self.max_bins),
            name,
            "max_bins",
            self.max_bins,
            "an integer from 2 to 255",
        )?;
        require(
            self.validation_fraction > 0.0 && self.validation_fraction < 1.0,
            name,
            "validation_fraction",
            self.validation_fraction,
            "a number > 0 and < 1",
        )?;
        require(
            non_negative(self.tol),
            name,
            "tol",
            self.tol,
            "a number ≥ 0",
        )?;
        Ok(BoostingValidParams(self))
    }
}

impl BoostingValidParams {
    /// The parameters.
    pub fn params(&self) -> &BoostingParams {
        &self.0
    }

    /// The engine's settings for a fit on `rows` rows (early stopping `auto` decided).
    pub(crate) fn settings(&self, rows: usize) -> Settings {
        let p = &self.0;
        Settings {
            learning_rate: p.learning_rate,
            max_iter: p.max_iter,
            max_leaf_nodes: p.max_leaf_nodes,
            max_depth: p.max_depth,
            min_samples_leaf: p.min_samples_leaf,
            l2_regularization: p.l2_regularization,
            max_bins: p.max_bins,
            early_stopping: match p.early_stopping {
                EarlyStopping::Auto => rows > AUTO_EARLY_STOPPING_ROWS,
                EarlyStopping::On => true,
                EarlyStopping::Off => false,
            },
            validation_fraction: p.validation_fraction,
            n_iter_no_change: p.n_iter_no_change,
            tol: p.tol,
        }
    }
}

impl Fit for BoostingValidParams {
    fn fit(
        &self,
        x: &Matrix,
        y: &Targets,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<Fitted, ModelsError> {
        let algorithm = self.0.algorithm;
        let settings = self.settings(x.rows);
        let features = x.columns.len();
        let model = match algorithm.task() {
            Task::Regression => {
                let y = values(y, algorithm)?;
                BoostedModel {
                    present: Vec::new(),
                    booster: boosting::fit(
                        &x.values,
                        features,
                        Target::Values(y),
                        &settings,
                        seed,
                        cancel,
                    )?,
                }
            }
            Task::Classification => {
                let y = codes(y, algorithm)?;
                let present = present_classes(y);
                if present.len() < 2 {
                    return Err(ModelsError::Fit {
                        algorithm: algorithm.as_str(),
                        reason: format!(
                            "the training rows hold one class only (code {}); it needs two or more",
                            present.first().map_or_else(String::new, u32::to_string)
                        ),
                    });
                }
                let index: Vec<u32> = y
                    .iter()
                    .map(|code| present.partition_point(|class| class < code) as u32)
                    .collect();
                let target = Target::Classes(&index, present.len());
                BoostedModel {
                    booster: boosting::fit(&x.values, features, target, &settings, seed, cancel)?,
                    present,
                }
            }
        };
        Ok(Fitted::Boosted(model))
    }

    fn algorithm(&self) -> Option<AlgorithmId> {
        Some(self.0.algorithm)
    }

    /// `max_iter` is capped as trees are (each iteration adds a tree per class), and
    /// `max_leaf_nodes` by its own cap.
    fn check_limits(&self, id: AlgorithmId, limits: &FitLimits) -> Result<(), ModelsError> {
        let p = &self.0;
        within(id, "max_iter", p.max_iter, limits.max_trees, "max_trees")?;
        within(
            id,
            "max_leaf_nodes",
            p.max_leaf_nodes,
            limits.max_leaf_nodes,
            "max_leaf_nodes",
        )
    }

    /// The binned rows (a byte per value); per row and output the raw prediction, gradient
    /// and hessian; per row its target, its place in the growing tree (twice), its number
    /// among the training rows and in the binning sample, and a node's gathered gradients;
    /// the histograms of every leaf still growing (a cell per bin and feature) and the
    /// trees. Ten outputs are assumed for a classifier (its class count is not known yet).
    fn working_bytes(&self, shape: DataShape) -> u64 {
        let p = &self.0;
        let outputs: u64 = match p.algorithm.task() {
            Task::Regression => 1,
            Task::Classification => 10,
        };
        let features = shape.matrix_columns();
        let rows = shape.rows;
        let per_row = features + 8 * (3 * outputs + 2) + 12 + 8 + 16;
        // A leaf holds `min_samples_leaf` rows at least.
        let leaves = (p.max_leaf_nodes as u64).min(rows / p.min_samples_leaf.max(1) as u64 + 1);
        let cells = features.saturating_mul(p.max_bins as u64 + 2);
        let histograms = leaves.saturating_mul(cells).saturating_mul(24);
        let trees = (p.max_iter as u64)
            .saturating_mul(outputs)
            .saturating_mul(leaves.saturating_mul(2).saturating_mul(32));
        rows.saturating_mul(per_row)
            .saturating_add(histograms)
            .saturating_add(trees)
    }
}

/// A fitted booster, and for a classifier the class codes it saw (its outputs' order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct BoostedModel {
    present: Vec<u32>,
    booster: Booster,
}

impl BoostedModel {
    /// The iterations fitted (fewer than `max_iter` when it stopped early).
    #[cfg(test)]
    pub(crate) fn iterations(&self) -> usize {
        self.booster.iterations()
    }
}

impl Predict for BoostedModel {
    fn predict(
        &self,
        x: &Matrix,
        classes: usize,
        cancel: &Cancel,
    ) -> Result<Prediction, ModelsError> {
        let raw = self
            .booster
            .raw(&x.values, x.rows, x.columns.len(), cancel)?;
        if classes == 0 {
            return Ok(Prediction::Regression(raw));
        }
        let present = boosting::probabilities(&raw, self.present.len());
        let probabilities = spread(&present, &self.present, classes)?;
        Ok(Prediction::Classification(
            ClassPrediction::from_probabilities(probabilities, classes),
        ))
    }

    fn check(&self, _: AlgorithmId, features: usize, classes: usize) -> Result<(), String> {
        let outputs = match classes {
            0 => {
                if !self.present.is_empty() {
                    return Err(format!("a regressor lists {} classes", self.present.len()));
                }
                1
            }
            _ => {
                class_codes("the class list", &self.present, classes)?;
                match self.present.len() {
                    0 | 1 => return Err("a classifier of fewer than two classes".to_owned()),
                    2 => 1,
                    more => more,
                }
            }
        };
        self.booster.check(features, outputs)
    }
}

#[cfg(test)]
mod tests;
