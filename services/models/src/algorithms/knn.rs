//! What the k-nearest-neighbour models share: `k = 5` (smartcore defaults to 3), the
//! weighting, and the neighbour search, written here: brute force over blocks of a gemm
//! distance matrix.
//!
//! A block of query rows at a time, the squared distances to every training row come from
//! one matrix product, `‖q‖² + ‖t‖² − 2·q·tᵀ`, in a buffer of at most [`BLOCK_BYTES`] (or
//! one row of distances, if a row alone is larger): memory grows with the training rows,
//! never with rows². Each query's `k` nearest are picked by a partial selection on
//! (distance, training row) — a bounded max-heap of the `k` best so far, as scikit-learn's
//! brute force keeps, which gives what `select_nth_unstable` would under that order without
//! materialising every candidate — so among equal distances the lower training row wins,
//! as in scikit-learn. The `k` picked then get their distances computed exactly
//! (`Σ (q − t)²`): the product form loses digits near zero, and an exact match must be
//! exactly 0 for the distance weighting below.
//!
//! Weights are uniform, or `1 / distance`; when some neighbours are at distance 0 only
//! they count, equally (scikit-learn's `weights="distance"`).

use crate::algorithms::Cancel;
use crate::algorithms::linalg::view;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count};
use crate::error::ModelsError;
use mltools_core::utils::Matrix;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, s};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The most bytes of distances held at once (a block of query rows × all training rows).
pub(crate) const BLOCK_BYTES: usize = 8 << 20;

/// Parameters of a k-nearest-neighbour model (Euclidean distance, brute force).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnnParams {
    /// Neighbours consulted; 5 as in scikit-learn.
    pub k: usize,
    /// Weigh neighbours by inverse distance instead of equally.
    pub distance_weights: bool,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 5,
            distance_weights: false,
        }
    }
}

/// The documentation of the parameters.
pub(crate) const DOCS: [ParamDoc; 2] = [
    ParamDoc {
        name: "k",
        default: DefaultValue::Integer(5),
        accepts: "a whole number ≥ 1 (at most the training rows)",
        doc: "How many neighbours are consulted (scikit-learn's `n_neighbors`).",
    },
    ParamDoc {
        name: "weights",
        default: DefaultValue::Text("uniform"),
        accepts: "`uniform` or `distance`",
        doc: "Whether nearer neighbours count more (1 / distance; exact matches alone when there are any).",
    },
];

impl KnnParams {
    pub(crate) fn from_params(params: &Params<'_>) -> Result<KnnParams, ModelsError> {
        Ok(KnnParams {
            k: count(params.algorithm, "k", params.integer("k", 5)?, 1)?,
            distance_weights: params.choice("weights", &["uniform", "distance"], "uniform")?
                == "distance",
        })
    }

    pub(crate) fn check(&self, algorithm: &'static str) -> Result<(), ModelsError> {
        count(algorithm, "k", self.k as i64, 1).map(|_| ())
    }
}

/// One neighbour of a query: its training row and its exact distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Neighbour {
    pub(crate) row: usize,
    pub(crate) distance: f64,
}

/// The training rows of a fitted k-NN model and how it consults them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Neighbourhood {
    k: usize,
    distance_weights: bool,
    rows: usize,
    features: usize,
    /// Row-major, `rows × features`.
    values: Vec<f64>,
}

