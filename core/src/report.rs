//! A comparison's report as one self-contained HTML page: the leaderboard table and every
//! plot inline as SVG, no external files, scripts or fonts. The lab writes it for the CLI
//! and the HTTP gateway serves it, both from this one renderer.

use crate::lab::Report;
use crate::models::{LeaderboardEntry, ModelSpec};
use crate::utils::ImageFormat;
use std::fmt::Write as _;

/// Renders `report` as an HTML page.
pub fn html(report: &Report) -> String {
    let dataset = &report.dataset;
    let board = &report.leaderboard;
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("mltools compare: {} → {}", dataset.name, dataset.target);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>{STYLE}</style></head><body>\n<h1>{}</h1>\n<p>dataset {} `{}` version {}, \
         {} rows; target <b>{}</b> ({}); {}-fold cross-validation, seed {}; ranked by <b>{}</b>; \
         {}.</p>\n",
        escape(&title),
        escape(&title),
        dataset.id,
        escape(&dataset.name),
        dataset.version,
        dataset.rows,
        escape(&dataset.target),
        board.task,
        report.folds,
        report.seed,
        escape(&board.metric),
        elapsed(report.elapsed_ms),
    );
    if let Some(best) = board.best {
        let _ = writeln!(
            page,
            "<p>Best model stored in the registry as model <b>{best}</b>.</p>"
        );
    }
    page.push_str(&table(&board.metric, &board.entries, &board.warnings));
    for (title, plot) in &report.plots {
        let _ = writeln!(page, "<section><h2>{}</h2>", escape(title));
        match plot.format {
            ImageFormat::Svg => page.push_str(&String::from_utf8_lossy(&plot.bytes)),
            ImageFormat::Png => page.push_str("<p>(PNG plots are not embedded)</p>"),
        }
        page.push_str("</section>\n");
    }
    for (title, error) in &report.skipped_plots {
        let _ = writeln!(
            page,
            "<section><h2>{}</h2><p>not drawn: {}</p></section>",
            escape(title),
            escape(&error.to_string())
        );
    }
    page.push_str("</body></html>\n");
    page
}

/// A duration for people: milliseconds under a second, else seconds.
fn elapsed(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{:.1} s", ms as f64 / 1000.0)
    }
}

/// A model's label in tables and plots: its algorithm and the parameters it overrides.
pub fn model_label(spec: &ModelSpec) -> String {
    if spec.params.is_empty() {
        return spec.algorithm.clone();
    }
    let params: Vec<String> = spec
        .params
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("{} ({})", spec.algorithm, params.join(", "))
}

// A metric's header may wrap after its underscores (`balanced_<wbr>accuracy`), so a
// classification board's eleven columns fit a 1280-pixel window without scrolling.
const STYLE: &str = "body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;\
color:#222}div.board{overflow-x:auto}table{border-collapse:collapse;margin:1em 0;font-size:14px}\
th,td{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}\
th{white-space:normal;vertical-align:bottom}\
th:nth-child(2),td:nth-child(2){text-align:left}td.error{color:#b00;text-align:left;\
white-space:normal}span.sd{color:#777;font-size:12px}tr.best{background:#eef6ee}\
section svg{max-width:100%;height:auto}ul.warnings{color:#8a5a00}";

