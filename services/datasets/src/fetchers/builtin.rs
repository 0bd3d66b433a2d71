//! The built-in sets shipped by smartcore, rendered as CSV text.
//!
//! Rendering to CSV sends a built-in through the same import path as any file (one code
//! path for fresh imports, appends and replacements). The text round-trips exactly: every
//! `f32` becomes the `f64` of the same value, written with Rust's shortest round-trip
//! formatting.

use crate::error::DatasetsError;
use mltools_core::datasets::Builtin;
use smartcore::dataset::{Dataset, boston, breast_cancer, diabetes, digits, iris};

/// A built-in set as CSV text, with its target column.
#[derive(Debug)]
pub(crate) struct BuiltinTable {
    /// The CSV text: feature columns, then the target.
    pub(crate) csv: Vec<u8>,
    /// The target column's name.
    pub(crate) target: String,
    /// The target's classes in code order, for a classification set; `None` for a
    /// numeric target.
    pub(crate) classes: Option<Vec<String>>,
}

/// The target of one set: its name and the text of each row's value.
struct Target {
    name: &'static str,
    classes: Option<Vec<String>>,
    values: Vec<String>,
}

/// The feature columns of one set, row-major.
struct Features {
    data: Vec<f32>,
    count: usize,
    names: Vec<String>,
}

impl Features {
    fn of<Y>(set: Dataset<f32, Y>) -> Self {
        Features {
            data: set.data,
            count: set.num_features,
            names: set.feature_names,
        }
    }
}

/// Loads a built-in set.
///
/// # Errors
/// The set's shape disagrees with itself (a broken smartcore release).
pub(crate) fn load(builtin: Builtin) -> Result<BuiltinTable, DatasetsError> {
    let (features, target) = match builtin {
        Builtin::Iris => {
            let set = iris::load_dataset();
            let classes = ["setosa", "versicolor", "virginica"];
            let target = classify("species", &classes, &set.target, |&y| y as usize);
            (Features::of(set), target)
        }
        Builtin::BreastCancer => {
            let set = breast_cancer::load_dataset();
            let classes = ["malignant", "benign"];
            let target = classify("diagnosis", &classes, &set.target, |&y| y as usize);
            (Features::of(set), target)
        }
        Builtin::Digits => {
            let set = digits::load_dataset();
            let classes = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
            let target = classify("digit", &classes, &set.target, digit_code);
            (Features::of(set), target)
        }
        Builtin::Diabetes => {
            let set = diabetes::load_dataset();
            let values = set.target.iter().map(u32::to_string).collect();
            (Features::of(set), Some(measured("progression", values)))
        }
        Builtin::Boston => {
            let set = boston::load_dataset();
            let values = set
                .target
                .iter()
                .map(|&y| f64::from(y).to_string())
                .collect();
            (Features::of(set), Some(measured("price", values)))
        }
    };
    let target =
        target.ok_or_else(|| broken(builtin, "a target value is not one of its classes"))?;
    render(builtin, features, target)
}

/// A digit label is a whole number stored as `f32`; anything else maps out of range.
fn digit_code(y: &f32) -> usize {
    if y.fract() == 0.0 && *y >= 0.0 {
        *y as usize
    } else {
        usize::MAX
    }
}

fn measured(name: &'static str, values: Vec<String>) -> Target {
    Target {
        name,
        classes: None,
        values,
    }
}

/// A class target; `None` when a value has no class.
fn classify<Y>(
    name: &'static str,
    classes: &[&str],
    target: &[Y],
    code: impl Fn(&Y) -> usize,
) -> Option<Target> {
    let values = target
        .iter()
        .map(|y| classes.get(code(y)).map(|label| (*label).to_owned()))
        .collect::<Option<Vec<String>>>()?;
    Some(Target {
        name,
        classes: Some(classes.iter().map(|label| (*label).to_owned()).collect()),
        values,
    })
}

fn render(
    builtin: Builtin,
    features: Features,
    target: Target,
) -> Result<BuiltinTable, DatasetsError> {
    let Features {
        data,
        count: features,
        names,
    } = features;
    if features == 0 || data.len() != target.values.len() * features {
        return Err(broken(builtin, "the data is not rows × features"));
    }
    // Some sets ship a wrong list of names (digits carries iris's four): name by position.
    let names = if names.len() == features {
        names
    } else {
        (0..features).map(|index| format!("x{index}")).collect()
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |error: csv::Error| broken(builtin, &error.to_string());
    writer
        .write_record(names.iter().map(String::as_str).chain([target.name]))
        .map_err(failed)?;
    let mut row = Vec::with_capacity(features + 1);
    for (values, label) in data.chunks_exact(features).zip(&target.values) {
        row.clear();
        row.extend(values.iter().map(|&value| f64::from(value).to_string()));
        row.push(label.clone());
        writer.write_record(&row).map_err(failed)?;
    }
    let csv = writer
        .into_inner()
        .map_err(|error| broken(builtin, &error.to_string()))?;
    Ok(BuiltinTable {
        csv,
        target: target.name.to_owned(),
        classes: target.classes,
    })
}

fn broken(builtin: Builtin, reason: &str) -> DatasetsError {
    DatasetsError::Corrupt(format!("builtin:{}: {reason}", builtin.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iris_renders_names_values_and_labels() {
        let table = load(Builtin::Iris).unwrap();
        let text = String::from_utf8(table.csv).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("sepal length (cm),sepal width (cm),petal length (cm),petal width (cm),species")
        );
        let first = lines.next().unwrap();
        assert!(first.ends_with(",setosa"), "{first}");
        assert_eq!(text.lines().count(), 151);
        assert_eq!(table.target, "species");
    }

    #[test]
    fn digits_are_named_by_position() {
        let table = load(Builtin::Digits).unwrap();
        let text = String::from_utf8(table.csv).unwrap();
        let header = text.lines().next().unwrap();
        assert!(header.starts_with("x0,x1,"));
        assert!(header.ends_with(",x63,digit"));
    }
}
