//! House prices (the original design's Zillow problem, on the Boston set): compare every
//! regression model with cross-validation through the lab, keep the best, and price a
//! house with it — all through the service interfaces of an embedded node.
//!
//! Run: `cargo run --release --example house_prices`

use mltools::core::lab::LabCompareRequest;
use mltools::core::{Column, ColumnData, Frame};
use mltools::prelude::*;
use std::error::Error;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data_dir = std::env::temp_dir().join(format!("mltools-houses-{}", std::process::id()));
    let node = Node::builder().data_dir(&data_dir).start().await?;

    let datasets = node.datasets()?;
    let boston = ImportRequest::new(Source::Builtin {
        name: Builtin::Boston,
    });
    let info = datasets
        .import(context::current(), boston)
        .await
        .into_service("datasets")?;
    println!(
        "{} houses, {} columns",
        info.rows,
        info.schema.columns.len()
    );

    let lab = node.lab()?;
    let report = mltools::lab::compare_and_wait(
        &lab,
        LabCompareRequest::new(info.id),
        Duration::from_secs(600),
    )
    .await?;
    println!("ranked by {}:", report.leaderboard.metric);
    for entry in &report.leaderboard.entries {
        if let Some(r2) = entry.metrics.get("r2") {
            println!(
                "  {:<24} R² {:.3} ± {:.3}",
                entry.model.algorithm, r2.mean, r2.std
            );
        }
    }

    // Price the first house of the set with the best model, refitted on every row — that
    // house included, so this checks the stored model in-sample; the cross-validated R²
    // above is the honest measure.
    let model = report.leaderboard.best.ok_or("no model was kept")?;
    let page = datasets
        .get(
            context::current(),
            GetRequest {
                limit: Some(1),
                ..GetRequest::all(info.id)
            },
        )
        .await
        .into_service("datasets")?;
    let actual = match page.frame.column("price").map(|column| &column.data) {
        Some(ColumnData::Numeric(values)) => values[0],
        _ => f64::NAN,
    };
    let house: Vec<Column> = page
        .frame
        .columns
        .into_iter()
        .filter(|column| column.name != "price")
        .collect();
    let predictions = node
        .models()?
        .predict(context::current(), model, Frame { columns: house })
        .await
        .into_service("models")?;
    println!(
        "house 0: predicted {:.1}, actual {actual:.1} (thousands of dollars)",
        predictions.values[0]
    );

    node.shutdown_within(Duration::from_secs(10)).await;
    std::fs::remove_dir_all(&data_dir)?;
    Ok(())
}
