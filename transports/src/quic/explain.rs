//! QUIC and TLS failures in a user's terms, on either side.
//!
//! quinn reports a TLS failure as a QUIC error whose code is `0x100 + the TLS alert`: a
//! local one (this side refused) carries rustls's reason, a remote one (the peer refused)
//! only the alert.

use quinn::{ConnectionError, TransportErrorCode};

use crate::tls::pin::PIN_MISMATCH;

/// The ALPN both ends announce, as text, for messages.
pub(crate) const ALPN_TEXT: &str = "mltools/1";

// TLS alert numbers (RFC 8446 §6).
const BAD_CERTIFICATE: u8 = 42;
const UNSUPPORTED_CERTIFICATE: u8 = 43;
const CERTIFICATE_REVOKED: u8 = 44;
const CERTIFICATE_EXPIRED: u8 = 45;
const CERTIFICATE_UNKNOWN: u8 = 46;
const UNKNOWN_CA: u8 = 48;
const ACCESS_DENIED: u8 = 49;
const DECRYPT_ERROR: u8 = 51;
const CERTIFICATE_REQUIRED: u8 = 116;
const NO_APPLICATION_PROTOCOL: u8 = 120;

/// The TLS alert a QUIC error code carries, if it is a TLS failure.
fn alert(code: TransportErrorCode) -> Option<u8> {
    let code = u64::from(code);
    if (0x100..0x200).contains(&code) {
        u8::try_from(code - 0x100).ok()
    } else {
        None
    }
}

/// Whether `error` is a failure of the TLS handshake (either side's verdict).
pub(crate) fn is_tls(error: &ConnectionError) -> bool {
    match error {
        ConnectionError::TransportError(error) => alert(error.code).is_some(),
        ConnectionError::ConnectionClosed(close) => alert(close.error_code).is_some(),
        _ => false,
    }
}

/// A connection failure seen by a client; TLS failures say what was refused and by whom.
pub(crate) fn client_side(error: &ConnectionError) -> String {
    match error {
        ConnectionError::TransportError(local) if alert(local.code).is_some() => {
            let reason = &local.reason;
            if let Some(start) = reason.find(PIN_MISMATCH) {
                // rustls's text wraps the mismatch's message in its error's `Debug` form.
                reason[start..].trim_end_matches(')').to_owned()
            } else if reason.contains("UnknownIssuer") || reason.contains("BadSignature") {
                format!(
                    "the server's certificate is not trusted: it does not chain to our CA ({reason})"
                )
            } else if reason.contains("NotValidForName") {
                format!("the server's certificate is not valid for the name dialled ({reason})")
            } else if reason.contains("Expired") {
                format!("the server's certificate has expired ({reason})")
            } else if alert(local.code) == Some(NO_APPLICATION_PROTOCOL) {
                format!("the server does not speak the {ALPN_TEXT} protocol (ALPN): {reason}")
            } else {
                format!("the TLS handshake failed: {reason}")
            }
        }
        ConnectionError::ConnectionClosed(close) => match alert(close.error_code) {
            Some(CERTIFICATE_REQUIRED) => {
                "the server requires a client certificate, and none is configured".to_owned()
            }
            Some(NO_APPLICATION_PROTOCOL) => format!(
                "the server refused our application protocol: it does not speak {ALPN_TEXT} (ALPN mismatch)"
            ),
            Some(
                BAD_CERTIFICATE
                | UNSUPPORTED_CERTIFICATE
                | CERTIFICATE_REVOKED
                | CERTIFICATE_EXPIRED
                | CERTIFICATE_UNKNOWN
                | UNKNOWN_CA
                | ACCESS_DENIED
                | DECRYPT_ERROR,
            ) => format!("the server did not accept our client certificate ({close})"),
            _ => error.to_string(),
        },
        other => other.to_string(),
    }
}

/// A connection failure seen by a server, for its log line.
pub(crate) fn server_side(error: &ConnectionError) -> String {
    match error {
        ConnectionError::TransportError(local) if alert(local.code).is_some() => {
            let reason = &local.reason;
            match alert(local.code) {
                Some(CERTIFICATE_REQUIRED) => {
                    "the client presented no certificate, and one is required".to_owned()
                }
                Some(NO_APPLICATION_PROTOCOL) => {
                    format!("the client does not speak {ALPN_TEXT} (ALPN mismatch): {reason}")
                }
                _ if reason.contains("certificate") => {
                    format!("the client's certificate was rejected ({reason})")
                }
                _ => format!("the TLS handshake failed: {reason}"),
            }
        }
        ConnectionError::ConnectionClosed(close) => match alert(close.error_code) {
            // CERTIFICATE_UNKNOWN is also what a client pinning another fingerprint answers.
            Some(UNKNOWN_CA | BAD_CERTIFICATE | CERTIFICATE_UNKNOWN) => {
                format!("the client does not trust our certificate ({close})")
            }
            Some(_) => format!("the client abandoned the TLS handshake ({close})"),
            None => error.to_string(),
        },
        other => other.to_string(),
    }
}
