//! `mltools node` as a real process: ready, serving, and a clean exit on SIGTERM.

mod support;

use std::process::Command;
use support::{Daemon, WAIT};

#[test]
fn sigterm_stops_the_daemon_cleanly_with_exit_code_0() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"solo\"\nshutdown_grace_ms = 2000\n\n[datasets]\ndata_dir = \"{0}\"\n\n[models]\ndata_dir = \"{0}\"\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start(&config);
    let ready = daemon.ready();
    assert!(
        ready.starts_with("node solo ready (serving datasets, utils, models, lab)"),
        "{ready}"
    );

    daemon.terminate();
    let stopped = daemon
        .next_stdout_line(WAIT)
        .expect("the daemon says it stopped");
    assert_eq!(stopped, "node solo stopped (SIGTERM)");
    let exit = daemon.exit_within(WAIT).expect("the daemon exits");
    assert_eq!(exit.code(), Some(0));
}

#[test]
fn a_config_with_an_unknown_key_fails_start_up_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(&config, "[node]\nname = \"solo\"\nlisten_at = 1\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mltools"))
        .args(["--config", config.to_str().unwrap(), "node"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("listen_at"), "{stderr}");
}

#[test]
fn the_cluster_example_configs_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .extension()
            .is_some_and(|extension| extension == "toml")
        {
            mltools_node::NodeConfig::load(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            checked += 1;
        }
    }
    assert_eq!(checked, 6, "three nodes, over TCP and over QUIC");
}
