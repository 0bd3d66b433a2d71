//! A 1,000,000 × 20 numeric CSV imports through an embedded node and reads back exactly:
//! in process, and from other nodes over TCP and over QUIC (mutual TLS) in pages that each
//! fit the 64 MiB default frame. (Time and peak memory are measured by
//! `cargo bench --bench import` and `cargo bench --bench transfer`, not here.)

use mltools::core::ServiceName;
use mltools::node::config::{Listen, Placement, ServiceSection, TcpAt, TcpListen};
use mltools::prelude::*;
use mltools::transport::quic::{QuicEndpoint, QuicServerConfig};
use mltools::transport::tcp::{TcpEndpoint, TcpServerConfig, TlsClientConfig, TlsServerConfig};
use std::io::{BufWriter, Write};
use std::time::Duration;

const ROWS: usize = 1_000_000;
const COLUMNS: usize = 20;

fn value(row: usize, column: usize) -> f64 {
    ((row * 31 + column * 17) % 100_003) as f64 / 8.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_rows_of_twenty_columns_import_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("million.csv");
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).unwrap());
        let header: Vec<String> = (0..COLUMNS).map(|c| format!("f{c}")).collect();
        writeln!(out, "{}", header.join(",")).unwrap();
        for row in 0..ROWS {
            for column in 0..COLUMNS {
                let separator = if column + 1 == COLUMNS { '\n' } else { ',' };
                // Eighths print exactly, so the text round-trips to the same f64.
                write!(out, "{}{separator}", value(row, column)).unwrap();
            }
        }
        out.flush().unwrap();
    }

    // The node also serves its datasets to other nodes over TCP and QUIC.
    let certs = mltools::transport::certs::init(
        &dir.path().join("certs"),
        &["server".into()],
        &["127.0.0.1".into()],
    )
    .unwrap();
    let server_tls = TlsServerConfig::files(certs.nodes[0].0.clone(), certs.nodes[0].1.clone())
        .with_client_ca(certs.ca.clone());
    let mut config = Node::builder()
        .data_dir(dir.path().join("data"))
        .config()
        .clone();
    // The in-process read below takes all 160 MB in one page: raise the page limit that
    // protects a remote transport's frame.
    config.datasets.max_page_bytes = 512 << 20;
    config.node.listen = Some(Listen {
        tcp: Some(TcpListen::Config(TcpServerConfig::new("127.0.0.1:0"))),
        quic: Some(QuicServerConfig::new("127.0.0.1:0", server_tls)),
    });
    // A listening node reads server-side files only under its import roots.
    config.datasets.import_roots = Some(vec![dir.path().to_owned()]);
    let node = NodeBuilder::from_config(config).start().await.unwrap();
    let datasets = node.datasets().unwrap();
    let mut ctx = context::current();
    ctx.deadline = std::time::Instant::now() + Duration::from_secs(600);
    let info = datasets
        .import(
            ctx,
            ImportRequest::new(Source::File {
                path: path.display().to_string(),
            }),
        )
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(info.rows, ROWS as u64);
    assert_eq!(info.schema.columns.len(), COLUMNS);

    let page = datasets
        .get(ctx, GetRequest::all(info.id))
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(page.frame.rows(), ROWS);
    for (column_index, column) in page.frame.columns.iter().enumerate() {
        let mltools::core::ColumnData::Numeric(values) = &column.data else {
            panic!("column {} is not numeric", column.name);
        };
        for (row, read) in values.iter().enumerate() {
            assert_eq!(
                *read,
                value(row, column_index),
                "row {row}, column {column_index}"
            );
        }
    }

    // A page from the middle, across a chunk boundary, with a column subset.
    let page = datasets
        .get(
            ctx,
            GetRequest {
                offset: 65_530,
                limit: Some(20),
                columns: Some(vec!["f19".into(), "f3".into()]),
                ..GetRequest::all(info.id)
            },
        )
        .await
        .into_service("datasets")
        .unwrap();
    assert_eq!(page.frame.names().collect::<Vec<_>>(), ["f19", "f3"]);
    let mltools::core::ColumnData::Numeric(values) = &page.frame.columns[1].data else {
        panic!("f3 is numeric");
    };
    let expected: Vec<f64> = (65_530..65_550).map(|row| value(row, 3)).collect();
    assert_eq!(values, &expected);

    // Over TCP, then over QUIC: the whole version in pages, each within a frame.
    let client_tls = TlsClientConfig::ca(certs.ca.clone())
        .with_client_cert(certs.client.0.clone(), certs.client.1.clone());
    let tcp = Placement::Tcp(TcpAt::Endpoint(TcpEndpoint::new(
        node.listen_addr().unwrap().to_string(),
    )));
    let quic = Placement::Quic(QuicEndpoint::new(
        node.quic_addr().unwrap().to_string(),
        client_tls,
    ));
    for (transport, at) in [("tcp", tcp), ("quic", quic)] {
        let mut config = NodeConfig::parse("[node]\nname = \"reader\"\nserve = []\n").unwrap();
        config.services.insert(
            ServiceName::Datasets,
            ServiceSection {
                at,
                ..ServiceSection::default()
            },
        );
        let reader = NodeBuilder::from_config(config).start().await.unwrap();
        let page = mltools::transport::paging::read_all_within(
            &reader.datasets().unwrap(),
            GetRequest::all(info.id),
            mltools::transport::paging::DEFAULT_PAGE_BYTES,
        )
        .await
        .unwrap_or_else(|error| panic!("reading over {transport}: {error}"));
        assert_eq!(page.frame.rows(), ROWS, "{transport}");
        for (column_index, column) in page.frame.columns.iter().enumerate() {
            let mltools::core::ColumnData::Numeric(values) = &column.data else {
                panic!("column {} is not numeric", column.name);
            };
            let wrong = values
                .iter()
                .enumerate()
                .find(|(row, read)| **read != value(*row, column_index));
            assert_eq!(wrong, None, "{transport}: column {column_index}");
        }
        drop(page);
        assert!(reader.shutdown_within(Duration::from_secs(10)).await);
    }
    assert!(node.shutdown_within(Duration::from_secs(10)).await);
}
