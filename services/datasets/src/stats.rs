//! Per-column statistics kept as mergeable accumulators.
//!
//! A version stores one accumulator per column, so `describe` reads O(columns) numbers and
//! an append merges the new rows' accumulators into the old ones (Chan et al.'s parallel
//! variance) instead of rescanning every row.

use mltools_core::datasets::{CategoricalSummary, ColumnSummary, NumericSummary};
use mltools_core::frame::ColumnKind;
use serde::{Deserialize, Serialize};

/// The statistics of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum ColumnStats {
    Numeric(NumericStats),
    Categorical(CategoricalStats),
}

/// Welford's running count, mean and sum of squared deviations, with the extremes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumericStats {
    pub(crate) count: u64,
    pub(crate) missing: u64,
    #[serde(with = "json_f64")]
    pub(crate) mean: f64,
    #[serde(with = "json_f64")]
    pub(crate) m2: f64,
    #[serde(with = "json_f64")]
    pub(crate) min: f64,
    #[serde(with = "json_f64")]
    pub(crate) max: f64,
}

/// The dictionary of a categorical column and how often each code occurs.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct CategoricalStats {
    pub(crate) missing: u64,
    /// Labels in code order; a later version's labels extend an earlier one's.
    pub(crate) labels: Vec<String>,
    /// Occurrences per code, as long as `labels`.
    pub(crate) counts: Vec<u64>,
}

