//! A proxy named in the environment is not used: it would resolve the URL's host itself,
//! past the address check. A binary of its own, with one test, because it sets the
//! process's environment.

#![allow(unsafe_code)]

mod common;

use common::{Harness, http_response, serve_once};
use mltools_core::datasets::{ImportRequest, Source};
use std::net::TcpListener;

#[tokio::test]
async fn a_proxy_from_the_environment_is_ignored() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    // SAFETY: the only test of this binary, set before any other thread reads the
    // environment.
    unsafe {
        for name in [
            "http_proxy",
            "HTTP_PROXY",
            "https_proxy",
            "HTTPS_PROXY",
            "ALL_PROXY",
        ] {
            std::env::set_var(name, &proxy_url);
        }
        std::env::remove_var("NO_PROXY");
        std::env::remove_var("no_proxy");
    }
    let (base, server) = serve_once(http_response("200 OK", "a\n1\n"));
    let h = Harness::with(|config| config.allow_private_urls = true);
    let info = h
        .state
        .import(ImportRequest::new(Source::Url {
            url: format!("{base}/direct.csv"),
        }))
        .await
        .unwrap();
    assert_eq!(info.rows, 1);
    server.join().unwrap();
    proxy.set_nonblocking(true).unwrap();
    assert!(proxy.accept().is_err(), "the proxy saw a connection");
}
