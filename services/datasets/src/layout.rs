//! Pure decisions about a table's shape: dataset names, the schema inferred for fresh
//! rows, and how appended columns map onto a stored schema.

use crate::error::DatasetsError;
use crate::fetchers::{BuiltinTarget, ColumnPlan, CsvScan, quoted_list};
use crate::stats::ColumnStats;
use mltools_core::datasets::{ColumnSchema, Schema};
use mltools_core::frame::ColumnKind;
use std::collections::HashMap;

/// The longest dataset name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 200;

/// Checks a dataset name: not empty, not digits only (those read as ids), at most
/// [`MAX_NAME_CHARS`] characters, no control characters.
///
/// # Errors
/// [`DatasetsError::BadName`] saying which rule the name breaks.
pub(crate) fn check_name(name: &str) -> Result<(), DatasetsError> {
    let reason = if name.is_empty() {
        "a name cannot be empty"
    } else if name.bytes().all(|byte| byte.is_ascii_digit()) {
        "a name of digits only would read as an id"
    } else if name.chars().count() > MAX_NAME_CHARS {
        "a name is at most 200 characters"
    } else if name.chars().any(char::is_control) {
        "a name cannot contain control characters"
    } else {
        return Ok(());
    };
    let shown: String = name.chars().take(60).flat_map(char::escape_debug).collect();
    let ellipsis = if name.chars().count() > 60 { "…" } else { "" };
    Err(DatasetsError::BadName {
        name: format!("{shown}{ellipsis}"),
        reason,
    })
}

/// The schema and column plans of rows read afresh (an import, a replacement).
///
/// A column is categorical when listed in `categorical`, when it is a built-in set's class
/// column, or when a present value is not a number; otherwise numeric (a column of missing
/// values only is numeric).
///
/// # Errors
/// A `categorical` entry or a target that is not a column, naming the source `file`, the
/// entry and the columns.
pub(crate) fn fresh_layout(
    scan: &CsvScan,
    file: &str,
    categorical: &[String],
    target: Option<String>,
    builtin: Option<&BuiltinTarget>,
) -> Result<(Schema, Vec<ColumnPlan>), DatasetsError> {
    let columns = || quoted_list(scan.headers.iter().map(String::as_str));
    if let Some(column) = categorical.iter().find(|name| !scan.headers.contains(name)) {
        return Err(DatasetsError::UnknownCategorical {
            file: file.to_owned(),
            column: column.clone(),
            columns: columns(),
        });
    }
    if let Some(target) = target.as_ref().filter(|name| !scan.headers.contains(name)) {
        return Err(DatasetsError::UnknownTarget {
            file: file.to_owned(),
            target: target.clone(),
            columns: columns(),
        });
    }
    let mut schema = Vec::with_capacity(scan.headers.len());
    let mut plans = Vec::with_capacity(scan.headers.len());
    for (index, name) in scan.headers.iter().enumerate() {
        let classes = builtin
            .filter(|builtin| builtin.name == *name)
            .and_then(|builtin| builtin.classes.clone());
        let text =
            classes.is_some() || categorical.contains(name) || scan.first_text[index].is_some();
        let kind = if text {
            ColumnKind::Categorical
        } else {
            ColumnKind::Numeric
        };
        schema.push(ColumnSchema {
            name: name.clone(),
            kind,
        });
        plans.push(ColumnPlan {
            stored_index: index,
            kind,
            labels: classes.unwrap_or_default(),
        });
    }
    let schema = Schema {
        columns: schema,
        target,
    };
    Ok((schema, plans))
}

/// What an append is checked against.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AppendTo<'a> {
    /// The source's label.
    pub(crate) file: &'a str,
    /// The dataset, for messages.
    pub(crate) dataset: &'a str,
    /// The latest version's schema.
    pub(crate) schema: &'a Schema,
    /// The latest version's statistics (holding the dictionaries).
    pub(crate) stats: &'a [ColumnStats],
}

/// Plans for rows appended to a stored version: columns are matched by name (in any
/// order) and keep their stored kind; categorical ones continue their dictionary.
///
/// # Errors
/// Missing or unexpected columns (naming them); text in a numeric column (naming line,
/// column and value).
pub(crate) fn append_plans(
    scan: &CsvScan,
    to: AppendTo<'_>,
) -> Result<Vec<ColumnPlan>, DatasetsError> {
    let stored: HashMap<&str, usize> = to
        .schema
        .columns
        .iter()
        .enumerate()
        .map(|(index, column)| (column.name.as_str(), index))
        .collect();
    let extra: Vec<&str> = scan
        .headers
        .iter()
        .map(String::as_str)
        .filter(|name| !stored.contains_key(name))
        .collect();
    let missing: Vec<&str> = to
        .schema
        .columns
        .iter()
        .map(|column| column.name.as_str())
        .filter(|name| !scan.headers.iter().any(|header| header == name))
        .collect();
    if !extra.is_empty() || !missing.is_empty() {
        return Err(DatasetsError::ColumnMismatch {
            file: to.file.to_owned(),
            dataset: to.dataset.to_owned(),
            missing: quoted_list(missing),
            extra: quoted_list(extra),
        });
    }
    let mut plans = Vec::with_capacity(scan.headers.len());
    for (index, name) in scan.headers.iter().enumerate() {
        let Some(&stored_index) = stored.get(name.as_str()) else {
            // Unreachable: every header was found in `stored` above.
            return Err(DatasetsError::Corrupt(format!("column `{name}` vanished")));
        };
        plans.push(plan_for(scan, index, stored_index, to)?);
    }
    Ok(plans)
}