/// The leaderboard, then its warnings: the comparison's own (a column left out of the
/// features), then each model's under its label.
fn table(metric: &str, entries: &[LeaderboardEntry], warnings: &[String]) -> String {
    let mut names: Vec<&String> = entries
        .iter()
        .flat_map(|entry| entry.metrics.keys())
        .collect();
    names.sort();
    names.dedup();
    // The ranking metric first.
    names.sort_by_key(|name| name.as_str() != metric);
    let mut out = String::from("<div class=\"board\"><table><tr><th>rank</th><th>model</th>");
    for name in &names {
        let _ = write!(out, "<th>{}</th>", escape(name).replace('_', "_<wbr>"));
    }
    out.push_str("<th>fit ms</th><th>predict ms</th></tr>\n");
    for (rank, entry) in entries.iter().enumerate() {
        let class = if rank == 0 && entry.error.is_none() {
            " class=\"best\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td>",
            rank + 1,
            escape(&model_label(&entry.model))
        );
        if let Some(error) = &entry.error {
            let _ = writeln!(
                out,
                "<td class=\"error\" colspan=\"{}\">failed: {}</td></tr>",
                names.len() + 2,
                escape(&error.to_string())
            );
            continue;
        }
        for name in &names {
            match entry.metrics.get(*name) {
                Some(value) => {
                    let _ = write!(
                        out,
                        "<td>{:.4}<br><span class=\"sd\">± {:.4}</span></td>",
                        value.mean, value.std
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        let _ = writeln!(
            out,
            "<td>{:.1}</td><td>{:.1}</td></tr>",
            entry.fit_ms, entry.predict_ms
        );
    }
    out.push_str("</table></div>\n");
    let warned: Vec<&LeaderboardEntry> = entries
        .iter()
        .filter(|entry| !entry.warnings.is_empty())
        .collect();
    if !warned.is_empty() || !warnings.is_empty() {
        out.push_str("<h2>Warnings</h2><ul class=\"warnings\">\n");
        for warning in warnings {
            let _ = writeln!(out, "<li>{}</li>", escape(warning));
        }
        for entry in warned {
            for warning in &entry.warnings {
                let _ = writeln!(
                    out,
                    "<li><b>{}</b>: {}</li>",
                    escape(&model_label(&entry.model)),
                    escape(warning)
                );
            }
        }
        out.push_str("</ul>\n");
    }
    out
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::{escape, model_label, table};
    use crate::models::{LeaderboardEntry, ModelSpec, ParamValue};

    #[test]
    fn warnings_are_listed_under_the_table_escaped() {
        let entry = LeaderboardEntry {
            model: ModelSpec {
                algorithm: "logistic_regression".to_owned(),
                params: Default::default(),
                pipeline: None,
            },
            metrics: Default::default(),
            fit_ms: 1.0,
            predict_ms: 1.0,
            error: None,
            warnings: vec!["fold 2: gradient 3e-4 > tol".to_owned()],
        };
        let html = table("accuracy", std::slice::from_ref(&entry), &[]);
        assert!(
            html.contains("<li><b>logistic_regression</b>: fold 2: gradient 3e-4 &gt; tol</li>"),
            "{html}"
        );
        let quiet = LeaderboardEntry {
            warnings: Vec::new(),
            ..entry.clone()
        };
        assert!(!table("accuracy", std::slice::from_ref(&quiet), &[]).contains("Warnings"));
        // The comparison's own warnings come first, under no model.
        let html = table(
            "accuracy",
            &[quiet, entry],
            &[
                "column `customer_id` looks like an identifier (9,998 distinct values in \
               10,000 rows): left out of the features"
                    .to_owned(),
            ],
        );
        let own = html
            .find("<li>column `customer_id` looks like an identifier (9,998 distinct values in 10,000 rows): left out of the features</li>")
            .expect(&html);
        let model = html.find("<li><b>logistic_regression</b>").expect(&html);
        assert!(own < model, "{html}");
    }

    #[test]
    fn labels_name_overridden_parameters() {
        let mut spec = ModelSpec {
            algorithm: "knn_classifier".into(),
            params: Default::default(),
            pipeline: None,
        };
        assert_eq!(model_label(&spec), "knn_classifier");
        spec.params.insert("k".into(), ParamValue::Integer(7));
        assert_eq!(model_label(&spec), "knn_classifier (k=7)");
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(escape("<b>&\"</b>"), "&lt;b&gt;&amp;&quot;&lt;/b&gt;");
    }
}
