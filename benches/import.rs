//! Import benchmark: a generated numeric CSV (1,000,000 × 20 by default) imported through the
//! datasets interface of an embedded node, then read back whole; time and peak memory of
//! each phase, against a baseline measured in the same run: the csv crate parsing the same
//! file into f64 without storing anything.
//!
//! Run: `cargo bench --bench import` (or `-- ROWS COLUMNS` for another size). Linux only for
//! the memory figures (VmHWM, reset between phases through /proc/self/clear_refs).

#[path = "support/memory.rs"]
#[allow(dead_code)] // Each bench uses part of it.
mod memory;

use memory::{peak_mb, reset_peak, rss_mb};
use mltools::prelude::*;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let rows: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let columns: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("wide.csv");
    write_csv(&csv_path, rows, columns)?;
    let csv_mb = std::fs::metadata(&csv_path)?.len() as f64 / 1e6;
    let raw_mb = (rows * columns * 8) as f64 / 1e6;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    reset_peak();
    let base = rss_mb();
    let (baseline_time, checksum) = parse_only(&csv_path)?;
    let baseline_peak = peak_mb() - base;

    // The bench reads every row in one page, in process: no frame to protect.
    let mut config = Node::builder()
        .data_dir(dir.path().join("data"))
        .config()
        .clone();
    config.datasets.max_page_bytes = 2 << 30;
    let node = runtime.block_on(mltools::node::NodeBuilder::from_config(config).start())?;
    let datasets = node.datasets()?;
    let mut long = context::current();
    long.deadline = std::time::Instant::now() + Duration::from_secs(3600);

    reset_peak();
    let base = rss_mb();
    let started = Instant::now();
    let request = ImportRequest::new(Source::File {
        path: csv_path.display().to_string(),
    });
    let info = runtime
        .block_on(datasets.import(long, request))
        .map_err(|e| e.to_string())??;
    let import_time = started.elapsed();
    let import_peak = peak_mb() - base;

    reset_peak();
    let base = rss_mb();
    let started = Instant::now();
    let page = runtime
        .block_on(datasets.get(long, GetRequest::all(info.id)))
        .map_err(|e| e.to_string())??;
    let read_time = started.elapsed();
    let read_peak = peak_mb() - base;
    let read_sum: f64 = page
        .frame
        .columns
        .iter()
        .map(|column| match &column.data {
            mltools::core::ColumnData::Numeric(values) => values.iter().sum::<f64>(),
            _ => 0.0,
        })
        .sum();
    assert_eq!(page.frame.rows(), rows, "every row read back");
    assert!(
        (read_sum - checksum).abs() <= 1e-6 * checksum.abs(),
        "values read back"
    );
    drop(page);
    runtime.block_on(node.shutdown());

    println!(
        "import of a {rows} × {columns} numeric CSV ({csv_mb:.0} MB text, {raw_mb:.0} MB as f64)"
    );
    println!("| phase | time | × baseline | peak RSS above start | × raw f64 size |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, time: Duration, peak: f64| {
        println!(
            "| {name} | {:.2} s | {:.2} | {peak:.0} MB | {:.2} |",
            time.as_secs_f64(),
            time.as_secs_f64() / baseline_time.as_secs_f64(),
            peak / raw_mb
        )
    };
    row(
        "baseline: csv crate parse to f64, nothing kept",
        baseline_time,
        baseline_peak,
    );
    row(
        "import (infer, parse, store, describe)",
        import_time,
        import_peak,
    );
    row("read back every row (get)", read_time, read_peak);
    Ok(())
}

fn write_csv(path: &Path, rows: usize, columns: usize) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..columns).map(|c| format!("x{c}")).collect();
    writeln!(out, "{}", header.join(","))?;
    for row in 0..rows {
        for column in 0..columns {
            let separator = if column + 1 == columns { '\n' } else { ',' };
            let value = ((row * 31 + column * 17) % 100_003) as f64 / 7.0;
            write!(out, "{value:.6}{separator}")?;
        }
    }
    out.flush()
}

fn parse_only(path: &Path) -> Result<(Duration, f64), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut reader = csv::Reader::from_path(path)?;
    let mut record = csv::ByteRecord::new();
    let mut sum = 0.0;
    while reader.read_byte_record(&mut record)? {
        for field in record.iter() {
            sum += std::str::from_utf8(field)?.parse::<f64>()?;
        }
    }
    Ok((started.elapsed(), sum))
}
