//! The report: the header, the three tables and the targets, as markdown on stdout.

use crate::measure::{ConcurrentRow, SequentialRow, SetUpRow};
use crate::{
    BARE_MUX, BARE_QUINN, BARE_TCP, CALLERS, CONCURRENT_FOR, CONCURRENT_WARM_UP, MPSC, POOL_SIZE,
    SET_UP_WARM_UPS, SET_UPS, SIZES,
};
use std::time::Duration;

pub(crate) fn print_header(load_before: Option<f64>) {
    let cpu = crate::machine::cpu_model();
    let cores = crate::machine::cores();
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown date".to_owned(), |date| date.trim().to_owned());
    println!("# Transports against their raw baselines (benches/transports/)\n");
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    println!("- machine: {cpu}, nproc {cores}; {date}");
    println!("- command: `cargo bench --bench transports`");
    match load_before {
        Some(load) if load > 1.0 => println!(
            "- load average (1 min) before the start: {load:.2}: something else was running, the figures are noisy"
        ),
        Some(load) => println!(
            "- load average (1 min) before the start: {load:.2}: nothing much else was running"
        ),
        None => println!("- load average before the start: unknown (no /proc/loadavg)"),
    }
    println!(
        "- one process, one multi-threaded tokio runtime ({workers} workers; `TOKIO_WORKER_THREADS` sets them), 127.0.0.1; the call is an echo of a `serde_bytes::ByteBuf` answered with the same bytes, the answer being the next call's payload; ours use postcard, TLS 1.3 (server certificate only) for tls-tcp and quic"
    );
}

pub(crate) fn print_sequential(rows: &[SequentialRow]) {
    println!("\n## Round trip, sequential calls\n");
    let counts: Vec<String> = SIZES
        .iter()
        .map(|size| format!("{} {} calls", size.label, size.calls))
        .collect();
    println!(
        "p50 and p99 over {} (after a tenth as many untimed; of 20 calls the p99 is the slowest); × = p50 / the baseline's p50. MB/s = the 8 MiB payload (10^6 B) / p50 of its round trip (it travels both ways; the in-process paths move a pointer, hence their absurd figures); × bytes/s = ours / the baseline's.\n",
        counts.join(", ")
    );
    let mut head = String::from("| path | baseline |");
    let mut rule = String::from("|---|---|");
    for size in &SIZES {
        head += &format!(" {0} p50 | {0} p99 | × |", size.label);
        rule += "---:|---:|---:|";
    }
    println!("{head} 8 MiB MB/s | × bytes/s |");
    println!("{rule}---:|---:|");
    let last = SIZES.len() - 1;
    let megabytes_per_second = |p50: Duration| SIZES[last].bytes as f64 / p50.as_secs_f64() / 1e6;
    for row in rows {
        let base = row.baseline.map(|name| find(rows, name));
        let mut line = format!("| {} | {} |", row.name, row.baseline.unwrap_or("—"));
        for (at, latency) in row.latencies.iter().enumerate() {
            let ratio = base.map_or("—".to_owned(), |base| {
                times(latency.p50.as_secs_f64() / base.latencies[at].p50.as_secs_f64())
            });
            line += &format!(" {} | {} | {ratio} |", time(latency.p50), time(latency.p99));
        }
        let rate = megabytes_per_second(row.latencies[last].p50);
        let ratio = base.map_or("—".to_owned(), |base| {
            times(rate / megabytes_per_second(base.latencies[last].p50))
        });
        println!("{line} {rate:.0} | {ratio} |");
    }
}

pub(crate) fn print_concurrent(rows: &[ConcurrentRow]) {
    println!("\n## Throughput with concurrent callers, 64 B\n");
    println!(
        "Calls per second over {} s (after {} ms untimed), every caller a task calling in a loop, on ONE connection (the pooled row: {POOL_SIZE}); × = ours / the baseline's. quic has no multiplexed bare baseline of its own: it is set against bare multiplexed TCP.\n",
        CONCURRENT_FOR.as_secs(),
        CONCURRENT_WARM_UP.as_millis()
    );
    let mut head = String::from("| path | baseline |");
    let mut rule = String::from("|---|---|");
    for callers in CALLERS {
        head += &format!(
            " {callers} caller{} | × |",
            if callers == 1 { "" } else { "s" }
        );
        rule += "---:|---:|";
    }
    println!("{head}");
    println!("{rule}");
    for row in rows {
        let base = row.baseline.map(|name| find(rows, name));
        let mut line = format!("| {} | {} |", row.name, row.baseline.unwrap_or("—"));
        for (at, rate) in row.rates.iter().enumerate() {
            let ratio = base.map_or("—".to_owned(), |base| times(rate / base.rates[at]));
            line += &format!(" {} | {ratio} |", per_second(*rate));
        }
        println!("{line}");
    }
}

