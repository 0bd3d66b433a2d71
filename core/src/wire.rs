//! Serde adapters that move numeric vectors as little-endian byte blocks.
//!
//! A plain `Vec<f64>` is encoded element by element by every serde binary format, 5–6×
//! slower than one byte buffer at 64 KiB. Columns are therefore kept as typed vectors in
//! memory (in-process calls never serialize) and cross the wire as one `serde_bytes` block.
//! On a little-endian machine the block is the vector's own bytes, handed to the encoder
//! without a copy, and a block is decoded straight into the vector: encoding a 100 000 × 20
//! page once allocated and filled a 16 MB byte copy of the columns per pass (postcard sizes
//! a message in a first pass), and decoding went through an intermediate byte buffer.
//!
//! Human-readable formats (JSON, for the HTTP gateway and `--json` output) get a plain
//! array of numbers instead; JSON has no NaN or infinity, so a non-finite `f64` is written
//! `null`, and `null` is read back as NaN (a missing value).
//!
//! ```
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Block {
//!     #[serde(with = "mltools_core::wire::f64_le")]
//!     values: Vec<f64>,
//! }
//! ```

macro_rules! le_vector {
    ($module:ident, $ty:ty, $width:literal, $readable_ty:ty, $readable:expr, $from_readable:expr) => {
        #[doc = concat!("`Vec<", stringify!($ty), ">` as one little-endian byte block (a plain array in human-readable formats).")]
        pub mod $module {
            use serde::{Deserializer, Serializer};

            /// Serializes the values as one byte block: on a little-endian machine, the
            /// vector's own bytes, not copied.
            ///
            /// # Errors
            /// Whatever the serializer reports.
            pub fn serialize<S: Serializer>(
                values: &[$ty],
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                if serializer.is_human_readable() {
                    return serializer.collect_seq(values.iter().map(|&value| $readable(value)));
                }
                if cfg!(target_endian = "little") {
                    return serializer.serialize_bytes(bytemuck::cast_slice(values));
                }
                let mut bytes = Vec::with_capacity(values.len() * $width);
                for value in values {
                    bytes.extend_from_slice(&value.to_le_bytes());
                }
                serializer.serialize_bytes(&bytes)
            }

            /// Deserializes a byte block written by [`serialize`], straight into the vector
            /// (no intermediate buffer).
            ///
            /// # Errors
            /// A block whose length is not a multiple of the element width.
            pub fn deserialize<'de, D: Deserializer<'de>>(
                deserializer: D,
            ) -> Result<Vec<$ty>, D::Error> {
                if deserializer.is_human_readable() {
                    let values: Vec<$readable_ty> = serde::Deserialize::deserialize(deserializer)?;
                    return Ok(values.into_iter().map($from_readable).collect());
                }
                deserializer.deserialize_bytes(Block)
            }

            struct Block;

            impl<'de> serde::de::Visitor<'de> for Block {
                type Value = Vec<$ty>;

                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(concat!("a block of little-endian ", stringify!($ty), " values"))
                }

                fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Self::Value, E> {
                    if bytes.len() % $width != 0 {
                        return Err(E::custom(format!(
                            concat!(
                                "a ",
                                stringify!($ty),
                                " block of {} bytes is not a multiple of ",
                                $width
                            ),
                            bytes.len()
                        )));
                    }
                    // Zeroed memory from the allocator, then the bytes copied over it in one pass.
                    let mut values: Vec<$ty> = vec![<$ty>::default(); bytes.len() / $width];
                    bytemuck::cast_slice_mut::<$ty, u8>(&mut values).copy_from_slice(bytes);
                    if cfg!(target_endian = "big") {
                        for value in &mut values {
                            *value = <$ty>::from_le_bytes(value.to_ne_bytes());
                        }
                    }
                    Ok(values)
                }

                /// MessagePack from peers writing bytes as a string ("raw").
                fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                    self.visit_bytes(text.as_bytes())
                }

                /// Formats that write bytes as a sequence of numbers.
                fn visit_seq<A: serde::de::SeqAccess<'de>>(
                    self,
                    mut seq: A,
                ) -> Result<Self::Value, A::Error> {
                    // The declared length is the peer's word: grown from a small start.
                    let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                    while let Some(byte) = seq.next_element::<u8>()? {
                        bytes.push(byte);
                    }
                    self.visit_bytes(&bytes)
                }
            }
        }
    };
}

