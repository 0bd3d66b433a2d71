//! A node listening with a self-signed certificate (`tls = { self_signed = "DIR" }`), as a
//! real daemon: the fingerprint it logs is what `mltools certs fingerprint` prints, a
//! restart from the same directory keeps it, and nodes pinning it reach its services over
//! QUIC and TLS-TCP with the token (a wrong pin fails their start, saying so). Malformed
//! pins and TLS keys that do not go together are configuration errors naming the key.

mod support;

use mltools_core::RpcResultExt;
use mltools_node::{NodeBuilder, NodeConfig};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::{Daemon, WAIT};
use tarpc::context;

/// A daemon listening with a self-signed certificate, and what it logged about it.
struct SelfSigned {
    daemon: Daemon,
    /// The fingerprint its log line announced.
    fingerprint: String,
    /// Whether it said it generated the pair.
    generated: bool,
}

/// The `sha256:<64 hex>` in `line`, if any.
fn fingerprint_in(line: &str) -> Option<String> {
    let start = line.find("sha256:")?;
    let candidate: String = line[start..].chars().take(7 + 64).collect();
    let hex = &candidate[7..];
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(candidate)
}

impl SelfSigned {
    /// Starts `mltools node` with `config` and reads the fingerprint it logged.
    fn start(config: &Path) -> SelfSigned {
        let daemon = Daemon::start_with(config, &[("RUST_LOG", "info"), ("NO_COLOR", "1")]);
        // The log lines were written before the ready line; both listeners announce the
        // same certificate.
        let mut fingerprints = Vec::new();
        let mut generated = false;
        while fingerprints.len() < 2 {
            let line = daemon
                .stderr_line(
                    |line| {
                        generated |= line.contains("generated a self-signed TLS certificate");
                        line.contains("TLS certificate loaded")
                    },
                    WAIT,
                )
                .expect("the daemon logs its certificate");
            fingerprints.push(fingerprint_in(&line).expect("a fingerprint in the line"));
        }
        assert_eq!(fingerprints[0], fingerprints[1]);
        SelfSigned {
            daemon,
            fingerprint: fingerprints.remove(0),
            generated,
        }
    }
}

