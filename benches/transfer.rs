//! Transfer benchmark: a 1,000,000 × 20 numeric dataset (by default) read whole from a
//! datasets node in another process, over TCP and over QUIC (mutual TLS), in pages within
//! the default 64 MiB frame and, for comparison, as one message with the frame limit raised
//! to 1 GiB on both ends. Per case: wall time, throughput, and the reading process's peak
//! RSS above its level before the read, against the raw size of the data as f64 (the
//! baseline: the frame the reader ends up holding). Target: the reader's peak under 3×.
//!
//! Run: `cargo bench --bench transfer` (or `-- ROWS COLUMNS`). Linux only for the memory
//! figures (VmHWM, reset before each case through /proc/self/clear_refs). The datasets node
//! is this same program started again with `MLTOOLS_TRANSFER_SERVER` set.

#[path = "support/memory.rs"]
#[allow(dead_code)] // Each bench uses part of it.
mod memory;

use memory::{peak_mb, reset_peak, rss_mb};
use mltools::core::ServiceName;
use mltools::node::config::{Listen, Placement, ServiceSection, TcpAt, TcpListen};
use mltools::prelude::*;
use mltools::transport::paging::{DEFAULT_PAGE_BYTES, read_all_within};
use mltools::transport::quic::{QuicEndpoint, QuicServerConfig};
use mltools::transport::tcp::{TcpEndpoint, TcpServerConfig, TlsClientConfig, TlsServerConfig};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The frame limit of the one-message cases (both ends).
const BIG_FRAME: u64 = 1 << 30;

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    if let Ok(dir) = std::env::var("MLTOOLS_TRANSFER_SERVER") {
        return serve(Path::new(&dir));
    }
    if let Ok(case) = std::env::var("MLTOOLS_TRANSFER_READER") {
        return read(&case);
    }
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let rows: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let columns: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let _certs = mltools::transport::certs::init(
        &dir.path().join("certs"),
        &["server".into()],
        &["127.0.0.1".into()],
    )?;
    write_csv(&dir.path().join("data.csv"), rows, columns)?;

    // The datasets node: this program again, in its own process.
    let mut server = Command::new(std::env::current_exe()?)
        .env("MLTOOLS_TRANSFER_SERVER", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut ready = String::new();
    let stdout = server.stdout.take().ok_or("no stdout")?;
    BufReader::new(stdout).read_line(&mut ready)?;
    let fields: Vec<&str> = ready.split_whitespace().collect();
    let [tcp_address, quic_address, dataset] = fields[..] else {
        return Err(format!("the datasets node said `{ready}`").into());
    };
    let dataset: u64 = dataset.parse()?;

    let raw_mb = (rows * columns * 8) as f64 / 1e6;
    let mut results = Vec::new();
    for (case, (name, _)) in CASES.iter().enumerate() {
        // Each case reads in a fresh process, so memory one case freed does not hide the
        // next one's peak.
        let output = Command::new(std::env::current_exe()?)
            .env(
                "MLTOOLS_TRANSFER_READER",
                format!("{case} {tcp_address} {quic_address} {dataset} {rows}"),
            )
            .env("MLTOOLS_TRANSFER_CERTS", dir.path().join("certs"))
            .stderr(Stdio::inherit())
            .output()?;
        let said = String::from_utf8_lossy(&output.stdout).to_string();
        let numbers: Vec<f64> = said
            .split_whitespace()
            .filter_map(|number| number.parse().ok())
            .collect();
        let [seconds, peak] = numbers[..] else {
            return Err(format!("case `{name}` failed: {said}").into());
        };
        results.push((name, seconds, peak));
    }
    drop(server.stdin.take());
    server.wait()?;

    println!(
        "reading a {rows} × {columns} numeric dataset ({raw_mb:.0} MB as f64) from a datasets node in another process over loopback"
    );
    println!(
        "| path | time | MB/s | reader's peak RSS above start | × raw f64 size (target < 3) |"
    );
    println!("|---|---|---|---|---|");
    for (name, seconds, peak) in results {
        println!(
            "| {name} | {seconds:.2} s | {:.0} | {peak:.0} MB | {:.2} |",
            raw_mb / seconds,
            peak / raw_mb
        );
    }
    Ok(())
}

/// The cases: a name, and whether the read is paged (else one message).
const CASES: [(&str, bool); 4] = [
    ("TCP, pages of 32 MiB", true),
    ("QUIC, pages of 32 MiB", true),
    ("TCP, one 1 GiB-limit message", false),
    ("QUIC, one 1 GiB-limit message", false),
];

