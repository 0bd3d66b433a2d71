//! The baselines: a bare mpsc + oneshot round trip, bare TCP (ping-pong and multiplexed)
//! with its echo server, bare quinn with its echo server, and the certificates of both
//! QUIC sides.

use crate::{ALPN_BARE, Caller, Result, TCP_BUFFER, failed};
use mltools::transport::certs;
use mltools::transport::conformance::LoopbackTls;
use mltools::transport::tcp::{TlsClientConfig, TlsServerConfig};
use serde_bytes::ByteBuf;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The floor of the in-process transports: a request over a bounded mpsc to a task,
/// answered through a oneshot.
#[derive(Clone)]
pub(crate) struct Mpsc(pub(crate) mpsc::Sender<(ByteBuf, oneshot::Sender<ByteBuf>)>);

impl Mpsc {
    pub(crate) fn start(tasks: &mut JoinSet<()>) -> Mpsc {
        let (requests, mut incoming) = mpsc::channel::<(ByteBuf, oneshot::Sender<ByteBuf>)>(1024);
        tasks.spawn(async move {
            while let Some((payload, reply)) = incoming.recv().await {
                // A caller that gave up is no concern of the echo task.
                let _ = reply.send(payload);
            }
        });
        Mpsc(requests)
    }
}

impl Caller for Mpsc {
    async fn call(&self, payload: ByteBuf) -> Result<ByteBuf> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send((payload, reply))
            .await
            .map_err(|_| "the mpsc echo task stopped")?;
        Ok(answer
            .await
            .map_err(|_| "the mpsc echo task dropped a call")?)
    }
}

/// Bare TCP, one call at a time on one connection: a length-prefixed frame out, one back.
#[derive(Clone)]
pub(crate) struct PingPong(pub(crate) Arc<Mutex<TcpFrames>>);

pub(crate) struct TcpFrames {
    pub(crate) reader: BufReader<OwnedReadHalf>,
    pub(crate) writer: BufWriter<OwnedWriteHalf>,
}

impl TcpFrames {
    pub(crate) fn new(stream: TcpStream) -> io::Result<TcpFrames> {
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        Ok(TcpFrames {
            reader: BufReader::with_capacity(TCP_BUFFER, read),
            writer: BufWriter::with_capacity(TCP_BUFFER, write),
        })
    }
}

impl PingPong {
    pub(crate) async fn connect(address: SocketAddr) -> Result<PingPong> {
        let stream = TcpStream::connect(address)
            .await
            .and_then(TcpFrames::new)
            .map_err(|error| failed("a bare TCP connection", error))?;
        Ok(PingPong(Arc::new(Mutex::new(stream))))
    }
}

impl Caller for PingPong {
    async fn call(&self, payload: ByteBuf) -> Result<ByteBuf> {
        let mut frames = self.0.lock().await;
        let frames = &mut *frames;
        write_frame(&mut frames.writer, &[&payload[..]])
            .await
            .map_err(|error| failed("a bare TCP write", error))?;
        frames
            .writer
            .flush()
            .await
            .map_err(|error| failed("a bare TCP flush", error))?;
        let answer = read_frame(&mut frames.reader)
            .await
            .map_err(|error| failed("a bare TCP read", error))?;
        Ok(ByteBuf::from(answer))
    }
}

/// Bare TCP with many calls in flight on one connection: one writer task fed by an mpsc,
/// one reader task, a request id per call and a map id → oneshot. A frame is the id (u64)
/// and the payload; the echo server sends it back whole.
#[derive(Clone)]
pub(crate) struct Multiplexed {
    pub(crate) requests: mpsc::Sender<(u64, ByteBuf)>,
    pub(crate) waiting: Arc<std::sync::Mutex<HashMap<u64, oneshot::Sender<ByteBuf>>>>,
    pub(crate) next_id: Arc<AtomicU64>,
}

