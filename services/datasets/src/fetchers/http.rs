//! Downloads over HTTP(S) into a temporary file, which the CSV reader then reads twice.
//!
//! Blocking (ureq): the caller runs it on a blocking thread. Messages name the URL without
//! its credentials or query string ([`redacted_url`]).
//!
//! Where a download may connect is decided on the resolved addresses, by a resolver that
//! ureq calls for every connection, redirects included ([`CheckedResolver`]): a name that
//! resolves to 127.0.0.1 is refused like the literal address, and ureq connects only to
//! the addresses the resolver handed back (no second lookup). No proxy is used, from the
//! environment or elsewhere: a proxy resolves the name itself, past the check.

use crate::cancel::Cancel;
use crate::config::DatasetsConfig;
use crate::error::DatasetsError;
use crate::fetchers::address::{Network, classify};
use crate::fetchers::redact::redacted_url;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::time::Duration;
use tempfile::NamedTempFile;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// The name prefix of temporary downloads in `<data_dir>/tmp/`.
const PREFIX: &str = "download-";

/// Downloads `url` into a new file under `<data_dir>/tmp/`, removed when dropped. The
/// download stops at its next read once `cancel` is raised.
///
/// # Errors
/// A URL that is not `http(s)://`, a non-2xx status, a server that cannot be reached or
/// does not answer within `http_timeout_ms`, a download not done within
/// `http_total_timeout_ms`, a body over `max_download_bytes`, a local I/O failure, a
/// cancellation; [`DatasetsError::PrivateAddress`] when the URL or a redirect resolves to
/// an address that is not public (unless `allow_private_urls`, or the address is in
/// `url_allow_networks`).
pub(crate) fn download(
    full_url: &str,
    config: &DatasetsConfig,
    cancel: Cancel<'_>,
) -> Result<NamedTempFile, DatasetsError> {
    let shown = redacted_url(full_url);
    let url = shown.as_str();
    if !(full_url.starts_with("http://") || full_url.starts_with("https://")) {
        return Err(DatasetsError::BadUrl {
            url: url.to_owned(),
            reason: "only http:// and https:// are supported".to_owned(),
        });
    }
    let timeout = Some(Duration::from_millis(config.http_timeout_ms));
    let agent_config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        // A proxy would resolve the host itself, past the address check.
        .proxy(None)
        // Besides each phase's own limit: a server trickling bytes just fast enough to
        // beat `timeout_per_read` cannot hold the import for ever.
        .timeout_global(Some(Duration::from_millis(config.http_total_timeout_ms)))
        .timeout_resolve(timeout)
        .timeout_connect(timeout)
        .timeout_send_request(timeout)
        .timeout_recv_response(timeout)
        .timeout_per_read(timeout)
        .build();
    let resolver = CheckedResolver {
        allow_all: config.allow_private_urls,
        allowed: config.allowed_networks()?,
    };
    let agent = ureq::Agent::with_parts(agent_config, DefaultConnector::default(), resolver);
    let failed = |error| fetch_error(url, config, error);
    let mut response = agent.get(full_url).call().map_err(failed)?;
    let status = response.status().as_u16();
    if !(200..300).contains(&status) {
        return Err(DatasetsError::HttpStatus {
            url: url.to_owned(),
            status,
        });
    }
    if response
        .body()
        .content_length()
        .is_some_and(|length| length > config.max_download_bytes)
    {
        return Err(fetch_error(
            url,
            config,
            ureq::Error::BodyExceedsLimit(config.max_download_bytes),
        ));
    }
    let mut file = temp_file(config)?;
    let body = response
        .body_mut()
        .with_config()
        .limit(config.max_download_bytes)
        .reader();
    let to = BodyCopy {
        url,
        config,
        cancel,
    };
    copy_body(body, file.as_file_mut(), to)?;
    Ok(file)
}

/// The default resolver, refusing what it resolves to a non-public address. ureq calls it
/// for the URL and for each redirect, and connects only to the addresses it returns.
#[derive(Debug)]
struct CheckedResolver {
    /// `allow_private_urls`: every address is allowed.
    allow_all: bool,
    /// `url_allow_networks`.
    allowed: Vec<Network>,
}

/// A resolved address a download may not connect to; carried out of ureq in
/// [`ureq::Error::Other`].
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {address}, {}", .class)]
struct Refused {
    /// The host as the URL (or the redirect) names it.
    host: String,
    /// The refused address.
    address: IpAddr,
    /// Its class, in words.
    class: &'static str,
}

