//! Per-call cost of the in-process transports, against a bare tokio round trip measured in
//! the same run: an echo service called with a 64 B and a 64 KiB payload.
//!
//! Run: `cargo bench --bench transports`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mltools::transport::{Client, Limits, RestartPolicy, Supervisor};
use tarpc::context;
use tokio::sync::{mpsc, oneshot};

#[tarpc::service]
trait Echo {
    async fn echo(payload: Vec<u8>) -> usize;
}

#[derive(Clone)]
struct EchoServer;

impl Echo for EchoServer {
    async fn echo(self, _: context::Context, payload: Vec<u8>) -> usize {
        payload.len()
    }
}

fn transports(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let supervisor = Supervisor::new();
    let (direct, channel, bare) = runtime.block_on(async {
        let service = mltools::transport::service!("echo", Limits::default(), EchoServer.serve());
        let direct = EchoClient::from(Client::direct(service.clone()));
        let (client, _child) =
            mltools::transport::channel::serve(&supervisor, RestartPolicy::default(), service);
        let channel = EchoClient::from(client);
        // The floor: a request over a bounded mpsc to a task, answered through a oneshot.
        let (tx, mut rx) = mpsc::channel::<(Vec<u8>, oneshot::Sender<usize>)>(1024);
        tokio::spawn(async move {
            while let Some((payload, reply)) = rx.recv().await {
                let _ = reply.send(payload.len());
            }
        });
        (direct, channel, tx)
    });

    let mut group = c.benchmark_group("in-process call");
    for size in [64usize, 64 * 1024] {
        let payload = vec![7u8; size];
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
