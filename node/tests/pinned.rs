//! A node listening with a self-signed certificate (`tls = { self_signed = "DIR" }`), as a
//! real daemon: the fingerprint it logs is what `mltools certs fingerprint` prints, a
//! restart from the same directory keeps it, and nodes pinning it reach its services over
//! QUIC and TLS-TCP with the token (a wrong pin fails their start, saying so). Malformed
//! pins and TLS keys that do not go together are configuration errors naming the key.

use mltools_core::RpcResultExt;
use mltools_node::{NodeBuilder, NodeConfig};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use tarpc::context;

/// The bound on every wait for the daemon.
const WAIT: Duration = Duration::from_secs(30);

/// Lines read from a pipe by a thread of their own.
fn lines(pipe: impl Read + Send + 'static) -> mpsc::Receiver<String> {
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

/// A daemon, killed when dropped (so a failing test leaves no process behind).
struct Daemon {
    child: Child,
    quic: String,
    tcp: String,
    /// The fingerprint its log line announced.
    fingerprint: String,
    /// Whether it said it generated the pair.
    generated: bool,
    /// Kept so that the reader threads go on draining its output: a full pipe would block
    /// the daemon.
    _output: [mpsc::Receiver<String>; 2],
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `sha256:<64 hex>` in `line`, if any.
fn fingerprint_in(line: &str) -> Option<String> {
    let start = line.find("sha256:")?;
    let candidate: String = line[start..].chars().take(7 + 64).collect();
    let hex = &candidate[7..];
    (hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(candidate)
}

impl Daemon {
    /// Starts `mltools node` with `config` and reads its addresses and logged fingerprint.
    fn start(config: &Path) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mltools"))
            .args(["--config", config.to_str().unwrap(), "node"])
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env_remove("MLTOOLS_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let ready = stdout
            .recv_timeout(WAIT)
            .expect("the daemon says it is ready");
        let address = |transport: &str| {
            let marker = format!("listening on {transport} ");
            let (_, rest) = ready
                .split_once(&marker)
                .unwrap_or_else(|| panic!("no {transport} address in `{ready}`"));
            rest.split([';', ')']).next().unwrap().to_owned()
        };
        let (quic, tcp) = (address("quic"), address("tcp"));
        // The log lines were written before the ready line; both listeners announce the
        // same certificate.
        let mut fingerprints = Vec::new();
        let mut generated = false;
        while fingerprints.len() < 2 {
            let line = stderr
                .recv_timeout(WAIT)
                .expect("the daemon logs its certificate");
            generated |= line.contains("generated a self-signed TLS certificate");
            if line.contains("TLS certificate loaded") {
                fingerprints.push(fingerprint_in(&line).expect("a fingerprint in the line"));
            }
        }
        assert_eq!(fingerprints[0], fingerprints[1]);
        Daemon {
            child,
            quic,
            tcp,
            fingerprint: fingerprints.remove(0),
            generated,
            _output: [stdout, stderr],
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
             quic = {{ listen = \"127.0.0.1:0\", tls = {{ self_signed = \"{0}\" }}, token = \"s3cret\" }}\n\
             tcp = {{ listen = \"127.0.0.1:0\", tls = {{ self_signed = \"{0}\" }}, token = \"s3cret\" }}\n\
             [datasets]\ndata_dir = \"{1}\"\n[models]\ndata_dir = \"{1}\"\n",
            pair.display(),
            dir.path().join("data").display()
        ),
    )
    .unwrap();

    let first = Daemon::start(&config);
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
    let daemon = Daemon::start(&config);
    assert!(!daemon.generated, "a restart loads the pair");
    assert_eq!(daemon.fingerprint, fingerprint);

    // Nodes pinning it reach its services, over QUIC and over TLS-TCP, with the token.
    for at in [
        format!(
            "{{ quic = {{ address = \"{}\", token = \"s3cret\", tls = {{ fingerprint = \"{fingerprint}\" }} }} }}",
            daemon.quic
        ),
        format!(
            "{{ tcp = {{ address = \"{}\", token = \"s3cret\", tls = {{ fingerprint = \"{fingerprint}\" }} }} }}",
            daemon.tcp
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
        "{{ quic = {{ address = \"{}\", token = \"s3cret\", tls = {{ fingerprint = \"{wrong}\" }} }} }}",
        daemon.quic
    );
    let started = NodeBuilder::from_config(client_config(&at, &dir.path().join("client")))
        .start()
        .await;
    let Err(error) = started else {
        panic!("a wrong pin fails the start");
    };
    let error = error.to_string();
    assert!(error.contains(&daemon.quic), "{error}");
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
