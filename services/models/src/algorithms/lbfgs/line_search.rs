//! The line search of L-BFGS-B: Moré and Thuente's `dcsrch` (MINPACK-2) along one
//! direction, with L-BFGS-B's settings and its acceptance of `dcsrch`'s warnings.

use super::{MAX_STEP, Objective, dot};

/// Sufficient decrease tolerance of the line search.
const SEARCH_FTOL: f64 = 1e-3;
/// Curvature tolerance of the line search.
const SEARCH_GTOL: f64 = 0.9;
/// Relative width at which the line search gives up narrowing its interval.
const SEARCH_XTOL: f64 = 0.1;

/// One line search along `direction` from `x`.
pub(super) struct LineSearch<'a> {
    pub(super) x: &'a [f64],
    pub(super) direction: &'a [f64],
    /// The objective at `x`.
    pub(super) value: f64,
    /// The objective's slope along `direction` at `x`.
    pub(super) slope: f64,
    pub(super) first_step: f64,
    pub(super) max_evaluations: usize,
}

/// An accepted step: its length and the objective there (the point and gradient are in
/// the caller's buffers).
pub(super) struct Step {
    pub(super) length: f64,
    pub(super) value: f64,
}

impl LineSearch<'_> {
    /// The accepted step, with the point in `trial` and its gradient in `trial_gradient`;
    /// `None` when the search fails (an ascent direction, too many evaluations, a
    /// non-finite value, or an error of `dcsrch`).
    pub(super) fn run(
        &self,
        objective: &mut impl Objective,
        trial: &mut [f64],
        trial_gradient: &mut [f64],
    ) -> Option<Step> {
        if self.slope >= 0.0 || !self.slope.is_finite() {
            return None;
        }
        let mut search = Dcsrch::start(self.first_step, self.value, self.slope)?;
        let mut step = self.first_step;
        for _ in 0..self.max_evaluations {
            for ((t, x), d) in trial.iter_mut().zip(self.x).zip(self.direction) {
                *t = x + step * d;
            }
            let value = objective.evaluate(trial, trial_gradient);
            let slope = dot(trial_gradient, self.direction);
            if !value.is_finite() || !slope.is_finite() {
                return None;
            }
            match search.next(step, value, slope) {
                Search::Accept => {
                    return Some(Step {
                        length: step,
                        value,
                    });
                }
                Search::Try(next) => step = next,
            }
        }
        None
    }
}

/// What `dcsrch` asks for next.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Search {
    /// The step just evaluated satisfies the conditions (or no better one can be found).
    Accept,
    /// Evaluate this step.
    Try(f64),
}

/// Moré and Thuente's line search (MINPACK-2 `dcsrch`), as scipy's C L-BFGS-B has it (its
/// Python port in `scipy.optimize._dcsrch` differs in one comparison of `dcstep`): finds a step
/// with sufficient decrease and curvature, keeping an interval `[stx, sty]` that brackets
/// one.
#[derive(Debug, Clone)]
struct Dcsrch {
    bracketed: bool,
    stage: u8,
    f_init: f64,
    g_test: f64,
    g_init: f64,
    width: f64,
    width_previous: f64,
    stx: f64,
    fx: f64,
    gx: f64,
    sty: f64,
    fy: f64,
    gy: f64,
    stmin: f64,
    stmax: f64,
}

impl Dcsrch {
    const STEP_MIN: f64 = 0.0;
    const STEP_MAX: f64 = MAX_STEP;

    /// The search for a first step `step` from value `f` with slope `g` (negative).
    fn start(step: f64, f: f64, g: f64) -> Option<Dcsrch> {
        if !(Self::STEP_MIN..=Self::STEP_MAX).contains(&step) || g >= 0.0 {
            return None;
        }
        let width = Self::STEP_MAX - Self::STEP_MIN;
        Some(Dcsrch {
            bracketed: false,
            stage: 1,
            f_init: f,
            g_init: g,
            g_test: SEARCH_FTOL * g,
            width,
            width_previous: width / 0.5,
            stx: 0.0,
            fx: f,
            gx: g,
            sty: 0.0,
            fy: f,
            gy: g,
            stmin: 0.0,
            stmax: step + 4.0 * step,
        })
    }

