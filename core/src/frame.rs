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

/// Builds a frame of the given columns (a model's input columns, say) value by value.
#[derive(Debug, Clone)]
pub struct FrameBuilder {
    columns: Vec<(String, ColumnBuilder)>,
}

impl FrameBuilder {
    /// An empty frame of `wanted`'s columns, in that order.
    pub fn new(wanted: &[crate::utils::InputColumn]) -> FrameBuilder {
        FrameBuilder {
            columns: wanted
                .iter()
                .map(|column| (column.name.clone(), ColumnBuilder::new(column.kind)))
                .collect(),
        }
    }

    /// Each column's name and builder, in order: a row appends one value to each.
    pub fn columns_mut(&mut self) -> impl Iterator<Item = (&str, &mut ColumnBuilder)> {
        self.columns
            .iter_mut()
            .map(|(name, builder)| (name.as_str(), builder))
    }

    /// The frame.
    pub fn finish(self) -> Frame {
        Frame {
            columns: self
                .columns
                .into_iter()
                .map(|(name, builder)| builder.finish(name))
                .collect(),
        }
    }
}

/// Reads the `wanted` columns, by name and in that order, of CSV text with a header row
/// into a frame (other columns are ignored; the delimiter is detected from the header line
/// as imports detect it; fields are trimmed). `source` names the text in errors: a file's
/// path, say.
///
/// # Errors
/// [`ServiceError::invalid_input`] naming `source` and: the wanted columns the header
/// lacks, a malformed record's line, or the line and column of a numeric column's value
/// that is not a number.
pub fn read_csv_columns(
    mut text: impl std::io::BufRead,
    wanted: &[crate::utils::InputColumn],
    source: &str,
) -> Result<Frame, crate::ServiceError> {
    use std::io::Read as _;
    let failed = |what: String| crate::ServiceError::invalid_input(format!("{source}: {what}"));
    let mut header = Vec::new();
    text.read_until(b'\n', &mut header)
        .map_err(|error| failed(error.to_string()))?;
    let delimiter = crate::datasets::detect_delimiter(&header);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .from_reader(std::io::Cursor::new(header).chain(text));
    let headers = reader
        .headers()
        .map_err(|error| failed(format!("the header: {error}")))?
        .clone();
    let index: std::collections::HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, name)| (name, i))
        .collect();
    let missing: Vec<&str> = wanted
        .iter()
        .map(|column| column.name.as_str())
        .filter(|name| !index.contains_key(name))
        .collect();
    if !missing.is_empty() {
        return Err(failed(format!(
            "the model needs the column(s) {}, which it lacks",
            missing.join(", ")
        )));
    }
    let mut frame = FrameBuilder::new(wanted);
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|error| failed(format!("line {}: {error}", line + 2)))?;
        for (name, builder) in frame.columns_mut() {
            let field = index.get(name).and_then(|at| record.get(*at)).unwrap_or("");
            builder.push_text(field).map_err(|value| {
                failed(format!(
                    "line {}, column `{name}`: `{value}` is not a number",
                    line + 2
                ))
            })?;
        }
    }
    Ok(frame.finish())
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
    fn csv_columns_are_read_by_name_and_bad_values_named() {
        use crate::utils::InputColumn;
        let wanted = [
            InputColumn {
                name: "size".into(),
                kind: ColumnKind::Numeric,
            },
            InputColumn {
                name: "colour".into(),
                kind: ColumnKind::Categorical,
            },
        ];
        let text: &[u8] = b"colour;size;other\nred; 1.5 ;x\n;NA;y\n";
        let frame = read_csv_columns(text, &wanted, "t.csv").unwrap();
        assert_eq!(frame.names().collect::<Vec<_>>(), ["size", "colour"]);
        assert_eq!(frame.rows(), 2);
        assert!(frame.columns[0].data.is_missing(1));
        let error = read_csv_columns(&b"size,colour\nbig,red\n"[..], &wanted, "t.csv");
        assert_eq!(
            error.unwrap_err().message,
            "t.csv: line 2, column `size`: `big` is not a number"
        );
        let error = read_csv_columns(&b"colour\nred\n"[..], &wanted, "t.csv");
        assert_eq!(
            error.unwrap_err().message,
            "t.csv: the model needs the column(s) size, which it lacks"
        );
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
