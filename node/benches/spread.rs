//! One models node against two: the digits compare (every default classifier, 5 folds)
//! through a lab in this process, the models service on release daemons with
//! `fit_threads = 1` each, datasets and utils on a daemon of their own.
//!
//! ```sh
//! cargo bench -p mltools-node --bench spread
//! ```
//!
//! Prints the wall time of each setting (best of 3, after one warm-up run each) and the
//! ratio two nodes / one node. Run it with nothing else running: the three daemons and
//! this process share the machine's cores.

#[path = "../tests/support/mod.rs"]
mod support;

use mltools_core::RpcResultExt;
use mltools_core::datasets::{Builtin, ImportRequest, Source};
use mltools_core::lab::LabCompareRequest;
use mltools_node::Node;
use std::time::{Duration, Instant};
use support::{Daemon, data_daemon, lab_node, models_daemon};
use tarpc::context;

const ROUNDS: usize = 3;

/// The best of `ROUNDS` timed compares, after a warm-up.
async fn best_of(node: &Node, request: &LabCompareRequest) -> Duration {
    let lab = node.lab().expect("a lab");
    let mut best = Duration::MAX;
    for round in 0..=ROUNDS {
        let started = Instant::now();
        let report = mltools_lab::compare_and_wait(&lab, request.clone(), Duration::from_secs(600))
            .await
            .expect("the compare ends");
        let elapsed = started.elapsed();
        assert!(
            report
                .leaderboard
                .entries
                .iter()
                .all(|entry| entry.error.is_none())
        );
        eprintln!("  round {round}: {elapsed:.2?}");
        if round > 0 {
            best = best.min(elapsed);
        }
    }
    best
}

fn main() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = |name: &str| dir.path().join(name);
    let data = data_daemon(dir.path());
    let data_address = data.address("tcp");
    let models: Vec<Daemon> = (0..2)
        .map(|index| models_daemon(dir.path(), &format!("models{index}"), &data_address))
        .collect();
    let addresses: Vec<String> = models.iter().map(|daemon| daemon.address("tcp")).collect();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let (one, two) = runtime.block_on(async {
        let single = lab_node(&data_address, &addresses[..1], &path("one")).await;
        let digits = single
            .datasets()
            .expect("datasets")
            .import(
                context::current(),
                ImportRequest::new(Source::Builtin {
                    name: Builtin::Digits,
                }),
            )
            .await
            .into_service("datasets")
            .expect("digits imported");
        let request = LabCompareRequest::new(digits.id);
        eprintln!("one models node:");
        let one = best_of(&single, &request).await;
        let spread = lab_node(&data_address, &addresses, &path("two")).await;
        eprintln!("two models nodes:");
        let two = best_of(&spread, &request).await;
        (one, two)
    });
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("\n# digits default compare: one models node against two (fit_threads = 1 each)\n");
    println!(
        "- machine: {cores} cores; datasets and utils on a third daemon, the lab in the bench process"
    );
    println!(
        "- wall time of the whole compare (plan, fits, assembly, best refit, plots), best of {ROUNDS} after a warm-up\n"
    );
    println!("| models nodes | wall time (s) | × one node |");
    println!("|---|---|---|");
    println!("| 1 | {:.2} | 1.00 |", one.as_secs_f64());
    println!(
        "| 2 | {:.2} | {:.2} |",
        two.as_secs_f64(),
        two.as_secs_f64() / one.as_secs_f64()
    );
    drop((data, models));
}
