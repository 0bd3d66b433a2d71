//! The Python client of the gateway (`examples/python/mltools_client.py`) run as a user
//! would, against a real daemon on 127.0.0.1: it uploads a CSV, compares two models,
//! prints the progress, the leaderboard, the best model and five predictions, and what it
//! made is then found through the gateway; a wrong token makes it fail cleanly, exit code 1
//! and the problem on standard error, no traceback.

mod support;

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};
use support::http::Http;
use support::{gateway_daemon, shop_csv};

const TOKEN: &str = "python-client-token-0123456789";

/// The bound on one run of the script (an upload and a small comparison).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/python/mltools_client.py"
);

/// How a run of the script ended.
struct Run {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: String,
}

impl Run {
    /// Both outputs, for assertion messages.
    fn transcript(&self) -> String {
        format!(
            "exit: {}\nstdout:\n{}\nstderr:\n{}",
            self.status,
            self.stdout.join("\n"),
            self.stderr
        )
    }
}

/// Runs `python3 mltools_client.py ARGS` with `MLTOOLS_TOKEN` set to `env_token` (or
/// unset), killing it if it outlives [`SCRIPT_TIMEOUT`].
fn run_client(args: &[&str], env_token: Option<&str>) -> Run {
    let mut command = Command::new("python3");
    command
        .arg(SCRIPT)
        .args(args)
        .env_remove("MLTOOLS_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(token) = env_token {
        command.env("MLTOOLS_TOKEN", token);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("python3 is missing: these tests run the Python client with it ({error})")
        }
        Err(error) => panic!("python3 {SCRIPT}: {error}"),
    };
    let stdout = support::lines(child.stdout.take().unwrap());
    let stderr = support::lines(child.stderr.take().unwrap());
    let deadline = Instant::now() + SCRIPT_TIMEOUT;
    // The script starts no process of its own, so its pipes close when it exits: reading
    // them to their end, within the deadline, is waiting for its exit with a bound.
    let read = until_closed(&stdout, deadline).and_then(|out| {
        let err = until_closed(&stderr, deadline)?;
        Ok((out, err))
    });
    match read {
        Ok((stdout, stderr)) => Run {
            status: child.wait().expect("the script is reaped"),
            stdout,
            stderr: stderr.join("\n"),
        },
        Err(partial) => {
            let _ = child.kill();
            let _ = child.wait();
            // Killed, it closes its pipes: what it logged can be read to the end now.
            let logged =
                until_closed(&stderr, Instant::now() + support::WAIT).unwrap_or_else(|read| read);
            panic!(
                "the script did not finish within {SCRIPT_TIMEOUT:?}; it printed:\n{}\n\
                 and logged:\n{}",
                partial.join("\n"),
                logged.join("\n")
            );
        }
    }
}

/// The lines of a pipe until it closes, or, past `deadline`, `Err` with those read.
fn until_closed(
    lines: &mpsc::Receiver<String>,
    deadline: Instant,
) -> Result<Vec<String>, Vec<String>> {
    let mut read = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => read.push(line),
            Err(RecvTimeoutError::Disconnected) => return Ok(read),
            Err(RecvTimeoutError::Timeout) => return Err(read),
        }
    }
}

/// Writes the shop CSV of `rows` rows into `dir`; returns its path as text.
fn write_csv(dir: &Path, rows: usize) -> String {
    let path = dir.join("shop.csv");
    std::fs::write(&path, shop_csv(rows)).expect("the CSV is written");
    path.to_str().expect("a UTF-8 path").to_owned()
}