impl Multiplexed {
    pub(crate) async fn connect(
        address: SocketAddr,
        tasks: &mut JoinSet<()>,
    ) -> Result<Multiplexed> {
        let TcpFrames {
            mut reader,
            mut writer,
        } = TcpStream::connect(address)
            .await
            .and_then(TcpFrames::new)
            .map_err(|error| failed("a bare multiplexed TCP connection", error))?;
        let (requests, mut outgoing) = mpsc::channel::<(u64, ByteBuf)>(1024);
        let waiting = Arc::new(std::sync::Mutex::new(HashMap::<
            u64,
            oneshot::Sender<ByteBuf>,
        >::new()));
        // A broken connection ends both tasks; the calls then waiting fail as their
        // answers' senders drop.
        tasks.spawn(async move {
            while let Some((id, payload)) = outgoing.recv().await {
                let mut sent =
                    write_frame(&mut writer, &[&id.to_be_bytes()[..], &payload[..]]).await;
                // Everything queued meanwhile goes out in the same flush.
                while sent.is_ok()
                    && let Ok((id, payload)) = outgoing.try_recv()
                {
                    sent = write_frame(&mut writer, &[&id.to_be_bytes()[..], &payload[..]]).await;
                }
                if sent.is_err() || writer.flush().await.is_err() {
                    return;
                }
            }
        });
        let answers = Arc::clone(&waiting);
        tasks.spawn(async move {
            while let Ok(body) = read_frame(&mut reader).await {
                let Some((id, payload)) = body.split_first_chunk::<8>() else {
                    return;
                };
                let id = u64::from_be_bytes(*id);
                let Ok(mut waiting) = answers.lock() else {
                    return;
                };
                if let Some(caller) = waiting.remove(&id) {
                    let _ = caller.send(ByteBuf::from(payload.to_vec()));
                }
            }
        });
        Ok(Multiplexed {
            requests,
            waiting,
            next_id: Arc::new(AtomicU64::new(0)),
        })
    }
}

impl Caller for Multiplexed {
    async fn call(&self, payload: ByteBuf) -> Result<ByteBuf> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.waiting
            .lock()
            .map_err(|_| "the map of waiting calls is poisoned")?
            .insert(id, reply);
        self.requests
            .send((id, payload))
            .await
            .map_err(|_| "the multiplexed writer stopped")?;
        Ok(answer
            .await
            .map_err(|_| "the multiplexed connection broke")?)
    }
}

/// Bare quinn: one long bi-stream, a length-prefixed frame out, one back.
#[derive(Clone)]
pub(crate) struct QuinnStream(pub(crate) Arc<Mutex<(quinn::SendStream, quinn::RecvStream)>>);

impl QuinnStream {
    pub(crate) async fn connect(tls: &Tls, address: SocketAddr) -> Result<QuinnStream> {
        let (_endpoint, connection) = quinn_connect(tls, address).await?;
        let stream = connection
            .open_bi()
            .await
            .map_err(|error| failed("a bare quinn bi-stream", error))?;
        Ok(QuinnStream(Arc::new(Mutex::new(stream))))
    }
}

impl Caller for QuinnStream {
    async fn call(&self, payload: ByteBuf) -> Result<ByteBuf> {
        let mut stream = self.0.lock().await;
        let (send, recv) = &mut *stream;
        write_frame(send, &[&payload[..]])
            .await
            .map_err(|error| failed("a bare quinn write", error))?;
        let answer = read_frame(recv)
            .await
            .map_err(|error| failed("a bare quinn read", error))?;
        Ok(ByteBuf::from(answer))
    }
}

/// A frame: the parts' total length (u32, big-endian), then the parts.
async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, parts: &[&[u8]]) -> io::Result<()> {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let len = u32::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a frame of 4 GiB or more"))?;
    writer.write_all(&len.to_be_bytes()).await?;
    for part in parts {
        writer.write_all(part).await?;
    }
    Ok(())
}

