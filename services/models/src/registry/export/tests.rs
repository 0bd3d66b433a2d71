//! Crafted model files: a real exported model is decoded into mirrors of its serialized
//! form, corrupted, re-encoded and imported; each is refused as a bad file naming the fault.

use super::*;
use crate::algorithms::validate::{ClassTreeMirror, RegressionForestMirror, RegressionTreeMirror};
use crate::algorithms::{AlgorithmId, Estimator, ParamMap};
use crate::task::Targets;
use mltools_core::models::{ModelFile, ModelInfo, ModelSpec, ParamValue, Task};
use mltools_core::utils::{FittedPipeline, Matrix, PipelineSpec};
use mltools_core::{DatasetId, ErrorKind, ModelId};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// `FittedModel`, field for field, its `Fitted` variant as the index postcard writes
/// before a newtype variant's value.
#[derive(Serialize, Deserialize)]
struct FittedMirror<M> {
    algorithm: AlgorithmId,
    features: Vec<String>,
    classes: usize,
    variant: u32,
    model: M,
}

/// `TreeClassifierModel`, field for field.
#[derive(Serialize, Deserialize)]
struct TreeClassifierMirror {
    tree: ClassTreeMirror,
    present: Vec<u32>,
}

/// 24 rows of two features; classes 0 and 1 (or a number) from the first.
fn data() -> Matrix {
    let values = (0..24)
        .flat_map(|row| [f64::from(row), f64::from(row % 5)])
        .collect();
    Matrix {
        rows: 24,
        columns: vec!["a".into(), "b".into()],
        values,
    }
}

/// An exported model of `algorithm`, fitted on [`data`] with `params`.
fn exported(algorithm: AlgorithmId, params: &[(&str, i64)]) -> ModelFile {
    let x = data();
    let classification = algorithm.task() == Task::Classification;
    let targets = if classification {
        Targets::Classification {
            codes: (0..24).map(|row| u32::from(row >= 12)).collect(),
            classes: vec!["no".into(), "yes".into()],
        }
    } else {
        Targets::Regression((0..24).map(|row| f64::from(row * row % 7)).collect())
    };
    let params: ParamMap = params
        .iter()
        .map(|&(name, value)| (name.to_owned(), ParamValue::Integer(value)))
        .collect();
    let model = Estimator::new(algorithm.as_str(), &params)
        .unwrap()
        .fit(&x, &targets, 7)
        .unwrap();
    let info = ModelInfo {
        id: ModelId(0),
        spec: ModelSpec {
            algorithm: algorithm.as_str().to_owned(),
            params: BTreeMap::new(),
            pipeline: None,
        },
        task: algorithm.task(),
        dataset: DatasetId(1),
        version: 1,
        target: "y".to_owned(),
        classes: classification.then(|| vec!["no".to_owned(), "yes".to_owned()]),
        pipeline: FittedPipeline {
            spec: PipelineSpec::default(),
            input_columns: Vec::new(),
            steps: Vec::new(),
            output_columns: vec!["a".to_owned(), "b".to_owned()],
        },
        metrics: BTreeMap::new(),
        created_at_ms: 0,
    };
    export(&info, &model.to_bytes().unwrap()).unwrap()
}

/// `file` with its model read as `M`, changed by `corrupt`, written back.
fn craft<M: Serialize + DeserializeOwned>(
    file: &ModelFile,
    corrupt: impl FnOnce(&mut FittedMirror<M>, &mut ModelInfo),
) -> ModelFile {
    let mut outer: Exported = postcard::from_bytes(&file.bytes[5..]).unwrap();
    let (header, body) = outer.model.split_at(5);
    let mut model: FittedMirror<M> = postcard::from_bytes(body).unwrap();
    corrupt(&mut model, &mut outer.info);
    let mut bytes = header.to_vec();
    bytes.extend(postcard::to_allocvec(&model).unwrap());
    export(&outer.info, &bytes).unwrap()
}

/// The reason an import of `file` is refused, checked to be a bad file (invalid input).
fn refused(file: &ModelFile) -> String {
    let error = import(file).unwrap_err();
    assert!(matches!(error, ModelsError::BadFile { .. }), "{error}");
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    error.to_string()
}

