//! Coordinate descent for the elastic net, scikit-learn's `enet_coordinate_descent` and
//! `enet_coordinate_descent_gram` (`sklearn/linear_model/_cd_fast.pyx`), on the centred
//! design.
//!
//! It minimises, on scikit-learn's `n`-scaled form,
//! `½‖y − Xw‖² + l1·‖w‖₁ + ½·l2·‖w‖²` with `l1 = α·ρ·n`, `l2 = α·(1 − ρ)·n`: cyclic
//! updates `w_j ← S(x_jᵀr + w_j‖x_j‖², l1) / (‖x_j‖² + l2)` (`S` the soft threshold).
//! Before the first epoch, and after an epoch whose largest weight change is at most `tol`
//! times the largest weight (or the last epoch), it computes the duality gap (scikit-learn
//! 1.9's `gap_enet`), and stops once that is at most `tol·‖y‖²`. scikit-learn's gap-safe
//! screening (which only skips features known to be zero) is left out: the same solution,
//! some epochs slower.
//!
//! Two forms of the same iterates: [`Columns`] keeps the residual `r = y − Xw` up to date
//! (an update reads a column twice, `O(n)`); [`Gram`] keeps `XᵀXw` instead from the
//! precomputed `XᵀX` and `Xᵀy` (an update costs `O(p)`, scikit-learn's `precompute=True`).
//! With more rows than columns the Gram form's one `O(n·p²)` product is quickly repaid,
//! and correlated columns can take thousands of epochs.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::linear::DescentStop;
use crate::algorithms::solvers::gram::NormalEquations;
use crate::algorithms::solvers::{BLOCK_COST, axpy, dot};
use crate::error::ModelsError;

/// The penalty and the stopping rule, as the user gave them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Descent {
    /// The overall penalty α.
    pub(crate) alpha: f64,
    /// The L1 share ρ of the penalty, in [0, 1].
    pub(crate) l1_ratio: f64,
    /// The tolerance on the weight changes and (times `‖y‖²`) on the duality gap.
    pub(crate) tol: f64,
    /// Epochs at most.
    pub(crate) max_iter: usize,
}

/// What the descent needs of the design, in either form.
trait Coordinates {
    /// The number of weights.
    fn width(&self) -> usize;
    /// `‖x_j‖²`.
    fn norm(&self, j: usize) -> f64;
    /// `x_jᵀr`, `r = y − Xw` for the current weights.
    fn correlation(&self, j: usize) -> f64;
    /// Records that `w_j` moved by `delta`.
    fn moved(&mut self, j: usize, delta: f64);
    /// Values read by one update, for spacing the looks at the cancel.
    fn cost(&self) -> usize;
    /// `‖y‖²`.
    fn y_norm2(&self) -> f64;
    /// `‖r‖²`, `rᵀy` and every `x_jᵀr`, for the duality gap of `w`.
    fn residual_terms(&self, w: &[f64]) -> (f64, f64, Vec<f64>);
}

/// The centred design as columns, with the residual kept up to date.
pub(crate) struct Columns<'a> {
    values: &'a [f64],
    rows: usize,
    y: &'a [f64],
    residual: Vec<f64>,
    norms: Vec<f64>,
}

impl<'a> Columns<'a> {
    /// The centred columns (column-major, `rows` each) and `y − ȳ`, at `w = 0`.
    pub(crate) fn new(values: &'a [f64], rows: usize, y: &'a [f64]) -> Self {
        let norms = values
            .chunks_exact(rows.max(1))
            .map(|c| dot(c, c))
            .collect();
        Columns {
            values,
            rows,
            y,
            residual: y.to_vec(),
            norms,
        }
    }

    fn column(&self, j: usize) -> &[f64] {
        &self.values[j * self.rows..(j + 1) * self.rows]
    }
}

