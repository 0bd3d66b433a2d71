//! Comparisons that outlive their client, across real processes: one `mltools compare
//! --detach` starts a comparison on a lab daemon and exits; other processes list, wait for,
//! collect and cancel it by id; the daemon restarts and still answers with the same
//! report, and a comparison running when it stopped (SIGTERM or SIGKILL) is marked
//! interrupted, never lost.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::{Daemon, WAIT};

const TOKEN: &str = "a-token-of-more-than-16-bytes";

/// A lab daemon hosting every service, and the client config that reaches it.
struct LabNode {
    dir: tempfile::TempDir,
    daemon: Option<Daemon>,
}

impl LabNode {
    fn start() -> LabNode {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::write(
            dir.path().join("node.toml"),
            format!(
                "[node]\nname = \"lab\"\nshutdown_grace_ms = 5000\n\
                 [node.listen.tcp]\nlisten = \"127.0.0.1:0\"\ntoken = \"{TOKEN}\"\n\
                 [datasets]\ndata_dir = \"{data}\"\n[models]\ndata_dir = \"{data}\"\n",
                data = data.display(),
            ),
        )
        .unwrap();
        let mut node = LabNode { dir, daemon: None };
        node.restart();
        node
    }

    /// Starts the daemon (again, on the same data) and points the client config at it.
    fn restart(&mut self) {
        let daemon = Daemon::start(&self.dir.path().join("node.toml"));
        let address = daemon.address("tcp");
        let place = |service: &str| {
            format!(
                "[services.{service}]\nat = {{ tcp = {{ address = \"{address}\", token = \"{TOKEN}\" }} }}\n"
            )
        };
        std::fs::write(
            self.client_config(),
            format!(
                "[node]\nname = \"client\"\nserve = []\n{}{}{}{}",
                place("datasets"),
                place("utils"),
                place("models"),
                place("lab"),
            ),
        )
        .unwrap();
        self.daemon = Some(daemon);
    }

    fn client_config(&self) -> PathBuf {
        self.dir.path().join("client.toml")
    }

    /// Stops the daemon with SIGTERM and checks it exited cleanly.
    fn terminate(&mut self) {
        let mut daemon = self.daemon.take().unwrap();
        daemon.terminate();
        let status = daemon.exit_within(WAIT).expect("the daemon exits");
        let log = daemon.remaining_log();
        assert_eq!(status.code(), Some(0), "{}", log.join("\n"));
        assert!(!log.iter().any(|line| line.contains("panicked")));
    }

    /// Kills the daemon with SIGKILL.
    fn kill(&mut self) {
        self.daemon.take().unwrap().kill();
    }

    /// Runs `mltools --config client.toml ARGS...` as a process of its own.
    fn mltools(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_mltools"))
            .arg("--config")
            .arg(self.client_config())
            .args(args)
            .env_remove("MLTOOLS_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .expect("the mltools binary runs")
    }

    /// The JSON a successful `mltools ... --json` printed.
    fn json(&self, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        support::json(&self.mltools(&args))
    }

    /// Starts a comparison with `--detach`; its job id.
    fn detach(&self, args: &[&str]) -> String {
        let mut all = vec!["compare"];
        all.extend_from_slice(args);
        all.push("--detach");
        let started = Instant::now();
        let detached = self.json(&all);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "--detach returns at once"
        );
        detached["job"].as_u64().expect("a job id").to_string()
    }

    /// The stage `jobs status` shows for `job`.
    fn stage(&self, job: &str) -> Value {
        self.json(&["jobs", "status", job])["stage"].clone()
    }