fn mltools(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mltools"))
        .args(args)
        .env_remove("MLTOOLS_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("the mltools binary runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "mltools failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A node hosting nothing, reaching datasets `at`.
fn client_config(at: &str, data: &Path) -> NodeConfig {
    let mut config = NodeConfig::parse(&format!(
        "[node]\nserve = []\n[services.datasets]\nat = {at}\n"
    ))
    .unwrap();
    config.datasets.data_dir = data.to_owned();
    config.models.data_dir = data.to_owned();
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_signed_daemon_is_pinned_by_the_fingerprint_the_cli_prints() {
    let dir = tempfile::tempdir().unwrap();
    let pair = dir.path().join("tls");
    let config = dir.path().join("data.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"data\"\nserve = [\"datasets\"]\n\
             [node.listen]\n\
             quic = {{ listen = \"127.0.0.1:0\", tls = {{ self_signed = \"{0}\" }}, token = \"s3cret-token-of-16-bytes\" }}\n\
             tcp = {{ listen = \"127.0.0.1:0\", tls = {{ self_signed = \"{0}\" }}, token = \"s3cret-token-of-16-bytes\" }}\n\
             [datasets]\ndata_dir = \"{1}\"\n[models]\ndata_dir = \"{1}\"\n",
            pair.display(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();

    let first = SelfSigned::start(&config);
    assert!(first.generated, "the first start makes the pair");
    let fingerprint = first.fingerprint.clone();
    let printed = stdout(&mltools(&["certs", "fingerprint", pair.to_str().unwrap()]));
    assert_eq!(printed, fingerprint);
    let cert = pair.join("cert.pem");
    let printed = stdout(&mltools(&["certs", "fingerprint", cert.to_str().unwrap()]));
    assert_eq!(printed, fingerprint);
    let json: serde_json::Value = serde_json::from_str(&stdout(&mltools(&[
        "--json",
        "certs",
        "fingerprint",
        cert.to_str().unwrap(),
    ])))
    .unwrap();
    assert_eq!(json["fingerprint"], fingerprint.as_str());

    // A restart from the same directory presents the same certificate.
    drop(first);
    let again = SelfSigned::start(&config);
    assert!(!again.generated, "a restart loads the pair");
    assert_eq!(again.fingerprint, fingerprint);
    let (quic, tcp) = (again.daemon.address("quic"), again.daemon.address("tcp"));

    // Nodes pinning it reach its services, over QUIC and over TLS-TCP, with the token.
    for at in [
        format!(
            "{{ quic = {{ address = \"{}\", token = \"s3cret-token-of-16-bytes\", tls = {{ fingerprint = \"{fingerprint}\" }} }} }}",
            quic
        ),
        format!(
            "{{ tcp = {{ address = \"{}\", token = \"s3cret-token-of-16-bytes\", tls = {{ fingerprint = \"{fingerprint}\" }} }} }}",
            tcp
        ),
    ] {
        let node = NodeBuilder::from_config(client_config(&at, &dir.path().join("client")))
            .start()
            .await
            .unwrap_or_else(|error| panic!("{at}: {error}"));
        let listed = node
            .datasets()
            .unwrap()
            .list(context::current())
            .await
            .into_service("datasets")
            .unwrap();
        assert!(listed.is_empty());
        assert!(node.shutdown_within(Duration::from_secs(5)).await);
    }

    // A wrong pin fails the node's start, showing what the server presented.
    let wrong = format!("sha256:{}", "0".repeat(64));
    let at = format!(
        "{{ quic = {{ address = \"{}\", token = \"s3cret-token-of-16-bytes\", tls = {{ fingerprint = \"{wrong}\" }} }} }}",
        quic
    );
    let started = NodeBuilder::from_config(client_config(&at, &dir.path().join("client")))
        .start()
        .await;
    let Err(error) = started else {
        panic!("a wrong pin fails the start");
    };
    let error = error.to_string();
    assert!(error.contains(&quic), "{error}");
    assert!(
        error.contains(&format!(
            "the server's certificate does not match the pinned fingerprint: it presented {fingerprint}, the pin is {wrong}"
        )),
        "{error}"
    );
}

#[test]
fn malformed_pins_and_mismatched_tls_keys_are_config_errors_naming_the_key() {
    for transport in ["quic", "tcp"] {
        let text = format!(
            "[node]\nserve = []\n[services.datasets]\n\
             at = {{ {transport} = {{ address = \"127.0.0.1:4433\", tls = {{ fingerprint = \"sha1:ab\" }} }} }}\n"
        );
        let error = NodeConfig::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains(
                "services.datasets.at: tls.fingerprint = \"sha1:ab\" is not a certificate pin"
            ),
            "{error}"
        );
        assert!(
            error.contains("expected `sha256:` and 64 hex digits"),
            "{error}"
        );

        let text = format!(
            "[node]\nserve = []\n[services.datasets]\n\
             at = {{ {transport} = {{ address = \"127.0.0.1:4433\", tls = {{ ca = \"ca.pem\", fingerprint = \"sha256:{}\" }} }} }}\n",
            "ab".repeat(32)
        );
        let error = NodeConfig::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("tls has both `ca` and `fingerprint`"),
            "{error}"
        );

        let text = format!(
            "[node]\nserve = [\"datasets\"]\n\
             listen = {{ {transport} = {{ listen = \"127.0.0.1:0\", tls = {{ cert = \"c.pem\", key = \"k.pem\", self_signed = \"tls\" }} }} }}\n"
        );
        let error = NodeConfig::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains(&format!(
                "node.listen.{transport}: tls has `self_signed` and `cert`/`key`"
            )),
            "{error}"
        );
    }
}
