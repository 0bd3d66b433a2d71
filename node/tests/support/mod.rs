//! The `mltools` binary run by the tests: one-shot commands (`mltools`, `json`), and
//! `mltools --config FILE node` as a child process: its ready line, the addresses it
//! listens on, its output read line by line, and no process left behind. [`browser`]
//! drives a headless chromium, for the tests that look at a page.

// Each test binary compiles its own copy of this module and uses only part of it.
#![allow(dead_code)]

pub(crate) mod browser;
pub(crate) mod http;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The bound on every wait for a daemon.
pub(crate) const WAIT: Duration = Duration::from_secs(30);

/// Lines read from a pipe by a thread of their own, until it closes or the receiver is
/// dropped.
pub(crate) fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A daemon started as a child process, killed when dropped (so a failing test leaves no
/// process behind).
pub(crate) struct Daemon {
    child: Child,
    /// The first line it printed: `node NAME ready (serving ...; listening on tcp ADDR)`.
    ready: String,
    /// Its output and its log, drained by the reader threads as long as these live: a full
    /// pipe would block the daemon.
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Daemon {
    /// Starts `mltools --config CONFIG node` and waits for its ready line.
    pub(crate) fn start(config: &Path) -> Daemon {
        Daemon::start_with(config, &[])
    }

    /// [`Daemon::start`] with `env` set for the daemon, e.g. `[("RUST_LOG", "info")]`. The
    /// daemon never sees the test's `MLTOOLS_CONFIG` or `RUST_LOG`.
    pub(crate) fn start_with(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mltools"))
            .arg("--config")
            .arg(config)
            .arg("node")
            .env_remove("MLTOOLS_CONFIG")
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the mltools binary runs");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let ready = match stdout.recv_timeout(WAIT) {
            Ok(ready) => ready,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                let logged = drain(&stderr).join("\n");
                panic!("the daemon says it is ready: {error:?}; it logged:\n{logged}");
            }
        };
        Daemon {
            child,
            ready,
            stdout,
            stderr,
        }
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A figure of its `/proc/PID/status`, in KiB: `VmRSS` (resident now) or `VmHWM` (the
    /// peak).
    pub(crate) fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in /proc/{}/status", self.pid()))
    }

    /// The line it printed once ready.
    pub(crate) fn ready(&self) -> &str {
        &self.ready
    }

    /// The address the ready line names for `transport` (`"tcp"` or `"quic"`).
    pub(crate) fn address(&self, transport: &str) -> String {
        let marker = format!("listening on {transport} ");
        let (_, rest) = self
            .ready
            .split_once(&marker)
            .unwrap_or_else(|| panic!("no {transport} address in `{}`", self.ready));
        rest.split([';', ')']).next().unwrap().to_owned()
    }

    /// The next line it prints on standard output, within `timeout`.
    pub(crate) fn next_stdout_line(&self, timeout: Duration) -> Result<String, RecvTimeoutError> {
        self.stdout.recv_timeout(timeout)
    }

    /// The first line it logs on standard error, from here on, for which `matches` is true,
    /// within `timeout` in all; the lines before it are consumed (and seen by `matches`).
    pub(crate) fn stderr_line(
        &self,
        mut matches: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> Result<String, RecvTimeoutError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.stderr.recv_timeout(left)?;
            if matches(&line) {
                return Ok(line);
            }
        }
    }

    /// Sends it SIGTERM, as a service manager stopping it would.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {}: {status}", self.child.id());
    }

    /// Its exit status, once it has exited within `timeout`.
    pub(crate) fn exit_within(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            // std has no wait with a timeout, so the exit itself is polled.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What it logged on standard error and was not read yet, until its pipe closes (once
    /// it has exited) or for at most [`WAIT`].
    pub(crate) fn remaining_log(&self) -> Vec<String> {
        drain(&self.stderr)
    }

    /// Kills it (SIGKILL on Unix) and reaps it.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a dead process's pipe still holds, read until it closes or for at most [`WAIT`].
fn drain(lines: &mpsc::Receiver<String>) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    let mut read = Vec::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        read.push(line);
    }
    read
}

