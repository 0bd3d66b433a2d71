//! The report: the header, the tables and the targets, as markdown on stdout.

use crate::datasets::{COLUMNS, GET_CALLS, GET_WARM_UPS, GetTable, ROWS};
use crate::measure::{ConcurrentRow, SequentialRow, SetUpRow};
use crate::{
    BARE_MUX, BARE_QUINN, BARE_TCP, CALLERS, CONCURRENT_FOR, CONCURRENT_WARM_UP, MPSC, POOL_SIZE,
    SET_UP_WARM_UPS, SET_UPS, SIZES, TONIC,
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
    println!("# Transports against their raw baselines and gRPC (benches/transports/)\n");
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
    println!(
        "- the gRPC peer: tonic 0.14, a unary call over plain-text HTTP/2 (no TLS: against tls-tcp and quic its ratios favour it) on one `Channel`, the bytes as they are (a pass-through codec, no protobuf), tonic's and hyper's defaults except 64 MiB message limits"
    );
}

pub(crate) fn print_sequential(rows: &[SequentialRow]) {
    println!("\n## Round trip, sequential calls\n");
    let counts: Vec<String> = SIZES
        .iter()
        .map(|size| format!("{} {} calls", size.label, size.calls))
        .collect();
    println!(
        "p50 and p99 over {} (after a tenth as many untimed; of 60 calls the p99 is the slowest); × = p50 / the baseline's p50; vs tonic = p50 / tonic's p50 (ours only; below 1 is faster than gRPC). MB/s = the 8 MiB payload (10^6 B) / p50 of its round trip (it travels both ways; the in-process paths move a pointer, hence their absurd figures); × bytes/s = ours / the baseline's; vs tonic = ours / tonic's.\n",
        counts.join(", ")
    );
    let mut head = String::from("| path | baseline |");
    let mut rule = String::from("|---|---|");
    for size in &SIZES {
        head += &format!(" {0} p50 | {0} p99 | × | vs tonic |", size.label);
        rule += "---:|---:|---:|---:|";
    }
    println!("{head} 8 MiB MB/s | × bytes/s | vs tonic |");
    println!("{rule}---:|---:|---:|");
    let last = SIZES.len() - 1;
    let megabytes_per_second = |p50: Duration| SIZES[last].bytes as f64 / p50.as_secs_f64() / 1e6;
    let tonic = find(rows, TONIC);
    for row in rows {
        let base = row.baseline.and_then(|name| find(rows, name));
        let peer = tonic.filter(|_| is_ours(&row.name, row.baseline));
        let mut line = format!("| {} | {} |", row.name, row.baseline.unwrap_or("—"));
        for (at, latency) in row.latencies.iter().enumerate() {
            let p50 = latency.p50.as_secs_f64();
            let ratio = ratio_to(base, |base| p50 / base.latencies[at].p50.as_secs_f64());
            let vs_tonic = ratio_to(peer, |tonic| p50 / tonic.latencies[at].p50.as_secs_f64());
            line += &format!(
                " {} | {} | {ratio} | {vs_tonic} |",
                time(latency.p50),
                time(latency.p99)
            );
        }
        let rate = megabytes_per_second(row.latencies[last].p50);
        let ratio = ratio_to(base, |base| {
            rate / megabytes_per_second(base.latencies[last].p50)
        });
        let vs_tonic = ratio_to(peer, |tonic| {
            rate / megabytes_per_second(tonic.latencies[last].p50)
        });
        println!("{line} {rate:.0} | {ratio} | {vs_tonic} |");
    }
}

