//! [`TreeEnsemble`]: the fitted model of every algorithm of the tree family (a single tree
//! is an ensemble of one), grown tree by tree in parallel, predicting the mean of its
//! trees' leaves.

use super::build::Builder;
use super::tree::Tree;
use super::{Columns, Growth, Labels, tree_random};
use crate::algorithms::Cancel;
use crate::algorithms::dense::{check_classes, present_classes, rows};
use crate::algorithms::validate::{MAX_TREES, class_codes, finite};
use crate::error::ModelsError;
use crate::prediction::ClassPrediction;
use mltools_core::utils::Matrix;
use rand::RngExt;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// How an ensemble is grown: how many trees, each on a bootstrap of the rows or on all.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub(crate) trees: usize,
    /// Each tree on `n` rows drawn with replacement (a row drawn `k` times weighs `k`;
    /// one never drawn is left out), as scikit-learn's `bootstrap=True`.
    pub(crate) bootstrap: bool,
    pub(crate) growth: Growth,
}

/// A fitted tree or forest: its trees, the class codes its leaves' fractions are for
/// (ascending; none for a regressor), and its feature importances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct TreeEnsemble {
    trees: Vec<Tree>,
    present: Vec<u32>,
    importances: Vec<f64>,
}

impl TreeEnsemble {
    /// Grows a classifier on `y` (class codes).
    ///
    /// # Errors
    /// [`ModelsError::Cancelled`] once `cancel` fires; [`ModelsError::Shape`] for a matrix
    /// a tree cannot index; [`ModelsError::Fit`] as the builder reports.
    pub(crate) fn classifier(
        x: &Matrix,
        y: &[u32],
        plan: &Plan,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let present = present_classes(y);
        let codes = y
            .iter()
            .map(|label| present.binary_search(label).unwrap_or(0) as u32)
            .collect();
        let labels = Labels::Classes {
            codes,
            width: present.len(),
        };
        let (trees, importances) = grow(x, &labels, plan, seed, cancel)?;
        Ok(TreeEnsemble {
            trees,
            present,
            importances,
        })
    }

    /// Grows a regressor on `y`.
    ///
    /// # Errors
    /// As [`TreeEnsemble::classifier`].
    pub(crate) fn regressor(
        x: &Matrix,
        y: &[f64],
        plan: &Plan,
        seed: u64,
        cancel: &Cancel,
    ) -> Result<TreeEnsemble, ModelsError> {
        let (trees, importances) = grow(x, &Labels::Values(y), plan, seed, cancel)?;
        Ok(TreeEnsemble {
            trees,
            present: Vec::new(),
            importances,
        })
    }

    /// The number of trees.
    #[cfg(test)]
    pub(crate) fn trees(&self) -> usize {
        self.trees.len()
    }

    /// Tree `index`.
    #[cfg(test)]
    pub(crate) fn tree(&self, index: usize) -> &Tree {
        &self.trees[index]
    }

    /// The weighted impurity decrease each feature brought, normalised to sum 1 (all 0
    /// when no tree split), as scikit-learn's `feature_importances_`.
    pub(crate) fn importances(&self) -> &[f64] {
        &self.importances
    }

    /// The mean of the trees' leaf values for each row of `x`, `width` per row.
    fn mean_leaves(&self, x: &Matrix, width: usize) -> Result<Vec<f64>, ModelsError> {
        let mut out = vec![0.0; x.rows * width];
        let share = 1.0 / self.trees.len().max(1) as f64;
        for (row, mean) in rows(x).zip(out.chunks_exact_mut(width.max(1))) {
            for tree in &self.trees {
                let leaf = tree.leaf(row, width)?;
                mean.iter_mut().zip(leaf).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m *= share);
        }
        Ok(out)
    }

    /// The mean of the trees' predictions.
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for a tree that does not hold together.
    pub(crate) fn predict_values(&self, x: &Matrix) -> Result<Vec<f64>, ModelsError> {
        self.mean_leaves(x, 1)
    }

