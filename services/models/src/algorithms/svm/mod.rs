//! What the support vector machines share: our LIBSVM-style SMO solver, the kernels,
//! scikit-learn's `gamma = "scale"`, the solver settings, and ε-SVR's fitted form.
//!
//! | module | concern | LIBSVM counterpart |
//! |---|---|---|
//! | [`kernel`] | kernels on row pairs and on training columns | `Kernel`, `k_function` |
//! | `cache` | a bounded LRU cache of kernel columns (`f32`) | `Cache` |
//! | `qmatrix` | C-SVC's and ε-SVR's `Q` over the cache | `SVC_Q`, `SVR_Q` |
//! | `smo` | the solver: WSS 3, shrinking, gradient reconstruction, ρ | `Solver` |
//! | `formulations` | C-SVC on two classes, ε-SVR | `solve_c_svc`, `solve_epsilon_svr` |
//! | [`platt`] | Platt scaling on 5-fold decision values, pairwise coupling | `sigmoid_train`, `multiclass_probability` |
//!
//! The solver follows LIBSVM 3.x as scikit-learn 1.9 ships it step for step, kernel
//! columns cached as `f32` included, so both reach the same support vectors and decision
//! values (to rounding: BLAS sums a dot product in another order than `kernel::dot`).
//! [`svc`](super::svc) and [`svr`](super::svr) build the problems and own the fitted
//! models, which are plain owned values.

mod cache;
pub(crate) mod formulations;
pub(crate) mod kernel;
pub(crate) mod platt;
mod qmatrix;
mod smo;
#[cfg(test)]
pub(crate) mod tests;

use crate::admission::DataShape;
use crate::algorithms::dense::rows;
use crate::algorithms::limits::within;
use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::algorithms::{AlgorithmId, FitLimits};
use crate::error::ModelsError;
use formulations::SolverSettings;
pub(crate) use kernel::Kernel;
use mltools_core::models::ParamValue;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};

/// The kernel's `gamma`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Gamma {
    /// `1 / (features × Var(X))`, Var over every value of the training matrix
    /// (scikit-learn's default).
    Scale,
    /// `1 / features`.
    Auto,
    /// This value.
    Value(f64),
}

impl Gamma {
    /// The value for the training matrix `x`.
    pub fn resolve(self, x: &Matrix) -> f64 {
        let features = x.columns.len().max(1) as f64;
        match self {
            Gamma::Value(gamma) => gamma,
            Gamma::Auto => 1.0 / features,
            Gamma::Scale => {
                let count = x.values.len().max(1) as f64;
                let mean = x.values.iter().sum::<f64>() / count;
                let variance = x
                    .values
                    .iter()
                    .map(|v| (v - mean) * (v - mean))
                    .sum::<f64>()
                    / count;
                // scikit-learn falls back to 1 for a constant matrix.
                if variance > 0.0 {
                    1.0 / (features * variance)
                } else {
                    1.0
                }
            }
        }
    }
}

/// Kernel settings, scikit-learn's defaults: RBF, `gamma = "scale"`, `degree = 3`,
/// `coef0 = 0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelParams {
    /// `rbf`, `linear`, `poly` or `sigmoid`.
    pub kernel: &'static str,
    /// The kernel's scale.
    pub gamma: Gamma,
    /// The polynomial kernel's degree.
    pub degree: f64,
    /// The polynomial and sigmoid kernels' offset.
    pub coef0: f64,
}

impl Default for KernelParams {
    fn default() -> Self {
        KernelParams {
            kernel: "rbf",
            gamma: Gamma::Scale,
            degree: 3.0,
            coef0: 0.0,
        }
    }
}

/// The documentation of the settings both machines share.
pub(crate) const DOCS: [ParamDoc; 8] = [
    ParamDoc {
        name: "c",
        default: DefaultValue::Number(1.0),
        accepts: "a number > 0",
        doc: "The penalty on margin violations (scikit-learn's `C`).",
    },
    ParamDoc {
        name: "kernel",
        default: DefaultValue::Text("rbf"),
        accepts: "`rbf`, `linear`, `poly` or `sigmoid`",
        doc: "The kernel.",
    },
    ParamDoc {
        name: "gamma",
        default: DefaultValue::Text("scale"),
        accepts: "`scale`, `auto` or a number > 0",
        doc: "The kernel's scale: `scale` is 1 / (features × variance of X), `auto` 1 / features.",
    },
    ParamDoc {
        name: "degree",
        default: DefaultValue::Integer(3),
        accepts: "a whole number ≥ 1",
        doc: "The polynomial kernel's degree.",
    },
    ParamDoc {
        name: "coef0",
        default: DefaultValue::Number(0.0),
        accepts: "a number",
        doc: "The polynomial and sigmoid kernels' offset.",
    },
    ParamDoc {
        name: "tol",
        default: DefaultValue::Number(1e-3),
        accepts: "a number > 0",
        doc: "The solver's stopping tolerance on the maximal KKT violation.",
    },
    ParamDoc {
        name: "cache_size_mb",
        default: DefaultValue::Number(200.0),
        accepts: "a number of megabytes > 0 (0 would be a zero-sized kernel cache)",
        doc: "The bound on the kernel-column cache, in megabytes (scikit-learn's `cache_size`); \
              the cache never holds more than the whole kernel matrix in f32.",
    },
    ParamDoc {
        name: "shrinking",
        default: DefaultValue::Bool(true),
        accepts: "true or false",
        doc: "Whether the solver sets aside variables stuck at a bound (faster, same solution).",
    },
];