pub(crate) fn print_concurrent(rows: &[ConcurrentRow]) {
    println!("\n## Throughput with concurrent callers, 64 B\n");
    println!(
        "Calls per second over {} s (after {} ms untimed), every caller a task calling in a loop, on ONE connection (the pooled row: {POOL_SIZE}; tonic: one `Channel`, one HTTP/2 connection, cloned by every caller); × = ours / the baseline's; vs tonic = ours / tonic's (above 1 is more than gRPC). quic and tonic have no multiplexed bare baseline of their own: they are set against bare multiplexed TCP.\n",
        CONCURRENT_FOR.as_secs(),
        CONCURRENT_WARM_UP.as_millis()
    );
    let mut head = String::from("| path | baseline |");
    let mut rule = String::from("|---|---|");
    for callers in CALLERS {
        head += &format!(
            " {callers} caller{} | × | vs tonic |",
            if callers == 1 { "" } else { "s" }
        );
        rule += "---:|---:|---:|";
    }
    println!("{head}");
    println!("{rule}");
    let tonic = find(rows, TONIC);
    for row in rows {
        let base = row.baseline.and_then(|name| find(rows, name));
        let peer = tonic.filter(|_| is_ours(&row.name, row.baseline));
        let mut line = format!("| {} | {} |", row.name, row.baseline.unwrap_or("—"));
        for (at, rate) in row.rates.iter().enumerate() {
            let ratio = ratio_to(base, |base| rate / base.rates[at]);
            let vs_tonic = ratio_to(peer, |tonic| rate / tonic.rates[at]);
            line += &format!(" {} | {ratio} | {vs_tonic} |", per_second(*rate));
        }
        println!("{line}");
    }
}

pub(crate) fn print_set_ups(rows: &[SetUpRow]) {
    println!("\n## Connection set-up\n");
    println!(
        "Medians over {SET_UPS} (after {SET_UP_WARM_UPS} untimed). Connected: bare TCP `connect`; bare quinn a new client endpoint and the handshake; ours from `Client::tcp`/`Client::quic` (configuration checked, TLS files read) until the link is up (TLS and the hello done); tonic `Endpoint::connect` (TCP and the HTTP/2 preface). First answer: that, then one 64 B echo (bare: on a new stream for quinn). × = first answer / the baseline's; vs tonic = first answer / tonic's (ours only).\n"
    );
    println!("| path | baseline | connected | first answer | × | vs tonic |");
    println!("|---|---|---:|---:|---:|---:|");
    let tonic = find(rows, TONIC);
    for row in rows {
        let answered = row.set_up.answered.as_secs_f64();
        let base = row.baseline.and_then(|name| find(rows, name));
        let peer = tonic.filter(|_| is_ours(row.name, row.baseline));
        let ratio = ratio_to(base, |base| answered / base.set_up.answered.as_secs_f64());
        let vs_tonic = ratio_to(peer, |tonic| answered / tonic.set_up.answered.as_secs_f64());
        println!(
            "| {} | {} | {} | {} | {ratio} | {vs_tonic} |",
            row.name,
            row.baseline.unwrap_or("—"),
            time(row.set_up.connected),
            time(row.set_up.answered)
        );
    }
}

pub(crate) fn print_datasets(table: &GetTable) {
    println!("\n## A real call: `datasets.get` of {ROWS} × {COLUMNS}\n");
    let megabytes = table.page_bytes as f64 / 1e6;
    println!(
        "The datasets service (its own SQLite store on a temp dir, default limits) hosted over each transport; one numeric dataset of {ROWS} rows × {COLUMNS} f64 columns imported once from CSV; each call reads all of it back (`GetRequest::all`, one page: the store read, the page encoded, carried, decoded). p50 and p99 over {GET_CALLS} calls (after {GET_WARM_UPS} untimed; the p99 is the slowest). What comes back: the postcard-encoded page, {} bytes ({megabytes:.1} MB). MB/s = those bytes / p50 (direct moves the page as a value, encoding nothing: its figure is the store's read rate). × direct = p50 / direct's p50. tonic carries the same {} bytes (the page encoded once, held by its server) for an empty request: the wire alone, without the store or any decoding; vs tonic = p50 / tonic's p50.\n",
        table.page_bytes, table.page_bytes
    );
    println!("| path | p50 | p99 | MB/s | × direct | vs tonic |");
    println!("|---|---:|---:|---:|---:|---:|");
    let direct = table.rows.iter().find(|row| row.name == "direct");
    let tonic = table.rows.iter().find(|row| row.name == TONIC);
    for row in &table.rows {
        let p50 = row.latency.p50.as_secs_f64();
        let ratio = ratio_to(direct, |direct| p50 / direct.latency.p50.as_secs_f64());
        let vs_tonic = ratio_to(tonic.filter(|_| row.name != TONIC), |tonic| {
            p50 / tonic.latency.p50.as_secs_f64()
        });
        println!(
            "| {} | {} | {} | {:.0} | {ratio} | {vs_tonic} |",
            row.name,
            time(row.latency.p50),
            time(row.latency.p99),
            megabytes / p50
        );
    }
}

