//! A URL fetched for a caller never reaches loopback, private or link-local addresses,
//! whether the URL names them, a DNS name resolves to them or a redirect leads there,
//! unless the operator allows it.

mod common;

use common::{Harness, assert_error, http_response, serve_once};
use mltools_core::ErrorKind;
use mltools_core::datasets::{ImportRequest, Source};
use std::io::Write;
use std::net::TcpListener;

fn url_import(url: &str) -> ImportRequest {
    ImportRequest::new(Source::Url {
        url: url.to_owned(),
    })
}

/// Asserts nobody connected to `listener` (a connection, had there been one, would be
/// waiting in its backlog: the import has returned).
#[track_caller]
fn assert_untouched(listener: &TcpListener) {
    listener.set_nonblocking(true).unwrap();
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the server saw a connection: {accepted:?}"
    );
}

#[tokio::test]
async fn a_loopback_url_is_refused_before_any_connection_unless_allowed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = Harness::new();
    let url = format!("http://user:pw@127.0.0.1:{port}/data.csv?token=t0k");
    let result = h.state.import(url_import(&url)).await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &[
            &format!("http://127.0.0.1:{port}/data.csv: "),
            "resolves to 127.0.0.1, a loopback address",
            "allow_private_urls = true",
        ],
    );
    assert_untouched(&listener);
    assert!(h.state.list().await.unwrap().is_empty());

    // A DNS name is checked on what it resolves to.
    let url = format!("http://localhost:{port}/data.csv");
    let result = h.state.import(url_import(&url)).await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &["localhost resolves to", "a loopback address"],
    );
    assert_untouched(&listener);

    // An IPv4-mapped IPv6 address is the IPv4 address.
    let result = h
        .state
        .import(url_import(&format!(
            "http://[::ffff:127.0.0.1]:{port}/x.csv"
        )))
        .await;
    assert_error(result, ErrorKind::InvalidInput, &["a loopback address"]);
    assert_untouched(&listener);
    drop(listener);

    let allowed = Harness::with(|config| config.allow_private_urls = true);
    let (base, server) = serve_once(http_response("200 OK", "a\n1\n2\n"));
    let info = allowed
        .state
        .import(url_import(&format!("{base}/data.csv")))
        .await
        .unwrap();
    assert_eq!(info.rows, 2);
    server.join().unwrap();
}

#[tokio::test]
async fn metadata_and_private_literals_are_refused_naming_the_class() {
    let h = Harness::new();
    let cases = [
        (
            "http://169.254.169.254/latest/meta-data/",
            "a link-local address",
        ),
        ("http://10.0.0.1/x.csv", "a private address"),
        ("http://[fd00::1]/x.csv", "a private address"),
        ("http://100.64.0.1/x.csv", "a carrier-grade NAT address"),
        ("http://0.0.0.0/x.csv", "an unspecified address"),
        ("http://[64:ff9b::7f00:1]/x.csv", "a loopback address"),
    ];
    for (url, class) in cases {
        let result = h.state.import(url_import(url)).await;
        assert_error(result, ErrorKind::InvalidInput, &[url, class]);
    }
}

#[tokio::test]
async fn an_allowed_network_is_reachable_but_a_redirect_out_of_it_is_refused() {
    // The refused target: 127.0.0.2 is loopback too, outside the allowed 127.0.0.1/32.
    let target = TcpListener::bind("127.0.0.2:0").unwrap();
    let target_port = target.local_addr().unwrap().port();
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:{target_port}/secret.csv\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let (base, server) = serve_once(redirect.into_bytes());
    let h = Harness::with(|config| config.url_allow_networks = vec!["127.0.0.1/32".into()]);
    let result = h
        .state
        .import(url_import(&format!("{base}/start.csv")))
        .await;
    assert_error(
        result,
        ErrorKind::InvalidInput,
        &[
            &format!("{base}/start.csv: "),
            "127.0.0.2 resolves to 127.0.0.2, a loopback address",
        ],
    );
    server.join().unwrap();
    assert_untouched(&target);

    // The allowed network itself is reachable.
    let (base, server) = serve_once(http_response("200 OK", "a,b\n1,2\n"));
    let info = h
        .state
        .import(url_import(&format!("{base}/ok.csv")))
        .await
        .unwrap();
    assert_eq!(info.rows, 1);
    server.join().unwrap();
}

#[tokio::test]
async fn a_redirect_between_allowed_addresses_is_followed() {
    let (target_base, target) = serve_once(http_response("200 OK", "a\n7\n"));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let location = format!("{target_base}/final.csv");
    let redirect = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 1024];
        let _ = std::io::Read::read(&mut stream, &mut request);
        let response = format!(
            "HTTP/1.1 301 Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        );
        stream.write_all(response.as_bytes()).unwrap();
    });
    let h = Harness::with(|config| config.url_allow_networks = vec!["127.0.0.0/8".into()]);
    let info = h
        .state
        .import(url_import(&format!("{base}/moved.csv")).name("moved"))
        .await
        .unwrap();
    assert_eq!(info.rows, 1);
    redirect.join().unwrap();
    target.join().unwrap();
}