    /// Given the value `f` and slope `g` at `step`, accepts it or names the next step.
    fn next(&mut self, step: f64, f: f64, g: f64) -> Search {
        let f_test = self.f_init + step * self.g_test;
        if self.stage == 1 && f <= f_test && g >= 0.0 {
            self.stage = 2;
        }
        // The warnings of dcsrch: L-BFGS-B takes the step as it is.
        let warn = (self.bracketed
            && (step <= self.stmin
                || step >= self.stmax
                || self.stmax - self.stmin <= SEARCH_XTOL * self.stmax))
            || (step == Self::STEP_MAX && f <= f_test && g <= self.g_test)
            || (step == Self::STEP_MIN && (f > f_test || g >= self.g_test));
        let converged = f <= f_test && g.abs() <= SEARCH_GTOL * -self.g_init;
        if warn || converged {
            return Search::Accept;
        }
        let mut next = step;
        if self.stage == 1 && f <= self.fx && f > f_test {
            // The modified function ψ(α) = f(α) − f(0) − ftol·α·f'(0) while in stage 1.
            let mut modified = Interval {
                stx: self.stx,
                fx: self.fx - self.stx * self.g_test,
                dx: self.gx - self.g_test,
                sty: self.sty,
                fy: self.fy - self.sty * self.g_test,
                dy: self.gy - self.g_test,
                bracketed: self.bracketed,
            };
            next = modified.step(
                step,
                f - step * self.g_test,
                g - self.g_test,
                self.stmin,
                self.stmax,
            );
            self.stx = modified.stx;
            self.sty = modified.sty;
            self.bracketed = modified.bracketed;
            self.fx = modified.fx + self.stx * self.g_test;
            self.fy = modified.fy + self.sty * self.g_test;
            self.gx = modified.dx + self.g_test;
            self.gy = modified.dy + self.g_test;
        } else {
            let mut interval = Interval {
                stx: self.stx,
                fx: self.fx,
                dx: self.gx,
                sty: self.sty,
                fy: self.fy,
                dy: self.gy,
                bracketed: self.bracketed,
            };
            next = interval.step(next, f, g, self.stmin, self.stmax);
            self.stx = interval.stx;
            self.fx = interval.fx;
            self.gx = interval.dx;
            self.sty = interval.sty;
            self.fy = interval.fy;
            self.gy = interval.dy;
            self.bracketed = interval.bracketed;
        }
        if self.bracketed {
            // Bisect when the interval did not shrink enough over two steps.
            if (self.sty - self.stx).abs() >= 0.66 * self.width_previous {
                next = self.stx + 0.5 * (self.sty - self.stx);
            }
            self.width_previous = self.width;
            self.width = (self.sty - self.stx).abs();
            self.stmin = self.stx.min(self.sty);
            self.stmax = self.stx.max(self.sty);
        } else {
            self.stmin = next + 1.1 * (next - self.stx);
            self.stmax = next + 4.0 * (next - self.stx);
        }
        next = next.clamp(Self::STEP_MIN, Self::STEP_MAX);
        if self.bracketed
            && (next <= self.stmin
                || next >= self.stmax
                || self.stmax - self.stmin <= SEARCH_XTOL * self.stmax)
        {
            next = self.stx;
        }
        Search::Try(next)
    }
}

/// The interval of `dcsrch`: `stx` the best step so far, `sty` the other end.
#[derive(Debug, Clone, Copy)]
struct Interval {
    stx: f64,
    fx: f64,
    dx: f64,
    sty: f64,
    fy: f64,
    dy: f64,
    bracketed: bool,
}

