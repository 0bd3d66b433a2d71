//! Running the `mltools` binary from tests.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

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
