//! Embed an mltools node in an application: host the datasets service in this process, import
//! a built-in set, describe it and read a page of it — all through the service interface, as
//! a remote caller would.
//!
//! Run: `cargo run --example embed`

use mltools::prelude::*;
use std::error::Error;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data_dir = std::env::temp_dir().join(format!("mltools-embed-{}", std::process::id()));
    let node = Node::builder().data_dir(&data_dir).start().await?;
    let datasets = node.datasets()?;

    let imported = datasets
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin {
                name: Builtin::BreastCancer,
            }),
        )
        .await
        .into_service("datasets")?;
    println!(
        "imported `{}` as dataset {}: {} rows, target `{}`",
        imported.name,
        imported.id,
        imported.rows,
        imported.schema.target.as_deref().unwrap_or("none")
    );

    let description = datasets
        .describe(context::current(), DatasetRef::Id(imported.id), None)
        .await
        .into_service("datasets")?;
    for column in description.columns.iter().take(4) {
        match &column.numeric {
            Some(stats) => println!(
                "  {:<24} mean {:>10.4}  std {:>10.4}",
                column.name, stats.mean, stats.std
            ),
            None => println!("  {:<24} categorical", column.name),
        }
    }

    let page = datasets
        .get(
            context::current(),
            GetRequest {
                offset: 10,
                limit: Some(3),
                ..GetRequest::all(imported.id)
            },
        )
        .await
        .into_service("datasets")?;
    println!(
        "rows {}..{} read back",
        page.offset,
        page.offset + page.frame.rows() as u64
    );

    // A typed error names its culprit.
    let missing = datasets
        .describe(context::current(), DatasetRef::parse("no-such-set"), None)
        .await
        .into_service("datasets");
    if let Err(error) = missing {
        println!("as expected: {error}");
    }

    node.shutdown().await;
    std::fs::remove_dir_all(&data_dir)?;
    Ok(())
}