impl Resolver for CheckedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = DefaultResolver::default().resolve(uri, config, timeout)?;
        if self.allow_all {
            return Ok(addresses);
        }
        // One refused address refuses the host: a name resolving to a public and a private
        // address must not be a coin toss.
        for address in addresses.iter().map(|socket| socket.ip()) {
            if self.allowed.iter().any(|network| network.contains(address)) {
                continue;
            }
            if let Some(class) = classify(address) {
                return Err(ureq::Error::Other(Box::new(Refused {
                    host: uri.host().unwrap_or_default().to_owned(),
                    address,
                    class: class.describe(),
                })));
            }
        }
        Ok(addresses)
    }
}

/// Removes downloads left behind by a process that was killed mid-import; returns how
/// many (see [`crate::leftovers::remove`]).
pub(crate) fn remove_stale_downloads(config: &DatasetsConfig) -> usize {
    crate::leftovers::remove(&config.data_dir.join("tmp"), PREFIX)
}

fn temp_file(config: &DatasetsConfig) -> Result<NamedTempFile, DatasetsError> {
    let dir = config.data_dir.join("tmp");
    let io = |operation, cause| DatasetsError::Io {
        path: dir.display().to_string(),
        operation,
        cause,
    };
    std::fs::create_dir_all(&dir).map_err(|cause| io("create directory", cause))?;
    tempfile::Builder::new()
        .prefix(PREFIX)
        .suffix(".csv")
        .tempfile_in(&dir)
        .map_err(|cause| io("create temporary file", cause))
}

/// What a body copy names in its errors and checks between reads.
#[derive(Clone, Copy)]
struct BodyCopy<'a> {
    url: &'a str,
    config: &'a DatasetsConfig,
    cancel: Cancel<'a>,
}

/// Copies the body, telling a failed read (the server's fault) from a failed write (ours),
/// and stopping at the first read after a cancellation.
fn copy_body(
    mut body: impl Read,
    file: &mut impl Write,
    BodyCopy {
        url,
        config,
        cancel,
    }: BodyCopy<'_>,
) -> Result<(), DatasetsError> {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        cancel.check()?;
        let read = match body.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(fetch_error(url, config, ureq::Error::from(error))),
        };
        file.write_all(&buffer[..read])
            .map_err(|cause| DatasetsError::Io {
                path: format!("download of {url}"),
                operation: "write",
                cause,
            })?;
    }
    file.flush().map_err(|cause| DatasetsError::Io {
        path: format!("download of {url}"),
        operation: "write",
        cause,
    })
}

fn fetch_error(url: &str, config: &DatasetsConfig, error: ureq::Error) -> DatasetsError {
    let url = url.to_owned();
    match error {
        ureq::Error::Timeout(ureq::Timeout::Global) => DatasetsError::DownloadTimeout {
            url,
            timeout_ms: config.http_total_timeout_ms,
        },
        ureq::Error::Timeout(_) => DatasetsError::HttpTimeout {
            url,
            timeout_ms: config.http_timeout_ms,
        },
        ureq::Error::Io(cause)
            if matches!(
                cause.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            DatasetsError::HttpTimeout {
                url,
                timeout_ms: config.http_timeout_ms,
            }
        }
        ureq::Error::StatusCode(status) => DatasetsError::HttpStatus { url, status },
        ureq::Error::BodyExceedsLimit(limit) => DatasetsError::DownloadTooLarge { url, limit },
        ureq::Error::BadUri(reason) => DatasetsError::BadUrl { url, reason },
        ureq::Error::Http(cause) => DatasetsError::BadUrl {
            url,
            reason: cause.to_string(),
        },
        ureq::Error::Other(cause) => match cause.downcast::<Refused>() {
            Ok(refused) => DatasetsError::PrivateAddress {
                url,
                host: refused.host,
                address: refused.address.to_string(),
                class: refused.class,
            },
            Err(other) => DatasetsError::Unreachable {
                url,
                reason: other.to_string(),
            },
        },
        other => DatasetsError::Unreachable {
            url,
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// An endless body that raises a cancel flag on its third read.
    struct Endless<'a> {
        reads: u32,
        flag: &'a AtomicBool,
    }

    impl Read for Endless<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            self.reads += 1;
            if self.reads == 3 {
                self.flag.store(true, Ordering::Relaxed);
            }
            buffer.fill(b'1');
            Ok(buffer.len())
        }
    }

    #[test]
    fn a_cancelled_download_stops_at_its_next_read() {
        let flag = AtomicBool::new(false);
        let config = DatasetsConfig::default();
        let body = Endless {
            reads: 0,
            flag: &flag,
        };
        let mut written = Vec::new();
        let to = BodyCopy {
            url: "http://h/x.csv",
            config: &config,
            cancel: Cancel::new(&flag, "import"),
        };
        let error = copy_body(body, &mut written, to).unwrap_err();
        assert!(matches!(error, DatasetsError::Cancelled { .. }), "{error}");
        assert_eq!(written.len(), 3 * 64 * 1024, "three reads were written");
    }
}