le_vector!(
    f64_le,
    f64,
    8,
    Option<f64>,
    |value: f64| value.is_finite().then_some(value),
    |value: Option<f64>| value.unwrap_or(f64::NAN)
);
le_vector!(u32_le, u32, 4, u32, |value: u32| value, |value: u32| value);

macro_rules! optional_le_vector {
    ($module:ident, $inner:ident, $ty:ty, $width:literal) => {
        #[doc = concat!("`Option<Vec<", stringify!($ty), ">>` as an optional little-endian byte block.")]
        pub mod $module {
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            struct Block(Vec<$ty>);

            struct BlockRef<'a>(&'a [$ty]);

            impl Serialize for BlockRef<'_> {
                fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    super::$inner::serialize(self.0, serializer)
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
                values.as_deref().map(BlockRef).serialize(serializer)
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
    fn blocks_travel_as_little_endian_bytes_in_binary_formats() {
        let sample = Sample {
            numbers: vec![1.5, f64::NEG_INFINITY, -0.0],
            codes: vec![0, u32::MAX, 7],
            labels: Some(vec![3, 1]),
        };
        let bytes = postcard::to_allocvec(&sample).unwrap();
        let mut expected = vec![24];
        for value in &sample.numbers {
            expected.extend_from_slice(&value.to_le_bytes());
        }
        expected.push(12);
        for value in &sample.codes {
            expected.extend_from_slice(&value.to_le_bytes());
        }
        expected.extend_from_slice(&[1, 8, 3, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(bytes, expected);
        let back: Sample = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.numbers[..2], sample.numbers[..2]);
        assert!(back.numbers[2] == 0.0 && back.numbers[2].is_sign_negative());
        assert_eq!((back.codes, back.labels), (sample.codes, sample.labels));
    }

    #[test]
    fn json_gets_plain_arrays_with_null_for_what_is_not_finite() {
        let sample = Sample {
            numbers: vec![1.5, f64::NAN, f64::INFINITY, -2.0],
            codes: vec![0, 7],
            labels: Some(vec![3, 1]),
        };
        let json = serde_json::to_string(&sample).unwrap();
        assert_eq!(
            json,
            r#"{"numbers":[1.5,null,null,-2.0],"codes":[0,7],"labels":[3,1]}"#
        );
        let back: Sample = serde_json::from_str(&json).unwrap();
        assert_eq!(back.numbers[0], 1.5);
        assert!(back.numbers[1].is_nan() && back.numbers[2].is_nan());
        assert_eq!(back.numbers[3], -2.0);
        assert_eq!((back.codes, back.labels), (sample.codes, sample.labels));
        let none: Sample =
            serde_json::from_str(r#"{"numbers":[],"codes":[],"labels":null}"#).unwrap();
        assert_eq!(none.labels, None);
    }

    #[test]
    fn a_ragged_block_or_a_wrong_type_is_refused() {
        let mut bytes = postcard::to_allocvec(&Sample {
            numbers: vec![1.0],
            codes: Vec::new(),
            labels: None,
        })
        .unwrap();
        bytes[0] = 7;
        bytes.remove(8);
        let error = postcard::from_bytes::<Sample>(&bytes).unwrap_err();
        assert!(!error.to_string().is_empty());
        let error = serde_json::from_str::<Sample>(r#"{"numbers":["1"],"codes":[],"labels":null}"#)
            .unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
        let error = serde_json::from_str::<Sample>(r#"{"numbers":[],"codes":[-1],"labels":null}"#)
            .unwrap_err();
        assert!(error.to_string().contains("invalid value"), "{error}");
    }
}
