//! The main job's cost: `compare` through an embedded node (datasets → lab → models, with
//! every fold's preprocessing through utils) on breast_cancer and diabetes with the full
//! default model set. Baseline, measured in the same run: the same compare with the models
//! service fitting on one thread.
//!
//! Run: `cargo bench --bench compare`

use mltools::core::lab::{LabCompareRequest, Report};
use mltools::prelude::*;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rounds = 3;
    for builtin in [Builtin::BreastCancer, Builtin::Diabetes] {
        let mut walls = Vec::new();
        let mut last = None;
        for threads in [Some(1), None] {
            let (best, report) = runtime.block_on(run(builtin, threads, rounds))?;
            walls.push(best);
            last = Some(report);
        }
        let report = last.ok_or("no report")?;
        println!(
            "\n{} ({} rows, {} models, 5-fold CV; best of {rounds} runs)",
            builtin.as_str(),
            report.dataset.rows,
            report.leaderboard.entries.len()
        );
        println!("| compare | wall time | × one-thread baseline |");
        println!("|---|---|---|");
        println!(
            "| fits on 1 thread (baseline) | {:.2} s | 1.00 |",
            walls[0].as_secs_f64()
        );
        println!(
            "| fits on every core | {:.2} s | {:.2} |",
            walls[1].as_secs_f64(),
            walls[1].as_secs_f64() / walls[0].as_secs_f64()
        );
        println!(
            "| model | {} | fit ms / fold | predict ms / fold |",
            report.leaderboard.metric
        );
        println!("|---|---|---|---|");
        for entry in &report.leaderboard.entries {
            let score = entry
                .metrics
                .get(&report.leaderboard.metric)
                .map_or(f64::NAN, |m| m.mean);
            println!(
                "| {} | {score:.4} | {:.1} | {:.2} |",
                entry.model.algorithm, entry.fit_ms, entry.predict_ms
            );
        }
    }
    Ok(())
}

/// The fastest of `rounds` compares on a fresh node, and the last report.
async fn run(
    builtin: Builtin,
    fit_threads: Option<usize>,
    rounds: usize,
) -> Result<(Duration, Report), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let mut builder = Node::builder().data_dir(dir.path());
    let mut config = builder.config().clone();
    config.models.fit_threads = fit_threads;
    builder = NodeBuilder::from_config(config);
    let node = builder.start().await?;
    let info = node
        .datasets()?
        .import(
            context::current(),
            ImportRequest::new(Source::Builtin { name: builtin }),
        )
        .await
        .into_service("datasets")?;
    let lab = node.lab()?;
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..rounds {
        let started = Instant::now();
        let report = mltools::lab::compare_and_wait(
            &lab,
            LabCompareRequest::new(info.id),
            Duration::from_secs(600),
        )
        .await?;
        best = best.min(started.elapsed());
        last = Some(report);
    }
    node.shutdown().await;
    Ok((best, last.ok_or("no rounds")?))
}
