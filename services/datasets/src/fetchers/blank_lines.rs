//! [`BlankLines`]: keeps the empty fields of a one-column file, and bounds every record
//! before the CSV reader buffers it.
//!
//! csv-core skips empty lines. In a file of two or more columns an empty line is no row
//! (pandas skips it too), but in a file of one column it is the only way to write an empty
//! field: `y\n1\n\n3\n` holds three rows, the second missing. This reader sits between the
//! source and the CSV reader: when the header line has a single field, it rewrites each
//! empty line that is followed by a row as `""` (an empty quoted field, one line long, so
//! line numbers are kept); empty lines at the end of the file stay ignored. Lines inside a
//! quoted field are left alone: it follows csv-core's own quoting rules (a quote opens a
//! quoted field only at the start of a field; `""` inside one is a literal quote).
//!
//! Empty lines are counted, never stored: a run of a billion is handed out a buffer at a
//! time, so no allocation grows with it.
//!
//! The csv reader grows a record's buffers until the record ends, so a line of a gigabyte
//! (or of a million delimiters) would be buffered whole before any check. This reader
//! follows the same quoting rules over every byte, so it knows each record's length and
//! field count as they come, and fails the read with [`Oversized`] (naming the record's
//! line) as soon as one passes its [`RecordLimits`].

use std::io::{self, Read};

/// The bytes a read from the source takes at a time, and about the most handed out at once.
const BUFFER: usize = 64 * 1024;

/// The `""` line an empty line of a one-column file becomes.
const EMPTY_FIELD: &[u8] = b"\"\"\n";

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

/// The largest record the reader lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordLimits {
    /// Bytes of one record, its line ending excluded.
    pub(crate) max_bytes: usize,
    /// Fields of one record.
    pub(crate) max_fields: usize,
}

/// A record past its [`RecordLimits`]; the read fails with it inside an
/// [`io::Error`] of kind `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Oversized {
    /// The record is longer than `limit` bytes.
    #[error("line {line}: the record is longer than {limit} bytes")]
    Bytes {
        /// The 1-based line the record starts on.
        line: u64,
        /// The limit.
        limit: usize,
    },
    /// The record has more than `limit` fields.
    #[error("line {line}: {} fields, over the limit of {limit}", field_count(*.count, *.whole))]
    Fields {
        /// The 1-based line the record starts on.
        line: u64,
        /// The fields counted: all of them if `whole`, else those within `max_bytes`.
        count: usize,
        /// Whether the record ended within `max_bytes`, so that `count` is exact.
        whole: bool,
        /// The limit.
        limit: usize,
    },
}

/// `20000`, or `more than 20000` when the count stopped short of the record's end.
pub(crate) fn field_count(count: usize, whole: bool) -> String {
    if whole {
        count.to_string()
    } else {
        format!("more than {count}")
    }
}

impl Oversized {
    /// The [`Oversized`] an I/O error of a [`BlankLines`] read carries, if it is one.
    pub(crate) fn carried_by(error: &io::Error) -> Option<Oversized> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<Oversized>())
            .copied()
    }
}

/// Where the reader is in the text, and the current record's size so far.
#[derive(Debug, Clone, Copy)]
struct Record {
    at: At,
    /// `\n` seen so far in the source.
    newlines: u64,
    /// The 1-based line the current record started on.
    line: u64,
    bytes: usize,
    fields: usize,
}

/// What a byte did to a [`Record`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moved {
    /// Nothing but its count: a byte of a field, an empty line.
    On,
    /// It ended a field (outside quotes).
    Delimiter,
    /// It ended the record.
    End,
    /// It made the record longer than the byte limit.
    TooLong,
}

impl Record {
    fn new() -> Self {
        Record {
            at: At::LineStart,
            newlines: 0,
            line: 0,
            bytes: 0,
            fields: 0,
        }
    }

    /// Follows `byte` through csv-core's quoting rules. Inlined into the loops that call
    /// it, so the state stays in registers.
    #[inline(always)]
    fn advance(&mut self, byte: u8, delimiter: u8, max_bytes: usize) -> Moved {
        let ends_line = byte == b'\n' || byte == b'\r';
        self.newlines += u64::from(byte == b'\n');
        if self.at == At::LineStart {
            if ends_line {
                // An empty line (or the `\n` of a `\r\n`): no record.
                return Moved::On;
            }
            self.line = self.newlines + 1;
            self.bytes = 0;
            self.fields = 1;
            self.at = At::FieldStart;
        }
        let mut moved = Moved::On;
        self.at = match (self.at, byte) {
            (At::Quoted, b'"') => At::QuoteInQuoted,
            (At::Quoted, _) => At::Quoted,
            (At::FieldStart, b'"') | (At::QuoteInQuoted, b'"') => At::Quoted,
            _ if ends_line => {
                self.at = At::LineStart;
                return Moved::End;
            }
            _ if byte == delimiter => {
                self.fields += 1;
                moved = Moved::Delimiter;
                At::FieldStart
            }
            _ => At::Unquoted,
        };
        self.bytes += 1;
        if self.bytes > max_bytes {
            return Moved::TooLong;
        }
        moved
    }
}