#[test]
fn mirrors_re_encode_a_sound_model_unchanged() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    assert_eq!(craft::<TreeClassifierMirror>(&file, |_, _| {}), file);
    let file = exported(AlgorithmId::DecisionTreeRegressor, &[]);
    assert_eq!(craft::<RegressionTreeMirror>(&file, |_, _| {}), file);
    let file = exported(AlgorithmId::RandomForestRegressor, &[("n_trees", 3)]);
    assert_eq!(craft::<RegressionForestMirror>(&file, |_, _| {}), file);
    let file = exported(AlgorithmId::ExtraTreesRegressor, &[("n_trees", 3)]);
    assert_eq!(craft::<RegressionForestMirror>(&file, |_, _| {}), file);
    for algorithm in AlgorithmId::ALL {
        let forest = algorithm.params().iter().any(|doc| doc.name == "n_trees");
        let params: &[(&str, i64)] = if forest { &[("n_trees", 3)] } else { &[] };
        let imported = import(&exported(algorithm, params));
        assert!(imported.is_ok(), "{algorithm}: {imported:?}");
    }
}

#[test]
fn a_tree_node_pointing_to_itself_is_refused() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let crafted = craft::<TreeClassifierMirror>(&file, |model, _| {
        model.model.tree.nodes[0].true_child = Some(0);
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: decision_tree_classifier: the tree node 0 is reached twice (a loop or a shared node)"
    );
    // Stored bytes are checked too: the same model read from the registry is refused
    // rather than looping in prediction.
    let outer: Exported = postcard::from_bytes(&crafted.bytes[5..]).unwrap();
    let error = FittedModel::from_bytes(&outer.model).unwrap_err();
    assert!(matches!(error, ModelsError::Corrupt { .. }), "{error}");
}

#[test]
fn a_child_past_the_nodes_is_refused() {
    let file = exported(AlgorithmId::RandomForestRegressor, &[("n_trees", 3)]);
    let crafted = craft::<RegressionForestMirror>(&file, |model, _| {
        let trees = model
            .model
            .forest_regressor
            .as_mut()
            .unwrap()
            .trees
            .as_mut()
            .unwrap();
        trees[1].nodes[0].false_child = Some(9_999);
    });
    let reason = refused(&crafted);
    assert!(
        reason.starts_with(
            "bad model file: random_forest_regressor: tree 1 node 0 points to node 9999, past its"
        ),
        "{reason}"
    );
}

#[test]
fn a_split_on_a_feature_past_the_model_s_is_refused() {
    let file = exported(AlgorithmId::DecisionTreeRegressor, &[]);
    let crafted = craft::<RegressionTreeMirror>(&file, |model, _| {
        model.model.tree_regressor.as_mut().unwrap().nodes[0].split_feature = 7;
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: decision_tree_regressor: the tree node 0 splits on feature 7; the model has 2 features"
    );
}

#[test]
fn a_leaf_past_the_classes_and_a_one_sided_split_are_refused() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let leaf = |tree: &ClassTreeMirror| {
        tree.nodes
            .iter()
            .position(|node| node.true_child.is_none())
            .unwrap()
    };
    let crafted = craft::<TreeClassifierMirror>(&file, |model, _| {
        let index = leaf(&model.model.tree);
        model.model.tree.nodes[index].output = 5;
    });
    let reason = refused(&crafted);
    assert!(
        reason.ends_with("leaf output 5 is past the tree's 2 classes"),
        "{reason}"
    );
    let crafted = craft::<TreeClassifierMirror>(&file, |model, _| {
        model.model.tree.nodes[0].false_child = None;
    });
    assert!(refused(&crafted).ends_with("the tree node 0: a split with one child"));
}

#[test]
fn a_huge_class_list_is_refused() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let many: Vec<String> = (0..70_000).map(|class| class.to_string()).collect();
    let crafted = craft::<TreeClassifierMirror>(&file, |model, info| {
        model.classes = many.len();
        info.classes = Some(many.clone());
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: the file lists 70000 classes; at most 65536 are allowed"
    );
    // The model alone claiming that many classes is refused as well.
    let crafted = craft::<TreeClassifierMirror>(&file, |model, _| model.classes = usize::MAX);
    assert!(refused(&crafted).contains("classes; a classifier has 2 to 65536"));
}