pub(crate) fn print_set_ups(rows: &[SetUpRow]) {
    println!("\n## Connection set-up\n");
    println!(
        "Medians over {SET_UPS} (after {SET_UP_WARM_UPS} untimed). Connected: bare TCP `connect`; bare quinn a new client endpoint and the handshake; ours from `Client::tcp`/`Client::quic` (configuration checked, TLS files read) until the link is up (TLS and the hello done). First answer: that, then one 64 B echo (bare: on a new stream for quinn). × = first answer / the baseline's.\n"
    );
    println!("| path | baseline | connected | first answer | × |");
    println!("|---|---|---:|---:|---:|");
    for row in rows {
        let ratio = row.baseline.map_or("—".to_owned(), |name| {
            let base = find(rows, name);
            times(row.set_up.answered.as_secs_f64() / base.set_up.answered.as_secs_f64())
        });
        println!(
            "| {} | {} | {} | {} | {ratio} |",
            row.name,
            row.baseline.unwrap_or("—"),
            time(row.set_up.connected),
            time(row.set_up.answered)
        );
    }
}

pub(crate) fn print_targets(sequential: &[SequentialRow], concurrent: &[ConcurrentRow]) {
    let p50 = |name: &str, at: usize| find(sequential, name).latencies[at].p50.as_secs_f64();
    let rate = |name: &str, at: usize| find(concurrent, name).rates[at];
    let small = 0;
    let large = SIZES.len() - 1;
    let most = CALLERS.len() - 1;
    println!("\n## Targets (for information)\n");
    let ratio = p50("direct", small) / p50(MPSC, small);
    target(
        "direct p50 ≤ 1.0× bare mpsc+oneshot (64 B)",
        ratio,
        ratio <= 1.0,
    );
    let ratio = rate("direct", most) / rate("channel", most);
    target(
        "direct calls/s ≥ 10× channel's (64 callers)",
        ratio,
        ratio >= 10.0,
    );
    let ratio = p50("tcp", small) / p50(BARE_TCP, small);
    target("tcp p50 ≤ 1.3× bare ping-pong (64 B)", ratio, ratio <= 1.3);
    let ratio = p50(BARE_TCP, large) / p50("tcp", large);
    target(
        "tcp bytes/s ≥ 0.70× bare ping-pong's (8 MiB)",
        ratio,
        ratio >= 0.7,
    );
    let ratio = rate("tcp", most) / rate(BARE_MUX, most);
    target(
        "tcp calls/s ≥ 0.5× the bare multiplexed connection's (64 callers)",
        ratio,
        ratio >= 0.5,
    );
    let ratio = p50("quic", small) / p50(BARE_QUINN, small);
    target("quic p50 ≤ 1.3× bare quinn (64 B)", ratio, ratio <= 1.3);
    let ratio = p50("quic", large) / p50(BARE_TCP, large);
    target("quic 8 MiB time ≤ 2× bare TCP's", ratio, ratio <= 2.0);
}

pub(crate) fn target(what: &str, figure: f64, met: bool) {
    let verdict = if met { "met" } else { "missed" };
    println!("- {verdict}: {what}: {figure:.2}");
}

/// A row of a table, found by its name.
pub(crate) trait Named {
    fn name(&self) -> &str;
}

impl Named for SequentialRow {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ConcurrentRow {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for SetUpRow {
    fn name(&self) -> &str {
        self.name
    }
}

pub(crate) fn find<'a, R: Named>(rows: &'a [R], name: &str) -> &'a R {
    rows.iter()
        .find(|row| row.name() == name)
        .unwrap_or_else(|| panic!("no row named {name}"))
}

pub(crate) fn time(duration: Duration) -> String {
    let micros = duration.as_secs_f64() * 1e6;
    if micros < 10.0 {
        format!("{micros:.2} µs")
    } else if micros < 1000.0 {
        format!("{micros:.1} µs")
    } else if micros < 1e6 {
        format!("{:.2} ms", micros / 1e3)
    } else {
        format!("{:.2} s", micros / 1e6)
    }
}

pub(crate) fn times(ratio: f64) -> String {
    format!("{ratio:.2}×")
}

pub(crate) fn per_second(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else {
        format!("{:.0} k", rate / 1e3)
    }
}

/// The 1-minute load average.
pub(crate) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