/// Runs `mltools --data-dir DATA ARGS...` with no config from the environment.
pub(crate) fn mltools(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mltools"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("MLTOOLS_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("the mltools binary runs")
}

/// The JSON a successful run printed.
pub(crate) fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "mltools failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// A node in this process hosting the lab, reaching datasets and utils at `data` and the
/// models service at each of `models` (several: a compare is spread over them), keeping
/// its comparisons in `dir`.
pub(crate) async fn lab_node(data: &str, models: &[String], dir: &Path) -> mltools_node::Node {
    let at = models
        .iter()
        .map(|address| format!("{{ tcp = \"{address}\" }}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut config = mltools_node::NodeConfig::parse(&format!(
        "[node]\nname = \"lab\"\nserve = [\"lab\"]\n\
         [services.datasets]\nat = {{ tcp = \"{data}\" }}\n\
         [services.utils]\nat = {{ tcp = \"{data}\" }}\n\
         [services.models]\nat = [{at}]\n"
    ))
    .expect("a valid config");
    config.lab.data_dir = Some(dir.to_owned());
    mltools_node::NodeBuilder::from_config(config)
        .start()
        .await
        .expect("the lab node starts")
}

/// A daemon hosting datasets and utils on 127.0.0.1, its data in `dir/data`.
pub(crate) fn data_daemon(dir: &Path) -> Daemon {
    let config = dir.join("data.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"data\"\nserve = [\"datasets\", \"utils\"]\nlisten = {{ tcp = \"127.0.0.1:0\" }}\n\
             [datasets]\ndata_dir = \"{}\"\n",
            dir.join("data").display()
        ),
    )
    .expect("the config is written");
    Daemon::start(&config)
}

/// A daemon named `name` hosting the models service on 127.0.0.1 with one fit thread,
/// reaching datasets and utils at `data`, its registry in `dir/NAME`.
pub(crate) fn models_daemon(dir: &Path, name: &str, data: &str) -> Daemon {
    let config = dir.join(format!("{name}.toml"));
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"{name}\"\nserve = [\"models\"]\nlisten = {{ tcp = \"127.0.0.1:0\" }}\n\
             [services.utils]\nat = {{ tcp = \"{data}\" }}\n\
             [services.datasets]\nat = {{ tcp = \"{data}\" }}\n\
             [models]\ndata_dir = \"{}\"\nfit_threads = 1\n",
            dir.join(name).display()
        ),
    )
    .expect("the config is written");
    Daemon::start(&config)
}

/// A daemon hosting every service with its data in `dir/node`, serving an HTTP gateway on
/// 127.0.0.1 (port 0) with `gateway` as the rest of its `[gateway]` table.
pub(crate) fn gateway_daemon(dir: &Path, gateway: &str) -> Daemon {
    let config = dir.join("gateway.toml");
    let data = dir.join("node");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"gw\"\n\
             [datasets]\ndata_dir = \"{data}\"\n\
             [models]\ndata_dir = \"{data}\"\nfit_threads = 2\n\
             [gateway]\nlisten = \"127.0.0.1:0\"\n{gateway}\n",
            data = data.display()
        ),
    )
    .expect("the config is written");
    Daemon::start(&config)
}

/// A small classification table as CSV: `rows` rows of two numeric features, a categorical
/// one, and a label that is `yes` when `x1 + x2 > 10`.
pub(crate) fn shop_csv(rows: usize) -> String {
    let mut csv = String::from("x1,x2,colour,label\n");
    for i in 0..rows {
        let x1 = (i * 37 % 100) as f64 / 10.0;
        let x2 = (i * 53 % 100) as f64 / 10.0;
        let colour = ["red", "green", "blue"][i % 3];
        let label = if x1 + x2 > 10.0 { "yes" } else { "no" };
        csv.push_str(&format!("{x1},{x2},{colour},{label}\n"));
    }
    csv
}
