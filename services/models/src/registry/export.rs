//! A stored model as one self-contained file, and back.

use crate::algorithms::FittedModel;
use crate::algorithms::validate::MAX_CLASSES;
use crate::error::ModelsError;
use mltools_core::models::{ModelFile, ModelInfo, Task};
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

/// The description and fitted bytes in a file from [`export`], checked to decode and to be
/// sound before anything is stored: every tree's children in range and reached once from
/// its root, split features and leaf outputs in range, our own models' arrays consistent
/// and finite, the class list bounded (see [`FittedModel::from_bytes`]).
///
/// # Errors
/// [`ModelsError::BadFile`] naming the fault, for a file that is not an exported model of
/// this version, is truncated, whose model does not decode or is unsound (a tree node
/// pointing back, a child or feature index out of range, more than 65,536 classes), or
/// whose description disagrees with its model (the algorithm, the task, the feature count
/// against the pipeline's output columns, the classes).
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
    if let Some(classes) = &exported.info.classes
        && classes.len() > MAX_CLASSES
    {
        return Err(corrupt(format!(
            "the file lists {} classes; at most {MAX_CLASSES} are allowed",
            classes.len()
        )));
    }
    let model = FittedModel::decode(&exported.model).map_err(corrupt)?;
    if model.algorithm().as_str() != exported.info.spec.algorithm {
        return Err(corrupt(format!(
            "the file describes a `{}` but holds a `{}`",
            exported.info.spec.algorithm,
            model.algorithm()
        )));
    }
    check_agreement(&exported.info, &model).map_err(corrupt)?;
    Ok((exported.info, exported.model))
}

/// Checks that a file's description and its model agree on what prediction needs: the
/// task, the number of features the pipeline hands the model, and the classes.
fn check_agreement(info: &ModelInfo, model: &FittedModel) -> Result<(), String> {
    let algorithm = model.algorithm();
    if algorithm.task() != info.task {
        return Err(format!(
            "the file describes a {} model but holds a {} one ({algorithm})",
            info.task,
            algorithm.task()
        ));
    }
    let outputs = info.pipeline.output_columns.len();
    let features = model.features().len();
    if features != outputs {
        return Err(format!(
            "the model's feature count is {features} but its pipeline gives {outputs} columns"
        ));
    }
    match (info.task, &info.classes) {
        (Task::Regression, None) if model.classes() == 0 => Ok(()),
        (Task::Regression, Some(classes)) => Err(format!(
            "the file describes a regression model but lists {} classes",
            classes.len()
        )),
        (Task::Classification, Some(classes)) if classes.len() == model.classes() => Ok(()),
        (Task::Classification, Some(classes)) => Err(format!(
            "the model predicts {} classes but the file lists {} ({})",
            model.classes(),
            classes.len(),
            classes.join(", ")
        )),
        (Task::Classification, None) => {
            Err("the file describes a classifier but lists no classes".to_owned())
        }
        (Task::Regression, None) => Err(format!(
            "the file describes a regression model but the model predicts {} classes",
            model.classes()
        )),
    }
}

#[cfg(test)]
mod tests;
