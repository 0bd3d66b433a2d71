//! [`BlankLines`]: keeps the empty fields of a one-column file.
//!
//! csv-core skips empty lines. In a file of two or more columns an empty line is no row
//! (pandas skips it too), but in a file of one column it is the only way to write an empty
//! field: `y\n1\n\n3\n` holds three rows, the second missing. This reader sits between the
//! source and the CSV reader: when the header line has a single field, it rewrites each
//! empty line that is followed by a row as `""` (an empty quoted field, one line long, so
//! line numbers are kept); empty lines at the end of the file stay ignored. Lines inside a
//! quoted field are left alone: it follows csv-core's own quoting rules (a quote opens a
//! quoted field only at the start of a field; `""` inside one is a literal quote).

use std::io::{self, Read};

/// Where the reader is within the CSV text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a line.
    LineStart,
    /// After a delimiter.
    FieldStart,
    /// Inside a field that is not quoted (or after a quoted field's closing quote).
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// After a quote inside a quoted field: the field's end, or the first of `""`.
    QuoteInQuoted,
}

/// A reader that keeps the empty lines of a one-column CSV text as empty fields.
#[derive(Debug)]
pub(crate) struct BlankLines<R> {
    inner: R,
    delimiter: u8,
    at: At,
    /// The previous byte ended a line with `\r`: `Some(true)` if it was an empty line,
    /// held back with its line.
    after_cr: Option<bool>,
    /// Fields in the header line so far; `None` before the header starts.
    header_fields: Option<usize>,
    /// Whether the text has one column; `None` while the header is being read.
    one_column: Option<bool>,
    /// Empty lines seen since the last row, held back until a row follows.
    held: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    /// How much of `output` was handed out.
    handed: usize,
}

impl<R: Read> BlankLines<R> {
    /// Reads `inner`, a CSV text separated by `delimiter`.
    pub(crate) fn new(inner: R, delimiter: u8) -> Self {
        BlankLines {
            inner,
            delimiter,
            at: At::LineStart,
            after_cr: None,
            header_fields: None,
            one_column: None,
            held: 0,
            input: vec![0; 64 * 1024],
            output: Vec::with_capacity(64 * 1024),
            handed: 0,
        }
    }

    /// Handles one byte of the source, writing what the CSV reader is to see to `output`.
    fn step(&mut self, byte: u8) {
        let ends_line = byte == b'\n' || byte == b'\r';
        if self.at == At::LineStart {
            if let Some(held) = self.after_cr.take()
                && byte == b'\n'
            {
                // The `\n` of a `\r\n`: it belongs to the line just ended.
                if !held {
                    self.output.push(byte);
                }
                return;
            }
            if ends_line {
                self.empty_line(byte);
                return;
            }
            // A line with content: the empty lines before it are rows with a missing value.
            for _ in 0..self.held {
                self.output.extend_from_slice(b"\"\"\n");
            }
            self.held = 0;
            self.header_fields.get_or_insert(1);
            self.at = At::FieldStart;
        }
        self.output.push(byte);
        let delimiter = byte == self.delimiter;
        self.at = match (self.at, byte) {
            (At::Quoted, b'"') => At::QuoteInQuoted,
            (At::Quoted, _) => At::Quoted,
            (At::FieldStart, b'"') | (At::QuoteInQuoted, b'"') => At::Quoted,
            _ if ends_line => {
                self.line_ended(byte);
                At::LineStart
            }
            _ if delimiter => {
                if self.one_column.is_none()
                    && let Some(fields) = &mut self.header_fields
                {
                    *fields += 1;
                }
                At::FieldStart
            }
            _ => At::Unquoted,
        };
    }

    /// An empty line, ended by `byte`.
    fn empty_line(&mut self, byte: u8) {
        // Before the header csv-core skips empty lines, and so does everything when the
        // text has several columns.
        let hold = self.one_column == Some(true);
        if hold {
            self.held += 1;
        } else {
            self.output.push(byte);
        }
        self.after_cr = (byte == b'\r').then_some(hold);
    }

