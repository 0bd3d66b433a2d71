//! A stored model as one self-contained file, and back.

use crate::algorithms::FittedModel;
use crate::error::ModelsError;
use mltools_core::models::{ModelFile, ModelInfo};
use serde::{Deserialize, Serialize};

/// The first bytes of an exported model, then a format version.
const MAGIC: &[u8; 4] = b"MLTX";
/// The version of the exported form.
const FORMAT: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Exported {
    info: ModelInfo,
    #[serde(with = "serde_bytes_compat")]
    model: Vec<u8>,
}

/// `Vec<u8>` as one byte block (postcard writes a plain `Vec<u8>` byte by byte anyway, but
/// the block form keeps the file readable by any serde format).
mod serde_bytes_compat {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        <&[u8]>::deserialize(deserializer).map(<[u8]>::to_vec)
    }
}

/// The file for a stored model.
///
/// # Errors
/// [`ModelsError::Corrupt`] if encoding fails.
pub fn export(info: &ModelInfo, model: &[u8]) -> Result<ModelFile, ModelsError> {
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT);
    let exported = Exported {
        info: info.clone(),
        model: model.to_vec(),
    };
    postcard::to_io(&exported, &mut bytes).map_err(|error| ModelsError::Corrupt {
        reason: error.to_string(),
    })?;
    Ok(ModelFile { bytes })
}

/// The description and fitted bytes in a file from [`export`], checked to decode.
///
/// # Errors
/// [`ModelsError::BadFile`] for a file that is not an exported model of this version, or
/// whose model does not decode.
pub fn import(file: &ModelFile) -> Result<(ModelInfo, Vec<u8>), ModelsError> {
    let corrupt = |reason: String| ModelsError::BadFile { reason };
    let body = file
        .bytes
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| corrupt("not an exported mltools model (bad magic number)".to_owned()))?;
    let exported: Exported = match body.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| corrupt(e.to_string()))?,
        Some((&version, _)) => {
            return Err(corrupt(format!(
                "export format {version}; this build reads format {FORMAT}"
            )));
        }
        None => return Err(corrupt("the file is truncated".to_owned())),
    };
    let model =
        FittedModel::from_bytes(&exported.model).map_err(|error| corrupt(error.to_string()))?;
    if model.algorithm().as_str() != exported.info.spec.algorithm {
        return Err(corrupt(format!(
            "the file describes a `{}` but holds a `{}`",
            exported.info.spec.algorithm,
            model.algorithm()
        )));
    }
    Ok((exported.info, exported.model))
}