async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Vec<u8>> {
    let len = reader.read_u32().await?;
    let mut body = vec![0; len as usize];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

/// Whether `buffered` holds a whole frame, so the echo can answer it before flushing.
fn holds_whole_frame(buffered: &[u8]) -> bool {
    match buffered.first_chunk::<4>() {
        Some(len) => buffered.len() - 4 >= u32::from_be_bytes(*len) as usize,
        None => false,
    }
}

/// A bare TCP echo server: every frame sent back whole, in order; answers are flushed
/// once no whole frame is left in the read buffer (several at once when calls pile up).
pub(crate) async fn bare_tcp_server(tasks: &mut JoinSet<()>) -> Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|error| failed("a bare TCP listener", error))?;
    let address = listener
        .local_addr()
        .map_err(|error| failed("the bare listener's address", error))?;
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            while connections.try_join_next().is_some() {}
            connections.spawn(async move {
                let Ok(TcpFrames {
                    mut reader,
                    mut writer,
                }) = TcpFrames::new(stream)
                else {
                    return;
                };
                while let Ok(body) = read_frame(&mut reader).await {
                    if write_frame(&mut writer, &[&body[..]]).await.is_err() {
                        return;
                    }
                    if !holds_whole_frame(reader.buffer()) && writer.flush().await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(address)
}

/// Certificates for both ends: ours take the paths, the bare quinn ends the rustls configs.
pub(crate) struct Tls {
    pub(crate) ours: LoopbackTls,
    pub(crate) bare_server: quinn::ServerConfig,
    pub(crate) bare_client: quinn::ClientConfig,
}

/// A CA and a server certificate for 127.0.0.1 and localhost, made now (`certs::init`, the
/// same rcgen path `mltools certs init` takes). The server does not ask for a client
/// certificate, on either the bare or our side.
pub(crate) fn make_certs(dir: &Path) -> Result<Tls> {
    let files = certs::init(
        dir,
        &["server".to_owned()],
        &["127.0.0.1".to_owned(), "localhost".to_owned()],
    )
    .map_err(|error| failed("certificates for the bench", error))?;
    let (cert, key) = files
        .nodes
        .first()
        .ok_or("certs::init made no server certificate")?;
    let provider = || Arc::new(rustls::crypto::ring::default_provider());

    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| failed("the server certificate's file", error))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| failed("the server certificate's PEM", error))?;
    let private =
        PrivateKeyDer::from_pem_file(key).map_err(|error| failed("the server key's PEM", error))?;
    let mut server = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|error| failed("TLS 1.3 for the bare server", error))?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(|error| failed("the bare server's certificate", error))?;
    server.alpn_protocols = vec![ALPN_BARE.to_vec()];

    let mut roots = rustls::RootCertStore::empty();
    let ca =
        CertificateDer::from_pem_file(&files.ca).map_err(|error| failed("the CA's PEM", error))?;
    roots
        .add(ca)
        .map_err(|error| failed("the CA as a root", error))?;
    let mut client = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|error| failed("TLS 1.3 for the bare client", error))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.alpn_protocols = vec![ALPN_BARE.to_vec()];

    Ok(Tls {
        ours: LoopbackTls {
            server: TlsServerConfig::files(cert, key),
            client: TlsClientConfig::ca(&files.ca),
        },
        bare_server: quinn::ServerConfig::with_crypto(Arc::new(
            quinn::crypto::rustls::QuicServerConfig::try_from(server)
                .map_err(|error| failed("the bare server's QUIC TLS", error))?,
        )),
        bare_client: quinn::ClientConfig::new(Arc::new(
            quinn::crypto::rustls::QuicClientConfig::try_from(client)
                .map_err(|error| failed("the bare client's QUIC TLS", error))?,
        )),
    })
}

/// A bare quinn echo server: on every bi-stream, length-prefixed frames echoed one by one.
pub(crate) fn bare_quinn_server(tls: &Tls, tasks: &mut JoinSet<()>) -> Result<SocketAddr> {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let endpoint = quinn::Endpoint::server(tls.bare_server.clone(), local)
        .map_err(|error| failed("a bare quinn server", error))?;
    let address = endpoint
        .local_addr()
        .map_err(|error| failed("the bare quinn address", error))?;
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        while let Some(incoming) = endpoint.accept().await {
            while connections.try_join_next().is_some() {}
            connections.spawn(async move {
                let Ok(connection) = incoming.await else {
                    return;
                };
                let mut streams = JoinSet::new();
                while let Ok((mut send, mut recv)) = connection.accept_bi().await {
                    streams.spawn(async move {
                        while let Ok(body) = read_frame(&mut recv).await {
                            if write_frame(&mut send, &[&body[..]]).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
        }
    });
    Ok(address)
}

/// A new client endpoint and a connection from it (handshake done).
pub(crate) async fn quinn_connect(
    tls: &Tls,
    address: SocketAddr,
) -> Result<(quinn::Endpoint, quinn::Connection)> {
    let local = SocketAddr::from(([127, 0, 0, 1], 0));
    let endpoint = quinn::Endpoint::client(local)
        .map_err(|error| failed("a bare quinn client endpoint", error))?;
    let connection = endpoint
        .connect_with(tls.bare_client.clone(), address, "localhost")
        .map_err(|error| failed("a bare quinn connect", error))?
        .await
        .map_err(|error| failed("a bare quinn handshake", error))?;
    Ok((endpoint, connection))
}
