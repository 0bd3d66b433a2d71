//! How calls map onto QUIC streams, measured: one long bi-stream per channel (what the
//! `quic` transport does) against a new bi-stream per call, on bare quinn and through the
//! whole stack (tarpc over QUIC, with TLS-TCP beside it for reference).
//!
//! Echo calls on 127.0.0.1: the median (p50) of sequential calls at three payload sizes,
//! and calls per second with 64 concurrent callers at 64 B. Bare quinn's long stream is a
//! ping-pong of length-prefixed messages (one caller at a time: a single stream has no
//! request ids to multiplex on), so its concurrent column is empty; tarpc multiplexes many
//! calls on its one stream.
//!
//! Run with `cargo bench -p mltools-transport --features quic --bench quic`; prints a table.

#[path = "../tests/common/mod.rs"]
#[allow(missing_docs)]
mod common;

use common::Certs;
use mltools_transport::conformance::{LoopbackOptions, TransportKind, loopback};
use mltools_transport::test_probe::{ProbeClient, probe};
use serde_bytes::ByteBuf;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const SIZES: [usize; 3] = [64, 64 * 1024, 1024 * 1024];
const CALLERS: usize = 64;
const CONCURRENT_FOR: Duration = Duration::from_secs(2);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Sequential calls of `size` for about a second (at least 20): the median.
async fn p50<F, Fut>(size: usize, mut call: F) -> Duration
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = Vec<u8>>,
{
    let payload = vec![0xA5u8; size];
    for _ in 0..5 {
        assert_eq!(call(payload.clone()).await.len(), size);
    }
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 20 || (started.elapsed() < Duration::from_secs(1) && times.len() < 20_000) {
        let at = Instant::now();
        let back = call(payload.clone()).await;
        times.push(at.elapsed());
        assert_eq!(back.len(), size);
    }
    times.sort();
    times[times.len() / 2]
}

/// Calls per second with [`CALLERS`] concurrent callers of 64 B.
async fn throughput<F, Fut>(call: F) -> f64
where
    F: Fn(Vec<u8>) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Vec<u8>> + Send,
{
    let started = Instant::now();
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let call = call.clone();
        callers.push(tokio::spawn(async move {
            let mut calls = 0u64;
            while started.elapsed() < CONCURRENT_FOR {
                assert_eq!(call(vec![1; 64]).await.len(), 64);
                calls += 1;
            }
            calls
        }));
    }
    let mut total = 0;
    for caller in callers {
        total += caller.await.expect("a caller");
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn server_crypto(certs: &Certs) -> quinn::ServerConfig {
    let chain = CertificateDer::pem_file_iter(&certs.server_cert)
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(&certs.server_key).expect("key");
    let mut tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls 1.3")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("a usable cert");
    tls.alpn_protocols = vec![b"bench".to_vec()];
    quinn::ServerConfig::with_crypto(Arc::new(
        quinn::crypto::rustls::QuicServerConfig::try_from(tls).expect("quic tls"),
    ))
}

fn client_crypto(certs: &Certs) -> quinn::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&certs.ca).expect("ca"))
        .expect("ca");
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("tls 1.3")
        .with_root_certificates(roots)
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"bench".to_vec()];
    quinn::ClientConfig::new(Arc::new(
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).expect("quic tls"),
    ))
}

/// A bare quinn echo server: on a long stream, length-prefixed messages echoed one by one;
/// on a stream per call, everything read echoed and finished.
fn echo_server(certs: &Certs) -> (quinn::Endpoint, SocketAddr) {
    let endpoint =
        quinn::Endpoint::server(server_crypto(certs), "127.0.0.1:0".parse().expect("addr"))
            .expect("bind");
    let address = endpoint.local_addr().expect("addr");
    let accepting = endpoint.clone();
    tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            tokio::spawn(async move {
                let Ok(connection) = incoming.await else {
                    return;
                };
                while let Ok((mut send, mut recv)) = connection.accept_bi().await {
                    tokio::spawn(async move {
                        let mut kind = [0u8; 1];
                        if recv.read_exact(&mut kind).await.is_err() {
                            return;
                        }
                        if kind[0] == b'L' {
                            let mut len = [0u8; 4];
                            while recv.read_exact(&mut len).await.is_ok() {
                                let mut body = vec![0; u32::from_be_bytes(len) as usize];
                                if recv.read_exact(&mut body).await.is_err() {
                                    return;
                                }
                                if send.write_all(&len).await.is_err()
                                    || send.write_all(&body).await.is_err()
                                {
                                    return;
                                }
                            }
                        } else if let Ok(body) = recv.read_to_end(usize::MAX).await {
                            let _ = send.write_all(&body).await;
                            let _ = send.finish();
                            let _ = send.stopped().await;
                        }
                    });
                }
            });
        }
    });
    (endpoint, address)
}