impl Neighbourhood {
    /// Checks a decoded neighbourhood: `rows × features` finite values, `1 ≤ k ≤ rows`.
    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        if self.features != features
            || Some(self.values.len()) != self.rows.checked_mul(features)
            || self.k == 0
            || self.k > self.rows
        {
            return Err(format!(
                "k-NN with k = {} over {} rows of {} features ({} values) for {features} features",
                self.k,
                self.rows,
                self.features,
                self.values.len()
            ));
        }
        crate::algorithms::validate::finite("the training rows", &self.values)
    }

    /// Keeps the training rows of `x`.
    ///
    /// # Errors
    /// [`ModelsError::TooFewRows`] when `k` is larger than the training rows.
    pub(crate) fn new(
        algorithm: &'static str,
        params: KnnParams,
        x: &Matrix,
    ) -> Result<Neighbourhood, ModelsError> {
        if params.k > x.rows {
            return Err(ModelsError::TooFewRows {
                reason: format!(
                    "{algorithm} with k = {} needs at least {} training rows, got {}",
                    params.k, params.k, x.rows
                ),
            });
        }
        Ok(Neighbourhood {
            k: params.k,
            distance_weights: params.distance_weights,
            rows: x.rows,
            features: x.columns.len(),
            values: x.values.clone(),
        })
    }

    /// The training rows.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Calls `visit(query, neighbours, weights)` for each row of `x` in order, with its `k`
    /// nearest training rows (nearest first; equal distances by training row) and their
    /// weights.
    ///
    /// # Errors
    /// [`ModelsError::Corrupt`] for a model whose rows do not make a matrix or whose `k`
    /// is not within them; [`ModelsError::Shape`] for rows of another width;
    /// [`ModelsError::Cancelled`] once `cancel` fires (checked before each block of
    /// queries, a few MB of distances each).
    pub(crate) fn search(
        &self,
        x: &Matrix,
        cancel: &Cancel,
        mut visit: impl FnMut(usize, &[Neighbour], &[f64]),
    ) -> Result<(), ModelsError> {
        let training = self.training()?;
        let queries = view(x)?;
        if queries.ncols() != self.features {
            return Err(ModelsError::Shape {
                reason: format!(
                    "the model was fitted on {} features, the rows have {}",
                    self.features,
                    queries.ncols()
                ),
            });
        }
        let rows = training.nrows();
        let training_norms: Vec<f64> = training.rows().into_iter().map(|r| r.dot(&r)).collect();
        let block_rows = (BLOCK_BYTES / (8 * rows.max(1))).clamp(1, queries.nrows().max(1));
        let mut products = Array2::zeros((block_rows, rows));
        let mut best: BinaryHeap<Candidate> = BinaryHeap::with_capacity(self.k + 1);
        let mut neighbours: Vec<Neighbour> = Vec::with_capacity(self.k);
        let mut weights: Vec<f64> = Vec::with_capacity(self.k);
        for (block, block_queries) in queries.axis_chunks_iter(Axis(0), block_rows).enumerate() {
            cancel.check()?;
            let mut products = products.slice_mut(s![..block_queries.nrows(), ..]);
            // −2·Q·Tᵀ, the one product of the block.
            general_mat_mul(-2.0, &block_queries, &training.t(), 0.0, &mut products);
            for (offset, (query, products)) in block_queries
                .rows()
                .into_iter()
                .zip(products.rows())
                .enumerate()
            {
                let query_norm = query.dot(&query);
                let squared = products
                    .iter()
                    .zip(&training_norms)
                    .map(|(product, norm)| query_norm + norm + product);
                pick(self.k, squared, &mut best);
                exact_distances(&best, query, training, &mut neighbours);
                self.weights(&neighbours, &mut weights);
                visit(block * block_rows + offset, &neighbours, &weights);
            }
        }
        Ok(())
    }

    /// The training rows as a matrix, checked against `k`.
    fn training(&self) -> Result<ArrayView2<'_, f64>, ModelsError> {
        let rows = self.rows();
        let corrupt = |reason: String| ModelsError::Corrupt { reason };
        let training = ArrayView2::from_shape((rows, self.features), &self.values)
            .map_err(|error| corrupt(format!("k-NN training rows: {error}")))?;
        if self.k == 0 || self.k > rows {
            return Err(corrupt(format!(
                "k-NN with k = {} over {rows} training rows",
                self.k
            )));
        }
        Ok(training)
    }

    /// Each neighbour's weight: 1, or `1 / distance` (only the exact matches, 1 each, when
    /// there are any).
    fn weights(&self, neighbours: &[Neighbour], weights: &mut Vec<f64>) {
        weights.clear();
        if !self.distance_weights {
            weights.resize(neighbours.len(), 1.0);
        } else if neighbours.iter().any(|n| n.distance == 0.0) {
            weights.extend(
                neighbours
                    .iter()
                    .map(|n| if n.distance == 0.0 { 1.0 } else { 0.0 }),
            );
        } else {
            weights.extend(neighbours.iter().map(|n| 1.0 / n.distance));
        }
    }
}

