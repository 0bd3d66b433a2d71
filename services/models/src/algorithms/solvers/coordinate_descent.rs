//! Coordinate descent for the elastic net, scikit-learn's `enet_coordinate_descent`
//! (`sklearn/linear_model/_cd_fast.pyx`), on the centred column-major design.
//!
//! It minimises, on scikit-learn's `n`-scaled form,
//! `½‖y − Xw‖² + l1·‖w‖₁ + ½·l2·‖w‖²` with `l1 = α·ρ·n`, `l2 = α·(1 − ρ)·n`: cyclic
//! updates `w_j ← S(x_jᵀr + w_j‖x_j‖², l1) / (‖x_j‖² + l2)` (`S` the soft threshold) with
//! the residual `r = y − Xw` kept up to date. Before the first epoch, and after an epoch
//! whose largest weight change is at most `tol` times the largest weight (or the last
//! epoch), it computes the duality gap (scikit-learn 1.9's `gap_enet`), and stops once
//! that is at most `tol·‖y‖²`. scikit-learn's gap-safe screening (which only skips
//! features known to be zero) is left out: the same solution, some epochs slower.

use crate::algorithms::cancel::Cancel;
use crate::algorithms::linear::DescentStop;
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

/// The design as coordinate descent reads it.
pub(crate) struct Columns<'a> {
    /// The centred columns, column-major.
    pub(crate) values: &'a [f64],
    /// The rows.
    pub(crate) rows: usize,
    /// `y − ȳ`.
    pub(crate) y: &'a [f64],
}

impl Columns<'_> {
    fn column(&self, j: usize) -> &[f64] {
        &self.values[j * self.rows..(j + 1) * self.rows]
    }

    fn width(&self) -> usize {
        self.values.len() / self.rows.max(1)
    }
}

/// Fits the weights of the centred columns; returns them and how the descent ended. Looks
/// at `cancel` every epoch, and within an epoch every [`BLOCK_COST`] values read.
///
/// # Errors
/// [`ModelsError::Cancelled`].
pub(crate) fn descend(
    design: &Columns<'_>,
    descent: Descent,
    cancel: &Cancel,
) -> Result<(Vec<f64>, DescentStop), ModelsError> {
    let (rows, width) = (design.rows, design.width());
    let scale = rows as f64;
    let l1 = descent.alpha * descent.l1_ratio * scale;
    let l2 = descent.alpha * (1.0 - descent.l1_ratio) * scale;
    let norms: Vec<f64> = (0..width)
        .map(|j| dot(design.column(j), design.column(j)))
        .collect();
    let tolerance = descent.tol * dot(design.y, design.y);
    let mut work = 0;
    let mut w = vec![0.0; width];
    let mut residual = design.y.to_vec();
    let mut gap = duality_gap(design, &w, &residual, l1, l2);
    if gap <= tolerance {
        let stop = DescentStop {
            converged: true,
            epochs: 0,
            gap,
            tolerance,
        };
        return Ok((w, stop));
    }
    for epoch in 1..=descent.max_iter {
        cancel.check()?;
        let (mut largest_weight, mut largest_change) = (0.0_f64, 0.0_f64);
        for j in 0..width {
            if norms[j] == 0.0 {
                continue;
            }
            work += 2 * rows;
            if work >= BLOCK_COST {
                cancel.check()?;
                work = 0;
            }
            let column = design.column(j);
            let old = w[j];
            let correlation = dot(column, &residual) + old * norms[j];
            let new = soft_threshold(correlation, l1) / (norms[j] + l2);
            if new != old {
                axpy(old - new, column, &mut residual);
            }
            w[j] = new;
            largest_change = largest_change.max((new - old).abs());
            largest_weight = largest_weight.max(new.abs());
        }
        let settled = largest_weight == 0.0 || largest_change / largest_weight <= descent.tol;
        if settled || epoch == descent.max_iter {
            gap = duality_gap(design, &w, &residual, l1, l2);
            if gap <= tolerance {
                let stop = DescentStop {
                    converged: true,
                    epochs: epoch,
                    gap,
                    tolerance,
                };
                return Ok((w, stop));
            }
        }
    }
    let stop = DescentStop {
        converged: false,
        epochs: descent.max_iter,
        gap,
        tolerance,
    };
    Ok((w, stop))
}

/// `sign(value)·max(|value| − threshold, 0)`.
fn soft_threshold(value: f64, threshold: f64) -> f64 {
    value.signum() * (value.abs() - threshold).max(0.0)
}

