//! What the HTTP gateway costs per call against the same call over the TCP transport, on
//! one daemon that serves both (release build, loopback, plaintext, keep-alive).
//!
//! ```sh
//! cargo bench -p mltools-node --bench gateway
//! ```
//!
//! Prints a markdown table: p50 and p99 of sequential calls, each way, and the ratio
//! gateway / TCP, for a small answer (`datasets.list`, `GET /v1/datasets`) and a page of
//! 1,000 rows × 65 columns of digits (`datasets.get`, `GET /v1/datasets/digits/rows`),
//! whose JSON form (plain numbers) is what the gateway adds most. Run it with nothing else
//! running: the daemon and this process share the machine's cores.

#[path = "../tests/support/mod.rs"]
mod support;

use mltools_core::RpcResultExt;
use mltools_core::datasets::GetRequest;
use mltools_node::{NodeBuilder, NodeConfig};
use std::time::{Duration, Instant};
use support::Daemon;
use support::http::Http;
use tarpc::context;

/// p50 and p99 of `samples`.
fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.50), at(0.99))
}

fn micros(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("both.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"both\"\nlisten = {{ tcp = \"127.0.0.1:0\" }}\n\
             [datasets]\ndata_dir = \"{data}\"\n[models]\ndata_dir = \"{data}\"\n\
             [gateway]\nlisten = \"127.0.0.1:0\"\n",
            data = dir.path().join("node").display()
        ),
    )?;
    let daemon = Daemon::start(&config);
    let http = Http::new(&daemon.address("http"), None);
    let imported = http.post_json(
        "/v1/datasets",
        &serde_json::json!({"source": {"builtin": "digits"}}),
    );
    if imported.status != 201 {
        return Err(format!("importing digits: {}", imported.body).into());
    }

    let runtime = tokio::runtime::Runtime::new()?;
    let client_config = NodeConfig::parse(&format!(
        "[node]\nname = \"client\"\nserve = []\n[services.datasets]\nat = {{ tcp = \"{}\" }}\n",
        daemon.address("tcp")
    ))?;
    let node = runtime.block_on(NodeBuilder::from_config(client_config).start())?;
    let datasets = node.datasets()?;

    let page = GetRequest {
        limit: Some(1000),
        ..GetRequest::all("digits")
    };
    let cases: [(&str, usize, &str); 2] = [
        ("list (1 dataset)", 3000, "/v1/datasets"),
        (
            "1,000 rows × 65 columns",
            300,
            "/v1/datasets/digits/rows?limit=1000",
        ),
    ];
    println!(
        "| call | calls | TCP p50 | TCP p99 | gateway p50 | gateway p99 | gateway / TCP (p50) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (index, (name, calls, path)) in cases.into_iter().enumerate() {
        let tcp = runtime.block_on(async {
            let mut samples = Vec::with_capacity(calls);
            for round in 0..calls + calls / 10 {
                let started = Instant::now();
                if index == 0 {
                    let list = datasets.list(context::current()).await;
                    list.into_service("datasets")?;
                } else {
                    let rows = datasets.get(context::current(), page.clone()).await;
                    let rows = rows.into_service("datasets")?;
                    if rows.frame.rows() != 1000 {
                        return Err(
                            format!("a page of {} rows, not 1000", rows.frame.rows()).into()
                        );
                    }
                }
                // The first tenth warms up.
                if round >= calls / 10 {
                    samples.push(started.elapsed());
                }
            }
            Ok::<_, Box<dyn std::error::Error>>(samples)
        })?;
        let mut samples = Vec::with_capacity(calls);
        for round in 0..calls + calls / 10 {
            let started = Instant::now();
            let answer = http.get(path);
            if answer.status != 200 {
                return Err(format!("GET {path}: {}", answer.body).into());
            }
            if round >= calls / 10 {
                samples.push(started.elapsed());
            }
        }
        let (tcp50, tcp99) = percentiles(tcp);
        let (http50, http99) = percentiles(samples);
        println!(
            "| {name} | {calls} | {} | {} | {} | {} | {:.2}× |",
            micros(tcp50),
            micros(tcp99),
            micros(http50),
            micros(http99),
            http50.as_secs_f64() / tcp50.as_secs_f64()
        );
    }
    runtime.block_on(node.shutdown());
    Ok(())
}