/// A training row and its squared distance by the product form, ordered by distance then
/// row (a total order: `f64::total_cmp`).
#[derive(Debug, Clone, Copy)]
struct Candidate {
    squared: f64,
    row: usize,
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.squared
            .total_cmp(&other.squared)
            .then(self.row.cmp(&other.row))
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

/// Keeps in `best` the `k` least of `squared` (distances in training row order) under the
/// order (distance, row).
fn pick(k: usize, squared: impl Iterator<Item = f64>, best: &mut BinaryHeap<Candidate>) {
    best.clear();
    // The k-th best distance so far: a later row at no less a distance loses (equal
    // distances go to the lower row), so most rows cost one comparison.
    let mut threshold = f64::INFINITY;
    for (row, squared) in squared.enumerate() {
        if best.len() < k {
            best.push(Candidate { squared, row });
        } else if squared.total_cmp(&threshold).is_lt()
            && let Some(mut worst) = best.peek_mut()
        {
            *worst = Candidate { squared, row };
        } else {
            continue;
        }
        if best.len() == k {
            threshold = best.peek().map_or(f64::INFINITY, |worst| worst.squared);
        }
    }
}

/// The picked rows with their exact distances, nearest first (then by training row).
fn exact_distances(
    picked: &BinaryHeap<Candidate>,
    query: ArrayView1<'_, f64>,
    training: ArrayView2<'_, f64>,
    neighbours: &mut Vec<Neighbour>,
) {
    neighbours.clear();
    neighbours.extend(picked.iter().map(|candidate| {
        let squared: f64 = query
            .iter()
            .zip(training.row(candidate.row))
            .map(|(q, t)| (q - t) * (q - t))
            .sum();
        Neighbour {
            row: candidate.row,
            distance: squared.sqrt(),
        }
    }));
    neighbours.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row)));
}

/// The order of neighbours: nearer first, then the lower training row.
#[cfg(test)]
pub(crate) fn order(a: &Neighbour, b: &Neighbour) -> Ordering {
    a.distance.total_cmp(&b.distance).then(a.row.cmp(&b.row))
}

#[cfg(test)]
pub(crate) mod testing {
    //! The small set the k-NN parity tests share: integer coordinates, so the distances
    //! are exact and the ties real.
    use crate::algorithms::dense::testing::matrix;
    use mltools_core::utils::Matrix;

    pub(crate) fn training() -> Matrix {
        matrix(&[
            &[0.0, 0.0],
            &[1.0, 0.0],
            &[0.0, 1.0],
            &[1.0, 1.0],
            &[3.0, 3.0],
            &[4.0, 3.0],
            &[3.0, 4.0],
            &[0.0, 2.0],
            &[2.0, 0.0],
            &[2.0, 2.0],
            &[5.0, 5.0],
            &[1.0, 1.0],
        ])
    }

    pub(crate) fn queries() -> Matrix {
        matrix(&[
            &[1.0, 1.0],
            &[0.5, 0.5],
            &[2.0, 1.0],
            &[4.0, 4.0],
            &[1.0, 3.0],
        ])
    }

