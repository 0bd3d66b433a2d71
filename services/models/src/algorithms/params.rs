//! Reading hyperparameters from a request's name → value map, and describing them.
//!
//! Each algorithm lists its parameters as [`ParamDoc`]s; the registry refuses a name not in
//! the list before the algorithm reads the map, so the algorithm only reads known names
//! and turns them into its `XParams`. Its `check` then validates the values once.

use crate::error::ModelsError;
use mltools_core::models::{ParamInfo, ParamValue};
use std::collections::BTreeMap;
use std::fmt::Display;

/// Hyperparameter overrides by name.
pub type ParamMap = BTreeMap<String, ParamValue>;

/// A parameter's documented default, in a form a `const` can hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum DefaultValue {
    Number(f64),
    Integer(i64),
    Bool(bool),
    Text(&'static str),
}

/// One documented hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ParamDoc {
    pub(crate) name: &'static str,
    pub(crate) default: DefaultValue,
    pub(crate) accepts: &'static str,
    pub(crate) doc: &'static str,
}

impl ParamDoc {
    pub(crate) fn info(&self) -> ParamInfo {
        ParamInfo {
            name: self.name.to_owned(),
            default: match self.default {
                DefaultValue::Number(value) => ParamValue::Number(value),
                DefaultValue::Integer(value) => ParamValue::Integer(value),
                DefaultValue::Bool(value) => ParamValue::Bool(value),
                DefaultValue::Text(value) => ParamValue::Text(value.to_owned()),
            },
            accepts: self.accepts.to_owned(),
            doc: self.doc.to_owned(),
        }
    }
}

/// Typed access to one algorithm's overrides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Params<'a> {
    pub(crate) algorithm: &'static str,
    pub(crate) docs: &'static [ParamDoc],
    pub(crate) map: &'a ParamMap,
}

impl<'a> Params<'a> {
    /// Refuses any name the algorithm does not document.
    pub(crate) fn check_names(&self) -> Result<(), ModelsError> {
        for name in self.map.keys() {
            if !self.docs.iter().any(|doc| doc.name == name) {
                return Err(ModelsError::UnknownParam {
                    algorithm: self.algorithm,
                    param: name.clone(),
                    accepted: self.accepted(),
                });
            }
        }
        Ok(())
    }

    fn accepted(&self) -> String {
        if self.docs.is_empty() {
            return "none".to_owned();
        }
        let names: Vec<&str> = self.docs.iter().map(|doc| doc.name).collect();
        names.join(", ")
    }

    fn expected(&self, name: &str) -> String {
        self.docs
            .iter()
            .find(|doc| doc.name == name)
            .map_or_else(String::new, |doc| doc.accepts.to_owned())
    }

    fn wrong(&self, name: &'static str, value: &ParamValue) -> ModelsError {
        invalid(self.algorithm, name, value, self.expected(name))
    }

    /// A number (an integer is taken as a number).
    pub(crate) fn number(&self, name: &'static str, default: f64) -> Result<f64, ModelsError> {
        match self.map.get(name) {
            None => Ok(default),
            Some(ParamValue::Number(value)) => Ok(*value),
            Some(ParamValue::Integer(value)) => Ok(*value as f64),
            Some(other) => Err(self.wrong(name, other)),
        }
    }

    /// A whole number (a number without a fraction is taken too).
    pub(crate) fn integer(&self, name: &'static str, default: i64) -> Result<i64, ModelsError> {
        match self.map.get(name) {
            None => Ok(default),
            Some(value) => self.whole(name, value),
        }
    }

    fn whole(&self, name: &'static str, value: &ParamValue) -> Result<i64, ModelsError> {
        match value {
            ParamValue::Integer(value) => Ok(*value),
            ParamValue::Number(number) if number.fract() == 0.0 && number.abs() < 9.0e15 => {
                Ok(*number as i64)
            }
            other => Err(self.wrong(name, other)),
        }
    }

    /// A switch: `true` or `false`.
    pub(crate) fn boolean(&self, name: &'static str, default: bool) -> Result<bool, ModelsError> {
        match self.map.get(name) {
            None => Ok(default),
            Some(ParamValue::Bool(value)) => Ok(*value),
            Some(other) => Err(self.wrong(name, other)),
        }
    }