impl Coordinates for Columns<'_> {
    fn width(&self) -> usize {
        self.norms.len()
    }

    fn norm(&self, j: usize) -> f64 {
        self.norms[j]
    }

    fn correlation(&self, j: usize) -> f64 {
        dot(self.column(j), &self.residual)
    }

    fn moved(&mut self, j: usize, delta: f64) {
        let (start, end) = (j * self.rows, (j + 1) * self.rows);
        axpy(-delta, &self.values[start..end], &mut self.residual);
    }

    fn cost(&self) -> usize {
        2 * self.rows
    }

    fn y_norm2(&self) -> f64 {
        dot(self.y, self.y)
    }

    fn residual_terms(&self, _: &[f64]) -> (f64, f64, Vec<f64>) {
        let correlations = (0..self.width()).map(|j| self.correlation(j)).collect();
        let residual = &self.residual;
        (dot(residual, residual), dot(residual, self.y), correlations)
    }
}

/// The centred design as its normal equations, with `XᵀXw` kept up to date.
pub(crate) struct Gram<'a> {
    normal: &'a NormalEquations,
    y_norm2: f64,
    /// `XᵀXw`.
    gram_w: Vec<f64>,
}

impl<'a> Gram<'a> {
    /// `XᵀX`, `Xᵀy` and `‖y − ȳ‖²`, at `w = 0`.
    pub(crate) fn new(normal: &'a NormalEquations, y_norm2: f64) -> Self {
        Gram {
            normal,
            y_norm2,
            gram_w: vec![0.0; normal.xty.len()],
        }
    }

    fn row(&self, j: usize) -> &[f64] {
        let width = self.normal.xty.len();
        &self.normal.gram[j * width..(j + 1) * width]
    }
}

impl Coordinates for Gram<'_> {
    fn width(&self) -> usize {
        self.normal.xty.len()
    }

    fn norm(&self, j: usize) -> f64 {
        self.row(j)[j]
    }

    fn correlation(&self, j: usize) -> f64 {
        self.normal.xty[j] - self.gram_w[j]
    }

    fn moved(&mut self, j: usize, delta: f64) {
        let width = self.normal.xty.len();
        let row = &self.normal.gram[j * width..(j + 1) * width];
        axpy(delta, row, &mut self.gram_w);
    }

    fn cost(&self) -> usize {
        self.width()
    }

    fn y_norm2(&self) -> f64 {
        self.y_norm2
    }

    fn residual_terms(&self, w: &[f64]) -> (f64, f64, Vec<f64>) {
        // ‖y − Xw‖² = ‖y‖² + wᵀXᵀXw − 2·wᵀXᵀy, (y − Xw)ᵀy = ‖y‖² − wᵀXᵀy.
        let q_w = dot(w, &self.normal.xty);
        let residual_norm2 = self.y_norm2 + dot(w, &self.gram_w) - 2.0 * q_w;
        let correlations = (0..self.width()).map(|j| self.correlation(j)).collect();
        (residual_norm2, self.y_norm2 - q_w, correlations)
    }
}

/// Fits the weights on the centred design read through its columns.
///
/// # Errors
/// [`ModelsError::Cancelled`].
pub(crate) fn descend_columns(
    design: Columns<'_>,
    descent: Descent,
    cancel: &Cancel,
) -> Result<(Vec<f64>, DescentStop), ModelsError> {
    let rows = design.rows;
    descend(design, rows, descent, cancel)
}

/// Fits the weights on the centred design's normal equations (`rows` the design's).
///
/// # Errors
/// [`ModelsError::Cancelled`].
pub(crate) fn descend_gram(
    design: Gram<'_>,
    rows: usize,
    descent: Descent,
    cancel: &Cancel,
) -> Result<(Vec<f64>, DescentStop), ModelsError> {
    descend(design, rows, descent, cancel)
}