/// The duality gap of `w` as scikit-learn 1.9's `gap_enet` computes it: with an L1 part,
/// its formulation A (the residual scaled into the dual feasible set); without one
/// (`l1_ratio = 0`, ridge), its formulation B, the ridge dual at the residual.
fn duality_gap(design: &Columns<'_>, w: &[f64], residual: &[f64], l1: f64, l2: f64) -> f64 {
    let width = w.len();
    let correlations = (0..width).map(|j| dot(design.column(j), residual));
    let residual_norm2 = dot(residual, residual);
    let weight_norm2 = dot(w, w);
    let residual_y = dot(residual, design.y);
    if l1 == 0.0 {
        let correlation_norm2: f64 = correlations.map(|c| c * c).sum();
        return residual_norm2 + 0.5 * l2 * weight_norm2 - residual_y
            + correlation_norm2 / (2.0 * l2);
    }
    let dual_norm = correlations
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

    #[test]
    fn one_feature_is_the_soft_threshold() {
        // x = (−1, 0, 1), y = (−4/3, −1/3, 5/3): w = S(Σxy, α·n) / Σx² = S(3, 1.5) / 2.
        let y = [-4.0 / 3.0, -1.0 / 3.0, 5.0 / 3.0];
        let design = Columns {
            values: &[-1.0, 0.0, 1.0],
            rows: 3,
            y: &y,
        };
        let (w, stop) = descend(&design, settings(0.5, 1.0), &Cancel::never()).unwrap();
        assert!((w[0] - 0.75).abs() < 1e-12, "{w:?}");
        // The first epoch moves w from 0; the second, changing nothing, checks the gap.
        assert!(stop.converged && stop.epochs == 2, "{stop:?}");
        assert!(stop.gap.abs() < 1e-12, "{stop:?}");
    }

    #[test]
    fn without_an_l1_part_the_gap_still_closes() {
        // ρ = 0 is ridge with penalty α·n: w = Σxy / (Σx² + α·n) = 3 / (2 + 1.5).
        let y = [-4.0 / 3.0, -1.0 / 3.0, 5.0 / 3.0];
        let design = Columns {
            values: &[-1.0, 0.0, 1.0],
            rows: 3,
            y: &y,
        };
        let (w, stop) = descend(&design, settings(0.5, 0.0), &Cancel::never()).unwrap();
        assert!((w[0] - 3.0 / 3.5).abs() < 1e-12, "{w:?}");
        assert!(stop.converged, "{stop:?}");
    }

    #[test]
    fn a_penalty_past_the_largest_correlation_stops_at_zero_before_any_epoch() {
        // α·n ≥ max |Xᵀy| = 3: w = 0 is optimal, and the gap says so at once.
        let y = [-4.0 / 3.0, -1.0 / 3.0, 5.0 / 3.0];
        let design = Columns {
            values: &[-1.0, 0.0, 1.0],
            rows: 3,
            y: &y,
        };
        let (w, stop) = descend(&design, settings(1.0, 1.0), &Cancel::never()).unwrap();
        assert_eq!(w, [0.0]);
        assert!(stop.converged && stop.epochs == 0, "{stop:?}");
    }

    #[test]
    fn a_cancelled_descent_gives_up() {
        let token = tokio_util::sync::CancellationToken::new();
        token.cancel();
        let y = [-1.0, 1.0];
        let design = Columns {
            values: &[-1.0, 1.0],
            rows: 2,
            y: &y,
        };
        let outcome = descend(&design, settings(0.1, 1.0), &Cancel::new(token));
        assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled);
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
        let design = Columns {
            values: &values,
            rows: 5,
            y: &y,
        };
        let close = |w: &[f64], expected: [f64; 2]| {
            let near = w.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-9);
            assert!(near, "{w:?}");
        };
        let short = Descent {
            max_iter: 3,
            ..settings(0.001, 0.5)
        };
        let (w, stop) = descend(&design, short, &Cancel::never()).unwrap();
        close(&w, [1.9709559319922179, 0.01269232179540294]);
        assert!(
            !stop.converged && stop.epochs == 3 && stop.gap > stop.tolerance,
            "{stop:?}"
        );
        let long = Descent {
            max_iter: 100_000,
            ..settings(0.001, 0.5)
        };
        let (w, stop) = descend(&design, long, &Cancel::never()).unwrap();
        close(&w, [0.06669864394983392, 1.9520762056941154]);
        assert!(stop.converged && stop.epochs == 7771, "{stop:?}");
    }
}