    /// A whole number or the word `none` (no limit); `None` when absent or `none`.
    pub(crate) fn integer_or_none(&self, name: &'static str) -> Result<Option<i64>, ModelsError> {
        match self.map.get(name) {
            None => Ok(None),
            Some(ParamValue::Text(text)) if text == "none" => Ok(None),
            Some(value) => self.whole(name, value).map(Some),
        }
    }

    /// One of the given words.
    pub(crate) fn choice(
        &self,
        name: &'static str,
        choices: &[&'static str],
        default: &'static str,
    ) -> Result<&'static str, ModelsError> {
        match self.map.get(name) {
            None => Ok(default),
            Some(ParamValue::Text(text)) => choices
                .iter()
                .copied()
                .find(|choice| choice == text)
                .ok_or_else(|| self.wrong(name, &ParamValue::Text(text.clone()))),
            Some(other) => Err(self.wrong(name, other)),
        }
    }

    /// The raw value, for parameters taking a word or a number (`gamma`).
    pub(crate) fn raw(&self, name: &'static str) -> Option<&'a ParamValue> {
        self.map.get(name)
    }

    /// The error for a value of `name` that is not accepted.
    pub(crate) fn refuse(&self, name: &'static str, value: &ParamValue) -> ModelsError {
        self.wrong(name, value)
    }
}

/// [`ModelsError::InvalidParam`].
pub(crate) fn invalid(
    algorithm: &'static str,
    param: &'static str,
    value: impl Display,
    expected: impl Into<String>,
) -> ModelsError {
    ModelsError::InvalidParam {
        algorithm,
        param,
        value: value.to_string(),
        expected: expected.into(),
    }
}

/// Refuses `value` unless `ok`.
pub(crate) fn require(
    ok: bool,
    algorithm: &'static str,
    param: &'static str,
    value: impl Display,
    expected: &str,
) -> Result<(), ModelsError> {
    if ok {
        Ok(())
    } else {
        Err(invalid(algorithm, param, value, expected))
    }
}

/// A count parameter: a whole number of at least `min`.
pub(crate) fn count(
    algorithm: &'static str,
    param: &'static str,
    value: i64,
    min: i64,
) -> Result<usize, ModelsError> {
    require(
        value >= min && value <= i64::from(u32::MAX),
        algorithm,
        param,
        value,
        &format!("a whole number ≥ {min}"),
    )?;
    Ok(value as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCS: &[ParamDoc] = &[
        ParamDoc {
            name: "alpha",
            default: DefaultValue::Number(1.0),
            accepts: "a number ≥ 0",
            doc: "",
        },
        ParamDoc {
            name: "max_depth",
            default: DefaultValue::Text("none"),
            accepts: "a whole number ≥ 1, or `none`",
            doc: "",
        },
    ];

    fn params(map: &ParamMap) -> Params<'_> {
        Params {
            algorithm: "demo",
            docs: DOCS,
            map,
        }
    }

    #[test]
    fn values_are_read_with_their_types() {
        let map = ParamMap::from([
            ("alpha".to_owned(), ParamValue::Integer(2)),
            ("max_depth".to_owned(), ParamValue::Number(4.0)),
        ]);
        let params = params(&map);
        assert!(params.check_names().is_ok());
        assert_eq!(params.number("alpha", 1.0).unwrap(), 2.0);
        assert_eq!(params.integer_or_none("max_depth").unwrap(), Some(4));
        let none = ParamMap::from([("max_depth".to_owned(), ParamValue::Text("none".into()))]);
        assert_eq!(
            self::params(&none).integer_or_none("max_depth").unwrap(),
            None
        );
    }

    #[test]
    fn unknown_names_and_wrong_types_are_refused_with_what_is_accepted() {
        let map = ParamMap::from([("alpah".to_owned(), ParamValue::Number(1.0))]);
        let error = params(&map).check_names().unwrap_err();
        assert_eq!(
            error.to_string(),
            "demo: unknown parameter `alpah`; its parameters are: alpha, max_depth"
        );
        let map = ParamMap::from([("alpha".to_owned(), ParamValue::Text("big".into()))]);
        let error = params(&map).number("alpha", 1.0).unwrap_err();
        assert_eq!(
            error.to_string(),
            "demo: parameter `alpha` = `big`: expected a number ≥ 0"
        );
        let map = ParamMap::from([("max_depth".to_owned(), ParamValue::Number(2.5))]);
        assert!(params(&map).integer_or_none("max_depth").is_err());
    }
}