impl Default for NumericStats {
    fn default() -> Self {
        NumericStats {
            count: 0,
            missing: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl NumericStats {
    /// Adds one value; `NaN` counts as missing.
    pub(crate) fn push(&mut self, value: f64) {
        if value.is_nan() {
            self.missing += 1;
            return;
        }
        self.count += 1;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Folds in the statistics of other rows of the same column.
    pub(crate) fn merge(&mut self, other: &NumericStats) {
        self.missing += other.missing;
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            let missing = self.missing;
            *self = *other;
            self.missing = missing;
            return;
        }
        let (left, right) = (self.count as f64, other.count as f64);
        let total = left + right;
        let delta = other.mean - self.mean;
        self.mean += delta * right / total;
        self.m2 += other.m2 + delta * delta * left * right / total;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Mean, sample standard deviation (n − 1, as pandas) and extremes; `NaN` where undefined.
    pub(crate) fn summary(&self) -> NumericSummary {
        if self.count == 0 {
            return NumericSummary {
                mean: f64::NAN,
                std: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let std = if self.count > 1 {
            (self.m2 / (self.count - 1) as f64).sqrt()
        } else {
            f64::NAN
        };
        NumericSummary {
            mean: self.mean,
            std,
            min: self.min,
            max: self.max,
        }
    }
}

impl CategoricalStats {
    /// Statistics over an existing dictionary, every count zero.
    pub(crate) fn with_labels(labels: Vec<String>) -> Self {
        let counts = vec![0; labels.len()];
        CategoricalStats {
            missing: 0,
            labels,
            counts,
        }
    }

    /// Folds in the statistics of later rows, whose dictionary extends this one.
    ///
    /// # Errors
    /// The later dictionary does not start with this one (a bug: appends keep codes).
    pub(crate) fn merge(&mut self, later: &CategoricalStats) -> Result<(), String> {
        if !later.labels.starts_with(&self.labels) {
            return Err("an appended dictionary does not extend the old one".to_owned());
        }
        self.missing += later.missing;
        self.labels
            .extend_from_slice(&later.labels[self.labels.len()..]);
        self.counts.resize(self.labels.len(), 0);
        for (count, added) in self.counts.iter_mut().zip(&later.counts) {
            *count += added;
        }
        Ok(())
    }

    /// Distinct present values and the most frequent one (the lowest code on ties).
    pub(crate) fn summary(&self) -> CategoricalSummary {
        let distinct = self.counts.iter().filter(|&&count| count > 0).count() as u64;
        let mut top: Option<(usize, u64)> = None;
        for (code, &count) in self.counts.iter().enumerate() {
            if count > 0 && top.is_none_or(|(_, best)| count > best) {
                top = Some((code, count));
            }
        }
        CategoricalSummary {
            distinct,
            top: top.and_then(|(code, count)| Some((self.labels.get(code)?.clone(), count))),
        }
    }
}

impl ColumnStats {
    /// Folds in the statistics of rows appended after these.
    ///
    /// # Errors
    /// The two describe different kinds of column, or dictionaries that do not extend.
    pub(crate) fn merge(&mut self, later: &ColumnStats) -> Result<(), String> {
        match (self, later) {
            (ColumnStats::Numeric(old), ColumnStats::Numeric(new)) => {
                old.merge(new);
                Ok(())
            }
            (ColumnStats::Categorical(old), ColumnStats::Categorical(new)) => old.merge(new),
            _ => Err("merging statistics of different column kinds".to_owned()),
        }
    }

    /// The interface's summary of the column called `name`.
    pub(crate) fn summary(&self, name: &str) -> ColumnSummary {
        match self {
            ColumnStats::Numeric(stats) => ColumnSummary {
                name: name.to_owned(),
                kind: ColumnKind::Numeric,
                missing: stats.missing,
                numeric: Some(stats.summary()),
                categorical: None,
            },
            ColumnStats::Categorical(stats) => ColumnSummary {
                name: name.to_owned(),
                kind: ColumnKind::Categorical,
                missing: stats.missing,
                numeric: None,
                categorical: Some(stats.summary()),
            },
        }
    }
}

/// `f64` in JSON: serde_json writes `NaN` and infinities as `null` and cannot read them
/// back, and an empty column's extremes are infinite; those three travel as strings.
mod json_f64 {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Text {
        Number(f64),
        Word(String),
    }

    pub(super) fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        let text = match *value {
            v if v.is_finite() => Text::Number(v),
            v if v.is_nan() => Text::Word("NaN".to_owned()),
            v if v > 0.0 => Text::Word("inf".to_owned()),
            _ => Text::Word("-inf".to_owned()),
        };
        text.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        let word = match Text::deserialize(deserializer)? {
            Text::Number(value) => return Ok(value),
            Text::Word(word) => word,
        };
        match word.as_str() {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a number"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(values: &[f64]) -> NumericStats {
        let mut stats = NumericStats::default();
        values.iter().for_each(|&value| stats.push(value));
        stats
    }

    #[test]
    fn welford_matches_hand_computed_values() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, sample var 32/7.
        let stats = numeric(&[2.0, 4.0, f64::NAN, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        let summary = stats.summary();
        assert_eq!((stats.count, stats.missing), (8, 1));
        assert_eq!(summary.mean, 5.0);
        assert!((summary.std - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((summary.min, summary.max), (2.0, 9.0));
    }

    #[test]
    fn merge_equals_one_pass() {
        let all = [1.5, -2.0, 3.25, 8.0, 0.0, 11.0, -7.5];
        for split in 0..=all.len() {
            let mut merged = numeric(&all[..split]);
            merged.merge(&numeric(&all[split..]));
            let whole = numeric(&all);
            assert_eq!(merged.count, whole.count);
            assert!((merged.mean - whole.mean).abs() < 1e-12, "split {split}");
            assert!((merged.m2 - whole.m2).abs() < 1e-9, "split {split}");
            assert_eq!((merged.min, merged.max), (whole.min, whole.max));
        }
    }

    #[test]
    fn empty_and_single_columns_are_nan_where_undefined() {
        let empty = numeric(&[f64::NAN, f64::NAN]).summary();
        assert!(empty.mean.is_nan() && empty.min.is_nan() && empty.std.is_nan());
        let single = numeric(&[3.0]).summary();
        assert_eq!(single.mean, 3.0);
        assert!(single.std.is_nan());
    }

    #[test]
    fn categorical_merge_extends_the_dictionary() {
        let mut old = CategoricalStats {
            missing: 1,
            labels: vec!["a".into(), "b".into()],
            counts: vec![2, 1],
        };
        let later = CategoricalStats {
            missing: 2,
            labels: vec!["a".into(), "b".into(), "c".into()],
            counts: vec![0, 2, 3],
        };
        old.merge(&later).unwrap();
        assert_eq!(old.counts, vec![2, 3, 3]);
        assert_eq!(old.missing, 3);
        let summary = old.summary();
        assert_eq!(summary.distinct, 3);
        assert_eq!(summary.top, Some(("b".to_owned(), 3)));
        let unrelated = CategoricalStats::with_labels(vec!["z".into()]);
        assert!(old.merge(&unrelated).is_err());
    }

    #[test]
    fn json_round_trips_non_finite_values() {
        let stats = ColumnStats::Numeric(numeric(&[f64::NAN]));
        let text = serde_json::to_string(&stats).unwrap();
        let back: ColumnStats = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stats);
        assert!(text.contains("\"inf\""), "{text}");
    }
}
