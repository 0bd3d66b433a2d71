//! The matrices `Q` the solver works on, one per formulation, over a cached kernel:
//! LIBSVM's `SVC_Q` (`Qᵢⱼ = yᵢ·yⱼ·K(xᵢ, xⱼ)`) and `SVR_Q` (2n variables over n rows).

use crate::algorithms::svm::cache::ColumnCache;
use crate::algorithms::svm::kernel::TrainingKernel;

/// What the solver needs of `Q`: its diagonal, and columns over the first `len`
/// positions, as `f32` (LIBSVM's `Qfloat`), under the solver's current order of variables.
pub(crate) trait QMatrix {
    /// `Qᵢᵢ` for every variable, in the initial order.
    fn diagonal(&self) -> Vec<f64>;
    /// Column `i` over positions `[0, len)`.
    fn column(&mut self, i: usize, len: usize) -> &[f32];
    /// Columns `i` and `j` over positions `[0, len)`, valid together.
    fn columns(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]);
    /// Swaps variables `i` and `j` (the solver's shrinking reorders them).
    fn swap_index(&mut self, i: usize, j: usize);
}

/// C-SVC's `Q` over the rows of a [`TrainingKernel`], labelled `±1`.
pub(crate) struct SvcQ<'a> {
    kernel: &'a TrainingKernel,
    /// The kernel row of each position.
    order: Vec<usize>,
    labels: Vec<i8>,
    cache: ColumnCache,
    /// Holds column `i` of [`QMatrix::columns`] should fetching column `j` have evicted
    /// it (it cannot within the cache's minimum budget; this keeps the method total).
    spare: Vec<f32>,
}

impl<'a> SvcQ<'a> {
    /// `labels` has one `±1` per kernel row; `cache_bytes` bounds the column cache.
    pub(crate) fn new(kernel: &'a TrainingKernel, labels: &[i8], cache_bytes: usize) -> Self {
        let rows = kernel.rows();
        SvcQ {
            kernel,
            order: (0..rows).collect(),
            labels: labels.to_vec(),
            cache: ColumnCache::new(rows, cache_bytes),
            spare: Vec::new(),
        }
    }

    /// Makes column `i` cached over `[0, len)`.
    fn fill(&mut self, i: usize, len: usize) {
        let start = self.cache.request(i, len);
        if start < len {
            let out = &mut self.cache.column_mut(i)[start..len];
            svc_values(self.kernel, &self.order, &self.labels, i, start, out);
        }
    }
}

/// `Qᵢⱼ` for `j` from `start` on, into `out`.
fn svc_values(
    kernel: &TrainingKernel,
    order: &[usize],
    labels: &[i8],
    i: usize,
    start: usize,
    out: &mut [f32],
) {
    let end = start + out.len();
    let label = labels[i];
    let others = &labels[start..end];
    kernel.column(order[i], &order[start..end], |k, value| {
        out[k] = if others[k] == label { value } else { -value } as f32;
    });
}

impl QMatrix for SvcQ<'_> {
    fn diagonal(&self) -> Vec<f64> {
        self.order
            .iter()
            .map(|&row| self.kernel.value(row, row))
            .collect()
    }

    fn column(&mut self, i: usize, len: usize) -> &[f32] {
        self.fill(i, len);
        &self.cache.column(i)[..len]
    }

    fn columns(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]) {
        self.fill(i, len);
        self.fill(j, len);
        if self.cache.column(i).len() < len {
            self.spare.resize(len, 0.0);
            svc_values(
                self.kernel,
                &self.order,
                &self.labels,
                i,
                0,
                &mut self.spare,
            );
            return (&self.spare[..len], &self.cache.column(j)[..len]);
        }
        (&self.cache.column(i)[..len], &self.cache.column(j)[..len])
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.cache.swap_index(i, j);
        self.order.swap(i, j);
        self.labels.swap(i, j);
    }
}

/// ε-SVR's `Q` over 2n variables: variable `k` and `k + n` are both row `k`, signed
/// `+1` and `−1`. The cache holds whole kernel columns by row and is never reordered;
/// each request copies one into one of two buffers in the solver's order.
pub(crate) struct SvrQ<'a> {
    kernel: &'a TrainingKernel,
    all_rows: Vec<usize>,
    signs: Vec<i8>,
    rows: Vec<usize>,
    cache: ColumnCache,
    buffers: [Vec<f32>; 2],
    next_buffer: usize,
}

impl<'a> SvrQ<'a> {
    /// The `Q` of ε-SVR on `kernel`'s rows; `cache_bytes` bounds the column cache.
    pub(crate) fn new(kernel: &'a TrainingKernel, cache_bytes: usize) -> Self {
        let n = kernel.rows();
        SvrQ {
            kernel,
            all_rows: (0..n).collect(),
            signs: (0..2 * n).map(|k| if k < n { 1 } else { -1 }).collect(),
            rows: (0..2 * n).map(|k| k % n.max(1)).collect(),
            cache: ColumnCache::new(n, cache_bytes),
            buffers: [vec![0.0; 2 * n], vec![0.0; 2 * n]],
            next_buffer: 0,
        }
    }

    /// Copies variable `i`'s column over `[0, len)` into buffer `buffer`.
    fn copy(&mut self, i: usize, len: usize, buffer: usize) {
        let row = self.rows[i];
        let n = self.all_rows.len();
        let start = self.cache.request(row, n);
        if start < n {
            let out = &mut self.cache.column_mut(row)[start..n];
            self.kernel
                .column(row, &self.all_rows[start..n], |k, value| {
                    out[k] = value as f32
                });
        }
        let cached = self.cache.column(row);
        let sign = f32::from(self.signs[i]);
        let out = &mut self.buffers[buffer][..len];
        for ((value, &other), &other_row) in out.iter_mut().zip(&self.signs).zip(&self.rows) {
            *value = sign * f32::from(other) * cached[other_row];
        }
    }
}

impl QMatrix for SvrQ<'_> {
    fn diagonal(&self) -> Vec<f64> {
        self.rows
            .iter()
            .map(|&row| self.kernel.value(row, row))
            .collect()
    }

    fn column(&mut self, i: usize, len: usize) -> &[f32] {
        let buffer = self.next_buffer;
        self.next_buffer = 1 - buffer;
        self.copy(i, len, buffer);
        &self.buffers[buffer][..len]
    }

    fn columns(&mut self, i: usize, j: usize, len: usize) -> (&[f32], &[f32]) {
        self.copy(i, len, 0);
        self.copy(j, len, 1);
        let [first, second] = &self.buffers;
        (&first[..len], &second[..len])
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.signs.swap(i, j);
        self.rows.swap(i, j);
    }
}