pub(crate) fn print_targets(sequential: &[SequentialRow], concurrent: &[ConcurrentRow]) {
    let p50 = |name: &str, at: usize| {
        find(sequential, name).map(|row| row.latencies[at].p50.as_secs_f64())
    };
    let rate = |name: &str, at: usize| find(concurrent, name).map(|row| row.rates[at]);
    let small = 0;
    let large = SIZES.len() - 1;
    let most = CALLERS.len() - 1;
    let over = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    println!("\n## Targets (for information)\n");
    target(
        "direct p50 ≤ 1.0× bare mpsc+oneshot (64 B)",
        over(p50("direct", small), p50(MPSC, small)),
        |ratio| ratio <= 1.0,
    );
    target(
        "direct calls/s ≥ 10× channel's (64 callers)",
        over(rate("direct", most), rate("channel", most)),
        |ratio| ratio >= 10.0,
    );
    target(
        "tcp p50 ≤ 1.3× bare ping-pong (64 B)",
        over(p50("tcp", small), p50(BARE_TCP, small)),
        |ratio| ratio <= 1.3,
    );
    target(
        "tcp bytes/s ≥ 0.70× bare ping-pong's (8 MiB)",
        over(p50(BARE_TCP, large), p50("tcp", large)),
        |ratio| ratio >= 0.7,
    );
    target(
        "tcp calls/s ≥ 0.5× the bare multiplexed connection's (64 callers)",
        over(rate("tcp", most), rate(BARE_MUX, most)),
        |ratio| ratio >= 0.5,
    );
    target(
        "quic p50 ≤ 1.3× bare quinn (64 B)",
        over(p50("quic", small), p50(BARE_QUINN, small)),
        |ratio| ratio <= 1.3,
    );
    target(
        "quic 8 MiB time ≤ 2× bare TCP's",
        over(p50("quic", large), p50(BARE_TCP, large)),
        |ratio| ratio <= 2.0,
    );
    target(
        "against tonic: tcp p50 ≥ 2× lower than tonic's (64 B; figure = tonic's p50 / tcp's)",
        over(p50(TONIC, small), p50("tcp", small)),
        |ratio| ratio >= 2.0,
    );
    target(
        "against tonic: tcp calls/s ≥ 2× tonic's on one connection (64 callers; figure = tcp's / tonic's)",
        over(rate("tcp", most), rate(TONIC, most)),
        |ratio| ratio >= 2.0,
    );
}

/// One target: its figure, and whether it is met (unknown when a row it needs is missing).
pub(crate) fn target(what: &str, figure: Option<f64>, met: impl Fn(f64) -> bool) {
    match figure {
        Some(figure) => {
            let verdict = if met(figure) { "met" } else { "missed" };
            println!("- {verdict}: {what}: {figure:.2}");
        }
        None => println!("- unknown: {what}: a row it needs is missing"),
    }
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

/// The row named `name`, if there is one (a ratio to a missing row prints as "—").
pub(crate) fn find<'a, R: Named>(rows: &'a [R], name: &str) -> Option<&'a R> {
    rows.iter().find(|row| row.name() == name)
}

/// Whether a row is one of ours: it has a baseline, and is not the gRPC peer.
fn is_ours(name: &str, baseline: Option<&str>) -> bool {
    baseline.is_some() && name != TONIC
}

/// `ratio` of a row to `other`, formatted; "—" without the other row.
pub(crate) fn ratio_to<R>(other: Option<&R>, ratio: impl Fn(&R) -> f64) -> String {
    other.map_or_else(|| "—".to_owned(), |other| times(ratio(other)))
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

/// A ratio, with two significant digits at least (the in-process paths against a socket
/// give ratios far from 1 either way).
pub(crate) fn times(ratio: f64) -> String {
    if ratio >= 100.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 0.1 {
        format!("{ratio:.2}×")
    } else if ratio >= 0.001 {
        format!("{ratio:.4}×")
    } else {
        format!("{ratio:.1e}×")
    }
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
