//! Human-readable tables and JSON output.

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use mltools_core::datasets::{ColumnSummary, DatasetInfo, DatasetPage, Description};
use std::time::{Duration, UNIX_EPOCH};

/// Prints `value` as pretty JSON.
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<(), super::CliError> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// A table with `header`, in the style of every table the CLI prints.
pub(crate) fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(Cell::new));
    table
}

fn right_align(table: &mut Table, from: usize) {
    let columns = table.column_count();
    for index in from..columns {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// A timestamp in milliseconds since the epoch, as UTC to the second.
pub(crate) fn timestamp(ms: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// A number for a table: up to 6 significant digits, blank for NaN.
pub(crate) fn number(value: f64) -> String {
    if value.is_nan() {
        return String::new();
    }
    if value != 0.0 && (value.abs() >= 1e7 || value.abs() < 1e-4) {
        return format!("{value:.4e}");
    }
    let text = format!("{value:.6}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_owned()
}

/// The list of datasets.
pub(crate) fn datasets_table(infos: &[DatasetInfo]) -> String {
    let mut out = table(&[
        "id", "name", "version", "rows", "columns", "target", "source", "created",
    ]);
    for info in infos {
        out.add_row(vec![
            info.id.to_string(),
            info.name.clone(),
            info.version.to_string(),
            info.rows.to_string(),
            info.schema.columns.len().to_string(),
            info.schema.target.clone().unwrap_or_default(),
            info.source.clone(),
            timestamp(info.created_at_ms),
        ]);
    }
    right_align(&mut out, 2);
    out.to_string()
}

/// One line naming a dataset version.
pub(crate) fn headline(info: &DatasetInfo) -> String {
    let target = match &info.schema.target {
        Some(target) => format!(", target `{target}`"),
        None => String::new(),
    };
    format!(
        "dataset {} `{}`, version {} of {}: {} rows × {} columns{target}\nsource {}, written {}",
        info.id,
        info.name,
        info.version,
        info.latest_version,
        info.rows,
        info.schema.columns.len(),
        info.source,
        timestamp(info.created_at_ms)
    )
}

/// A description's per-column statistics.
pub(crate) fn description_table(description: &Description) -> String {
    let target = description.info.schema.target.as_deref();
    let mut out = table(&[
        "column", "type", "missing", "mean", "std", "min", "max", "distinct", "top",
    ]);
    for column in &description.columns {
        out.add_row(summary_row(column, target));
    }
    right_align(&mut out, 2);
    out.to_string()
}

fn summary_row(column: &ColumnSummary, target: Option<&str>) -> Vec<String> {
    let mut name = column.name.clone();
    if Some(column.name.as_str()) == target {
        name.push_str(" (target)");
    }
    let mut row = vec![name, column.kind.to_string(), column.missing.to_string()];
    match (&column.numeric, &column.categorical) {
        (Some(stats), _) => {
            row.extend([stats.mean, stats.std, stats.min, stats.max].map(number));
            row.extend([String::new(), String::new()]);
        }
        (None, Some(stats)) => {
            row.extend(std::iter::repeat_n(String::new(), 4));
            row.push(stats.distinct.to_string());
            row.push(match &stats.top {
                Some((value, count)) => format!("{value} ({count})"),
                None => String::new(),
            });
        }
        (None, None) => row.extend(std::iter::repeat_n(String::new(), 6)),
    }
    row
}

/// The rows of a page.
pub(crate) fn rows_table(page: &DatasetPage) -> String {
    let frame = &page.frame;
    let mut header = vec!["row".to_owned()];
    header.extend(frame.names().map(str::to_owned));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = table(&header);
    for row in 0..frame.rows() {
        let mut cells = vec![(page.offset + row as u64).to_string()];
        for column in &frame.columns {
            cells.push(match &column.data {
                mltools_core::ColumnData::Numeric(values) => number(values[row]),
                data => data.display_value(row),
            });
        }
        out.add_row(cells);
    }
    right_align(&mut out, 0);
    out.to_string()
}

/// A comparison's leaderboard: the ranking metric first, then the task's other metrics.
pub(crate) fn leaderboard_table(report: &mltools_core::lab::Report) -> String {
    let board = &report.leaderboard;
    // The table keeps to the metrics people read first; `--json` and the HTML report have
    // them all.
    let shown: &[&str] = match board.task {
        mltools_core::models::Task::Regression => &["r2", "rmse", "mae"],
        mltools_core::models::Task::Classification => &[
            "accuracy",
            "balanced_accuracy",
            "f1_macro",
            "roc_auc",
            "log_loss",
        ],
    };
    let mut metrics: Vec<&str> = vec![board.metric.as_str()];
    metrics.extend(shown.iter().copied().filter(|name| *name != board.metric));
    // A metric no model has (ROC AUC when no model gives scores) gets no column.
    metrics.retain(|name| {
        board
            .entries
            .iter()
            .any(|entry| entry.metrics.contains_key(*name))
    });
    let mut header = vec!["rank".to_owned(), "model".to_owned()];
    header.extend(metrics.iter().map(|name| (*name).to_owned()));
    header.extend(["fit ms".to_owned(), "predict ms".to_owned()]);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut out = table(&header);
    for (rank, entry) in board.entries.iter().enumerate() {
        let mut row = vec![
            (rank + 1).to_string(),
            mltools_lab::report::model_label(&entry.model),
        ];
        match &entry.error {
            Some(error) => {
                row.push(format!("failed: {error}"));
                row.extend(std::iter::repeat_n(String::new(), metrics.len() + 1));
            }
            None => {
                for name in &metrics {
                    row.push(match entry.metrics.get(*name) {
                        Some(value) => format!("{:.4} ± {:.4}", value.mean, value.std),
                        None => String::new(),
                    });
                }
                row.push(format!("{:.1}", entry.fit_ms));
                row.push(format!("{:.1}", entry.predict_ms));
            }
        }
        out.add_row(row);
    }
    right_align(&mut out, 2);
    let mut text = format!(
        "{} `{}` → {} ({}, {} rows, {}-fold CV, seed {}), ranked by {}:\n{out}",
        report.dataset.id,
        report.dataset.name,
        report.dataset.target,
        board.task,
        report.dataset.rows,
        report.folds,
        report.seed,
        board.metric
    );
    text.push_str(&warnings_text(&board.warnings, &board.entries));
    text
}

/// The leaderboard's warnings, one a line: the comparison's own (a column left out of the
/// features) first, then each model's (a solver that stopped early, say) under its label;
/// empty when there are none.
fn warnings_text(compare: &[String], entries: &[mltools_core::models::LeaderboardEntry]) -> String {
    let mut text = String::new();
    if !compare.is_empty() {
        text.push_str("\nwarnings:\n");
        for warning in compare {
            text.push_str(&format!("  {warning}\n"));
        }
    }
    for entry in entries.iter().filter(|entry| !entry.warnings.is_empty()) {
        if text.is_empty() {
            text.push_str("\nwarnings:\n");
        }
        let label = mltools_lab::report::model_label(&entry.model);
        for warning in &entry.warnings {
            text.push_str(&format!("  {label}: {warning}\n"));
        }
    }
    text
}

/// The algorithms and their hyperparameters.
pub(crate) fn algorithms_table(algorithms: &[mltools_core::models::AlgorithmInfo]) -> String {
    let mut out = table(&["algorithm", "task", "parameters (default)", "what it is"]);
    for algorithm in algorithms {
        let params: Vec<String> = algorithm
            .params
            .iter()
            .map(|param| format!("{}={}", param.name, param.default))
            .collect();
        out.add_row(vec![
            algorithm.id.clone(),
            algorithm.task.to_string(),
            params.join(", "),
            algorithm.doc.clone(),
        ]);
    }
    out.to_string()
}

/// The stored models.
pub(crate) fn models_table(models: &[mltools_core::models::ModelInfo]) -> String {
    let mut out = table(&[
        "id",
        "algorithm",
        "task",
        "dataset",
        "version",
        "target",
        "created",
    ]);
    for model in models {
        out.add_row(vec![
            model.id.to_string(),
            mltools_lab::report::model_label(&model.spec),
            model.task.to_string(),
            model.dataset.to_string(),
            model.version.to_string(),
            model.target.clone(),
            timestamp(model.created_at_ms),
        ]);
    }
    out.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_nan_is_blank() {
        assert_eq!(number(5.843333333), "5.843333");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(f64::NAN), "");
        assert_eq!(number(1.5e-7), "1.5000e-7");
    }

    #[test]
    fn timestamps_are_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn warnings_are_listed_under_their_model() {
        let entry =
            |algorithm: &str, warnings: Vec<String>| mltools_core::models::LeaderboardEntry {
                model: mltools_core::models::ModelSpec {
                    algorithm: algorithm.to_owned(),
                    params: Default::default(),
                    pipeline: None,
                },
                metrics: Default::default(),
                fit_ms: 1.0,
                predict_ms: 1.0,
                error: None,
                warnings,
            };
        assert_eq!(warnings_text(&[], &[entry("svc", Vec::new())]), "");
        let entries = [
            entry("svc", Vec::new()),
            entry(
                "logistic_regression",
                vec!["fold 3: did not converge".to_owned()],
            ),
        ];
        let text = warnings_text(&[], &entries);
        assert_eq!(
            text,
            "\nwarnings:\n  logistic_regression: fold 3: did not converge\n"
        );
        let compare = ["column `id` has no values: left out of the features".to_owned()];
        assert_eq!(
            warnings_text(&compare, &entries),
            "\nwarnings:\n  column `id` has no values: left out of the features\n  \
             logistic_regression: fold 3: did not converge\n"
        );
        assert_eq!(
            warnings_text(&compare, &entries[..1]),
            "\nwarnings:\n  column `id` has no values: left out of the features\n"
        );
    }
}
