//! Typed identifiers.

use crate::ServiceError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = ServiceError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse::<u64>().map($name).map_err(|_| {
                    ServiceError::invalid_input(format!(
                        concat!("`{}` is not a ", $what, " id (a positive integer)"),
                        s
                    ))
                })
            }
        }
    };
}

numeric_id!(
    /// A dataset's id, assigned by the datasets service at import and never reused.
    DatasetId,
    "dataset"
);
numeric_id!(
    /// A fitted model's id in the models registry.
    ModelId,
    "model"
);
numeric_id!(
    /// A job's id: a models job (a long compare or fit) or a lab comparison.
    JobId,
    "job"
);

/// A dataset named by id or by name.
///
/// Names never consist of digits only, so the text form is unambiguous: `42` is an id,
/// `houses` a name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DatasetRef {
    /// By id.
    Id(DatasetId),
    /// By name.
    Name(String),
}

impl DatasetRef {
    /// Parses the text form: digits only make an id, anything else a name.
    pub fn parse(text: &str) -> DatasetRef {
        match text.parse::<u64>() {
            Ok(id) => DatasetRef::Id(DatasetId(id)),
            Err(_) => DatasetRef::Name(text.to_owned()),
        }
    }
}

impl fmt::Display for DatasetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatasetRef::Id(id) => write!(f, "dataset {id}"),
            DatasetRef::Name(name) => write!(f, "dataset `{name}`"),
        }
    }
}

impl From<DatasetId> for DatasetRef {
    fn from(id: DatasetId) -> Self {
        DatasetRef::Id(id)
    }
}

impl From<&str> for DatasetRef {
    fn from(text: &str) -> Self {
        DatasetRef::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_ids_and_the_rest_names() {
        assert_eq!(DatasetRef::parse("42"), DatasetRef::Id(DatasetId(42)));
        assert_eq!(
            DatasetRef::parse("houses"),
            DatasetRef::Name("houses".into())
        );
        assert_eq!(DatasetRef::parse("4x2").to_string(), "dataset `4x2`");
    }

    #[test]
    fn bad_id_text_is_invalid_input() {
        let error = "abc".parse::<ModelId>().unwrap_err();
        assert!(error.message.contains("`abc` is not a model id"));
    }
}
