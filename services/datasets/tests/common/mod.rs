//! Helpers shared by the integration tests: a state over a temporary directory, CSV
//! sources, error assertions and tiny HTTP servers.

#![allow(dead_code, unreachable_pub)]

use mltools_core::ErrorKind;
use mltools_core::datasets::{DatasetInfo, ImportRequest, Source};
use mltools_datasets::{DatasetsConfig, DatasetsError, DatasetsState};
use std::fmt::Debug;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tempfile::TempDir;

/// How long a test waits for anything before failing.
pub const WAIT: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test if it takes longer than [`WAIT`].
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("the awaited event happens in time")
}

/// A state over its own temporary directory (removed when dropped).
pub struct Harness {
    pub dir: TempDir,
    pub state: DatasetsState,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut DatasetsConfig)) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = DatasetsConfig::with_data_dir(dir.path());
        adjust(&mut config);
        let state = DatasetsState::open(config).expect("the state opens");
        Harness { dir, state }
    }

    /// Imports CSV text under `name`.
    pub async fn import(&self, name: &str, text: &str) -> DatasetInfo {
        self.state
            .import(ImportRequest::new(bytes(name, text)).name(name))
            .await
            .expect("the import succeeds")
    }

    /// A connection to the database file, behind the state's back.
    pub fn raw(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.dir.path().join("datasets.db")).unwrap()
    }

    /// Counts the rows of a table in the database file, read behind the state's back.
    pub fn count(&self, table: &str) -> i64 {
        self.raw()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    }

    /// Row counts of the tables that hold data: datasets, versions, chunks, version_chunks.
    pub fn counts(&self) -> [i64; 4] {
        ["datasets", "versions", "chunks", "version_chunks"].map(|table| self.count(table))
    }

    /// Checkpoints the write-ahead log into the database file (truncating the log) and
    /// returns the file's size and its free pages.
    pub fn checkpoint(&self) -> (u64, i64) {
        let connection = self.raw();
        let busy: i64 = connection
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))
            .unwrap();
        assert_eq!(busy, 0, "the checkpoint completed");
        let free = connection
            .query_row("PRAGMA freelist_count", [], |row| row.get(0))
            .unwrap();
        let size = std::fs::metadata(self.dir.path().join("datasets.db"))
            .unwrap()
            .len();
        (size, free)
    }
}

/// CSV text sent as bytes, labelled `<label>.csv`.
pub fn bytes(label: &str, text: &str) -> Source {
    Source::Bytes {
        label: format!("{label}.csv"),
        data: text.as_bytes().to_vec(),
    }
}

/// Asserts an error of `kind` whose message contains every needle.
#[track_caller]
pub fn assert_error<T: Debug>(result: Result<T, DatasetsError>, kind: ErrorKind, needles: &[&str]) {
    let error = result.expect_err("the call should fail");
    assert_eq!(error.kind(), kind, "{error}");
    let message = error.to_string();
    for needle in needles {
        assert!(
            message.contains(needle),
            "`{message}` should mention `{needle}`"
        );
    }
}

/// A server on 127.0.0.1 that answers one request with `response`; returns the base URL.
pub fn serve_once(response: Vec<u8>) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            read_request(&mut stream);
            let _ = stream.write_all(&response);
        }
    });
    (url, handle)
}

/// A server that accepts one connection and never answers; the thread ends when the
/// client gives up and closes (or after 10 s at the latest).
pub fn serve_silence() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    (url, handle)
}

/// A server that answers one request with `response` once the test lets it: it reports
/// the request on `accepted`, then waits for `release` (or the test's end).
pub struct GatedServer {
    pub url: String,
    pub accepted: tokio::sync::oneshot::Receiver<()>,
    pub release: mpsc::Sender<()>,
    pub thread: JoinHandle<()>,
}

pub fn serve_gated(response: Vec<u8>) -> GatedServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (accepted_tx, accepted) = tokio::sync::oneshot::channel();
    let (release, released) = mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            read_request(&mut stream);
            let _ = accepted_tx.send(());
            if released.recv_timeout(WAIT).is_ok() {
                let _ = stream.write_all(&response);
            }
        }
    });
    GatedServer {
        url,
        accepted,
        release,
        thread,
    }
}

/// An HTTP/1.1 response with a body and no `Content-Length`: the body ends when the
/// connection closes.
pub fn http_unsized_response(body: &str) -> Vec<u8> {
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n{body}")
        .into_bytes()
}

/// A server that answers one request with headers announcing a body, then never sends it;
/// the thread ends when the client gives up and closes (or after 10 s at the latest).
pub fn serve_headers_only() -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            read_request(&mut stream);
            let headers = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\na,b\n";
            let _ = stream.write_all(headers.as_bytes());
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        }
    });
    (url, handle)
}

/// An HTTP/1.1 response with a body.
pub fn http_response(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn read_request(stream: &mut TcpStream) {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => request.extend_from_slice(&buffer[..read]),
        }
    }
}
