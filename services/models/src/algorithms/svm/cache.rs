//! A bounded least-recently-used cache of kernel columns: LIBSVM's `Cache`.
//!
//! Each column is cached as a prefix `[0, len)` of `f32` values (LIBSVM's `Qfloat`), so a
//! column asked for over the active set only is not computed past it, and is extended in
//! place when asked for longer. The budget counts values; when a column must grow past it,
//! the least recently used columns are dropped whole.

/// The cache: one entry per column, plus a sentinel closing the circular LRU list.
#[derive(Debug)]
pub(crate) struct ColumnCache {
    entries: Vec<Entry>,
    /// How many more values the budget allows.
    free: usize,
}

/// One column's cached prefix and its place in the LRU list (meaningful only while the
/// prefix is not empty).
#[derive(Debug, Default)]
struct Entry {
    previous: usize,
    next: usize,
    values: Vec<f32>,
}

impl ColumnCache {
    /// A cache for `columns` columns (of up to `columns` values each) within `bytes`,
    /// LIBSVM's accounting: the per-column bookkeeping is charged to the budget, and the
    /// budget is raised to two full columns if smaller, so the solver's two columns of an
    /// update always fit together.
    pub(crate) fn new(columns: usize, bytes: usize) -> ColumnCache {
        let value = size_of::<f32>();
        let budget = (bytes / value).saturating_sub(columns * size_of::<Entry>() / value);
        let sentinel = columns;
        let mut entries: Vec<Entry> = (0..=columns).map(|_| Entry::default()).collect();
        entries[sentinel].previous = sentinel;
        entries[sentinel].next = sentinel;
        ColumnCache {
            entries,
            free: budget.max(2 * columns),
        }
    }

    fn sentinel(&self) -> usize {
        self.entries.len() - 1
    }

    fn unlink(&mut self, index: usize) {
        let (previous, next) = (self.entries[index].previous, self.entries[index].next);
        self.entries[previous].next = next;
        self.entries[next].previous = previous;
    }

    /// Makes `index` the most recently used.
    fn push_back(&mut self, index: usize) {
        let sentinel = self.sentinel();
        let last = self.entries[sentinel].previous;
        self.entries[index].next = sentinel;
        self.entries[index].previous = last;
        self.entries[last].next = index;
        self.entries[sentinel].previous = index;
    }

    fn drop_values(&mut self, index: usize) {
        self.unlink(index);
        let values = std::mem::take(&mut self.entries[index].values);
        self.free += values.len();
    }

    /// Makes column `index` hold at least `len` values and the most recently used; returns
    /// the first position whose value the caller must compute (`len` when all are cached).
    /// The positions from there to `len` hold zeros until the caller fills them.
    pub(crate) fn request(&mut self, index: usize, len: usize) -> usize {
        let cached = self.entries[index].values.len();
        if cached > 0 {
            self.unlink(index);
        }
        let start = if len > cached {
            let more = len - cached;
            let sentinel = self.sentinel();
            while self.free < more {
                let oldest = self.entries[sentinel].next;
                if oldest == sentinel {
                    break;
                }
                self.drop_values(oldest);
            }
            let values = &mut self.entries[index].values;
            values.reserve_exact(more);
            values.resize(len, 0.0);
            self.free = self.free.saturating_sub(more);
            cached
        } else {
            len
        };
        if !self.entries[index].values.is_empty() {
            self.push_back(index);
        }
        start
    }

    /// The cached prefix of column `index`.
    pub(crate) fn column(&self, index: usize) -> &[f32] {
        &self.entries[index].values
    }

    /// The cached prefix of column `index`, to fill after [`ColumnCache::request`].
    pub(crate) fn column_mut(&mut self, index: usize) -> &mut [f32] {
        &mut self.entries[index].values
    }

    /// Swaps positions `i` and `j` (the solver's shrinking moves a variable out of the
    /// active set): the columns swap, and so do the two values inside every cached column
    /// long enough to hold both; a column holding `i` but not `j` is dropped.
    pub(crate) fn swap_index(&mut self, i: usize, j: usize) {
        if i == j {
            return;
        }
        for index in [i, j] {
            if !self.entries[index].values.is_empty() {
                self.unlink(index);
            }
        }
        let values_i = std::mem::take(&mut self.entries[i].values);
        let values_j = std::mem::replace(&mut self.entries[j].values, values_i);
        self.entries[i].values = values_j;
        for index in [i, j] {
            if !self.entries[index].values.is_empty() {
                self.push_back(index);
            }
        }
        let (low, high) = if i < j { (i, j) } else { (j, i) };
        let sentinel = self.sentinel();
        let mut index = self.entries[sentinel].next;
        while index != sentinel {
            let next = self.entries[index].next;
            let len = self.entries[index].values.len();
            if len > high {
                self.entries[index].values.swap(low, high);
            } else if len > low {
                self.drop_values(index);
            }
            index = next;
        }
    }

    /// The values cached, all columns together (for tests of the budget).
    #[cfg(test)]
    fn cached(&self) -> usize {
        self.entries.iter().map(|entry| entry.values.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(cache: &mut ColumnCache, index: usize, len: usize) -> usize {
        let start = cache.request(index, len);
        for (position, value) in cache.column_mut(index)[start..len].iter_mut().enumerate() {
            *value = (index * 100 + start + position) as f32;
        }
        start
    }

    #[test]
    fn columns_are_extended_in_place_and_the_oldest_dropped() {
        // A budget of exactly two full columns of 4.
        let mut cache = ColumnCache::new(4, 0);
        assert_eq!(fill(&mut cache, 0, 2), 0);
        assert_eq!(
            fill(&mut cache, 0, 4),
            2,
            "only the missing tail is computed"
        );
        assert_eq!(cache.column(0), [0.0, 1.0, 2.0, 3.0]);
        assert_eq!(fill(&mut cache, 1, 4), 0);
        assert_eq!(fill(&mut cache, 0, 3), 3, "cached: nothing to compute");
        // Column 1 is now the oldest: column 2 evicts it, not column 0.
        assert_eq!(fill(&mut cache, 2, 4), 0);
        assert!(cache.column(1).is_empty());
        assert_eq!(cache.column(0).len(), 4);
        assert!(cache.cached() <= 8);
    }

    #[test]
    fn swapping_keeps_columns_consistent() {
        let mut cache = ColumnCache::new(4, 1 << 20);
        fill(&mut cache, 0, 4);
        fill(&mut cache, 1, 4);
        fill(&mut cache, 3, 3);
        cache.swap_index(1, 3);
        // Column 0 held both positions: its values swapped.
        assert_eq!(cache.column(0), [0.0, 3.0, 2.0, 1.0]);
        // The columns themselves swapped places, and their values too.
        assert_eq!(cache.column(3), [100.0, 103.0, 102.0, 101.0]);
        // Column 1 (formerly 3) held position 1 but not 3: dropped.
        assert!(cache.column(1).is_empty());
    }
}