/// A reader that keeps the empty lines of a one-column CSV text as empty fields and
/// refuses records past its limits.
#[derive(Debug)]
pub(crate) struct BlankLines<R> {
    inner: R,
    delimiter: u8,
    limits: RecordLimits,
    record: Record,
    /// The previous byte ended a line with `\r`: `Some(true)` if it was an empty line,
    /// held back with its line.
    after_cr: Option<bool>,
    /// Fields in the header line so far; `None` before the header starts.
    header_fields: Option<usize>,
    /// Whether the text has one column; `None` while the header is being read.
    one_column: Option<bool>,
    /// Empty lines seen since the last row, held back until a row follows.
    held: u64,
    /// Held empty lines that a row followed: to be handed out as `""` lines before it.
    pending: u64,
    input: Vec<u8>,
    /// The bytes of `input` read from the source, and how many of them were handled.
    filled: usize,
    taken: usize,
    output: Vec<u8>,
    /// How much of `output` was handed out.
    handed: usize,
}

impl<R: Read> BlankLines<R> {
    /// Reads `inner`, a CSV text separated by `delimiter`, refusing records past `limits`.
    pub(crate) fn new(inner: R, delimiter: u8, limits: RecordLimits) -> Self {
        BlankLines {
            inner,
            delimiter,
            limits,
            record: Record::new(),
            after_cr: None,
            header_fields: None,
            one_column: None,
            held: 0,
            pending: 0,
            input: vec![0; BUFFER],
            filled: 0,
            taken: 0,
            output: Vec::with_capacity(BUFFER),
            handed: 0,
        }
    }

    /// Handles one byte of the source, writing what the CSV reader is to see to `output`.
    /// `Ok(false)` when the byte starts a row after held empty lines: they are `pending`
    /// now, and the byte is to be handled again once they are handed out.
    fn step(&mut self, byte: u8) -> Result<bool, Oversized> {
        let ends_line = byte == b'\n' || byte == b'\r';
        if self.record.at == At::LineStart {
            if let Some(held) = self.after_cr.take()
                && byte == b'\n'
            {
                // The `\n` of a `\r\n`: it belongs to the line just ended.
                self.record.newlines += 1;
                if !held {
                    self.output.push(byte);
                }
                return Ok(true);
            }
            if ends_line {
                self.record.newlines += u64::from(byte == b'\n');
                self.empty_line(byte);
                return Ok(true);
            }
            if self.held > 0 {
                // A line with content: the empty lines before it are rows with a missing
                // value.
                self.pending = self.held;
                self.held = 0;
                return Ok(false);
            }
            self.header_fields.get_or_insert(1);
        }
        self.output.push(byte);
        self.track(byte)?;
        Ok(true)
    }

    /// Follows `byte` through the quoting rules, counting the record's bytes and fields,
    /// and the header's fields.
    fn track(&mut self, byte: u8) -> Result<(), Oversized> {
        match self
            .record
            .advance(byte, self.delimiter, self.limits.max_bytes)
        {
            Moved::On => {}
            Moved::Delimiter => {
                if self.one_column.is_none()
                    && let Some(fields) = &mut self.header_fields
                {
                    *fields += 1;
                }
            }
            Moved::End => {
                self.line_ended(byte);
                if self.wide() {
                    return Err(self.too_many_fields(true));
                }
            }
            Moved::TooLong => return Err(self.too_long()),
        }
        Ok(())
    }

    /// As [`BlankLines::track`] over each of `bytes`, once the header is read (so there
    /// are no header fields to count). `Some(index)` when the byte before `index` made the
    /// record too wide.
    fn track_run(&mut self, bytes: &[u8]) -> Result<Option<usize>, Oversized> {
        let mut record = self.record;
        let (delimiter, limits) = (self.delimiter, self.limits);
        let mut index = 0;
        while index < bytes.len() {
            if matches!(record.at, At::Unquoted | At::Quoted) {
                // Inside a field only these bytes change anything: skip the others at once.
                let run = bytes[index..]
                    .iter()
                    .position(|&byte| {
                        byte == delimiter || byte == b'"' || byte == b'\n' || byte == b'\r'
                    })
                    .unwrap_or(bytes.len() - index);
                index += run;
                record.bytes += run;
                if record.bytes > limits.max_bytes {
                    self.record = record;
                    return Err(self.too_long());
                }
                if index == bytes.len() {
                    break;
                }
            }
            let byte = bytes[index];
            index += 1;
            match record.advance(byte, delimiter, limits.max_bytes) {
                Moved::On | Moved::End => {}
                Moved::Delimiter => {
                    if record.fields > limits.max_fields {
                        self.record = record;
                        return Ok(Some(index));
                    }
                }
                Moved::TooLong => {
                    self.record = record;
                    return Err(self.too_long());
                }
            }
        }
        self.record = record;
        Ok(None)
    }