#[test]
fn a_truncated_file_and_a_wrong_version_are_refused() {
    let file = exported(AlgorithmId::DecisionTreeRegressor, &[]);
    for length in [4, 5, file.bytes.len() / 2, file.bytes.len() - 1] {
        let cut = ModelFile {
            bytes: file.bytes[..length].to_vec(),
        };
        refused(&cut);
    }
    let mut newer = file.clone();
    newer.bytes[4] = 9;
    assert_eq!(
        refused(&newer),
        "bad model file: export format 9; this build reads format 1"
    );
    let mut outer: Exported = postcard::from_bytes(&file.bytes[5..]).unwrap();
    outer.model[4] = 7;
    assert_eq!(
        refused(&export(&outer.info, &outer.model).unwrap()),
        "bad model file: model format 7; this build reads format 2"
    );
}

#[test]
fn a_nan_in_an_own_model_is_refused() {
    #[derive(Serialize, Deserialize)]
    struct LinearMirror {
        coefficients: Vec<f64>,
        intercept: f64,
    }
    let file = exported(AlgorithmId::Ridge, &[]);
    let crafted = craft::<LinearMirror>(&file, |model, _| model.model.coefficients[1] = f64::NAN);
    assert_eq!(
        refused(&crafted),
        "bad model file: ridge: the coefficients[1] is NaN, not a finite number"
    );
    let crafted = craft::<LinearMirror>(&file, |model, _| model.model.coefficients.push(1.0));
    assert_eq!(
        refused(&crafted),
        "bad model file: ridge: 3 coefficients for 2 features"
    );
}

#[test]
fn a_huge_length_prefix_allocates_nothing_and_is_refused() {
    // A model whose feature list claims 2⁶² names, then ends: decoding must not reserve
    // for the claim (serde preallocates at most 1 MiB) and must stop at the input's end.
    let mut model = b"MLTM\x02".to_vec();
    model.extend(postcard::to_allocvec(&(0u32, 1usize << 62)).unwrap());
    let error = FittedModel::from_bytes(&model).unwrap_err();
    assert!(matches!(error, ModelsError::Corrupt { .. }), "{error}");
    // The same claim in a file's description (a model id, then the algorithm's name).
    let mut bytes = MAGIC.to_vec();
    bytes.push(FORMAT);
    bytes.extend(postcard::to_allocvec(&(1u64, 1usize << 62)).unwrap());
    bytes.extend([b'x'; 64]);
    refused(&ModelFile { bytes });
    // A model of no features claiming 2⁶² classes, then nothing.
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let mut outer: Exported = postcard::from_bytes(&file.bytes[5..]).unwrap();
    outer.model.truncate(5);
    outer
        .model
        .extend(postcard::to_allocvec(&(10u32, 0usize, 1usize << 62)).unwrap());
    refused(&export(&outer.info, &outer.model).unwrap());
}

/// The files the damaged-file property starts from, fitted once.
static FUZZED: std::sync::LazyLock<Vec<ModelFile>> = std::sync::LazyLock::new(|| {
    [
        AlgorithmId::DecisionTreeClassifier,
        AlgorithmId::DecisionTreeRegressor,
        AlgorithmId::GaussianNb,
        AlgorithmId::Svc,
        AlgorithmId::LogisticRegression,
        AlgorithmId::KnnClassifier,
    ]
    .into_iter()
    .map(|algorithm| exported(algorithm, &[]))
    .collect()
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes after the magic number never panic (nor hang): the import answers.
    #[test]
    fn arbitrary_bytes_after_the_magic_are_answered(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut bytes = MAGIC.to_vec();
        bytes.push(FORMAT);
        bytes.extend(body);
        let _ = import(&ModelFile { bytes });
    }

    /// A real file with bytes overwritten is refused or imports a model that predicts
    /// without panicking.
    #[test]
    fn a_damaged_file_is_refused_or_sound(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        which in 0..FUZZED.len(),
    ) {
        let mut file = FUZZED[which].clone();
        for (index, value) in changes {
            let at = 5 + index.index(file.bytes.len() - 5);
            file.bytes[at] = value;
        }
        if let Ok((_, model)) = import(&file) {
            let model = FittedModel::from_bytes(&model).unwrap();
            let _ = model.predict(&data());
        }
    }
}
