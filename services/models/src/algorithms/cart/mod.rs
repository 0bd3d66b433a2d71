//! Our CART: the trees, random forests and extra trees of the tree family, grown with
//! scikit-learn's semantics (`BestSplitter` / `RandomSplitter`, Gini, entropy and squared
//! error, `max_features` drawn per node, sample weights as a bootstrap's counts), looking
//! at the cancel at every node so a cancelled fit frees its thread at once.
//!
//! - [`build`]: the builder, depth first from an explicit stack, buffers reused across
//!   nodes;
//! - [`criterion`]: Gini, entropy and squared error, and the sweep that ranks a node's
//!   cuts;
//! - [`tree`]: the fitted [`Tree`] every algorithm shares, its walk and its check;
//! - [`ensemble`]: [`TreeEnsemble`], one tree or a forest grown in parallel on the fit's
//!   rayon pool, its prediction and feature importances.

mod build;
mod criterion;
mod ensemble;
mod tree;

#[cfg(test)]
mod tests;

pub(crate) use ensemble::{Plan, TreeEnsemble};
#[cfg(test)]
pub(crate) use tree::{Node, Tree};

pub(crate) use crate::algorithms::trees::Criterion;
use crate::algorithms::trees::TreeLimits;
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use rand::SeedableRng;
use rand::rngs::SmallRng;

/// How a node's cut is chosen on a candidate feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Splitter {
    /// The best cut between consecutive distinct values.
    Best,
    /// One uniform cut between the node's least and greatest value (extra trees).
    Random,
}

/// How one tree grows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Growth {
    /// The algorithm, for errors.
    pub(crate) algorithm: &'static str,
    pub(crate) criterion: Criterion,
    pub(crate) splitter: Splitter,
    /// Candidate features per node, 1 to the number of features.
    pub(crate) max_features: usize,
    pub(crate) limits: TreeLimits,
}

/// The training matrix in column-major order: a feature's values for a node's rows are
/// gathered from one column.
pub(crate) struct Columns {
    rows: usize,
    features: usize,
    values: Vec<f64>,
}

impl Columns {
    /// `x` transposed.
    ///
    /// # Errors
    /// [`ModelsError::Shape`] for an empty or ragged matrix, or one past 2³¹ rows or 2³²
    /// features (the fitted form's indices).
    pub(crate) fn new(x: &Matrix) -> Result<Columns, ModelsError> {
        let features = x.columns.len();
        if x.rows == 0 || features == 0 || x.values.len() != x.rows * features {
            return Err(ModelsError::Shape {
                reason: format!(
                    "a tree needs a full matrix of rows and features, got {} values for {} rows \
                     of {features} features",
                    x.values.len(),
                    x.rows
                ),
            });
        }
        if x.rows >= 1 << 31 || u32::try_from(features).is_err() {
            return Err(ModelsError::Shape {
                reason: format!(
                    "{} rows of {features} features is past what a tree indexes (2³¹ rows, 2³² \
                     features)",
                    x.rows
                ),
            });
        }
        let mut values = Vec::with_capacity(x.values.len());
        for feature in 0..features {
            values.extend(x.values.iter().skip(feature).step_by(features));
        }
        Ok(Columns {
            rows: x.rows,
            features,
            values,
        })
    }

    /// The values of `feature`, one per row.
    fn column(&self, feature: usize) -> &[f64] {
        &self.values[feature * self.rows..(feature + 1) * self.rows]
    }
}

/// The targets a tree is grown on.
pub(crate) enum Labels<'a> {
    /// Each row's class as a position among the `width` present classes.
    Classes { codes: Vec<u32>, width: usize },
    /// Each row's value.
    Values(&'a [f64]),
}

impl Labels<'_> {
    /// The values a leaf holds: one per present class, or the mean.
    fn width(&self) -> usize {
        match self {
            Labels::Classes { width, .. } => *width,
            Labels::Values(_) => 1,
        }
    }
}

/// splitmix64's step: a well mixed 64-bit value from any input.
fn splitmix(value: u64) -> u64 {
    let mut z = value.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream of tree `index` of a fit seeded with `seed`: independent of the other
/// trees' and of which thread grows it.
pub(crate) fn tree_random(seed: u64, index: usize) -> SmallRng {
    SmallRng::seed_from_u64(splitmix(splitmix(seed).wrapping_add(index as u64)))
}
