//! Admission control under load, against a real models daemon: 64 clients, each on its own
//! connection, submit comparisons at once to a node with 4 fit threads, a queue of 16 and
//! a memory budget. Each gets its result, or an overloaded answer with a retry-after hint
//! it honours before trying again; the gauge of fits running never passes 4, the memory
//! reserved never passes the budget; the daemon's peak memory stays within its resident
//! size at rest, plus its memory budget, plus 512 KiB per client connection; it logs no
//! panic and serves on.

mod support;

use mltools_core::datasets::{ImportRequest, Source};
use mltools_core::models::{CompareRequest, JobState, ModelSpec, Rows, TrainingData};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_node::{Node, NodeBuilder, NodeConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Daemon, WAIT};
use tarpc::context;

const TOKEN: &str = "a-token-of-more-than-16-bytes";
const CLIENTS: usize = 64;
const FIT_THREADS: u64 = 4;
const BUDGET_MB: u64 = 16;
/// What each client's connection may cost the daemon besides admitted work (socket and
/// codec buffers, its tasks), in KiB: part of the stated memory bound.
const PER_CONNECTION_KIB: u64 = 512;

fn ctx(secs: u64) -> context::Context {
    let mut ctx = context::current();
    ctx.deadline = Instant::now() + Duration::from_secs(secs);
    ctx
}

/// A client node of its own (its own connection) reaching the daemon's services.
async fn client(address: &str, dir: &std::path::Path) -> Node {
    let place = |service: &str| {
        format!(
            "[services.{service}]\nat = {{ tcp = {{ address = \"{address}\", token = \"{TOKEN}\" }} }}\n"
        )
    };
    let mut config = NodeConfig::parse(&format!(
        "[node]\nname = \"client\"\nserve = []\n{}{}",
        place("datasets"),
        place("models"),
    ))
    .unwrap();
    config.datasets.data_dir = dir.to_owned();
    config.models.data_dir = dir.to_owned();
    NodeBuilder::from_config(config).start().await.unwrap()
}