async fn connect(certs: &Certs, address: SocketAddr) -> quinn::Connection {
    let endpoint = quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("bind");
    endpoint
        .connect_with(client_crypto(certs), address, "localhost")
        .expect("connect")
        .await
        .expect("handshake")
}

async fn per_call(connection: quinn::Connection, payload: Vec<u8>) -> Vec<u8> {
    let (mut send, mut recv) = connection.open_bi().await.expect("a stream");
    send.write_all(b"C").await.expect("write");
    send.write_all(&payload).await.expect("write");
    send.finish().expect("finish");
    recv.read_to_end(usize::MAX).await.expect("read")
}

fn row(name: &str, p50s: &[Duration], rate: Option<f64>) {
    let cells: Vec<String> = p50s.iter().map(|d| format!("{d:.1?}")).collect();
    let rate = rate.map_or("—".to_owned(), |r| format!("{:.0}", r));
    println!("| {name} | {} | {rate} |", cells.join(" | "));
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    let certs = Certs::generate();
    println!("| path | 64 B p50 | 64 KiB p50 | 1 MiB p50 | calls/s, {CALLERS} callers, 64 B |");
    println!("|---|---|---|---|---|");

    let (_server, address) = echo_server(&certs);
    // Bare quinn, one long bi-stream: length-prefixed ping-pong.
    let connection = connect(&certs, address).await;
    let (send, recv) = connection.open_bi().await.expect("a stream");
    let long = Arc::new(tokio::sync::Mutex::new((send, recv)));
    long.lock().await.0.write_all(b"L").await.expect("write");
    let mut p50s = Vec::new();
    for size in SIZES {
        let long = Arc::clone(&long);
        p50s.push(
            p50(size, move |payload| {
                let long = Arc::clone(&long);
                async move {
                    let mut guard = long.lock().await;
                    let (send, recv) = &mut *guard;
                    let len = u32::try_from(payload.len()).expect("small").to_be_bytes();
                    send.write_all(&len).await.expect("write");
                    send.write_all(&payload).await.expect("write");
                    let mut len = [0u8; 4];
                    recv.read_exact(&mut len).await.expect("read");
                    let mut body = vec![0; u32::from_be_bytes(len) as usize];
                    recv.read_exact(&mut body).await.expect("read");
                    body
                }
            })
            .await,
        );
    }
    row("quinn, one long bi-stream (ping-pong)", &p50s, None);

    // Bare quinn, a new bi-stream per call.
    let connection = connect(&certs, address).await;
    let mut p50s = Vec::new();
    for size in SIZES {
        let connection = connection.clone();
        p50s.push(p50(size, move |payload| per_call(connection.clone(), payload)).await);
    }
    let rate = {
        let connection = connection.clone();
        throughput(move |payload| per_call(connection.clone(), payload)).await
    };
    row("quinn, a new bi-stream per call", &p50s, Some(rate));

    // The whole stack: tarpc over the quic transport (one long stream) and over TLS-TCP.
    for kind in [TransportKind::Quic, TransportKind::TlsTcp] {
        let options = LoopbackOptions {
            tls: Some(certs.loopback()),
            ..LoopbackOptions::default()
        };
        let host = loopback(kind, probe(), &options)
            .await
            .expect("a loopback host");
        let client = ProbeClient::from(host.client());
        let call = move |payload: Vec<u8>| {
            let client = client.clone();
            async move {
                client
                    .echo(tarpc::context::current(), ByteBuf::from(payload))
                    .await
                    .expect("an echo")
                    .into_vec()
            }
        };
        let mut p50s = Vec::new();
        for size in SIZES {
            p50s.push(p50(size, call.clone()).await);
        }
        let rate = throughput(call).await;
        row(&format!("mltools tarpc over {kind}"), &p50s, Some(rate));
    }
}