/// The sign as NumPy's `sign`: 0 for 0.
fn sign(value: f64) -> f64 {
    if value > 0.0 {
        1.0
    } else if value < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Interval {
    /// MINPACK-2 `dcstep`: a safeguarded cubic or quadratic step from the interval and the
    /// trial `(stp, fp, dp)`; updates the interval and returns the next step.
    fn step(&mut self, stp: f64, fp: f64, dp: f64, stpmin: f64, stpmax: f64) -> f64 {
        let (stx, fx, dx) = (self.stx, self.fx, self.dx);
        let (sty, fy, dy) = (self.sty, self.fy, self.dy);
        let sgnd = sign(dp) * sign(dx);
        let stpf;
        if fp > fx {
            // A higher value: the minimum is bracketed.
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
            if stp < stx {
                gamma = -gamma;
            }
            let p = (gamma - dx) + theta;
            let q = ((gamma - dx) + gamma) + dp;
            let stpc = stx + p / q * (stp - stx);
            let stpq = stx + ((dx / ((fx - fp) / (stp - stx) + dx)) / 2.0) * (stp - stx);
            stpf = if (stpc - stx).abs() < (stpq - stx).abs() {
                stpc
            } else {
                stpc + (stpq - stpc) / 2.0
            };
            self.bracketed = true;
        } else if sgnd < 0.0 {
            // Derivatives of opposite signs: bracketed.
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).sqrt();
            if stp > stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + dx;
            let stpc = stp + p / q * (stx - stp);
            let stpq = stp + (dp / (dp - dx)) * (stx - stp);
            stpf = if (stpc - stp).abs() > (stpq - stp).abs() {
                stpc
            } else {
                stpq
            };
            self.bracketed = true;
        } else if dp.abs() < dx.abs() {
            // Same sign, the derivative decreasing in magnitude.
            let theta = 3.0 * (fx - fp) / (stp - stx) + dx + dp;
            let s = theta.abs().max(dx.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dx / s) * (dp / s)).max(0.0).sqrt();
            if stp > stx {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = (gamma + (dx - dp)) + gamma;
            let r = p / q;
            let stpc = if r < 0.0 && gamma != 0.0 {
                stp + r * (stx - stp)
            } else if stp > stx {
                stpmax
            } else {
                stpmin
            };
            let stpq = stp + (dp / (dp - dx)) * (stx - stp);
            if self.bracketed {
                let closer = if (stpc - stp).abs() < (stpq - stp).abs() {
                    stpc
                } else {
                    stpq
                };
                stpf = if stp > stx {
                    closer.min(stp + 0.66 * (sty - stp))
                } else {
                    closer.max(stp + 0.66 * (sty - stp))
                };
            } else {
                let farther = if (stpc - stp).abs() > (stpq - stp).abs() {
                    stpc
                } else {
                    stpq
                };
                stpf = farther.clamp(stpmin, stpmax);
            }
        } else if self.bracketed {
            // Same sign, the derivative not decreasing: a cubic step from the far end.
            let theta = 3.0 * (fp - fy) / (sty - stp) + dy + dp;
            let s = theta.abs().max(dy.abs()).max(dp.abs());
            let mut gamma = s * ((theta / s).powi(2) - (dy / s) * (dp / s)).sqrt();
            if stp > sty {
                gamma = -gamma;
            }
            let p = (gamma - dp) + theta;
            let q = ((gamma - dp) + gamma) + dy;
            stpf = stp + p / q * (sty - stp);
        } else if stp > stx {
            stpf = stpmax;
        } else {
            stpf = stpmin;
        }
        if fp > fx {
            self.sty = stp;
            self.fy = fp;
            self.dy = dp;
        } else {
            if sgnd < 0.0 {
                self.sty = stx;
                self.fy = fx;
                self.dy = dx;
            }
            self.stx = stp;
            self.fx = fp;
            self.dx = dp;
        }
        stpf
    }
}
