//! Columnar tabular data, the form in which every service exchanges a table.

use serde::{Deserialize, Serialize};

/// The category code that marks a missing value in a categorical column.
pub const MISSING_CODE: u32 = u32::MAX;

/// A table: named columns of equal length.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Frame {
    /// The columns, in table order.
    pub columns: Vec<Column>,
}

/// One named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Column {
    /// The column's name, unique within its frame.
    pub name: String,
    /// The values.
    pub data: ColumnData,
}

/// A column's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ColumnData {
    /// Numbers; a missing value is `NaN`.
    Numeric(#[serde(with = "crate::wire::f64_le")] Vec<f64>),
    /// Category codes into `categories`; a missing value is [`MISSING_CODE`].
    Categorical {
        /// One code per row.
        #[serde(with = "crate::wire::u32_le")]
        codes: Vec<u32>,
        /// The category labels, in order of first appearance in the source.
        categories: Vec<String>,
    },
}

/// Whether a column holds numbers or categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// Numbers (`f64`).
    Numeric,
    /// Labels, stored as codes.
    Categorical,
}

impl std::fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        })
    }
}

impl ColumnData {
    /// The number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(values) => values.len(),
            ColumnData::Categorical { codes, .. } => codes.len(),
        }
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Numeric or categorical.
    pub fn kind(&self) -> ColumnKind {
        match self {
            ColumnData::Numeric(_) => ColumnKind::Numeric,
            ColumnData::Categorical { .. } => ColumnKind::Categorical,
        }
    }

    /// Whether row `row` is missing.
    pub fn is_missing(&self, row: usize) -> bool {
        match self {
            ColumnData::Numeric(values) => values[row].is_nan(),
            ColumnData::Categorical { codes, .. } => codes[row] == MISSING_CODE,
        }
    }

    /// The value of row `row` as text (empty when missing), for display and export.
    pub fn display_value(&self, row: usize) -> String {
        match self {
            ColumnData::Numeric(values) if values[row].is_nan() => String::new(),
            ColumnData::Numeric(values) => values[row].to_string(),
            ColumnData::Categorical { codes, categories } => categories
                .get(codes[row] as usize)
                .cloned()
                .unwrap_or_default(),
        }
    }
}

impl Column {
    /// A numeric column.
    pub fn numeric(name: impl Into<String>, values: Vec<f64>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Numeric(values),
        }
    }

    /// A categorical column from codes and labels.
    pub fn categorical(name: impl Into<String>, codes: Vec<u32>, categories: Vec<String>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Categorical { codes, categories },
        }
    }
}

impl Frame {
    /// The number of rows (0 for a frame without columns).
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |column| column.data.len())
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }

    /// The names of the columns, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|column| column.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_values_and_display() {
        let column = ColumnData::Categorical {
            codes: vec![0, MISSING_CODE, 1],
            categories: vec!["a".into(), "b".into()],
        };
        assert!(column.is_missing(1));
        assert_eq!(column.display_value(2), "b");
        let numbers = ColumnData::Numeric(vec![1.5, f64::NAN]);
        assert!(numbers.is_missing(1));
        assert_eq!(numbers.display_value(0), "1.5");
    }
}
