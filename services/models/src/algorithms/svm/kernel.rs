//! Kernels: the resolved [`Kernel`] a fitted model keeps (evaluated on a pair of rows, as
//! LIBSVM's `k_function`), and `TrainingKernel`, which evaluates kernel columns over the
//! training rows with their squared norms computed once (LIBSVM's `Kernel` class).

use serde::{Deserialize, Serialize};

/// A kernel with its settings resolved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum Kernel {
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
        /// Its degree (a whole degree is raised by repeated squaring, as LIBSVM).
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
    /// Refuses a decoded kernel with a non-finite parameter.
    pub(crate) fn check_finite(&self) -> Result<(), String> {
        let values = match *self {
            Kernel::Linear => vec![],
            Kernel::Rbf { gamma } => vec![gamma],
            Kernel::Polynomial {
                gamma,
                degree,
                coef0,
            } => vec![gamma, degree, coef0],
            Kernel::Sigmoid { gamma, coef0 } => vec![gamma, coef0],
        };
        crate::algorithms::validate::finite("the kernel's parameters", &values)
    }

    /// The kernel's value on two rows of equal length, computed as LIBSVM's `k_function`
    /// (the RBF kernel from the squared distance, not from norms).
    pub(crate) fn apply(&self, a: &[f64], b: &[f64]) -> f64 {
        match *self {
            Kernel::Linear => dot(a, b),
            Kernel::Rbf { gamma } => (-gamma * squared_distance(a, b)).exp(),
            Kernel::Polynomial {
                gamma,
                degree,
                coef0,
            } => power(gamma * dot(a, b) + coef0, degree),
            Kernel::Sigmoid { gamma, coef0 } => (gamma * dot(a, b) + coef0).tanh(),
        }
    }
}

/// `Σ aᵢ·bᵢ` with four independent accumulators, which the compiler turns into vector
/// instructions (a single running sum is a dependency chain it may not reorder).
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..4 {
            sums[lane] += x[lane] * y[lane];
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// `‖a − b‖²`, vectorised as [`dot`].
pub(crate) fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut sums = [0.0; 4];
    let (a_chunks, b_chunks) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..4 {
            let difference = x[lane] - y[lane];
            sums[lane] += difference * difference;
        }
    }
    (sums[0] + sums[1]) + (sums[2] + sums[3]) + tail
}

/// `base^degree`: LIBSVM's `powi` (repeated squaring) for a whole degree, `powf` otherwise.
fn power(base: f64, degree: f64) -> f64 {
    if degree.fract() != 0.0 || !(0.0..=f64::from(i32::MAX)).contains(&degree) {
        return base.powf(degree);
    }
    let (mut factor, mut result) = (base, 1.0);
    let mut times = degree as u32;
    while times > 0 {
        if times % 2 == 1 {
            result *= factor;
        }
        factor *= factor;
        times /= 2;
    }
    result
}

/// The training rows (row-major, contiguous) with what every kernel column needs:
/// LIBSVM's `Kernel` for dense rows.
#[derive(Debug, Clone)]
pub(crate) struct TrainingKernel {
    kernel: Kernel,
    values: Vec<f64>,
    width: usize,
    /// `‖rowᵢ‖²`, for the RBF kernel only (empty otherwise).
    squares: Vec<f64>,
}

impl TrainingKernel {
    /// `values` holds the rows one after another, `width` values each (`width ≥ 1`).
    pub(crate) fn new(kernel: Kernel, values: Vec<f64>, width: usize) -> TrainingKernel {
        let width = width.max(1);
        let squares = match kernel {
            Kernel::Rbf { .. } => values.chunks_exact(width).map(|r| dot(r, r)).collect(),
            _ => Vec::new(),
        };
        TrainingKernel {
            kernel,
            values,
            width,
            squares,
        }
    }

    /// The number of rows.
    pub(crate) fn rows(&self) -> usize {
        self.values.len() / self.width
    }

    /// The number of features of each row.
    pub(crate) fn width(&self) -> usize {
        self.width
    }

    /// Row `index`.
    pub(crate) fn row(&self, index: usize) -> &[f64] {
        &self.values[index * self.width..(index + 1) * self.width]
    }

    /// `K(rowᵢ, rowⱼ)` as LIBSVM's training kernel computes it (RBF from the norms).
    pub(crate) fn value(&self, i: usize, j: usize) -> f64 {
        let mut value = 0.0;
        self.column(i, &[j], |_, computed| value = computed);
        value
    }

    /// `K(rowᵢ, rowⱼ)` for each `j` of `rows`, passed to `put` with its position in `rows`.
    /// The kernel is matched once per column, not once per value.
    pub(crate) fn column(&self, i: usize, rows: &[usize], mut put: impl FnMut(usize, f64)) {
        let a = self.row(i);
        match self.kernel {
            Kernel::Linear => {
                for (k, &j) in rows.iter().enumerate() {
                    put(k, dot(a, self.row(j)));
                }
            }
            Kernel::Rbf { gamma } => {
                let square = self.squares[i];
                for (k, &j) in rows.iter().enumerate() {
                    let distance = square + self.squares[j] - 2.0 * dot(a, self.row(j));
                    put(k, (-gamma * distance).exp());
                }
            }
            Kernel::Polynomial {
                gamma,
                degree,
                coef0,
            } => {
                for (k, &j) in rows.iter().enumerate() {
                    put(k, power(gamma * dot(a, self.row(j)) + coef0, degree));
                }
            }
            Kernel::Sigmoid { gamma, coef0 } => {
                for (k, &j) in rows.iter().enumerate() {
                    put(k, (gamma * dot(a, self.row(j)) + coef0).tanh());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_distance_handle_every_length() {
        for length in 0..11 {
            let a: Vec<f64> = (0..length).map(|i| f64::from(i) * 0.5 - 1.0).collect();
            let b: Vec<f64> = (0..length).map(|i| 2.0 - f64::from(i) * 0.25).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let distance: f64 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-12, "{length}");
            assert!((squared_distance(&a, &b) - distance).abs() < 1e-12);
        }
    }

    #[test]
    fn whole_powers_square_repeatedly_and_fractions_use_powf() {
        assert_eq!(power(2.0, 10.0), 1024.0);
        assert_eq!(power(-1.5, 3.0), -3.375);
        assert_eq!(power(3.0, 0.0), 1.0);
        assert!((power(2.0, 2.5) - 2f64.powf(2.5)).abs() < 1e-15);
    }

    #[test]
    fn the_training_kernel_agrees_with_the_pairwise_one() {
        let values = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5, -1.0, 0.0, 2.0];
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
            let training = TrainingKernel::new(kernel, values.clone(), 3);
            assert_eq!(training.rows(), 3);
            for i in 0..3 {
                for j in 0..3 {
                    let pairwise = kernel.apply(training.row(i), training.row(j));
                    assert!(
                        (training.value(i, j) - pairwise).abs() < 1e-12,
                        "{kernel:?}"
                    );
                }
            }
        }
    }
}
