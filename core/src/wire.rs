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

macro_rules! optional_le_vector {
    ($module:ident, $inner:ident, $ty:ty, $width:literal) => {
        #[doc = concat!("`Option<Vec<", stringify!($ty), ">>` as an optional little-endian byte block.")]
        pub mod $module {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            struct Block(Vec<$ty>);

            impl Serialize for Block {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    super::$inner::serialize(&self.0, serializer)
                }
            }

            impl<'de> Deserialize<'de> for Block {
                fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    super::$inner::deserialize(deserializer).map(Block)
                }
            }

            /// Serializes `None`, or the values as one byte block.
            ///
            /// # Errors
            /// Whatever the serializer reports.
            pub fn serialize<S: Serializer>(
                values: &Option<Vec<$ty>>,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                values.as_ref().map(|values| Block(values.clone())).serialize(serializer)
            }

            /// Deserializes what [`serialize`] wrote.
            ///
            /// # Errors
            #[doc = concat!("A block whose length is not a multiple of ", $width, ".")]
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Option<Vec<$ty>>, D::Error> {
                Ok(Option::<Block>::deserialize(deserializer)?.map(|block| block.0))
            }
        }
    };
}

optional_le_vector!(opt_f64_le, f64_le, f64, 8);
optional_le_vector!(opt_u32_le, u32_le, u32, 4);

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        #[serde(with = "super::f64_le")]
        numbers: Vec<f64>,
        #[serde(with = "super::u32_le")]
        codes: Vec<u32>,
        #[serde(with = "super::opt_u32_le")]
        labels: Option<Vec<u32>>,
    }

    #[test]
    fn blocks_round_trip_and_travel_as_bytes() {
        let sample = Sample {
            numbers: vec![1.5, f64::NEG_INFINITY, -0.0],
            codes: vec![0, u32::MAX, 7],
            labels: Some(vec![3, 1]),
        };
        let json = serde_json::to_string(&sample).unwrap();
        // Byte blocks, not element-by-element sequences of numbers.
        assert!(json.contains("\"numbers\":[0,0,0,0,0,0,248,63,"), "{json}");
        let back: Sample = serde_json::from_str(&json).unwrap();
        assert_eq!(back.numbers[0], 1.5);
        assert_eq!(back.codes, sample.codes);
        assert_eq!(back.labels, sample.labels);
        let none = Sample {
            labels: None,
            ..back
        };
        let back: Sample = serde_json::from_str(&serde_json::to_string(&none).unwrap()).unwrap();
        assert_eq!(back.labels, None);
    }

    #[test]
    fn a_ragged_block_is_refused() {
        let error =
            serde_json::from_str::<Sample>(r#"{"numbers":[1,2,3],"codes":[],"labels":null}"#)
                .unwrap_err();
        assert!(error.to_string().contains("not a multiple of 8"), "{error}");
    }
}
