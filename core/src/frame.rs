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

/// Builds one column value by value, from text fields as a CSV file holds them or from
/// typed values as JSON holds them: the rows a caller sends to predict on, say. Missing
/// values are an empty field, one of [`MISSING_TOKENS`](crate::datasets::MISSING_TOKENS), or
/// [`ColumnBuilder::push_missing`]; categories get codes in order of first appearance.
///
/// ```
/// use mltools_core::frame::{ColumnBuilder, ColumnKind};
///
/// let mut sizes = ColumnBuilder::new(ColumnKind::Numeric);
/// sizes.push_text("1.5").unwrap();
/// sizes.push_text("NA").unwrap();
/// assert!(sizes.push_text("big").is_err());
/// let column = sizes.finish("size");
/// assert_eq!(column.data.len(), 2);
/// assert!(column.data.is_missing(1));
/// ```
#[derive(Debug, Clone)]
pub struct ColumnBuilder {
    data: BuilderData,
}

#[derive(Debug, Clone)]
enum BuilderData {
    Numeric(Vec<f64>),
    Categorical {
        codes: Vec<u32>,
        labels: Vec<String>,
        known: std::collections::HashMap<String, u32>,
    },
}

impl ColumnBuilder {
    /// An empty column of `kind`.
    pub fn new(kind: ColumnKind) -> Self {
        let data = match kind {
            ColumnKind::Numeric => BuilderData::Numeric(Vec::new()),
            ColumnKind::Categorical => BuilderData::Categorical {
                codes: Vec::new(),
                labels: Vec::new(),
                known: std::collections::HashMap::new(),
            },
        };
        ColumnBuilder { data }
    }

    /// Appends a text field: a number for a numeric column (trimmed), a label for a
    /// categorical one.
    ///
    /// # Errors
    /// The field, when a numeric column gets text that is not a number.
    pub fn push_text(&mut self, field: &str) -> Result<(), String> {
        let trimmed = field.trim();
        if trimmed.is_empty() || crate::datasets::MISSING_TOKENS.contains(&trimmed) {
            self.push_missing();
            return Ok(());
        }
        match &mut self.data {
            BuilderData::Numeric(values) => {
                values.push(trimmed.parse().map_err(|_| field.to_owned())?);
            }
            BuilderData::Categorical { .. } => self.push_label(trimmed),
        }
        Ok(())
    }

    /// Appends a number; a categorical column takes its text form as the label.
    pub fn push_number(&mut self, value: f64) {
        match &mut self.data {
            BuilderData::Numeric(values) => values.push(value),
            BuilderData::Categorical { .. } => self.push_label(&value.to_string()),
        }
    }

    /// Appends a missing value.
    pub fn push_missing(&mut self) {
        match &mut self.data {
            BuilderData::Numeric(values) => values.push(f64::NAN),
            BuilderData::Categorical { codes, .. } => codes.push(MISSING_CODE),
        }
    }

    fn push_label(&mut self, label: &str) {
        if let BuilderData::Categorical {
            codes,
            labels,
            known,
        } = &mut self.data
        {
            let next = labels.len() as u32;
            let code = *known.entry(label.to_owned()).or_insert_with(|| {
                labels.push(label.to_owned());
                next
            });
            codes.push(code);
        }
    }

    /// The column, named `name`.
    pub fn finish(self, name: impl Into<String>) -> Column {
        match self.data {
            BuilderData::Numeric(values) => Column::numeric(name, values),
            BuilderData::Categorical { codes, labels, .. } => {
                Column::categorical(name, codes, labels)
            }
        }
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

    #[test]
    fn builders_code_labels_in_order_of_first_appearance() {
        let mut colour = ColumnBuilder::new(ColumnKind::Categorical);
        for field in ["red", " blue ", "", "red", "NULL"] {
            colour.push_text(field).unwrap();
        }
        colour.push_number(3.0);
        let column = colour.finish("colour");
        assert_eq!(
            column.data,
            ColumnData::Categorical {
                codes: vec![0, 1, MISSING_CODE, 0, MISSING_CODE, 2],
                categories: vec!["red".into(), "blue".into(), "3".into()],
            }
        );
    }
}