/// 3000 rows of 8 features and a class that follows two of them.
fn csv() -> Vec<u8> {
    let mut text = String::from("a,b,c,d,e,f,g,h,label\n");
    let mut state = 7u64;
    for _ in 0..3000 {
        let mut row = Vec::new();
        for _ in 0..8 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            row.push((state >> 11) as f64 / (1u64 << 53) as f64);
        }
        let label = if row[0] + row[3] > 1.0 { "yes" } else { "no" };
        let values: Vec<String> = row.iter().map(|v| format!("{v:.5}")).collect();
        text.push_str(&format!("{},{label}\n", values.join(",")));
    }
    text.into_bytes()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * fraction).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_clients_get_a_result_or_a_retry_hint_and_fits_never_pass_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"models\"\nshutdown_grace_ms = 5000\n\
             [node.listen.tcp]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n\
             max_connections = 256\nmax_pending_handshakes = 128\nmax_pending_per_ip = 128\n\
             [datasets]\ndata_dir = \"{data}\"\n\
             [models]\ndata_dir = \"{data}\"\nfit_threads = {FIT_THREADS}\nmax_running_jobs = 4\n\
             max_queued = 16\nmemory_budget_mb = {BUDGET_MB}\n",
            data = dir.path().join("data").display(),
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start_with(&config, &[("RUST_LOG", "warn")]);
    let address = daemon.address("tcp");
    let first = client(&address, dir.path()).await;
    let info = first
        .datasets()
        .unwrap()
        .import(
            ctx(60),
            ImportRequest::new(Source::Bytes {
                label: "load.csv".into(),
                data: csv(),
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    let request = CompareRequest {
        data: TrainingData {
            dataset: info.id,
            version: info.version,
            rows: Rows::Stored,
            target: "label".into(),
            task: None,
        },
        models: [
            "gaussian_nb",
            "logistic_regression",
            "decision_tree_classifier",
        ]
        .map(|algorithm| ModelSpec {
            algorithm: algorithm.into(),
            params: Default::default(),
            pipeline: None,
        })
        .to_vec(),
        overrides: Default::default(),
        folds: 3,
        seed: 0,
        metric: None,
        keep_best: false,
    };
    // One comparison first: the daemon's memory at rest includes what a comparison leaves.
    let models = first.models().unwrap();
    let job = models
        .submit(ctx(60), request.clone())
        .await
        .into_service("models")
        .unwrap();
    let status = models
        .wait(ctx(120), job, 100_000)
        .await
        .into_service("models")
        .unwrap();
    assert!(matches!(status.state, JobState::Finished(_)), "{status:?}");
    let rest_kib = daemon.memory_kib("VmRSS");

    // The gauge, sampled while the load runs.
    let sampling = Arc::new(AtomicBool::new(true));
    let (most_running, most_queued, most_reserved) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let sampler = {
        let (models, sampling) = (models.clone(), sampling.clone());
        let (most_running, most_queued, most_reserved) = (
            most_running.clone(),
            most_queued.clone(),
            most_reserved.clone(),
        );
        tokio::spawn(async move {
            while sampling.load(Ordering::SeqCst) {
                let load = models.load(ctx(10)).await.into_service("models").unwrap();
                most_running.fetch_max(load.fits_running, Ordering::SeqCst);
                most_queued.fetch_max(load.queued, Ordering::SeqCst);
                most_reserved.fetch_max(load.memory_reserved_mb, Ordering::SeqCst);
                assert!(load.memory_reserved_mb <= load.memory_budget_mb, "{load:?}");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let clients =
        futures::future::join_all((0..CLIENTS).map(|_| client(&address, dir.path()))).await;
    let started = Instant::now();
    let runs = clients.iter().map(|node| {
        let models = node.models().unwrap();
        let request = request.clone();
        async move {
            let submitted = Instant::now();
            let mut refusals = 0u32;
            let job = loop {
                match models
                    .submit(ctx(60), request.clone())
                    .await
                    .into_service("models")
                {
                    Ok(job) => break job,
                    Err(error) if error.kind == ErrorKind::Overloaded => {
                        refusals += 1;
                        assert!(refusals < 500, "refused {refusals} times: {error}");
                        let wait = error
                            .retry_after()
                            .unwrap_or_else(|| panic!("no retry-after hint: {error}"));
                        tokio::time::sleep(wait).await;
                    }
                    Err(error) => panic!("a submission failed: {error}"),
                }
            };
            let status = loop {
                let status = models
                    .wait(ctx(60), job, 30_000)
                    .await
                    .into_service("models")
                    .unwrap();
                if !matches!(status.state, JobState::Queued | JobState::Running) {
                    break status;
                }
            };
            let JobState::Finished(board) = status.state else {
                panic!("job {job}: {status:?}")
            };
            assert!(board.entries.iter().all(|entry| entry.error.is_none()));
            (submitted.elapsed(), refusals)
        }
    });
    let outcomes = tokio::time::timeout(WAIT * 20, futures::future::join_all(runs))
        .await
        .expect("every client is answered");
    let wall = started.elapsed();
    sampling.store(false, Ordering::SeqCst);
    sampler.await.unwrap();

    let load = models.load(ctx(10)).await.into_service("models").unwrap();
    let peak_kib = daemon.memory_kib("VmHWM");
    let mut times: Vec<Duration> = outcomes.iter().map(|(time, _)| *time).collect();
    times.sort();
    let refusals: u32 = outcomes.iter().map(|(_, refused)| refused).sum();
    let refused_clients = outcomes.iter().filter(|(_, refused)| *refused > 0).count();
    let bound_kib = rest_kib + BUDGET_MB * 1024 + CLIENTS as u64 * PER_CONNECTION_KIB;
    println!(
        "{CLIENTS} clients in {wall:.1?}: compare p50 {:.1?}, p99 {:.1?}; {refusals} overloaded \
         answers to {refused_clients} clients; fits running at most {} (gauge peak {}), queue at \
         most {}, memory reserved at most {} MiB of {BUDGET_MB}; daemon RSS {} MiB at rest, peak \
         {} MiB (bound: rest + budget + {CLIENTS} × {PER_CONNECTION_KIB} KiB = {} MiB)",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        most_running.load(Ordering::SeqCst),
        load.fits_peak,
        most_queued.load(Ordering::SeqCst),
        most_reserved.load(Ordering::SeqCst),
        rest_kib / 1024,
        peak_kib / 1024,
        bound_kib / 1024,
    );
    assert!(load.fits_peak <= FIT_THREADS, "{load:?}");
    assert!(most_running.load(Ordering::SeqCst) <= FIT_THREADS);
    assert!(most_queued.load(Ordering::SeqCst) <= 16);
    assert!(refusals > 0, "64 clients at once overflow a queue of 16");
    assert_eq!(
        (load.fits_running, load.queued, load.memory_reserved_mb),
        (0, 0, 0)
    );
    assert!(
        peak_kib <= bound_kib,
        "peak {peak_kib} KiB over the bound {bound_kib} KiB (at rest {rest_kib} KiB)"
    );

    // The daemon serves on, and stops cleanly.
    models.list(ctx(10)).await.into_service("models").unwrap();
    for node in clients {
        node.shutdown().await;
    }
    first.shutdown().await;
    daemon.terminate();
    let status = daemon.exit_within(WAIT).expect("the daemon exits");
    let log = daemon.remaining_log();
    assert!(
        !log.iter().any(|line| line.contains("panicked")),
        "{}",
        log.join("\n")
    );
    assert_eq!(status.code(), Some(0), "{}", log.join("\n"));
}