/// The solver's settings, as given: `tol`, `cache_size_mb`, `shrinking`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SolverParams {
    /// The stopping tolerance; 1e-3.
    pub tol: f64,
    /// The kernel cache's bound in megabytes; 200.
    pub cache_size_mb: f64,
    /// Whether to shrink; true.
    pub shrinking: bool,
}

impl Default for SolverParams {
    fn default() -> Self {
        SolverParams {
            tol: 1e-3,
            cache_size_mb: 200.0,
            shrinking: true,
        }
    }
}

impl SolverParams {
    pub(crate) fn from_params(params: &Params<'_>) -> Result<SolverParams, ModelsError> {
        Ok(SolverParams {
            tol: params.number("tol", 1e-3)?,
            cache_size_mb: params.number("cache_size_mb", 200.0)?,
            shrinking: params.boolean("shrinking", true)?,
        })
    }

    /// `cache_size_mb` against the node's cap, for `id`.
    pub(crate) fn check_limits(
        &self,
        id: AlgorithmId,
        limits: &FitLimits,
    ) -> Result<(), ModelsError> {
        let cap = limits.max_kernel_cache_mb as f64;
        within(
            id,
            "cache_size_mb",
            self.cache_size_mb,
            cap,
            "max_kernel_cache_mb",
        )
    }

    /// A fit's working memory on data of `shape`: the kernel cache, filled up to its size
    /// or to the whole kernel matrix if smaller, and a copy of the design.
    pub(crate) fn working_bytes(&self, shape: DataShape) -> u64 {
        let cache = (self.cache_size_mb * 1024.0 * 1024.0) as u64;
        cache
            .min(shape.rows.saturating_mul(shape.rows).saturating_mul(8))
            .saturating_add(shape.matrix_bytes())
    }

    /// `tol` and `cache_size_mb` must be positive numbers.
    pub(crate) fn check(&self, algorithm: &'static str) -> Result<(), ModelsError> {
        require(
            self.tol.is_finite() && self.tol > 0.0,
            algorithm,
            "tol",
            self.tol,
            DOCS[5].accepts,
        )?;
        require(
            self.cache_size_mb.is_finite() && self.cache_size_mb > 0.0,
            algorithm,
            "cache_size_mb",
            self.cache_size_mb,
            DOCS[6].accepts,
        )
    }

    /// The settings the solver runs with (the cache bound in bytes, as LIBSVM's
    /// `cache_size · 2²⁰`).
    pub(crate) fn settings(&self) -> SolverSettings {
        SolverSettings {
            tolerance: self.tol,
            cache_bytes: (self.cache_size_mb * f64::from(1u32 << 20)) as usize,
            shrinking: self.shrinking,
            max_iterations: None,
        }
    }
}

impl KernelParams {
    pub(crate) fn from_params(params: &Params<'_>) -> Result<KernelParams, ModelsError> {
        let gamma = match params.raw("gamma") {
            None => Gamma::Scale,
            Some(ParamValue::Text(text)) if text == "scale" => Gamma::Scale,
            Some(ParamValue::Text(text)) if text == "auto" => Gamma::Auto,
            Some(ParamValue::Text(text)) => {
                return Err(params.refuse("gamma", &ParamValue::Text(text.clone())));
            }
            Some(_) => Gamma::Value(params.number("gamma", 1.0)?),
        };
        Ok(KernelParams {
            kernel: params.choice("kernel", &["rbf", "linear", "poly", "sigmoid"], "rbf")?,
            gamma,
            degree: params.number("degree", 3.0)?,
            coef0: params.number("coef0", 0.0)?,
        })
    }

    pub(crate) fn check(&self, algorithm: &'static str) -> Result<(), ModelsError> {
        if let Gamma::Value(gamma) = self.gamma {
            require(
                gamma.is_finite() && gamma > 0.0,
                algorithm,
                "gamma",
                gamma,
                DOCS[2].accepts,
            )?;
        }
        require(
            self.degree.is_finite()
                && self.degree.fract() == 0.0
                && (1.0..=f64::from(u16::MAX)).contains(&self.degree),
            algorithm,
            "degree",
            self.degree,
            DOCS[3].accepts,
        )?;
        require(
            self.coef0.is_finite(),
            algorithm,
            "coef0",
            self.coef0,
            DOCS[4].accepts,
        )
    }

