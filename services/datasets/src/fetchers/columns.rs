//! Column builders: turn trimmed text fields into one block of values at a time, keeping
//! the column's dictionary and statistics as they go.

use crate::blocks::Block;
use crate::fetchers::detect::{is_missing, parse_number};
use crate::stats::{CategoricalStats, ColumnStats, NumericStats};
use mltools_core::MISSING_CODE;
use mltools_core::frame::ColumnKind;
use std::collections::HashMap;

/// Why a field was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// A numeric column received text that is not a number.
    NotANumber,
    /// The dictionary is full: every `u32` but the missing code is in use.
    TooManyCategories,
}

/// The values of one column in the current block, with its running statistics.
#[derive(Debug)]
pub(crate) enum ColumnBuilder {
    Numeric {
        values: Vec<f64>,
        stats: NumericStats,
    },
    Categorical {
        codes: Vec<u32>,
        /// Label → code, mirroring `stats.labels`.
        index: HashMap<String, u32>,
        stats: CategoricalStats,
    },
}

impl ColumnBuilder {
    /// A builder for a column of `kind`; a categorical column starts from `labels` (the
    /// dictionary of the version appended to, or a built-in set's classes).
    pub(crate) fn new(kind: ColumnKind, labels: Vec<String>, block_rows: usize) -> Self {
        match kind {
            ColumnKind::Numeric => ColumnBuilder::Numeric {
                values: Vec::with_capacity(block_rows),
                stats: NumericStats::default(),
            },
            ColumnKind::Categorical => {
                let index = labels
                    .iter()
                    .enumerate()
                    .map(|(code, label)| (label.clone(), code as u32))
                    .collect();
                ColumnBuilder::Categorical {
                    codes: Vec::with_capacity(block_rows),
                    index,
                    stats: CategoricalStats::with_labels(labels),
                }
            }
        }
    }

    /// Adds one trimmed field.
    ///
    /// # Errors
    /// Text in a numeric column; a dictionary with no code left.
    pub(crate) fn push(&mut self, text: &str) -> Result<(), Rejected> {
        match self {
            ColumnBuilder::Numeric { values, stats } => {
                let value = if is_missing(text) {
                    f64::NAN
                } else {
                    parse_number(text).ok_or(Rejected::NotANumber)?
                };
                stats.push(value);
                values.push(value);
            }
            ColumnBuilder::Categorical {
                codes,
                index,
                stats,
            } => {
                if is_missing(text) {
                    stats.missing += 1;
                    codes.push(MISSING_CODE);
                    return Ok(());
                }
                let code = match index.get(text) {
                    Some(&code) => code,
                    None => add_label(index, stats, text)?,
                };
                // Codes index `counts`: `add_label` grows both together.
                stats.counts[code as usize] += 1;
                codes.push(code);
            }
        }
        Ok(())
    }

    /// The values pushed since the last [`ColumnBuilder::clear`].
    pub(crate) fn block(&self) -> Block<'_> {
        match self {
            ColumnBuilder::Numeric { values, .. } => Block::Numeric(values),
            ColumnBuilder::Categorical { codes, .. } => Block::Codes(codes),
        }
    }

    /// Starts a new block, keeping the allocation, the dictionary and the statistics.
    pub(crate) fn clear(&mut self) {
        match self {
            ColumnBuilder::Numeric { values, .. } => values.clear(),
            ColumnBuilder::Categorical { codes, .. } => codes.clear(),
        }
    }

    /// The statistics of every value pushed.
    pub(crate) fn finish(self) -> ColumnStats {
        match self {
            ColumnBuilder::Numeric { stats, .. } => ColumnStats::Numeric(stats),
            ColumnBuilder::Categorical { stats, .. } => ColumnStats::Categorical(stats),
        }
    }
}

fn add_label(
    index: &mut HashMap<String, u32>,
    stats: &mut CategoricalStats,
    text: &str,
) -> Result<u32, Rejected> {
    let code = u32::try_from(stats.labels.len())
        .ok()
        .filter(|&code| code != MISSING_CODE)
        .ok_or(Rejected::TooManyCategories)?;
    index.insert(text.to_owned(), code);
    stats.labels.push(text.to_owned());
    stats.counts.push(0);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_get_codes_in_order_of_first_appearance() {
        let mut builder = ColumnBuilder::new(ColumnKind::Categorical, vec!["old".into()], 4);
        for text in ["b", "a", "NA", "b", "old"] {
            builder.push(text).unwrap();
        }
        assert_eq!(builder.block(), Block::Codes(&[1, 2, MISSING_CODE, 1, 0]));
        let ColumnStats::Categorical(stats) = builder.finish() else {
            panic!("categorical builder made numeric stats");
        };
        assert_eq!(stats.labels, ["old", "b", "a"]);
        assert_eq!(stats.counts, [1, 2, 1]);
        assert_eq!(stats.missing, 1);
    }

    #[test]
    fn numeric_builder_refuses_text_and_reads_missing_as_nan() {
        let mut builder = ColumnBuilder::new(ColumnKind::Numeric, Vec::new(), 4);
        builder.push("1.5").unwrap();
        builder.push("").unwrap();
        assert_eq!(builder.push("abc"), Err(Rejected::NotANumber));
        let Block::Numeric(values) = builder.block() else {
            panic!("numeric builder made codes");
        };
        assert_eq!(values[0], 1.5);
        assert!(values[1].is_nan());
        builder.clear();
        assert_eq!(builder.block().len(), 0);
    }
}