    /// A line with content ended by `byte`.
    fn line_ended(&mut self, byte: u8) {
        if self.one_column.is_none() {
            self.one_column = Some(self.header_fields == Some(1));
        }
        self.after_cr = (byte == b'\r').then_some(false);
    }
}

impl<R: Read> Read for BlankLines<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.handed < self.output.len() {
                let count = buffer.len().min(self.output.len() - self.handed);
                buffer[..count].copy_from_slice(&self.output[self.handed..self.handed + count]);
                self.handed += count;
                return Ok(count);
            }
            if self.one_column == Some(false) {
                // Several columns: nothing more to rewrite.
                return self.inner.read(buffer);
            }
            self.output.clear();
            self.handed = 0;
            let read = self.inner.read(&mut self.input)?;
            if read == 0 {
                // Empty lines held at the end of the text are dropped: csv-core would
                // skip them anyway.
                return Ok(0);
            }
            for index in 0..read {
                self.step(self.input[index]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` through [`BlankLines`] `chunk` bytes at a time.
    fn rewritten(text: &str, chunk: usize) -> String {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
                let count = self.1.min(buffer.len()).min(self.0.len());
                buffer[..count].copy_from_slice(&self.0[..count]);
                self.0 = &self.0[count..];
                Ok(count)
            }
        }
        let mut out = String::new();
        BlankLines::new(Trickle(text.as_bytes(), chunk), b',')
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn empty_lines_between_rows_of_one_column_become_empty_fields() {
        for chunk in [1, 2, 1000] {
            assert_eq!(rewritten("y\n1\n\n3\n", chunk), "y\n1\n\"\"\n3\n");
            assert_eq!(
                rewritten("y\r\n1\r\n\r\n\r\n3\r\n", chunk),
                "y\r\n1\r\n\"\"\n\"\"\n3\r\n"
            );
            assert_eq!(rewritten("y\n\n1\n", chunk), "y\n\"\"\n1\n");
        }
    }

    #[test]
    fn leading_and_trailing_empty_lines_and_quoted_lines_are_kept_as_they_are() {
        assert_eq!(rewritten("\n\ny\n1\n\n\n", 3), "\n\ny\n1\n");
        assert_eq!(rewritten("y\n1\n\r\n", 1), "y\n1\n");
        let quoted = "y\n\"a\n\nb\"\n\n\"c\"\"\n\nd\"\n";
        assert_eq!(
            rewritten(quoted, 1),
            "y\n\"a\n\nb\"\n\"\"\n\"c\"\"\n\nd\"\n"
        );
        // A quote inside an unquoted field is a literal: it opens nothing.
        assert_eq!(
            rewritten("y\n5\" screen\n\n1\n", 1),
            "y\n5\" screen\n\"\"\n1\n"
        );
    }

    #[test]
    fn a_text_of_several_columns_passes_unchanged() {
        for text in ["a,b\n1,2\n\n3,4\n", "\"a,\",b\r\n\r\n1,2\r\n", "a\n"] {
            assert_eq!(rewritten(text, 2), text);
        }
        // A delimiter inside a quoted header name does not make a second column.
        assert_eq!(rewritten("\"a,b\"\n1\n\n2\n", 1), "\"a,b\"\n1\n\"\"\n2\n");
    }

    #[test]
    fn line_numbers_stay_those_of_the_source() {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(BlankLines::new("y\n1\n\n3\n".as_bytes(), b','));
        let lines: Vec<(u64, String)> = reader
            .records()
            .map(|record| {
                let record = record.unwrap();
                let line = record.position().map_or(0, |p| p.line());
                (line, record[0].to_owned())
            })
            .collect();
        let expected = [(1, "y"), (2, "1"), (3, ""), (4, "3")];
        let expected: Vec<(u64, String)> = expected
            .iter()
            .map(|(line, text)| (*line, (*text).to_owned()))
            .collect();
        assert_eq!(lines, expected);
    }
}
