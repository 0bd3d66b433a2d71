//! Column blocks: what a fetcher hands over and the store writes as one chunk.
//!
//! A block is a run of consecutive rows of one column. Numeric blocks are stored as
//! little-endian `f64` bytes and categorical blocks as little-endian `u32` codes, the same
//! layout the wire uses, so a read decodes without any per-value work beyond the copy.

use crate::error::DatasetsError;

/// Consecutive values of one column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Block<'a> {
    /// Numbers; `NaN` is missing.
    Numeric(&'a [f64]),
    /// Category codes; `MISSING_CODE` is missing.
    Codes(&'a [u32]),
}

/// Where blocks go: the store's writer inside its transaction.
pub(crate) trait BlockSink {
    /// Stores `block` as rows `row_start..row_start + block.len()` of column `column` (its
    /// index in the version's schema).
    ///
    /// # Errors
    /// The store failed, or the work was cancelled.
    fn write(
        &mut self,
        column: usize,
        row_start: u64,
        block: Block<'_>,
    ) -> Result<(), DatasetsError>;
}

impl Block<'_> {
    /// The number of rows.
    pub(crate) fn len(&self) -> usize {
        match self {
            Block::Numeric(values) => values.len(),
            Block::Codes(codes) => codes.len(),
        }
    }

    /// Appends the stored form of the block to `bytes`.
    pub(crate) fn encode_into(&self, bytes: &mut Vec<u8>) {
        match self {
            Block::Numeric(values) => {
                bytes.reserve(values.len() * 8);
                for value in *values {
                    bytes.extend_from_slice(&value.to_le_bytes());
                }
            }
            Block::Codes(codes) => {
                bytes.reserve(codes.len() * 4);
                for code in *codes {
                    bytes.extend_from_slice(&code.to_le_bytes());
                }
            }
        }
    }
}

/// Appends the `f64` values of a stored numeric chunk to `out`.
pub(crate) fn decode_f64(bytes: &[u8], out: &mut Vec<f64>) {
    out.extend(bytes.chunks_exact(8).map(|word| {
        let mut array = [0u8; 8];
        array.copy_from_slice(word);
        f64::from_le_bytes(array)
    }));
}

/// Appends the codes of a stored categorical chunk to `out`.
pub(crate) fn decode_u32(bytes: &[u8], out: &mut Vec<u32>) {
    out.extend(bytes.chunks_exact(4).map(|word| {
        let mut array = [0u8; 4];
        array.copy_from_slice(word);
        u32::from_le_bytes(array)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip() {
        let values = [1.5, f64::NAN, -0.0, 1e300];
        let mut bytes = Vec::new();
        Block::Numeric(&values).encode_into(&mut bytes);
        let mut back = Vec::new();
        decode_f64(&bytes, &mut back);
        assert_eq!(back.len(), 4);
        assert!(back[1].is_nan());
        assert_eq!(back[3], 1e300);

        let codes = [0, u32::MAX, 7];
        let mut bytes = Vec::new();
        Block::Codes(&codes).encode_into(&mut bytes);
        let mut back = Vec::new();
        decode_u32(&bytes, &mut back);
        assert_eq!(back, codes);
    }
}
