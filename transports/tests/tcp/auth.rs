//! Pre-shared token auth: none, a wrong one and the right one.

use crate::common::{Logs, client, ctx, down_reason, endpoint, host, loopback_config, within};
use mltools_core::{ErrorKind, RpcResultExt};
use mltools_transport::{Limits, Token};

#[tokio::test]
async fn a_token_is_required_checked_and_then_admits() {
    let logs = Logs::capture();
    let mut config = loopback_config();
    config.token = Some(Token::new("s3cret-s3cret-s3cret"));
    // The refused clients redial; their failures must not back this address off.
    config.max_auth_failures = 1000;
    let host = host(config, Limits::default()).await;
    let address = host.server.local_addr().to_string();

    for (token, why) in [
        (None, "this node requires a token and none was sent"),
        (
            Some("guess-guess-guess-guess"),
            "the token was not accepted",
        ),
    ] {
        let mut endpoint = endpoint(&host.server);
        endpoint.token = token.map(Token::new);
        let (probe, raw) = client(endpoint);
        let error = within("a refused call", probe.double(ctx(), 1))
            .await
            .map(Ok)
            .into_service("probe")
            .unwrap_err();
        assert_eq!(error.kind, ErrorKind::Unavailable, "{error}");
        assert!(
            error.message.contains(&format!("probe at {address}")),
            "{error}"
        );
        assert!(error.message.contains(why), "{error}");
        assert!(down_reason(&raw).await.contains(why));
        // The server's log names the peer and the reason.
        logs.wait_for(&["refused a connection", why]).await;
    }

    let mut endpoint = endpoint(&host.server);
    endpoint.token = Some(Token::new("s3cret-s3cret-s3cret"));
    let (probe, _) = client(endpoint);
    assert_eq!(
        within("an admitted call", probe.double(ctx(), 4))
            .await
            .unwrap(),
        8
    );
    assert!(
        !logs.text().contains("s3cret-s3cret-s3cret"),
        "the token is never logged"
    );
}
