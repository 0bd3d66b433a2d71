//! The latency of real calls while silent connections are held against the server; run by
//! hand: `cargo test -p mltools-transport --test tcp latency -- --ignored --nocapture`.

use crate::common::{client, ctx, endpoint, host, loopback_config, within};
use mltools_transport::Limits;
use mltools_transport::tcp::TcpServerConfig;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

const CALLS: usize = 200;
const SILENT: usize = 300;

async fn latencies(config: TcpServerConfig, silent: usize) -> (Duration, Duration, (usize, usize)) {
    let host = host(config, Limits::default()).await;
    let (probe, _) = client(endpoint(&host.server));
    within("a warm-up call", probe.double(ctx(), 1))
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..silent {
        held.push(TcpStream::connect(host.server.local_addr()).await.unwrap());
    }
    // Let the server accept them all before measuring.
    within("the silent connections to be accepted", async {
        while host.server.connections().0 < silent {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let connections = host.server.connections();
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let started = Instant::now();
        within("a call", probe.double(ctx(), i as u32))
            .await
            .unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    drop(held);
    (times[CALLS / 2], times[CALLS * 99 / 100], connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, run by hand"]
async fn latency_while_silent_connections_are_held() {
    let mut holding = loopback_config();
    holding.max_pending_handshakes = 512;
    holding.max_pending_per_ip = 512;
    holding.handshake_timeout_ms = 60_000;
    let (p50, p99, _) = latencies(holding.clone(), 0).await;
    println!("baseline (no silent connections): p50 {p50:?}, p99 {p99:?}");
    let (p50, p99, held) = latencies(holding, SILENT).await;
    println!(
        "{SILENT} silent connections, all held pending (caps raised to 512): p50 {p50:?}, p99 {p99:?}; (pending, admitted) = {held:?}"
    );
    let (p50, p99, held) = latencies(loopback_config(), 0).await;
    println!("baseline, default caps: p50 {p50:?}, p99 {p99:?}; {held:?}");
    let defaults = loopback_config();
    let host = host(defaults, Limits::default()).await;
    let (probe, _) = client(endpoint(&host.server));
    within("a warm-up call", probe.double(ctx(), 1))
        .await
        .unwrap();
    let mut held = Vec::new();
    for _ in 0..SILENT {
        held.push(TcpStream::connect(host.server.local_addr()).await.unwrap());
    }
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let started = Instant::now();
        within("a call", probe.double(ctx(), i as u32))
            .await
            .unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "{SILENT} silent connections, default caps (8 per address pending, the rest refused at arrival): p50 {:?}, p99 {:?}; (pending, admitted) = {:?}",
        times[CALLS / 2],
        times[CALLS * 99 / 100],
        host.server.connections()
    );
}
