//! What the support vector machines share: kernels, scikit-learn's `gamma = "scale"`, and
//! the fitted form (support vectors, their weights, a bias) we predict from ourselves.
//!
//! smartcore's SVC and SVR borrow their parameters (`SVC<'a>`), and once reloaded from
//! serde they panic on predict because the kernel is not saved (ML-BASELINE.md). We read
//! the fitted support vectors out (see [`mirror`](super::dense::mirror)) and keep them with
//! the kernel in an owned [`SupportVectors`], which predicts identically after a reload.

use crate::algorithms::params::{DefaultValue, ParamDoc, Params, require};
use crate::error::ModelsError;
use mltools_core::models::ParamValue;
use mltools_core::utils::Matrix;
use serde::{Deserialize, Serialize};
use smartcore::svm::Kernels;

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

/// The documentation of the kernel settings and `c`.
pub(crate) const DOCS: [ParamDoc; 6] = [
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
        default: DefaultValue::Number(3.0),
        accepts: "a number ≥ 1",
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
        doc: "The solver's stopping tolerance.",
    },
];

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
            self.degree.is_finite() && self.degree >= 1.0,
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

/// `c` and `tol` must be positive numbers.
pub(crate) fn check_penalty(algorithm: &'static str, c: f64, tol: f64) -> Result<(), ModelsError> {
    require(c.is_finite() && c > 0.0, algorithm, "c", c, DOCS[0].accepts)?;
    require(
        tol.is_finite() && tol > 0.0,
        algorithm,
        "tol",
        tol,
        DOCS[5].accepts,
    )
}

/// A kernel with its settings resolved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Kernel {
    /// `a·b`.
    Linear,
    /// `exp(−gamma·‖a − b‖²)`.
    Rbf {
        /// Its scale.
        gamma: f64,
    },
    /// `(gamma·a·b + coef0)^degree`.
    Polynomial {
        /// Its scale.
        gamma: f64,
        /// Its degree.
        degree: f64,
        /// Its offset.
        coef0: f64,
    },
    /// `tanh(gamma·a·b + coef0)`.
    Sigmoid {
        /// Its scale.
        gamma: f64,
        /// Its offset.
        coef0: f64,
    },
}

impl Kernel {
    /// The kernel's value, computed as smartcore computes it.
    pub fn apply(&self, a: &[f64], b: &[f64]) -> f64 {
        let dot = || a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        match *self {
            Kernel::Linear => dot(),
            Kernel::Rbf { gamma } => {
                let distance: f64 = a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum();
                (-gamma * distance).exp()
            }
            Kernel::Polynomial {
                gamma,
                degree,
                coef0,
            } => (gamma * dot() + coef0).powf(degree),
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }

    /// smartcore's form.
    pub(crate) fn smartcore(&self) -> Kernels {
        match *self {
            Kernel::Linear => Kernels::linear(),
            Kernel::Rbf { gamma } => Kernels::rbf().with_gamma(gamma),
            Kernel::Polynomial {
                gamma,
                degree,
                coef0,
            } => Kernels::polynomial()
                .with_gamma(gamma)
                .with_degree(degree)
                .with_coef0(coef0),
            Kernel::Sigmoid { gamma, coef0 } => {
                Kernels::sigmoid().with_gamma(gamma).with_coef0(coef0)
            }
        }
    }
}

/// A fitted SVM's decision function: `bias + Σ weightᵢ·K(x, vectorᵢ)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportVectors {
    /// The kernel.
    pub kernel: Kernel,
    /// The support vectors.
    pub vectors: Vec<Vec<f64>>,
    /// Their weights (dual coefficients, signed).
    pub weights: Vec<f64>,
    /// The bias.
    pub bias: f64,
}

impl SupportVectors {
    /// The decision value for one row.
    pub fn decision(&self, row: &[f64]) -> f64 {
        self.vectors
            .iter()
            .zip(&self.weights)
            .map(|(vector, weight)| weight * self.kernel.apply(row, vector))
            .sum::<f64>()
            + self.bias
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algorithms::dense::testing;

    #[test]
    fn gamma_scale_is_one_over_features_times_variance() {
        // Values 0, 2, 4, 6: mean 3, variance 5; two features → 1/10.
        let x = testing::matrix(&[&[0.0, 2.0], &[4.0, 6.0]]);
        assert!((Gamma::Scale.resolve(&x) - 0.1).abs() < 1e-12);
        assert_eq!(Gamma::Auto.resolve(&x), 0.5);
        let constant = testing::matrix(&[&[1.0], &[1.0]]);
        assert_eq!(Gamma::Scale.resolve(&constant), 1.0);
    }

    #[test]
    fn kernels_match_smartcore() {
        use smartcore::svm::Kernel as _;
        let (a, b) = (vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]);
        let kernels = [
            Kernel::Linear,
            Kernel::Rbf { gamma: 0.055 },
            Kernel::Polynomial {
                gamma: 0.5,
                degree: 3.0,
                coef0: 1.0,
            },
            Kernel::Sigmoid {
                gamma: 0.01,
                coef0: 0.5,
            },
        ];
        for kernel in kernels {
            let theirs = kernel.smartcore().apply(&a, &b).unwrap();
            assert!((kernel.apply(&a, &b) - theirs).abs() < 1e-12, "{kernel:?}");
        }
    }
}
