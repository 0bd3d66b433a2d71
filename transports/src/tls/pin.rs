//! Pinning a server's certificate by its SHA-256 fingerprint: [`Fingerprint`], and the
//! rustls verifier that accepts exactly the pinned certificate.
//!
//! A self-signed certificate has no CA to vouch for it, so a client names the one
//! certificate it accepts instead: the SHA-256 of its DER encoding, written
//! `sha256:<64 hex digits>` (what `mltools certs fingerprint` prints and what a server logs
//! when it starts). The verifier ignores the name dialled, the chain and the validity dates
//! (the pin is the whole identity), but still verifies the TLS 1.3 handshake signature with
//! the certificate's key, so only the holder of the matching private key gets through.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use crate::tcp::TcpConfigError;

/// What every fingerprint starts with: the hash it is.
pub const FINGERPRINT_PREFIX: &str = "sha256:";

/// The start of a [`PinMismatch`]'s message, which QUIC hands back only as text.
pub(crate) const PIN_MISMATCH: &str = "the server's certificate does not match the pinned";

/// The SHA-256 of a certificate's DER encoding; text form `sha256:<64 lowercase hex>`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Fingerprint {
        let digest = ring::digest::digest(&ring::digest::SHA256, der);
        let mut bytes = [0; 32];
        for (slot, byte) in bytes.iter_mut().zip(digest.as_ref()) {
            *slot = *byte;
        }
        Fingerprint(bytes)
    }

    /// The fingerprint of the first certificate in a PEM file (in a chain, the server's
    /// own), or of `cert.pem` in a directory holding a self-signed pair.
    ///
    /// # Errors
    /// [`TcpConfigError::TlsFile`] naming a file that cannot be read or holds no PEM
    /// certificate.
    pub fn of_pem_file(path: &Path) -> Result<Fingerprint, TcpConfigError> {
        let file = if path.is_dir() {
            path.join(super::self_signed::CERT_FILE)
        } else {
            path.to_owned()
        };
        let chain = super::certificates("certificate", &file)?;
        match chain.first() {
            Some(leaf) => Ok(Fingerprint::of_der(leaf)),
            None => Err(super::file_error(
                "certificate",
                &file,
                "holds no PEM certificate",
            )),
        }
    }

    /// Whether `der` is the pinned certificate; compared in constant time.
    pub fn matches(&self, der: &[u8]) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(self.0.ct_eq(&Fingerprint::of_der(der).0))
    }

    /// The 32 bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FINGERPRINT_PREFIX)?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Why text is not a [`Fingerprint`]; the expected form is `sha256:<64 hex digits>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// The text does not start with `sha256:`.
    #[error("it does not start with `sha256:`")]
    Prefix,
    /// The hash is not 64 characters long.
    #[error("`sha256:` is followed by {0} characters, not 64")]
    Length(usize),
    /// A character of the hash is not a hex digit.
    #[error("`{0}` is not a hex digit")]
    NotHex(char),
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Parses `sha256:<64 hex digits>` (either case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let hex = text
            .strip_prefix(FINGERPRINT_PREFIX)
            .ok_or(FingerprintError::Prefix)?;
        let digits: Vec<char> = hex.chars().collect();
        if digits.len() != 64 {
            return Err(FingerprintError::Length(digits.len()));
        }
        let mut bytes = [0; 32];
        for (slot, pair) in bytes.iter_mut().zip(digits.chunks(2)) {
            let mut value = 0u8;
            for digit in pair {
                let nibble = digit.to_digit(16).ok_or(FingerprintError::NotHex(*digit))?;
                // A hex digit is below 16: the cast cannot truncate.
                value = (value << 4) | nibble as u8;
            }
            *slot = value;
        }
        Ok(Fingerprint(bytes))
    }
}

/// The error a pinned client's handshake fails with when the server presents another
/// certificate; it shows both fingerprints so an operator can compare.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{PIN_MISMATCH} fingerprint: it presented {presented}, the pin is {pinned}")]
pub struct PinMismatch {
    /// The fingerprint of the certificate the server presented.
    pub presented: Fingerprint,
    /// The fingerprint the client pins.
    pub pinned: Fingerprint,
}

/// The message, as `Display`: rustls formats a certificate error of its own with `Debug`,
/// and over QUIC that text is all the caller gets.
impl fmt::Debug for PinMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Accepts exactly the server certificate whose SHA-256 is the pin.
#[derive(Debug)]
pub(crate) struct PinnedServerVerifier {
    pin: Fingerprint,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PinnedServerVerifier {
    /// A verifier of `pin`, checking handshake signatures with `provider`'s algorithms.
    pub(crate) fn new(pin: Fingerprint, provider: &CryptoProvider) -> Self {
        PinnedServerVerifier {
            pin,
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.pin.matches(end_entity) {
            return Ok(ServerCertVerified::assertion());
        }
        let mismatch = PinMismatch {
            presented: Fingerprint::of_der(end_entity),
            pinned: self.pin,
        };
        Err(CertificateError::Other(OtherError(Arc::new(mismatch))).into())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        // Never reached (only TLS 1.3 is offered), but correct if it were.
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_prints_and_parses_back() {
        let fingerprint = Fingerprint::of_der(b"abc");
        // SHA-256("abc"), FIPS 180-2's first example.
        let text = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(fingerprint.to_string(), text);
        assert_eq!(text.parse::<Fingerprint>(), Ok(fingerprint));
        assert_eq!(
            text.to_uppercase().replace("SHA256:", "sha256:").parse(),
            Ok(fingerprint)
        );
        assert!(fingerprint.matches(b"abc"));
        assert!(!fingerprint.matches(b"abd"));
    }

    #[test]
    fn malformed_pins_say_what_is_wrong() {
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(hex.parse::<Fingerprint>(), Err(FingerprintError::Prefix));
        assert_eq!(
            format!("sha1:{hex}").parse::<Fingerprint>(),
            Err(FingerprintError::Prefix)
        );
        assert_eq!(
            format!("sha256:{}", &hex[2..]).parse::<Fingerprint>(),
            Err(FingerprintError::Length(62))
        );
        assert_eq!(
            format!("sha256:{}zz", &hex[2..]).parse::<Fingerprint>(),
            Err(FingerprintError::NotHex('z'))
        );
        // Colons (openssl's form) are not hex digits, and make it too long.
        assert_eq!(
            "sha256:ba:78".parse::<Fingerprint>(),
            Err(FingerprintError::Length(5))
        );
        assert_eq!(
            format!("sha256:{}é", &hex[1..]).parse::<Fingerprint>(),
            Err(FingerprintError::NotHex('é'))
        );
    }

    #[test]
    fn a_mismatch_shows_both_fingerprints_in_display_and_debug() {
        let mismatch = PinMismatch {
            presented: Fingerprint::of_der(b"a"),
            pinned: Fingerprint::of_der(b"b"),
        };
        let text = mismatch.to_string();
        assert!(text.starts_with(PIN_MISMATCH), "{text}");
        assert!(
            text.contains(&Fingerprint::of_der(b"a").to_string()),
            "{text}"
        );
        assert_eq!(format!("{mismatch:?}"), text);
    }
}