/// The descent; returns the weights and how it ended. Looks at `cancel` every epoch, and
/// within an epoch every [`BLOCK_COST`] values read.
fn descend(
    mut design: impl Coordinates,
    rows: usize,
    descent: Descent,
    cancel: &Cancel,
) -> Result<(Vec<f64>, DescentStop), ModelsError> {
    let scale = rows as f64;
    let penalty = Penalty {
        l1: descent.alpha * descent.l1_ratio * scale,
        l2: descent.alpha * (1.0 - descent.l1_ratio) * scale,
    };
    let tolerance = descent.tol * design.y_norm2();
    let cost = design.cost();
    let mut w = vec![0.0; design.width()];
    let stop = |converged, epochs, gap| DescentStop {
        converged,
        epochs,
        gap,
        tolerance,
    };
    let mut gap = penalty.gap(&design, &w);
    if gap <= tolerance {
        return Ok((w, stop(true, 0, gap)));
    }
    let mut work = 0;
    for epoch in 1..=descent.max_iter {
        cancel.check()?;
        let (mut largest_weight, mut largest_change) = (0.0_f64, 0.0_f64);
        for (j, weight) in w.iter_mut().enumerate() {
            let norm = design.norm(j);
            if norm == 0.0 {
                continue;
            }
            work += cost;
            if work >= BLOCK_COST {
                cancel.check()?;
                work = 0;
            }
            let old = *weight;
            let correlation = design.correlation(j) + old * norm;
            let new = soft_threshold(correlation, penalty.l1) / (norm + penalty.l2);
            if new != old {
                design.moved(j, new - old);
            }
            *weight = new;
            largest_change = largest_change.max((new - old).abs());
            largest_weight = largest_weight.max(new.abs());
        }
        let settled = largest_weight == 0.0 || largest_change / largest_weight <= descent.tol;
        if settled || epoch == descent.max_iter {
            gap = penalty.gap(&design, &w);
            if gap <= tolerance {
                return Ok((w, stop(true, epoch, gap)));
            }
        }
    }
    Ok((w, stop(false, descent.max_iter, gap)))
}

/// `sign(value)·max(|value| − threshold, 0)`.
fn soft_threshold(value: f64, threshold: f64) -> f64 {
    value.signum() * (value.abs() - threshold).max(0.0)
}

/// The penalties on scikit-learn's `n`-scaled form.
struct Penalty {
    l1: f64,
    l2: f64,
}

