//! What the forests share: the number of trees and how many features each split may try.

use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count};
use crate::error::ModelsError;
use mltools_core::models::ParamValue;

/// How many features a split may choose from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxFeatures {
    /// Every feature (scikit-learn's regressors' default, `1.0`).
    All,
    /// ⌊√p⌋ (scikit-learn's classifiers' default).
    Sqrt,
    /// ⌊log₂ p⌋.
    Log2,
    /// This many (at most p).
    Count(usize),
}

impl MaxFeatures {
    /// The count for `features` columns, at least 1.
    pub fn resolve(self, features: usize) -> usize {
        let count = match self {
            MaxFeatures::All => features,
            MaxFeatures::Sqrt => (features as f64).sqrt().floor() as usize,
            MaxFeatures::Log2 => (features as f64).log2().floor() as usize,
            MaxFeatures::Count(count) => count.min(features),
        };
        count.max(1)
    }

    pub(crate) fn from_params(
        params: &Params<'_>,
        default: MaxFeatures,
    ) -> Result<MaxFeatures, ModelsError> {
        match params.raw("max_features") {
            None => Ok(default),
            Some(ParamValue::Text(text)) => match text.as_str() {
                "all" => Ok(MaxFeatures::All),
                "sqrt" => Ok(MaxFeatures::Sqrt),
                "log2" => Ok(MaxFeatures::Log2),
                _ => Err(params.refuse("max_features", &ParamValue::Text(text.clone()))),
            },
            Some(_) => Ok(MaxFeatures::Count(count(
                params.algorithm,
                "max_features",
                params.integer("max_features", 1)?,
                1,
            )?)),
        }
    }
}

/// The documentation of `n_trees`.
pub(crate) const N_TREES_DOC: ParamDoc = ParamDoc {
    name: "n_trees",
    default: DefaultValue::Integer(100),
    accepts: "a whole number from 1 to 65535",
    doc: "The number of trees (scikit-learn's `n_estimators`).",
};

/// The documentation of `max_features`, with its default.
pub(crate) const fn max_features_doc(default: &'static str) -> ParamDoc {
    ParamDoc {
        name: "max_features",
        default: DefaultValue::Text(default),
        accepts: "`all`, `sqrt`, `log2` or a whole number ≥ 1",
        doc: "How many randomly chosen features each split may try.",
    }
}

/// The documentation of `bootstrap`, with its default.
pub(crate) const fn bootstrap_doc(default: bool) -> ParamDoc {
    ParamDoc {
        name: "bootstrap",
        default: DefaultValue::Bool(default),
        accepts: "`true` or `false`",
        doc: "Whether each tree is grown on a bootstrap sample of the rows (drawn with \
              replacement) rather than on all of them.",
    }
}

/// Reads `bootstrap`.
pub(crate) fn bootstrap(params: &Params<'_>, default: bool) -> Result<bool, ModelsError> {
    params.boolean("bootstrap", default)
}

/// Reads `n_trees`: 1 to 65535 (a model file holds at most that many trees).
pub(crate) fn n_trees(params: &Params<'_>) -> Result<usize, ModelsError> {
    let trees = count(
        params.algorithm,
        "n_trees",
        params.integer("n_trees", 100)?,
        1,
    )?;
    check_trees(params.algorithm, trees)
}

/// Checks a tree count.
pub(crate) fn check_trees(algorithm: &'static str, trees: usize) -> Result<usize, ModelsError> {
    crate::algorithms::params::require(
        (1..=usize::from(u16::MAX)).contains(&trees),
        algorithm,
        "n_trees",
        trees,
        N_TREES_DOC.accepts,
    )?;
    Ok(trees)
}