/// One case, in its own process: `CASE TCP_ADDRESS QUIC_ADDRESS DATASET ROWS`; prints the
/// read's seconds and the peak RSS above the level before it, in MB.
fn read(arguments: &str) -> Result<(), Error> {
    let fields: Vec<&str> = arguments.split_whitespace().collect();
    let [case, tcp_address, quic_address, dataset, rows] = fields[..] else {
        return Err(format!("bad reader arguments `{arguments}`").into());
    };
    let (name, paged) = CASES[case.parse::<usize>()?];
    let (dataset, rows): (u64, usize) = (dataset.parse()?, rows.parse()?);
    let certs = std::path::PathBuf::from(std::env::var("MLTOOLS_TRANSFER_CERTS")?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let frame = if paged {
        mltools::transport::tcp::DEFAULT_MAX_FRAME_BYTES
    } else {
        BIG_FRAME
    };
    let at = if name.starts_with("TCP") {
        let mut endpoint = TcpEndpoint::new(tcp_address);
        endpoint.max_frame_bytes = frame;
        Placement::Tcp(TcpAt::Endpoint(endpoint))
    } else {
        let tls = TlsClientConfig::ca(certs.join("ca.pem"))
            .with_client_cert(certs.join("client.pem"), certs.join("client.key"));
        let mut endpoint = QuicEndpoint::new(quic_address, tls);
        endpoint.max_frame_bytes = frame;
        Placement::Quic(endpoint)
    };
    let mut config = NodeConfig::parse("[node]\nname = \"reader\"\nserve = []\n")?;
    config.services.insert(
        ServiceName::Datasets,
        ServiceSection {
            at,
            ..ServiceSection::default()
        },
    );
    let reader = runtime.block_on(NodeBuilder::from_config(config).start())?;
    let datasets = reader.datasets()?;
    reset_peak();
    let base = rss_mb();
    let started = Instant::now();
    let page = runtime.block_on(async {
        let request = GetRequest::all(DatasetId(dataset));
        if paged {
            read_all_within(&datasets, request, DEFAULT_PAGE_BYTES).await
        } else {
            let mut ctx = context::current();
            ctx.deadline = Instant::now() + Duration::from_secs(600);
            datasets.get(ctx, request).await.into_service("datasets")
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak_mb() - base;
    assert_eq!(page.frame.rows(), rows, "{name}: every row");
    drop(page);
    runtime.block_on(reader.shutdown());
    println!("{seconds} {peak}");
    Ok(())
}

/// The datasets node: imports `dir/data.csv`, serves it over TCP and QUIC (frames up to
/// [`BIG_FRAME`]), prints `TCP_ADDRESS QUIC_ADDRESS DATASET_ID`, and stops when its stdin
/// closes.
fn serve(dir: &Path) -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let certs = dir.join("certs");
    let tls = TlsServerConfig::files(certs.join("server.pem"), certs.join("server.key"))
        .with_client_ca(certs.join("ca.pem"));
    let mut config = Node::builder().data_dir(dir.join("store")).config().clone();
    let mut tcp = TcpServerConfig::new("127.0.0.1:0");
    tcp.max_frame_bytes = BIG_FRAME;
    let mut quic = QuicServerConfig::new("127.0.0.1:0", tls);
    quic.max_frame_bytes = BIG_FRAME;
    config.node.listen = Some(Listen {
        tcp: Some(TcpListen::Config(tcp)),
        quic: Some(quic),
    });
    // A listening node reads server-side files only under its import roots.
    config.datasets.import_roots = Some(vec![dir.to_owned()]);
    let node = runtime.block_on(NodeBuilder::from_config(config).start())?;
    let mut long = context::current();
    long.deadline = Instant::now() + Duration::from_secs(3600);
    let request = ImportRequest::new(Source::File {
        path: dir.join("data.csv").display().to_string(),
    });
    let info = runtime
        .block_on(node.datasets()?.import(long, request))
        .map_err(|e| e.to_string())??;
    println!(
        "{} {} {}",
        node.listen_addr().ok_or("no TCP listener")?,
        node.quic_addr().ok_or("no QUIC listener")?,
        info.id
    );
    std::io::stdout().flush()?;
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    runtime.block_on(node.shutdown());
    Ok(())
}

fn write_csv(path: &Path, rows: usize, columns: usize) -> std::io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    let header: Vec<String> = (0..columns).map(|c| format!("x{c}")).collect();
    writeln!(out, "{}", header.join(","))?;
    for row in 0..rows {
        for column in 0..columns {
            let separator = if column + 1 == columns { '\n' } else { ',' };
            let value = ((row * 31 + column * 17) % 100_003) as f64 / 8.0;
            write!(out, "{value}{separator}")?;
        }
    }
    out.flush()
}
