//! The gateway's transport security: plaintext only on loopback, HTTPS with the listeners'
//! TLS settings, and mutual TLS refusing a client without a certificate from the CA.

use mltools_gateway::{Gateway, GatewayConfig, GatewayServices};
use mltools_transport::certs;
use mltools_transport::tcp::{TlsClientConfig, TlsServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;

#[tokio::test]
async fn plaintext_is_refused_off_loopback_unless_insecure() {
    let error = Gateway::bind(GatewayConfig::new("0.0.0.0:0"), GatewayServices::default())
        .await
        .expect_err("plaintext on every address is refused");
    let message = error.to_string();
    assert!(
        message.contains("0.0.0.0:0") && message.contains("refusing plaintext"),
        "{message}"
    );
    let mut config = GatewayConfig::new("0.0.0.0:0");
    config.insecure = true;
    let gateway = Gateway::bind(config, GatewayServices::default())
        .await
        .expect("insecure = true allows it");
    assert!(gateway.shutdown(std::time::Duration::from_secs(5)).await);
}

/// `GET path` over TLS as `client`; the answer's head and body, or why it failed.
async fn get(address: SocketAddr, client: &TlsClientConfig, path: &str) -> Result<String, String> {
    let config = mltools_transport::tls::client_config(client).map_err(|e| e.to_string())?;
    let mut config = (*config).clone();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let name =
        mltools_transport::tls::server_name(client, "127.0.0.1").map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| e.to_string())?;
    let mut tls = TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    tls.read_to_string(&mut answer)
        .await
        .map_err(|e| format!("read: {e}"))?;
    Ok(answer)
}

#[tokio::test]
async fn https_serves_and_mutual_tls_refuses_a_client_without_a_certificate() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let files = certs::init(
        &dir.path().join("certs"),
        &["gw".to_owned()],
        &["127.0.0.1".to_owned()],
    )
    .expect("a CA and certificates");
    let (cert, key) = files.nodes[0].clone();
    let mut config = GatewayConfig::new("127.0.0.1:0");
    config.tls = Some(TlsServerConfig::files(cert, key).with_client_ca(&files.ca));
    let gateway = Gateway::bind(config, GatewayServices::default())
        .await
        .expect("the HTTPS gateway starts");
    assert!(gateway.is_tls());
    let address = gateway.local_addr();

    let (client_cert, client_key) = files.client.clone();
    let trusted = TlsClientConfig::ca(&files.ca).with_client_cert(client_cert, client_key);
    let answer = get(address, &trusted, "/v1/health").await.expect("served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // A service this gateway does not reach is a problem naming it.
    let answer = get(address, &trusted, "/v1/datasets")
        .await
        .expect("served");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(
        answer.contains("neither hosts nor reaches the datasets service"),
        "{answer}"
    );

    // No client certificate: the handshake fails, or the server's alert ends the stream
    // before any answer.
    let anonymous = TlsClientConfig::ca(&files.ca);
    if let Ok(answer) = get(address, &anonymous, "/v1/health").await {
        assert!(
            !answer.contains("200 OK"),
            "served without a certificate: {answer}"
        );
    }
    // The gateway goes on serving.
    let answer = get(address, &trusted, "/v1/health").await.expect("served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(gateway.shutdown(std::time::Duration::from_secs(5)).await);
}
