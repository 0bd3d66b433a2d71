//! Helpers shared by the transport tests: contexts, bounded waits, certificates made at test
//! time, servers of the probe, and a log capture.

#![allow(dead_code, unreachable_pub)]

use mltools_transport::conformance::LoopbackTls;
use mltools_transport::tcp::{
    TcpEndpoint, TcpServer, TcpServerConfig, TlsClientConfig, TlsServerConfig,
};
use mltools_transport::test_probe::{
    ProbeClient, ProbeRequest, ProbeResponse, ProbeServer, probe_with,
};
use mltools_transport::{Client, Limits, LinkStatus, ServiceTable};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tarpc::context;

/// The bound on every wait in these tests: generous, so a loaded machine does not fail them,
/// and finite, so a hang fails instead of blocking CI.
pub const WAIT: Duration = Duration::from_secs(10);

/// A context with the default deadline.
pub fn ctx() -> context::Context {
    context::current()
}

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(WAIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// A probe server with its handle, hosted on a plaintext loopback listener.
pub struct ProbeHost {
    pub server: TcpServer,
    pub probe: ProbeServer,
}

/// Hosts the probe on 127.0.0.1 with `config` (its `listen` replaced by port 0 unless set).
pub async fn host(config: TcpServerConfig, limits: Limits) -> ProbeHost {
    let probe = ProbeServer::default();
    let table = ServiceTable::new().with(probe_with(probe.clone(), limits));
    let server = TcpServer::bind(config, table)
        .await
        .expect("the server binds");
    ProbeHost { server, probe }
}

/// A loopback listener config with every default.
pub fn loopback_config() -> TcpServerConfig {
    TcpServerConfig::new("127.0.0.1:0")
}

/// An endpoint for `server`, redialling quickly.
pub fn endpoint(server: &TcpServer) -> TcpEndpoint {
    let mut endpoint = TcpEndpoint::new(server.local_addr().to_string());
    endpoint.backoff_max_ms = 100;
    endpoint
}

/// A probe client over TCP.
pub fn client(
    endpoint: TcpEndpoint,
) -> (
    ProbeClient<Client<ProbeRequest, ProbeResponse>>,
    Client<ProbeRequest, ProbeResponse>,
) {
    let raw = Client::tcp("probe", endpoint).expect("a usable endpoint");
    (ProbeClient::from(raw.clone()), raw)
}

/// Waits until `client`'s connection status satisfies `wanted`.
pub async fn wait_status(
    client: &Client<ProbeRequest, ProbeResponse>,
    what: &str,
    wanted: impl FnMut(&LinkStatus) -> bool,
) {
    let remote = client.remote().expect("a remote client");
    within(what, remote.wait_for(wanted)).await;
}

/// The reason a remote client is down, once it is.
pub async fn down_reason(client: &Client<ProbeRequest, ProbeResponse>) -> String {
    wait_status(client, "the link to go down", |s| {
        matches!(s, LinkStatus::Down { .. })
    })
    .await;
    match client.remote().expect("a remote client").status() {
        LinkStatus::Down { reason } => reason,
        other => panic!("not down: {other:?}"),
    }
}

/// Certificates made for one test: a CA, a server certificate for 127.0.0.1 and localhost,
/// a client certificate, and an unrelated CA.
pub struct Certs {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn write(dir: &Path, name: &str, text: String) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("a writable temp dir");
    path
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).expect("no names is valid");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("a key")).expect("a CA")
}

fn leaf(
    names: &[&str],
    issuer: &CertifiedIssuer<'static, KeyPair>,
) -> (rcgen::Certificate, KeyPair) {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let params = CertificateParams::new(names).expect("valid names");
    let key = KeyPair::generate().expect("a key");
    let cert = params
        .signed_by(&key, issuer)
        .expect("a signed certificate");
    (cert, key)
}