    /// Waits until `job` is fitting (its models job runs), polling `jobs status` for at
    /// most [`WAIT`].
    fn wait_until_fitting(&self, job: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let stage = self.stage(job);
            if stage["Fitting"]["total"]
                .as_u64()
                .is_some_and(|total| total > 0)
            {
                return;
            }
            assert!(
                stage == "Preparing" || stage.get("Fitting").is_some(),
                "{job} ended before it was stopped: {stage}"
            );
            assert!(
                Instant::now() < deadline,
                "{job} never started fitting: {stage}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// 3000 rows of noise with a binary label: an SVM comparison of a minute or more.
fn noisy_csv(path: &Path) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("a,b,c,d,label\n");
    for _ in 0..3000 {
        let row: Vec<String> = (0..4).map(|_| format!("{:.5}", next())).collect();
        let label = if next() < 0.5 { "yes" } else { "no" };
        csv.push_str(&format!("{},{label}\n", row.join(",")));
    }
    std::fs::write(path, csv).unwrap();
}

#[test]
fn a_detached_comparison_is_collected_by_other_processes_and_survives_restarts() {
    let mut node = LabNode::start();

    // One process starts the comparison and exits; another waits for it.
    let job = node.detach(&[
        "builtin:iris",
        "--models",
        "gaussian_nb,logistic_regression",
    ]);
    let waited = node.json(&["jobs", "wait", &job]);
    assert_eq!(waited["entries"].as_array().unwrap().len(), 2, "{waited}");
    assert_eq!(node.stage(&job), "Finished");
    let listed = node.json(&["jobs", "list"]);
    assert_eq!(listed[0]["job"].to_string(), job, "{listed}");
    assert_eq!(listed[0]["stage"], "Finished");
    assert!(listed[0]["ended_at_ms"].is_u64(), "{listed}");

    // A long comparison is running when the daemon is stopped.
    let csv = node.dir.path().join("noise.csv");
    noisy_csv(&csv);
    let stopped = node.detach(&[
        csv.to_str().unwrap(),
        "--target",
        "label",
        "--models",
        "svc",
    ]);
    node.wait_until_fitting(&stopped);
    node.terminate();
    node.restart();

    // After the restart: the finished comparison's report is read back whole; the one cut
    // short says so.
    assert_eq!(node.json(&["jobs", "report", &job]), waited);
    assert_eq!(node.stage(&stopped), "Interrupted");
    let report = node.mltools(&["jobs", "report", &stopped]);
    assert_eq!(report.status.code(), Some(1));
    let error = String::from_utf8_lossy(&report.stderr);
    assert!(error.contains("interrupted"), "{error}");

    // A crash is no different: the running comparison is interrupted, not lost.
    let crashed = node.detach(&[
        csv.to_str().unwrap(),
        "--target",
        "label",
        "--models",
        "svc",
    ]);
    assert!(crashed.parse::<u64>().unwrap() > stopped.parse::<u64>().unwrap());
    node.wait_until_fitting(&crashed);
    node.kill();
    node.restart();
    assert_eq!(node.stage(&crashed), "Interrupted");

    // Cancelled from another process while it runs.
    let cancelled = node.detach(&[
        csv.to_str().unwrap(),
        "--target",
        "label",
        "--models",
        "svc",
    ]);
    node.wait_until_fitting(&cancelled);
    let answer = node.mltools(&["jobs", "cancel", &cancelled]);
    assert!(answer.status.success());
    let deadline = Instant::now() + WAIT;
    while node.stage(&cancelled) != "Cancelled" {
        assert!(Instant::now() < deadline, "the cancel took hold");
        std::thread::sleep(Duration::from_millis(50));
    }
    let statuses: Vec<(String, Value)> = node
        .json(&["jobs", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|job| (job["job"].to_string(), job["stage"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (cancelled, Value::from("Cancelled")),
            (crashed, Value::from("Interrupted")),
            (stopped, Value::from("Interrupted")),
            (job, Value::from("Finished")),
        ]
    );
    // An unknown id is named.
    let unknown = node.mltools(&["jobs", "status", "999"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("999"));
    node.terminate();
}

#[test]
fn detach_without_a_lab_daemon_is_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let output = support::mltools(
        dir.path(),
        &[
            "compare",
            "builtin:iris",
            "--detach",
            "--models",
            "gaussian_nb",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--detach") && error.contains("services.lab"),
        "{error}"
    );
}
