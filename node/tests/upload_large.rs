//! A measurement, not a CI test: a ~1 GB CSV uploaded from this process to a datasets
//! daemon over TCP, then over QUIC (mutual TLS), and imported there; prints the time of
//! each phase and the peak resident memory of the client (this process) and of the server
//! (the daemon, read from `/proc/PID/status`). Run it on purpose:
//!
//! ```text
//! cargo test -p mltools-node --test upload_large -- --ignored --nocapture
//! ```
//!
//! `MLTOOLS_UPLOAD_MB` sets the file's size in megabytes (default 1024).

mod support;

use mltools_core::datasets::ImportRequest;
use mltools_core::{RpcResultExt, ServiceName};
use mltools_node::config::{Placement, ServiceSection, TcpAt};
use mltools_node::{NodeBuilder, NodeConfig};
use mltools_transport::quic::QuicEndpoint;
use mltools_transport::tcp::{TcpEndpoint, TlsClientConfig};
use mltools_transport::upload::{DEFAULT_CHUNK_BYTES, upload_file};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{WAIT, lines};
use tarpc::context;

const COLUMNS: usize = 20;

/// A `/proc/PID/status` figure (`VmRSS:`, `VmHWM:`) in megabytes; `NaN` when unreadable.
fn status_mb(pid: &str, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Resets a process's peak-RSS mark, so that each phase is measured on its own.
fn reset_peak(pid: &str) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

/// Writes numeric rows of [`COLUMNS`] columns until the file holds `bytes` bytes; answers
/// the rows written.
fn write_csv(path: &Path, bytes: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let header: Vec<String> = (0..COLUMNS).map(|c| format!("x{c}")).collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    let mut written = 0u64;
    let mut rows = 0u64;
    let mut line = String::with_capacity(256);
    while written < bytes {
        line.clear();
        for column in 0..COLUMNS {
            let value = (rows as usize * 31 + column * 17) % 100_003;
            let separator = if column + 1 == COLUMNS { '\n' } else { ',' };
            line.push_str(&format!("{}.{:03}{separator}", value / 8, value % 1000));
        }
        out.write_all(line.as_bytes()).unwrap();
        written += line.len() as u64;
        rows += 1;
    }
    out.flush().unwrap();
    rows
}

/// The datasets daemon, killed when dropped.
struct Server {
    child: Child,
    ready: String,
    _stdout: std::sync::mpsc::Receiver<String>,
    _stderr: std::sync::mpsc::Receiver<String>,
}

impl Server {
    fn start(config: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mltools"))
            .arg("--config")
            .arg(config)
            .arg("node")
            .env_remove("MLTOOLS_CONFIG")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let ready = stdout.recv_timeout(WAIT).expect("the daemon is ready");
        Server {
            child,
            ready,
            _stdout: stdout,
            _stderr: stderr,
        }
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    fn address(&self, transport: &str) -> String {
        let marker = format!("listening on {transport} ");
        let (_, rest) = self.ready.split_once(&marker).unwrap();
        rest.split([';', ')']).next().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "a measurement: writes a 1 GB file and takes minutes"]
fn a_one_gigabyte_csv_uploads_over_tcp_and_quic_in_bounded_memory() {
    let megabytes: u64 = std::env::var("MLTOOLS_UPLOAD_MB")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    let started = Instant::now();
    let rows = write_csv(&csv, megabytes << 20);
    let size = std::fs::metadata(&csv).unwrap().len();
    println!(
        "wrote {} ({rows} rows × {COLUMNS} columns, {:.0} MB) in {:.1} s",
        csv.display(),
        size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let certs = mltools_transport::certs::init(
        &dir.path().join("certs"),
        &["server".into()],
        &["127.0.0.1".into()],
    )
    .unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"data\"\nserve = [\"datasets\"]\n\
             [node.listen]\ntcp = \"127.0.0.1:0\"\n\
             quic = {{ listen = \"127.0.0.1:0\", tls = {{ cert = \"{}\", key = \"{}\", client_ca = \"{}\" }} }}\n\
             [datasets]\ndata_dir = \"{}\"\n",
            certs.nodes[0].0.display(),
            certs.nodes[0].1.display(),
            certs.ca.display(),
            dir.path().join("server-data").display()
        ),
    )
    .unwrap();
    let server = Server::start(&config);
    let tls = TlsClientConfig::ca(&certs.ca).with_client_cert(&certs.client.0, &certs.client.1);
    let placements = [
        (
            "tcp",
            Placement::Tcp(TcpAt::Endpoint(TcpEndpoint::new(server.address("tcp")))),
        ),
        (
            "quic",
            Placement::Quic(QuicEndpoint::new(server.address("quic"), tls)),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let me = std::process::id().to_string();
    for (transport, at) in placements {
        let mut client_config =
            NodeConfig::parse("[node]\nname = \"client\"\nserve = []\n").unwrap();
        client_config.services.insert(
            ServiceName::Datasets,
            ServiceSection {
                at,
                ..ServiceSection::default()
            },
        );
        let client = runtime
            .block_on(NodeBuilder::from_config(client_config).start())
            .unwrap();
        let datasets = client.datasets().unwrap();
        let client_base = status_mb(&me, "VmRSS:");
        let server_base = status_mb(&server.pid(), "VmRSS:");
        reset_peak(&me);
        reset_peak(&server.pid());
        let started = Instant::now();
        let source = runtime
            .block_on(upload_file(&datasets, &csv, DEFAULT_CHUNK_BYTES))
            .unwrap();
        let upload_time = started.elapsed();
        let client_peak = status_mb(&me, "VmHWM:");
        let server_upload_peak = status_mb(&server.pid(), "VmHWM:");
        reset_peak(&server.pid());
        let started = Instant::now();
        let mut long = context::current();
        long.deadline = std::time::Instant::now() + Duration::from_secs(3600);
        let request = ImportRequest::new(source).name(format!("big_{transport}"));
        let info = runtime
            .block_on(datasets.import(long, request))
            .into_service("datasets")
            .unwrap();
        let import_time = started.elapsed();
        let server_import_peak = status_mb(&server.pid(), "VmHWM:");
        assert_eq!(info.rows, rows);
        println!(
            "{transport}: upload {:.1} s ({:.0} MB/s), import {:.1} s; client RSS {client_base:.0} MB, \
             peak {client_peak:.0} MB during the upload; server RSS {server_base:.0} MB, peak \
             {server_upload_peak:.0} MB during the upload, {server_import_peak:.0} MB during the import",
            upload_time.as_secs_f64(),
            size as f64 / 1e6 / upload_time.as_secs_f64(),
            import_time.as_secs_f64(),
        );
        runtime.block_on(client.shutdown_within(Duration::from_secs(5)));
    }
}