    pub(crate) const CLASSES: [u32; 12] = [0, 0, 1, 1, 2, 2, 2, 1, 0, 1, 2, 0];
    pub(crate) const TARGETS: [f64; 12] =
        [0.5, 1.0, 1.5, 2.0, 6.0, 7.0, 6.5, 2.5, 1.2, 3.0, 9.0, 2.2];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(params: KnnParams, training: &Matrix, x: &Matrix) -> Vec<(Vec<Neighbour>, Vec<f64>)> {
        let neighbourhood = Neighbourhood::new("knn", params, training).unwrap();
        let mut found = Vec::new();
        neighbourhood
            .search(x, &Cancel::never(), |query, neighbours, weights| {
                assert_eq!(query, found.len());
                found.push((neighbours.to_vec(), weights.to_vec()));
            })
            .unwrap();
        found
    }

    // X, Q as `testing`; c = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(X, y)
    // c.kneighbors(Q) -> indices [[11, 3, 1], [1, 2, 0], [8, 9, 3], [6, 5, 4], [9, 7, 3]],
    // distances [[0, 0, 1], [√½ ×3], [1, 1, 1], [1, 1, √2], [√2, √2, 2]]
    // (scikit-learn lists equal distances in heap order; the sets are the same: among
    // equal distances at the k-th place, the lower training rows win.)
    #[test]
    fn neighbours_are_scikit_learn_s_nearest_first_ties_by_row() {
        let params = KnnParams {
            k: 3,
            distance_weights: false,
        };
        let found = search(params, &testing::training(), &testing::queries());
        let expected: [[(usize, f64); 3]; 5] = [
            [(3, 0.0), (11, 0.0), (1, 1.0)],
            [(0, 0.5f64.sqrt()), (1, 0.5f64.sqrt()), (2, 0.5f64.sqrt())],
            [(3, 1.0), (8, 1.0), (9, 1.0)],
            [(5, 1.0), (6, 1.0), (4, 2f64.sqrt())],
            [(3, 2.0), (7, 2f64.sqrt()), (9, 2f64.sqrt())],
        ];
        for ((neighbours, weights), expected) in found.iter().zip(&expected) {
            let mut expected: Vec<Neighbour> = expected
                .iter()
                .map(|&(row, distance)| Neighbour { row, distance })
                .collect();
            expected.sort_by(order);
            assert_eq!(neighbours, &expected);
            assert_eq!(weights, &[1.0; 3]);
        }
    }

    #[test]
    fn exact_matches_take_all_the_weight() {
        let params = KnnParams {
            k: 3,
            distance_weights: true,
        };
        let found = search(params, &testing::training(), &testing::queries());
        assert_eq!(found[0].1, [1.0, 1.0, 0.0]);
        assert_eq!(found[3].1, [1.0, 1.0, 1.0 / 2f64.sqrt()]);
    }

    #[test]
    fn blocks_give_the_same_neighbours_as_one_pass() {
        // Enough training rows that a block holds 4 query rows: 8 MiB / (8 × 262144).
        let rows = 1 << 18;
        let values: Vec<f64> = (0..rows).map(|i| ((i * 7919) % 1000) as f64).collect();
        let training = Matrix {
            rows,
            columns: vec!["x".into()],
            values,
        };
        let queries: Vec<f64> = (0..10).map(|i| f64::from(i) * 97.5).collect();
        let x = Matrix {
            rows: 10,
            columns: vec!["x".into()],
            values: queries.clone(),
        };
        let params = KnnParams {
            k: 2,
            distance_weights: false,
        };
        let found = search(params, &training, &x);
        assert_eq!(found.len(), 10);
        for (query, (neighbours, _)) in queries.iter().zip(&found) {
            // The nearest value on the grid of whole numbers below 1000, the lowest rows.
            let nearest = query.round().min(999.0);
            assert_eq!(neighbours[0].distance, (query - nearest).abs(), "{query}");
        }
    }

    #[test]
    fn k_beyond_the_training_rows_is_refused() {
        let params = KnnParams {
            k: 13,
            distance_weights: false,
        };
        let error = Neighbourhood::new("knn_classifier", params, &testing::training()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "too few rows: knn_classifier with k = 13 needs at least 13 training rows, got 12"
        );
    }
}