impl Certs {
    /// Makes a fresh set in a temp dir.
    pub fn generate() -> Certs {
        let dir = tempfile::tempdir().expect("a temp dir");
        let authority = ca("mltools test CA");
        let other = ca("some other CA");
        let (server, server_key) = leaf(&["127.0.0.1", "localhost"], &authority);
        let (client, client_key) = leaf(&["client.mltools.test"], &authority);
        let path = dir.path().to_owned();
        Certs {
            ca: write(&path, "ca.pem", authority.pem()),
            other_ca: write(&path, "other-ca.pem", other.pem()),
            server_cert: write(&path, "server.pem", server.pem()),
            server_key: write(&path, "server.key", server_key.serialize_pem()),
            client_cert: write(&path, "client.pem", client.pem()),
            client_key: write(&path, "client.key", client_key.serialize_pem()),
            dir,
        }
    }

    /// The server side; with `require_client_cert`, mutual TLS.
    pub fn server(&self, require_client_cert: bool) -> TlsServerConfig {
        TlsServerConfig {
            client_ca: require_client_cert.then(|| self.ca.clone()),
            ..TlsServerConfig::files(&self.server_cert, &self.server_key)
        }
    }

    /// A client trusting `ca`, with the client certificate when `with_cert`.
    pub fn client(&self, ca: &Path, with_cert: bool) -> TlsClientConfig {
        TlsClientConfig {
            cert: with_cert.then(|| self.client_cert.clone()),
            key: with_cert.then(|| self.client_key.clone()),
            ..TlsClientConfig::ca(ca)
        }
    }

    /// Both sides, mutual TLS, for the conformance helper.
    pub fn loopback(&self) -> LoopbackTls {
        LoopbackTls {
            server: self.server(true),
            client: self.client(&self.ca, true),
        }
    }
}

/// Log lines written while the guard lives, on this thread (the tests run on a
/// current-thread runtime, so the server's tasks log here too).
pub struct Logs {
    lines: Arc<Mutex<Vec<u8>>>,
    written: Arc<tokio::sync::Notify>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>, Arc<tokio::sync::Notify>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        self.1.notify_waiters();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Starts capturing warnings and above.
    pub fn capture() -> Logs {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let written = Arc::new(tokio::sync::Notify::new());
        let sink = Sink(Arc::clone(&lines), Arc::clone(&written));
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        Logs {
            lines,
            written,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().expect("not poisoned")).into_owned()
    }

    /// Waits until a captured line contains every one of `parts`.
    pub async fn wait_for(&self, parts: &[&str]) -> String {
        let what = format!("a log line with {parts:?}; got:\n{}", self.text());
        within(&what, async {
            loop {
                // Registered before the check, so a line written in between still wakes us.
                let written = self.written.notified();
                tokio::pin!(written);
                written.as_mut().enable();
                if let Some(line) = self
                    .text()
                    .lines()
                    .find(|line| parts.iter().all(|part| line.contains(part)))
                {
                    return line.to_owned();
                }
                written.await;
            }
        })
        .await
    }
}

/// The postcard bytes of a `double(value)` request `id` whose deadline is `secs` and `nanos`
/// from now.
pub fn raw_double(id: u64, value: u32, secs: u64, nanos: u32) -> Vec<u8> {
    mltools_transport::test_probe::raw_request(
        mltools_transport::Codec::Postcard,
        id,
        (secs, nanos),
        ProbeRequest::Double { value },
    )
    .expect("postcard encodes")
}

/// The deadlines a hostile client may send that a `Duration` holds: none, one second, and
/// the extremes (`i64::MAX` and `u64::MAX` seconds, the largest nanos), each with the id of
/// its request.
pub const EXTREME_DEADLINES: [(u64, u64, u32); 5] = [
    (1, 0, 0),
    (2, 1, 0),
    (3, i64::MAX as u64, 0),
    (4, u64::MAX, 0),
    (5, u64::MAX, 999_999_999),
];

/// The id and answer of a response frame to a `double`.
pub fn decode_double(frame: &[u8]) -> (u64, Result<u32, String>) {
    use mltools_transport::codec::Incoming as _;
    use mltools_transport::test_probe::ProbeResponse;
    let response =
        tarpc::Response::<ProbeResponse>::decode(mltools_transport::Codec::Postcard, frame)
            .expect("a response");
    let answer = match response.message {
        Ok(ProbeResponse::Double(value)) => Ok(value),
        Ok(other) => Err(format!("{other:?}")),
        Err(error) => Err(error.to_string()),
    };
    (response.request_id, answer)
}
