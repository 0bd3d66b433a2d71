//! Serde adapters that move numeric vectors as little-endian byte blocks.
//!
//! A plain `Vec<f64>` is encoded element by element by every serde binary format, 5–6×
//! slower than one byte buffer at 64 KiB. Columns are therefore kept as typed vectors in
//! memory (in-process calls never serialize) and cross the wire as one `serde_bytes` block:
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Block {
//!     #[serde(with = "mltools_core::wire::f64_le")]
//!     values: Vec<f64>,
//! }
//! ```

macro_rules! le_vector {
    ($module:ident, $ty:ty, $width:literal) => {
        #[doc = concat!("`Vec<", stringify!($ty), ">` as one little-endian byte block.")]
        pub mod $module {
            use serde::de::Error as _;
            use serde::{Deserializer, Serializer};

            /// Serializes the values as one byte block.
            ///
            /// # Errors
            /// Whatever the serializer reports.
            pub fn serialize<S: Serializer>(
                values: &[$ty],
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                let mut bytes = Vec::with_capacity(values.len() * $width);
                for value in values {
                    bytes.extend_from_slice(&value.to_le_bytes());
                }
                serde_bytes::serialize(&bytes, serializer)
            }

            /// Deserializes a byte block written by [`serialize`].
            ///
            /// # Errors
            /// A block whose length is not a multiple of the element width.
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Vec<$ty>, D::Error> {
                let bytes: serde_bytes::ByteBuf = serde_bytes::deserialize(deserializer)?;
                if bytes.len() % $width != 0 {
                    return Err(D::Error::custom(format!(
                        concat!(
                            "a ",
                            stringify!($ty),
                            " block of {} bytes is not a multiple of ",
                            $width
                        ),
                        bytes.len()
                    )));
                }
                Ok(bytes
                    .chunks_exact($width)
                    .map(|chunk| {
                        let mut word = [0u8; $width];
                        word.copy_from_slice(chunk);
                        <$ty>::from_le_bytes(word)
                    })
                    .collect())
            }
        }
    };
}

le_vector!(f64_le, f64, 8);
le_vector!(u32_le, u32, 4);
