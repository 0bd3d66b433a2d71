//! The pure text rules of CSV reading: the delimiter, missing values, numbers, headers.

use crate::error::DatasetsError;
use mltools_core::datasets::MISSING_TOKENS;
use std::collections::BTreeSet;

pub(crate) use mltools_core::datasets::detect_delimiter;

/// The delimiters an import accepts: the detected ones, `:` and space. Any other byte
/// (0x01, say) would let any file without line breaks, a key or `/proc/self/environ`,
/// load as a table of one column.
const ACCEPTED: [u8; 6] = [b',', b';', b'\t', b'|', b':', b' '];

/// Checks a delimiter given in the options.
///
/// # Errors
/// [`DatasetsError::BadCsvOptions`] naming a delimiter other than `,` `;` tab `|` `:` or
/// space.
pub(crate) fn check_delimiter(delimiter: u8) -> Result<u8, DatasetsError> {
    if !ACCEPTED.contains(&delimiter) {
        let shown = if delimiter.is_ascii_graphic() {
            format!("`{}` ({delimiter:#04x})", char::from(delimiter))
        } else {
            format!("{delimiter:#04x}")
        };
        return Err(DatasetsError::BadCsvOptions {
            reason: format!(
                "delimiter {shown} is not accepted; use one of `,` `;` tab `|` `:` space"
            ),
        });
    }
    Ok(delimiter)
}

/// Whether a trimmed field is a missing value.
pub(crate) fn is_missing(text: &str) -> bool {
    text.is_empty() || MISSING_TOKENS.contains(&text)
}

/// The number a trimmed, present field holds, if any. (A spelling of NaN that is not a
/// missing token, such as `NAN`, parses to `NaN` and so is stored as missing.)
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// Checks header names: none empty, none repeated.
///
/// # Errors
/// [`DatasetsError::EmptyColumnName`] with the 1-based position of the first empty name;
/// [`DatasetsError::DuplicateColumns`] naming every repeated name.
pub(crate) fn check_header(file: &str, names: &[String]) -> Result<(), DatasetsError> {
    if let Some(index) = names.iter().position(|name| name.is_empty()) {
        return Err(DatasetsError::EmptyColumnName {
            file: file.to_owned(),
            position: index + 1,
        });
    }
    let mut seen = BTreeSet::new();
    let mut repeated = BTreeSet::new();
    for name in names {
        if !seen.insert(name.as_str()) {
            repeated.insert(name.as_str());
        }
    }
    if !repeated.is_empty() {
        return Err(DatasetsError::DuplicateColumns {
            file: file.to_owned(),
            names: quoted_list(repeated),
        });
    }
    Ok(())
}

/// `` `a`, `b` `` for messages.
pub(crate) fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = names.into_iter().map(|name| format!("`{name}`")).collect();
    if quoted.is_empty() {
        "none".to_owned()
    } else {
        quoted.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_is_the_most_frequent_outside_quotes() {
        assert_eq!(detect_delimiter(b"a,b,c"), b',');
        assert_eq!(detect_delimiter(b"a;b;c"), b';');
        assert_eq!(detect_delimiter(b"a\tb\tc"), b'\t');
        assert_eq!(detect_delimiter(b"a|b"), b'|');
        assert_eq!(detect_delimiter(b"\"x;y;z\",b,c"), b',');
        assert_eq!(detect_delimiter(b"\"a,b,c\";d"), b';');
        assert_eq!(detect_delimiter(b"single"), b',');
        assert_eq!(detect_delimiter(b"a;b,c"), b',', "ties prefer the comma");
    }

    #[test]
    fn missing_tokens_and_numbers() {
        for token in ["", "NA", "N/A", "NaN", "nan", "null", "NULL"] {
            assert!(is_missing(token), "{token}");
        }
        assert!(!is_missing("na"));
        assert_eq!(parse_number("-1.5e3"), Some(-1500.0));
        assert_eq!(parse_number("12abc"), None);
    }

    #[test]
    fn bad_headers_are_named() {
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let error = check_header("f.csv", &names(&["a", "", "c"])).unwrap_err();
        assert_eq!(error.to_string(), "f.csv: column 2 has an empty name");
        let error = check_header("f.csv", &names(&["a", "b", "a", "b", "c"])).unwrap_err();
        assert_eq!(error.to_string(), "f.csv: duplicate column names: `a`, `b`");
        assert!(check_header("f.csv", &names(&["a", "b"])).is_ok());
        for accepted in [b',', b';', b'\t', b'|', b':', b' '] {
            assert_eq!(check_delimiter(accepted).unwrap(), accepted);
        }
        let error = check_delimiter(0x01).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        assert_eq!(
            error.to_string(),
            "bad CSV options: delimiter 0x01 is not accepted; use one of `,` `;` tab `|` `:` space"
        );
        let error = check_delimiter(b'"').unwrap_err();
        assert!(
            error.to_string().contains("delimiter `\"` (0x22)"),
            "{error}"
        );
        for refused in [b'\n', b'\r', 0, b'a', 0xff, b'#'] {
            assert!(check_delimiter(refused).is_err(), "{refused:#04x}");
        }
    }
}