    /// The kernel for the training matrix `x` (resolving `gamma`).
    pub(crate) fn kernel(&self, x: &Matrix) -> Kernel {
        let gamma = self.gamma.resolve(x);
        match self.kernel {
            "linear" => Kernel::Linear,
            "poly" => Kernel::Polynomial {
                gamma,
                degree: self.degree,
                coef0: self.coef0,
            },
            "sigmoid" => Kernel::Sigmoid {
                gamma,
                coef0: self.coef0,
            },
            _ => Kernel::Rbf { gamma },
        }
    }
}

/// `c` must be a positive number.
pub(crate) fn check_penalty(algorithm: &'static str, c: f64) -> Result<(), ModelsError> {
    require(c.is_finite() && c > 0.0, algorithm, "c", c, DOCS[0].accepts)
}

/// A fitted ε-SVR machine: the decision value of `x` is
/// `Σ coefficientᵢ·K(x, vectorᵢ) − rho`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct SupportVectors {
    kernel: Kernel,
    width: usize,
    vectors: Vec<f64>,
    coefficients: Vec<f64>,
    support: Vec<u32>,
    rho: f64,
    converged: bool,
}

impl SupportVectors {
    /// Checks a decoded machine: `features` values per support vector, one coefficient
    /// per vector, every value finite.
    pub(crate) fn check(&self, features: usize) -> Result<(), String> {
        use crate::algorithms::validate::finite;
        let count = self.support.len();
        if self.width != features
            || self.coefficients.len() != count
            || Some(self.vectors.len()) != count.checked_mul(features)
        {
            return Err(format!(
                "a machine of {} features with {} vector values, {} coefficients and {} \
                 support rows for {features} features",
                self.width,
                self.vectors.len(),
                self.coefficients.len(),
                count
            ));
        }
        self.kernel.check_finite()?;
        finite("the support vectors", &self.vectors)?;
        finite("the dual coefficients", &self.coefficients)?;
        finite("the bias", &[self.rho])
    }

    /// The machine of `kernel` on support vectors `vectors` (row-major, `width` values
    /// each), taken from training rows `support`.
    pub(crate) fn new(
        kernel: Kernel,
        width: usize,
        vectors: Vec<f64>,
        coefficients: Vec<f64>,
        support: Vec<u32>,
        rho: f64,
        converged: bool,
    ) -> SupportVectors {
        SupportVectors {
            kernel,
            width,
            vectors,
            coefficients,
            support,
            rho,
            converged,
        }
    }

    #[cfg(test)]
    /// Their dual coefficients (scikit-learn's `dual_coef_`).
    pub(crate) fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    #[cfg(test)]
    /// The training rows they are (scikit-learn's `support_`).
    pub(crate) fn support(&self) -> &[u32] {
        &self.support
    }

    #[cfg(test)]
    /// The bias subtracted (scikit-learn's `intercept_` is `−rho`).
    pub(crate) fn rho(&self) -> f64 {
        self.rho
    }

    /// False when the solver stopped at its iteration limit rather than its tolerance.
    pub(crate) fn converged(&self) -> bool {
        self.converged
    }

    /// The decision value of each row of `x` (LIBSVM's `predict_values`).
    ///
    /// # Errors
    /// [`ModelsError::Shape`] when `x` has another number of columns;
    /// [`ModelsError::Corrupt`] when the machine's parts disagree in size.
    pub(crate) fn decisions(&self, x: &Matrix) -> Result<Vec<f64>, ModelsError> {
        check_vectors(self.width, &self.vectors, self.coefficients.len(), x)?;
        Ok(rows(x)
            .map(|row| {
                let mut sum = 0.0;
                for (vector, coefficient) in self
                    .vectors
                    .chunks_exact(self.width)
                    .zip(&self.coefficients)
                {
                    sum += coefficient * self.kernel.apply(row, vector);
                }
                sum - self.rho
            })
            .collect())
    }
}

/// Checks that `vectors` holds `count` rows of `width` values and that `x` has `width`
/// columns: a damaged or hand-built model is refused rather than mispredicting.
pub(crate) fn check_vectors(
    width: usize,
    vectors: &[f64],
    count: usize,
    x: &Matrix,
) -> Result<(), ModelsError> {
    if width == 0 || vectors.len() != count * width {
        return Err(ModelsError::Corrupt {
            reason: format!(
                "{} support-vector values do not make {count} vectors of {width} features",
                vectors.len()
            ),
        });
    }
    if x.columns.len() != width {
        return Err(ModelsError::Shape {
            reason: format!(
                "the machine has {width} features, the rows have {}",
                x.columns.len()
            ),
        });
    }
    Ok(())
}