fn plan_for(
    scan: &CsvScan,
    index: usize,
    stored_index: usize,
    to: AppendTo<'_>,
) -> Result<ColumnPlan, DatasetsError> {
    let kind = to.schema.columns[stored_index].kind;
    if kind == ColumnKind::Numeric
        && let Some((line, value)) = &scan.first_text[index]
    {
        return Err(DatasetsError::NotANumber {
            file: to.file.to_owned(),
            line: *line,
            column: scan.headers[index].clone(),
            value: value.clone(),
        });
    }
    let labels = match to.stats.get(stored_index) {
        Some(ColumnStats::Categorical(stats)) => stats.labels.clone(),
        _ => Vec::new(),
    };
    Ok(ColumnPlan {
        stored_index,
        kind,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{CategoricalStats, NumericStats};

    fn scan(headers: &[&str], text: &[Option<(u64, &str)>]) -> CsvScan {
        CsvScan {
            delimiter: b',',
            headers: headers.iter().map(|h| h.to_string()).collect(),
            rows: 3,
            first_text: text
                .iter()
                .map(|t| t.map(|(line, v)| (line, v.to_owned())))
                .collect(),
        }
    }

    #[test]
    fn names_follow_the_rules() {
        assert!(check_name("houses-2024").is_ok());
        for bad in ["", "123", "a\nb"] {
            assert!(
                matches!(check_name(bad), Err(DatasetsError::BadName { .. })),
                "{bad:?}"
            );
        }
        let long = "x".repeat(201);
        let error = check_name(&long).unwrap_err().to_string();
        assert!(error.contains("at most 200"), "{error}");
        assert!(check_name(&"x".repeat(200)).is_ok());
        let error = check_name("a\u{7}b").unwrap_err().to_string();
        assert!(error.contains("`a\\u{7}b`"), "{error}");
    }

    #[test]
    fn inference_honours_forced_categories_and_builtin_classes() {
        let scan = scan(
            &["zip", "price", "label", "empty"],
            &[None, None, Some((2, "x")), None],
        );
        let builtin = BuiltinTarget {
            name: "price".into(),
            classes: Some(vec!["low".into(), "high".into()]),
        };
        let (schema, plans) = fresh_layout(
            &scan,
            "t.csv",
            &["zip".into()],
            Some("price".into()),
            Some(&builtin),
        )
        .unwrap();
        let kinds: Vec<ColumnKind> = schema.columns.iter().map(|c| c.kind).collect();
        use ColumnKind::{Categorical as C, Numeric as N};
        assert_eq!(kinds, [C, C, C, N]);
        assert_eq!(plans[1].labels, ["low", "high"]);
        assert_eq!(schema.target.as_deref(), Some("price"));
    }

    #[test]
    fn unknown_target_and_categorical_columns_are_named() {
        let scan = scan(&["a", "b"], &[None, None]);
        let error = fresh_layout(&scan, "t.csv", &[], Some("y".into()), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.csv: unknown target column `y`; the columns are: `a`, `b`"
        );
        let error = fresh_layout(&scan, "t.csv", &["c".into()], None, None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "t.csv: unknown categorical column `c`; the columns are: `a`, `b`"
        );
    }

    #[test]
    fn appends_map_columns_by_name() {
        let schema = Schema {
            columns: vec![
                ColumnSchema {
                    name: "x".into(),
                    kind: ColumnKind::Numeric,
                },
                ColumnSchema {
                    name: "k".into(),
                    kind: ColumnKind::Categorical,
                },
            ],
            target: None,
        };
        let stats = [
            ColumnStats::Numeric(NumericStats::default()),
            ColumnStats::Categorical(CategoricalStats::with_labels(vec!["a".into()])),
        ];
        let to = AppendTo {
            file: "new.csv",
            dataset: "dataset `d`",
            schema: &schema,
            stats: &stats,
        };
        let plans = append_plans(&scan(&["k", "x"], &[Some((2, "b")), None]), to).unwrap();
        assert_eq!((plans[0].stored_index, plans[1].stored_index), (1, 0));
        assert_eq!(plans[0].labels, ["a"]);

        let error = append_plans(&scan(&["x", "z"], &[None, None]), to).unwrap_err();
        assert_eq!(
            error.to_string(),
            "new.csv: the columns do not match dataset `d`: missing `k`; unexpected `z`"
        );
        let error = append_plans(&scan(&["x", "k"], &[Some((4, "oops")), None]), to).unwrap_err();
        assert!(
            error.to_string().contains("line 4, column `x`: `oops`"),
            "{error}"
        );
    }
}