#[test]
fn the_python_client_uploads_compares_reports_and_predicts() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let daemon = gateway_daemon(dir.path(), &format!("token = \"{TOKEN}\""));
    let address = daemon.address("http");
    let csv = write_csv(dir.path(), 300);
    let url = format!("http://{address}");
    let args = [
        "--url",
        &url,
        &csv,
        "--target",
        "label",
        "--name",
        "shop",
        "--models",
        "logistic_regression,gaussian_nb",
        "--folds",
        "3",
    ];
    // The token comes from the environment, as a user would keep it out of `ps`.
    let run = run_client(&args, Some(TOKEN));
    let transcript = run.transcript();
    assert!(run.status.success(), "{transcript}");
    assert!(
        !run.stderr.contains("Traceback"),
        "no traceback: {transcript}"
    );
    let out = &run.stdout;
    let line_after = |prefix: &str| {
        out.iter()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("a `{prefix}` line: {transcript}"))
    };
    assert!(
        line_after("uploaded shop (id ").ends_with("): 300 rows"),
        "{transcript}"
    );

    // Progress as the events arrive: the job's states, ending with `finished`.
    let started = out
        .iter()
        .position(|line| line.starts_with("job ") && line.ends_with(" started"))
        .unwrap_or_else(|| panic!("a `job N started` line: {transcript}"));
    let progress: Vec<&str> = out[started + 1..]
        .iter()
        .map(String::as_str)
        .take_while(|line| !line.is_empty())
        .collect();
    assert_eq!(progress.last(), Some(&"finished"), "{transcript}");
    assert!(progress.len() >= 2, "progress before the end: {transcript}");
    for line in &progress[..progress.len() - 1] {
        let known = ["preparing", "reporting"].contains(line)
            || line.strip_prefix("fitting ").is_some_and(|fits| {
                fits.split_once('/')
                    .is_some_and(|(done, total)| done.parse::<u32>().is_ok() && total == "6")
            });
        assert!(known, "a progress line: `{line}`\n{transcript}");
    }

    // The leaderboard: a header naming the metric, then both models ranked.
    let header = out
        .iter()
        .position(|line| line.starts_with("rank") && line.contains("model"))
        .unwrap_or_else(|| panic!("a leaderboard header: {transcript}"));
    assert!(out[header].contains("accuracy") && out[header].contains("fit ms"));
    let ranked = &out[header + 1..header + 3];
    for (rank, line) in ranked.iter().enumerate() {
        assert!(
            line.trim_start().starts_with(&(rank + 1).to_string()) && line.contains(" ± "),
            "a ranked model with mean ± std: `{line}`\n{transcript}"
        );
    }
    for model in ["logistic_regression", "gaussian_nb"] {
        assert!(
            ranked.iter().any(|line| line.contains(model)),
            "{model} ranked: {transcript}"
        );
    }

    let best: u64 = line_after("best model: ")
        .parse()
        .unwrap_or_else(|_| panic!("a model id: {transcript}"));
    let page = line_after("report: ");
    let page_path = page
        .strip_prefix(&url)
        .unwrap_or_else(|| panic!("the page is on the gateway: {transcript}"));
    assert!(page_path.starts_with("/v1/reports/"), "{transcript}");

    // Five predictions, one per row, each a label of the target.
    let table = out
        .iter()
        .position(|line| line == "row, prediction")
        .unwrap_or_else(|| panic!("a prediction table: {transcript}"));
    let predictions = &out[table + 1..];
    assert_eq!(predictions.len(), 5, "{transcript}");
    for (row, line) in predictions.iter().enumerate() {
        let (index, label) = line
            .split_once(", ")
            .unwrap_or_else(|| panic!("`row, prediction`: `{line}`"));
        assert_eq!(index, row.to_string(), "{transcript}");
        assert!(["yes", "no"].contains(&label), "a label: `{line}`");
    }

    // What it made is there for anyone to use.
    let http = Http::new(&address, Some(TOKEN));
    let dataset = http.get("/v1/datasets/shop");
    assert_eq!(dataset.status, 200, "{}", dataset.body);
    assert_eq!(dataset.json()["rows"], 300);
    let model = http.get(&format!("/v1/models/{best}"));
    assert_eq!(model.status, 200, "{}", model.body);
    assert_eq!(model.json()["target"], "label");
    let algorithm = model.json()["algorithm"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        ranked[0].contains(&algorithm),
        "the best model is the first ranked, {algorithm}: {transcript}"
    );
    let report = http.get(page_path);
    assert_eq!(report.status, 200, "{}", report.body);
    assert_eq!(report.content_type, "text/html");
}

#[test]
fn a_wrong_token_fails_with_the_problem_and_no_traceback() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let daemon = gateway_daemon(dir.path(), &format!("token = \"{TOKEN}\""));
    let address = daemon.address("http");
    let csv = write_csv(dir.path(), 50);
    let url = format!("http://{address}");
    let args = [
        "--url",
        &url,
        "--token",
        "not-the-token-at-all",
        &csv,
        "--target",
        "label",
    ];
    let run = run_client(&args, None);
    let transcript = run.transcript();
    assert_eq!(run.status.code(), Some(1), "{transcript}");
    assert!(run.stderr.contains("401 unauthorized"), "{transcript}");
    assert!(!run.stderr.contains("Traceback"), "{transcript}");

    // Nothing was imported.
    let datasets = Http::new(&address, Some(TOKEN)).get("/v1/datasets");
    assert_eq!(datasets.status, 200, "{}", datasets.body);
    assert_eq!(datasets.json().as_array().map(Vec::len), Some(0));
}
