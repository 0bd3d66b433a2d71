//! How a source is named where it is kept or logged: never with a URL's credentials or
//! query string (`https://user:secret@host/data.csv?token=…` is shown as
//! `https://host/data.csv`).

use mltools_core::datasets::Source;

/// The text naming `source` in messages, logs and a version's stored `source`: the
/// source's display form, with a URL shown by [`redacted_url`].
pub(crate) fn source_text(source: &Source) -> String {
    match source {
        Source::Url { url } => redacted_url(url),
        other => other.to_string(),
    }
}

/// `url` without its user information (`user:password@`), query string and fragment;
/// scheme, host, port and path are kept. Text that is not a URL is cut at its first `?` or
/// `#` all the same.
pub(crate) fn redacted_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    // The user information ends at the authority's last `@` (a password may hold `@`
    // only percent-encoded, but be lenient).
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_query_and_fragment_are_removed() {
        let cases = [
            (
                "https://user:s3cr%40t@example.org:8443/a/b.csv?token=1&x=2#top",
                "https://example.org:8443/a/b.csv",
            ),
            ("http://example.org/data.csv", "http://example.org/data.csv"),
            ("http://token@example.org?k=v", "http://example.org"),
            ("http://a@b@example.org/x", "http://example.org/x"),
            (
                "http://example.org/p@th/x.csv",
                "http://example.org/p@th/x.csv",
            ),
            ("not a url?secret", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(redacted_url(url), shown, "{url}");
        }
        let source = Source::Url {
            url: "http://u:p@h/x.csv?k=1".into(),
        };
        assert_eq!(source_text(&source), "http://h/x.csv");
        let bytes = Source::Bytes {
            label: "a.csv".into(),
            data: vec![1, 2],
        };
        assert_eq!(source_text(&bytes), "a.csv (2 bytes)");
    }
}