    /// The mean of the trees' leaf class fractions, spread over `classes`; the label the
    /// most probable class (the lowest code among ties).
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for a tree that does not hold together or a class past
    /// `classes`.
    pub(crate) fn predict_classes(
        &self,
        x: &Matrix,
        classes: usize,
    ) -> Result<ClassPrediction, ModelsError> {
        check_classes(&self.present, classes)?;
        let width = self.present.len();
        let means = self.mean_leaves(x, width)?;
        let mut probabilities = vec![0.0; x.rows * classes];
        for (mean, out) in means
            .chunks_exact(width.max(1))
            .zip(probabilities.chunks_exact_mut(classes.max(1)))
        {
            for (&class, &p) in self.present.iter().zip(mean) {
                out[class as usize] = p;
            }
        }
        Ok(ClassPrediction::from_probabilities(probabilities, classes))
    }

    /// Checks a decoded ensemble: `trees` of them (one for a single tree, 1 to
    /// [`MAX_TREES`] for a forest) each sound (see [`Tree::check`]) against `features`
    /// and the leaf width; the classes ascending below `classes` (none for a regressor,
    /// `classes == 0`); one finite importance per feature.
    pub(crate) fn check(
        &self,
        features: usize,
        classes: usize,
        single: bool,
    ) -> Result<(), String> {
        let allowed = if single { 1 } else { MAX_TREES };
        if self.trees.is_empty() || self.trees.len() > allowed {
            return Err(format!(
                "the model has {} trees; 1 to {allowed} are allowed",
                self.trees.len()
            ));
        }
        let width = if classes == 0 {
            if !self.present.is_empty() {
                return Err(format!("a regressor lists {} classes", self.present.len()));
            }
            1
        } else {
            class_codes("the class list", &self.present, classes)?;
            if self.present.is_empty() {
                return Err("the class list is empty".to_owned());
            }
            self.present.len()
        };
        if self.importances.len() != features {
            return Err(format!(
                "{} feature importances for {features} features",
                self.importances.len()
            ));
        }
        finite("the feature importances", &self.importances)?;
        for (index, tree) in self.trees.iter().enumerate() {
            let label = if single {
                "the tree".to_owned()
            } else {
                format!("tree {index}")
            };
            tree.check(&label, features, width)?;
        }
        Ok(())
    }
}

/// Grows `plan.trees` trees in parallel on the current rayon pool, tree `i` from its own
/// random stream, collected in tree order (the same model on any number of threads);
/// the trees and the forest's normalised feature importances.
fn grow(
    x: &Matrix,
    labels: &Labels<'_>,
    plan: &Plan,
    seed: u64,
    cancel: &Cancel,
) -> Result<(Vec<Tree>, Vec<f64>), ModelsError> {
    cancel.check()?;
    let columns = Columns::new(x)?;
    let n = columns.rows;
    let grown = (0..plan.trees)
        .into_par_iter()
        .with_max_len(1)
        .map(|index| {
            cancel.check()?;
            let mut random = tree_random(seed, index);
            let mut weights = vec![0.0; n];
            if plan.bootstrap {
                for _ in 0..n {
                    weights[random.random_range(0..n)] += 1.0;
                }
            } else {
                weights.fill(1.0);
            }
            Builder::new(
                &columns,
                labels,
                &weights,
                &plan.growth,
                &mut random,
                cancel,
            )
            .grow()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| match error {
            ModelsError::Fit { reason, .. } => ModelsError::Fit {
                algorithm: plan.growth.algorithm,
                reason,
            },
            other => other,
        })?;
    // scikit-learn: the mean of the normalised importances of the trees that split, then
    // normalised again.
    let mut importances = vec![0.0; columns.features];
    let mut trees = Vec::with_capacity(grown.len());
    for tree in grown {
        // Rounding can leave a feature's decrease a hair below 0.
        let decrease: Vec<f64> = tree.decrease.iter().map(|d| d.max(0.0)).collect();
        let total: f64 = decrease.iter().sum();
        if tree.tree.len() > 1 && total > 0.0 {
            for (sum, decrease) in importances.iter_mut().zip(&decrease) {
                *sum += decrease / total;
            }
        }
        trees.push(tree.tree);
    }
    let total: f64 = importances.iter().sum();
    if total > 0.0 {
        importances.iter_mut().for_each(|value| *value /= total);
    }
    Ok((trees, importances))
}
