//! The growth limits every tree and forest shares, with scikit-learn's defaults: grown
//! until pure (`max_depth = none`), `min_samples_leaf = 1`, `min_samples_split = 2`.

use crate::algorithms::params::{DefaultValue, ParamDoc, Params, count, invalid};
use crate::error::ModelsError;

/// How far a tree may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeLimits {
    /// The deepest a tree may grow; unlimited when `None`.
    pub max_depth: Option<u16>,
    /// The fewest rows a leaf may hold; 1.
    pub min_samples_leaf: usize,
    /// The fewest rows a node needs to be split; 2.
    pub min_samples_split: usize,
}

impl Default for TreeLimits {
    fn default() -> Self {
        TreeLimits {
            max_depth: None,
            min_samples_leaf: 1,
            min_samples_split: 2,
        }
    }
}

/// The documentation of the limits.
pub(crate) const DOCS: [ParamDoc; 3] = [
    ParamDoc {
        name: "max_depth",
        default: DefaultValue::Text("none"),
        accepts: "a whole number from 1 to 65535, or `none`",
        doc: "The deepest a tree may grow; `none` grows it until its leaves are pure.",
    },
    ParamDoc {
        name: "min_samples_leaf",
        default: DefaultValue::Integer(1),
        accepts: "a whole number ≥ 1",
        doc: "The fewest training rows a leaf may hold.",
    },
    ParamDoc {
        name: "min_samples_split",
        default: DefaultValue::Integer(2),
        accepts: "a whole number ≥ 2",
        doc: "The fewest training rows a node needs to be split.",
    },
];

impl TreeLimits {
    /// Reads and checks the limits of `algorithm`.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a value out of range.
    pub(crate) fn from_params(params: &Params<'_>) -> Result<TreeLimits, ModelsError> {
        let algorithm = params.algorithm;
        let max_depth = match params.integer_or_none("max_depth")? {
            None => None,
            Some(depth) => Some(
                u16::try_from(depth)
                    .ok()
                    .filter(|&d| d >= 1)
                    .ok_or_else(|| invalid(algorithm, "max_depth", depth, DOCS[0].accepts))?,
            ),
        };
        Ok(TreeLimits {
            max_depth,
            min_samples_leaf: count(
                algorithm,
                "min_samples_leaf",
                params.integer("min_samples_leaf", 1)?,
                1,
            )?,
            min_samples_split: count(
                algorithm,
                "min_samples_split",
                params.integer("min_samples_split", 2)?,
                2,
            )?,
        })
    }

    /// Checks limits built in code.
    ///
    /// # Errors
    /// [`ModelsError::InvalidParam`] for a value out of range.
    pub(crate) fn check(&self, algorithm: &'static str) -> Result<(), ModelsError> {
        if self.max_depth == Some(0) {
            return Err(invalid(algorithm, "max_depth", 0, DOCS[0].accepts));
        }
        count(
            algorithm,
            "min_samples_leaf",
            self.min_samples_leaf as i64,
            1,
        )?;
        count(
            algorithm,
            "min_samples_split",
            self.min_samples_split as i64,
            2,
        )?;
        Ok(())
    }
}