    /// The refusal of a record past the byte limit: too wide, if it is, else too long.
    fn too_long(&self) -> Oversized {
        if self.wide() {
            self.too_many_fields(false)
        } else {
            Oversized::Bytes {
                line: self.record.line,
                limit: self.limits.max_bytes,
            }
        }
    }

    /// Whether the current record has more fields than the limit.
    fn wide(&self) -> bool {
        self.record.fields > self.limits.max_fields
    }

    fn too_many_fields(&self, whole: bool) -> Oversized {
        Oversized::Fields {
            line: self.record.line,
            count: self.record.fields,
            whole,
            limit: self.limits.max_fields,
        }
    }

    /// Once a record has more fields than the limit: reads on to its end (or to
    /// `max_bytes`), handing nothing out, to tell how many fields it has. The unhandled
    /// bytes are `input[taken..filled]`.
    fn count_on(&mut self) -> io::Error {
        loop {
            while self.taken < self.filled {
                let byte = self.input[self.taken];
                self.taken += 1;
                if let Err(oversized) = self.track(byte) {
                    return io::Error::other(oversized);
                }
            }
            match self.inner.read(&mut self.input) {
                Ok(0) => return io::Error::other(self.too_many_fields(true)),
                Ok(read) => {
                    self.filled = read;
                    self.taken = 0;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return error,
            }
        }
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

    /// Fills `output` from the pending empty lines or the unhandled input; `false` when
    /// both are used up.
    fn refill(&mut self) -> io::Result<bool> {
        self.output.clear();
        self.handed = 0;
        if self.pending > 0 {
            let lines = self.pending.min((BUFFER / EMPTY_FIELD.len()) as u64);
            for _ in 0..lines {
                self.output.extend_from_slice(EMPTY_FIELD);
            }
            self.pending -= lines;
            return Ok(true);
        }
        if self.taken == self.filled {
            return Ok(false);
        }
        while self.taken < self.filled {
            if !self
                .step(self.input[self.taken])
                .map_err(io::Error::other)?
            {
                break;
            }
            self.taken += 1;
            if self.wide() {
                return Err(self.count_on());
            }
        }
        Ok(true)
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
            if self.refill()? {
                continue;
            }
            if self.one_column == Some(false) {
                // Several columns: nothing more to rewrite, only records to measure.
                let read = self.inner.read(buffer)?;
                if let Some(index) = self.track_run(&buffer[..read]).map_err(io::Error::other)? {
                    let rest = &buffer[index..read];
                    self.input[..rest.len()].copy_from_slice(rest);
                    (self.taken, self.filled) = (0, rest.len());
                    return Err(self.count_on());
                }
                return Ok(read);
            }
            let read = self.inner.read(&mut self.input)?;
            if read == 0 {
                // Empty lines held at the end of the text are dropped: csv-core would
                // skip them anyway.
                return Ok(0);
            }
            self.filled = read;
            self.taken = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RecordLimits = RecordLimits {
        max_bytes: 1 << 20,
        max_fields: 16_384,
    };

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
        BlankLines::new(Trickle(text.as_bytes(), chunk), b',', LIMITS)
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
            .from_reader(BlankLines::new("y\n1\n\n3\n".as_bytes(), b',', LIMITS));
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

    /// `head`, then `count` copies of `byte`, then `tail`, made up as it is read: nothing
    /// holds the whole text. Counts the bytes handed out.
    struct Generated {
        head: &'static [u8],
        byte: u8,
        count: u64,
        tail: &'static [u8],
        handed: u64,
    }

    impl Read for Generated {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let mut written = 0;
            while written < buffer.len() {
                if !self.head.is_empty() {
                    buffer[written] = self.head[0];
                    self.head = &self.head[1..];
                } else if self.count > 0 {
                    buffer[written] = self.byte;
                    self.count -= 1;
                } else if !self.tail.is_empty() {
                    buffer[written] = self.tail[0];
                    self.tail = &self.tail[1..];
                } else {
                    break;
                }
                written += 1;
            }
            self.handed += written as u64;
            Ok(written)
        }
    }

    fn generated(head: &'static str, byte: u8, count: u64, tail: &'static str) -> Generated {
        Generated {
            head: head.as_bytes(),
            byte,
            count,
            tail: tail.as_bytes(),
            handed: 0,
        }
    }

    fn oversized(result: io::Result<usize>) -> Oversized {
        let error = result.expect_err("the read fails");
        Oversized::carried_by(&error).expect("the error carries the record's size")
    }

    #[test]
    fn a_long_record_is_refused_naming_its_line_before_the_rest_is_read() {
        let limits = RecordLimits {
            max_bytes: 1000,
            max_fields: 16,
        };
        for one_column in [true, false] {
            let head = if one_column {
                "y\n1\n\n"
            } else {
                "a,b\n1,2\n\n"
            };
            let mut source = generated(head, b'7', u64::MAX, "");
            let mut reader = BlankLines::new(&mut source, b',', limits);
            let error = oversized(io::copy(&mut reader, &mut io::sink()).map(|n| n as usize));
            assert_eq!(
                error,
                Oversized::Bytes {
                    line: 4,
                    limit: 1000
                }
            );
            assert!(
                source.handed <= 2 * BUFFER as u64,
                "{} bytes were read",
                source.handed
            );
        }
        // A quoted field's line breaks belong to its record, which starts on line 2.
        let mut quoted = BlankLines::new(generated("a,b\n\"", b'\n', 2000, "\",1\n"), b',', limits);
        let error = oversized(io::copy(&mut quoted, &mut io::sink()).map(|n| n as usize));
        assert_eq!(
            error,
            Oversized::Bytes {
                line: 2,
                limit: 1000
            }
        );
        // At the limit, a record passes.
        let mut exact = String::from("a\n");
        exact.push_str(&"x".repeat(1000));
        exact.push('\n');
        let mut text = String::new();
        BlankLines::new(exact.as_bytes(), b',', limits)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, exact);
    }

    #[test]
    fn a_record_of_too_many_fields_is_refused_naming_its_line() {
        let limits = RecordLimits {
            max_bytes: 1 << 20,
            max_fields: 4,
        };
        let mut header = BlankLines::new(generated("", b';', 1 << 30, ""), b';', limits);
        let error = oversized(header.read_to_end(&mut Vec::new()));
        assert_eq!(
            error,
            Oversized::Fields {
                line: 1,
                count: (1 << 20) + 2,
                whole: false,
                limit: 4
            }
        );
        let mut row = BlankLines::new(generated("a,b\n1,2\r\n", b',', 1 << 30, ""), b',', limits);
        let error = oversized(row.read_to_end(&mut Vec::new()));
        assert_eq!(
            error,
            Oversized::Fields {
                line: 3,
                count: (1 << 20) + 2,
                whole: false,
                limit: 4
            }
        );
        // A record that ends within the byte limit has its fields counted exactly.
        let mut header = BlankLines::new(generated("a", b',', 99, "\n1\n"), b',', limits);
        let error = oversized(header.read_to_end(&mut Vec::new()));
        assert_eq!(error.to_string(), "line 1: 100 fields, over the limit of 4");
        let mut row = BlankLines::new(generated("y\n1\n", b',', 9, ""), b',', limits);
        let error = oversized(row.read_to_end(&mut Vec::new()));
        assert_eq!(error.to_string(), "line 3: 10 fields, over the limit of 4");
        // Delimiters inside quotes separate nothing.
        let mut text = String::new();
        BlankLines::new("a,b\n\",,,,,,\",1\n".as_bytes(), b',', limits)
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "a,b\n\",,,,,,\",1\n");
    }

    #[test]
    fn runs_of_empty_lines_never_grow_a_buffer() {
        let lines = 4_000_000;
        for (head, tail, rows) in [
            ("y\n1\n", "2\n", lines + 2),
            ("y\n1\n", "", 1),
            ("a,b\n1,2\n", "3,4\n", 2),
        ] {
            let mut reader = BlankLines::new(generated(head, b'\n', lines, tail), b',', LIMITS);
            let mut buffer = [0u8; 8 * 1024];
            let mut newlines = 0u64;
            let mut quotes = 0u64;
            loop {
                let read = reader.read(&mut buffer).unwrap();
                if read == 0 {
                    break;
                }
                newlines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
                quotes += buffer[..read].iter().filter(|&&b| b == b'"').count() as u64;
                assert!(reader.output.capacity() <= BUFFER + EMPTY_FIELD.len());
            }
            assert_eq!(reader.input.capacity(), BUFFER);
            let empty_fields = quotes / 2;
            if tail.is_empty() || head.starts_with("a,b") {
                assert_eq!(empty_fields, 0, "{head:?}");
            } else {
                assert_eq!(empty_fields, lines, "{head:?}");
                assert_eq!(newlines, rows + 1, "{head:?}");
            }
        }
    }
}
