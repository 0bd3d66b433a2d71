//! The registry stores, lists, deletes and survives reopening; exports round-trip.

use super::*;
use crate::algorithms::{AlgorithmId, Estimator};
use crate::task::Targets;
use mltools_core::DatasetId;
use mltools_core::models::{ModelFile, ModelSpec, Task};
use mltools_core::utils::{FittedPipeline, Matrix, PipelineSpec};
use std::collections::BTreeMap;

fn info(algorithm: &str) -> ModelInfo {
    ModelInfo {
        id: ModelId(0),
        spec: ModelSpec {
            algorithm: algorithm.to_owned(),
            params: BTreeMap::new(),
            pipeline: None,
        },
        task: Task::Regression,
        dataset: DatasetId(3),
        version: 2,
        target: "price".to_owned(),
        classes: None,
        pipeline: FittedPipeline {
            spec: PipelineSpec::default(),
            input_columns: Vec::new(),
            steps: Vec::new(),
            output_columns: vec!["x".to_owned()],
        },
        metrics: BTreeMap::new(),
        created_at_ms: 1_700_000_000_000,
    }
}

fn fitted_bytes() -> Vec<u8> {
    let x = Matrix {
        rows: 3,
        columns: vec!["x".into()],
        values: vec![0.0, 1.0, 2.0],
    };
    let y = Targets::Regression(vec![1.0, 2.0, 3.5]);
    Estimator::defaults(AlgorithmId::Ridge)
        .fit(&x, &y, 0)
        .unwrap()
        .to_bytes()
        .unwrap()
}

#[test]
fn models_are_stored_listed_deleted_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("models.db");
    let store = Store::open(&path).unwrap();
    let bytes = fitted_bytes();
    let first = store.insert(&info("ridge"), &bytes).unwrap();
    let second = store.insert(&info("ridge"), &bytes).unwrap();
    assert_eq!((first.id, second.id), (ModelId(1), ModelId(2)));
    drop(store);
    let store = Store::open(&path).unwrap();
    let (stored, model) = store.get(ModelId(2)).unwrap();
    assert_eq!(stored, second);
    assert_eq!(model, bytes);
    assert_eq!(store.list().unwrap().len(), 2);
    assert_eq!(store.delete(ModelId(1)).unwrap().id, ModelId(1));
    let error = store.get(ModelId(1)).unwrap_err();
    assert_eq!(error.to_string(), "model 1 does not exist");
    // Ids are never reused.
    assert_eq!(store.insert(&info("ridge"), &bytes).unwrap().id, ModelId(3));
}

#[test]
fn an_export_imports_back_and_a_bad_file_is_refused() {
    let bytes = fitted_bytes();
    let described = ModelInfo {
        id: ModelId(9),
        ..info("ridge")
    };
    let file = export(&described, &bytes).unwrap();
    let (info_back, bytes_back) = import(&file).unwrap();
    assert_eq!((info_back, bytes_back), (described.clone(), bytes.clone()));
    let mislabelled = export(&info("lasso"), &bytes).unwrap();
    let error = import(&mislabelled).unwrap_err();
    assert_eq!(
        error.to_string(),
        "bad model file: the file describes a `lasso` but holds a `ridge`"
    );
    let error = import(&ModelFile {
        bytes: b"PK\x03\x04".to_vec(),
    })
    .unwrap_err();
    assert!(matches!(error, ModelsError::BadFile { .. }), "{error}");
}

#[test]
fn an_import_whose_description_disagrees_with_its_model_is_refused() {
    let bytes = fitted_bytes();
    let refused = |described: &ModelInfo, bytes: &[u8]| {
        let error = import(&export(described, bytes).unwrap()).unwrap_err();
        assert_eq!(error.kind(), mltools_core::ErrorKind::InvalidInput);
        error.to_string()
    };
    let mut two_outputs = info("ridge");
    two_outputs.pipeline.output_columns = vec!["x".to_owned(), "z".to_owned()];
    assert_eq!(
        refused(&two_outputs, &bytes),
        "bad model file: the model's feature count is 1 but its pipeline gives 2 columns"
    );
    let mut with_classes = info("ridge");
    with_classes.classes = Some(vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(
        refused(&with_classes, &bytes),
        "bad model file: the file describes a regression model but lists 2 classes"
    );

    // A two-class classifier described with three classes.
    let x = Matrix {
        rows: 4,
        columns: vec!["x".into()],
        values: vec![0.0, 1.0, 2.0, 3.0],
    };
    let y = Targets::Classification {
        codes: vec![0, 0, 1, 1],
        classes: vec!["no".into(), "yes".into()],
    };
    let classifier = Estimator::defaults(AlgorithmId::GaussianNb)
        .fit(&x, &y, 0)
        .unwrap()
        .to_bytes()
        .unwrap();
    let described = ModelInfo {
        task: Task::Classification,
        classes: Some(vec!["no".into(), "yes".into()]),
        ..info("gaussian_nb")
    };
    assert!(import(&export(&described, &classifier).unwrap()).is_ok());
    let three = ModelInfo {
        classes: Some(vec!["no".into(), "maybe".into(), "yes".into()]),
        ..described.clone()
    };
    assert_eq!(
        refused(&three, &classifier),
        "bad model file: the model predicts 2 classes but the file lists 3 (no, maybe, yes)"
    );
    let regression = ModelInfo {
        task: Task::Regression,
        classes: None,
        ..described
    };
    assert_eq!(
        refused(&regression, &classifier),
        "bad model file: the file describes a regression model but holds a classification one (gaussian_nb)"
    );
}
