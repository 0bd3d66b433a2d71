//! Tumour screening (the original design's screening problem, on the Wisconsin breast
//! cancer set): compare every classifier with cross-validation, keep the best, write the
//! report with its confusion matrix and ROC curve, and screen samples with the kept model.
//! (The samples screened are rows of the set itself, which the kept model was refitted on:
//! an in-sample check of the stored model, not a measure of its accuracy — the
//! cross-validated leaderboard is that.)
//!
//! Run: `cargo run --release --example tumour_screening` (writes ./screening-report.html)

use mltools::core::lab::LabCompareRequest;
use mltools::prelude::*;
use std::error::Error;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data_dir = std::env::temp_dir().join(format!("mltools-screening-{}", std::process::id()));
    let node = Node::builder().data_dir(&data_dir).start().await?;

    let datasets = node.datasets()?;
    let request = ImportRequest::new(Source::Builtin {
        name: Builtin::BreastCancer,
    });
    let info = datasets
        .import(context::current(), request)
        .await
        .into_service("datasets")?;

    let lab = node.lab()?;
    let request = LabCompareRequest {
        metric: Some("balanced_accuracy".into()),
        seed: 7,
        ..LabCompareRequest::new(info.id)
    };
    let report = mltools::lab::compare_and_wait(&lab, request, Duration::from_secs(600)).await?;
    let best = &report.leaderboard.entries[0];
    println!(
        "best of {} classifiers: {} (balanced accuracy {:.3}, ROC AUC {:.3})",
        report.leaderboard.entries.len(),
        best.model.algorithm,
        best.metrics["balanced_accuracy"].mean,
        best.metrics.get("roc_auc").map_or(f64::NAN, |auc| auc.mean),
    );
    std::fs::write("screening-report.html", mltools::lab::html::render(&report))?;
    println!("report written to screening-report.html");

    // Screen ten samples with the kept model (rows it was refitted on: in-sample).
    let model = report.leaderboard.best.ok_or("no model was kept")?;
    let page = datasets
        .get(
            context::current(),
            GetRequest {
                offset: 100,
                limit: Some(10),
                ..GetRequest::all(info.id)
            },
        )
        .await
        .into_service("datasets")?;
    let predictions = node
        .models()?
        .predict(context::current(), model, page.frame)
        .await
        .into_service("models")?;
    let classes = predictions.classes.unwrap_or_default();
    for (row, code) in predictions.values.iter().enumerate() {
        println!("  sample {}: {}", 100 + row, classes[*code as usize]);
    }

    node.shutdown_within(Duration::from_secs(10)).await;
    std::fs::remove_dir_all(&data_dir)?;
    Ok(())
}