impl Penalty {
    /// The duality gap of `w` as scikit-learn 1.9's `gap_enet` computes it: with an L1
    /// part, its formulation A (the residual scaled into the dual feasible set); without
    /// one (`l1_ratio = 0`, ridge), its formulation B, the ridge dual at the residual.
    fn gap(&self, design: &impl Coordinates, w: &[f64]) -> f64 {
        let Penalty { l1, l2 } = *self;
        let (residual_norm2, residual_y, correlations) = design.residual_terms(w);
        let weight_norm2 = dot(w, w);
        if l1 == 0.0 {
            let correlation_norm2 = dot(&correlations, &correlations);
            return residual_norm2 + 0.5 * l2 * weight_norm2 - residual_y
                + correlation_norm2 / (2.0 * l2);
        }
        let dual_norm = correlations
            .iter()
            .zip(w)
            .map(|(correlation, weight)| (correlation - l2 * weight).abs())
            .fold(0.0, f64::max);
        let l1_norm: f64 = w.iter().map(|weight| weight.abs()).sum();
        let penalised = residual_norm2 + l2 * weight_norm2;
        let primal = 0.5 * penalised + l1 * l1_norm;
        let scale = if dual_norm > l1 { l1 / dual_norm } else { 1.0 };
        let dual = -0.5 * scale * scale * penalised + scale * residual_y;
        primal - dual
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(alpha: f64, l1_ratio: f64) -> Descent {
        Descent {
            alpha,
            l1_ratio,
            tol: 1e-10,
            max_iter: 1000,
        }
    }

    /// The descent on centred `values` (column-major) in both forms: columns, then Gram.
    fn both(
        values: &[f64],
        rows: usize,
        y: &[f64],
        descent: Descent,
        cancel: &Cancel,
    ) -> [Result<(Vec<f64>, DescentStop), ModelsError>; 2] {
        let columns: Vec<&[f64]> = values.chunks_exact(rows).collect();
        let normal = NormalEquations {
            gram: columns
                .iter()
                .flat_map(|a| columns.iter().map(move |b| dot(a, b)))
                .collect(),
            xty: columns.iter().map(|column| dot(column, y)).collect(),
        };
        [
            descend_columns(Columns::new(values, rows, y), descent, cancel),
            descend_gram(Gram::new(&normal, dot(y, y)), rows, descent, cancel),
        ]
    }

    const X: [f64; 3] = [-1.0, 0.0, 1.0];
    const Y: [f64; 3] = [-4.0 / 3.0, -1.0 / 3.0, 5.0 / 3.0];

    #[test]
    fn one_feature_is_the_soft_threshold() {
        // x = (−1, 0, 1), y = (−4/3, −1/3, 5/3): w = S(Σxy, α·n) / Σx² = S(3, 1.5) / 2.
        for fit in both(&X, 3, &Y, settings(0.5, 1.0), &Cancel::never()) {
            let (w, stop) = fit.unwrap();
            assert!((w[0] - 0.75).abs() < 1e-12, "{w:?}");
            // The first epoch moves w from 0; the second, changing nothing, checks the gap.
            assert!(stop.converged && stop.epochs == 2, "{stop:?}");
            assert!(stop.gap.abs() < 1e-12, "{stop:?}");
        }
    }

    #[test]
    fn without_an_l1_part_the_gap_still_closes() {
        // ρ = 0 is ridge with penalty α·n: w = Σxy / (Σx² + α·n) = 3 / (2 + 1.5).
        for fit in both(&X, 3, &Y, settings(0.5, 0.0), &Cancel::never()) {
            let (w, stop) = fit.unwrap();
            assert!((w[0] - 3.0 / 3.5).abs() < 1e-12, "{w:?}");
            assert!(stop.converged, "{stop:?}");
        }
    }

    #[test]
    fn a_penalty_past_the_largest_correlation_stops_at_zero_before_any_epoch() {
        // α·n ≥ max |Xᵀy| = 3: w = 0 is optimal, and the gap says so at once.
        for fit in both(&X, 3, &Y, settings(1.0, 1.0), &Cancel::never()) {
            let (w, stop) = fit.unwrap();
            assert_eq!(w, [0.0]);
            assert!(stop.converged && stop.epochs == 0, "{stop:?}");
        }
    }

    #[test]
    fn a_cancelled_descent_gives_up() {
        let token = tokio_util::sync::CancellationToken::new();
        token.cancel();
        let cancel = Cancel::new(token);
        for fit in both(&[-1.0, 1.0], 2, &[-1.0, 1.0], settings(0.1, 1.0), &cancel) {
            assert_eq!(fit.unwrap_err(), ModelsError::Cancelled);
        }
    }

    #[test]
    fn correlated_columns_take_scikit_learns_path() {
        // Two nearly identical centred columns. scikit-learn 1.9.1's
        // ElasticNet(alpha=0.001, l1_ratio=0.5, tol=1e-10): after max_iter=3 epochs coef_ is
        // (1.9709559319922179, 0.01269232179540294); converged it takes 7771 epochs to
        // (0.06669864394983392, 1.9520762056941154).
        let x0 = [-2.0, -1.0, 0.0, 1.0, 2.0];
        let x1 = [-2.0, -1.0, 0.1, 1.0, 1.9];
        let values: Vec<f64> = x0.iter().chain(&x1).copied().collect();
        let y = [-4.0, -2.1, 0.3, 1.9, 3.9];
        let close = |w: &[f64], expected: [f64; 2]| {
            let near = w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-9);
            assert!(near, "{w:?}");
        };
        let short = Descent {
            max_iter: 3,
            ..settings(0.001, 0.5)
        };
        for fit in both(&values, 5, &y, short, &Cancel::never()) {
            let (w, stop) = fit.unwrap();
            close(&w, [1.9709559319922179, 0.01269232179540294]);
            assert!(
                !stop.converged && stop.epochs == 3 && stop.gap > stop.tolerance,
                "{stop:?}"
            );
        }
        let long = Descent {
            max_iter: 100_000,
            ..settings(0.001, 0.5)
        };
        for fit in both(&values, 5, &y, long, &Cancel::never()) {
            let (w, stop) = fit.unwrap();
            close(&w, [0.06669864394983392, 1.9520762056941154]);
            assert!(stop.converged && stop.epochs == 7771, "{stop:?}");
        }
    }
}
