//! Per-call cost of every transport, against a bare tokio round trip measured in the same
//! run: an echo service called with a 64 B and a 64 KiB payload, directly, over tarpc's
//! in-process channel, and over TCP on 127.0.0.1 (postcard, plaintext).
//!
//! Run: `cargo bench --bench transports`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mltools::transport::{Client, Limits, RestartPolicy, Supervisor};
use serde_bytes::ByteBuf;
use tarpc::context;
use tokio::sync::{mpsc, oneshot};

#[tarpc::service]
trait Echo {
    // A byte buffer crosses the wire as one block (a plain Vec<u8> goes byte by byte).
    async fn echo(payload: ByteBuf) -> usize;
}

#[derive(Clone)]
struct EchoServer;

impl Echo for EchoServer {
    async fn echo(self, _: context::Context, payload: ByteBuf) -> usize {
        payload.len()
    }
}

fn transports(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let supervisor = Supervisor::new();
    let (direct, channel, bare, tcp, _tcp_server) = runtime.block_on(async {
        let service = mltools::transport::service!("echo", Limits::default(), EchoServer.serve());
        let direct = EchoClient::from(Client::direct(service.clone()));
        let (client, _child) =
            mltools::transport::channel::serve(&supervisor, RestartPolicy::default(), service);
        let channel = EchoClient::from(client);
        // The floor: a request over a bounded mpsc to a task, answered through a oneshot.
        let (tx, mut rx) = mpsc::channel::<(ByteBuf, oneshot::Sender<usize>)>(1024);
        tokio::spawn(async move {
            while let Some((payload, reply)) = rx.recv().await {
                let _ = reply.send(payload.len());
            }
        });
        let tcp_loopback = mltools::transport::conformance::loopback(
            mltools::transport::conformance::TransportKind::Tcp,
            mltools::transport::service!("echo", Limits::default(), EchoServer.serve()),
            &Default::default(),
        )
        .await
        .expect("a loopback TCP server");
        let tcp = EchoClient::from(tcp_loopback.client());
        (direct, channel, tx, tcp, tcp_loopback)
    });

    let mut group = c.benchmark_group("call");
    for size in [64usize, 64 * 1024] {
        let payload = ByteBuf::from(vec![7u8; size]);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::new("bare mpsc+oneshot", size),
            &payload,
            |b, p| {
                b.to_async(&runtime).iter(|| async {
                    let (reply, answer) = oneshot::channel();
                    bare.send((p.clone(), reply))
                        .await
                        .expect("the echo task runs");
                    answer.await.expect("answered")
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("direct", size), &payload, |b, p| {
            b.to_async(&runtime).iter(|| async {
                direct
                    .echo(context::current(), p.clone())
                    .await
                    .expect("echo")
            })
        });
        group.bench_with_input(BenchmarkId::new("tcp", size), &payload, |b, p| {
            b.to_async(&runtime)
                .iter(|| async { tcp.echo(context::current(), p.clone()).await.expect("echo") })
        });
        group.bench_with_input(BenchmarkId::new("channel", size), &payload, |b, p| {
            b.to_async(&runtime).iter(|| async {
                channel
                    .echo(context::current(), p.clone())
                    .await
                    .expect("echo")
            })
        });
    }
    group.finish();
    runtime.block_on(supervisor.shutdown(std::time::Duration::from_secs(1)));
}

criterion_group!(benches, transports);
criterion_main!(benches);
