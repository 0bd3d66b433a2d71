//! Crafted model files: a real exported model is decoded into mirrors of its serialized
//! form, corrupted, re-encoded and imported; each is refused as a bad file naming the fault.

use super::*;
use crate::algorithms::cart::Node;
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

/// `cart::TreeEnsemble` (every tree and forest), field for field.
#[derive(Serialize, Deserialize)]
struct TreesMirror {
    trees: Vec<TreeMirror>,
    present: Vec<u32>,
    importances: Vec<f64>,
}

/// `cart::Tree`, field for field.
#[derive(Serialize, Deserialize)]
struct TreeMirror {
    nodes: Vec<Node>,
    values: Vec<f64>,
}

/// The tree family.
const TREES: [AlgorithmId; 6] = [
    AlgorithmId::DecisionTreeClassifier,
    AlgorithmId::DecisionTreeRegressor,
    AlgorithmId::RandomForestClassifier,
    AlgorithmId::RandomForestRegressor,
    AlgorithmId::ExtraTreesRegressor,
    AlgorithmId::ExtraTreesClassifier,
];

/// The first leaf of `tree`.
fn leaf(tree: &TreeMirror) -> usize {
    tree.nodes
        .iter()
        .position(|node| matches!(node, Node::Leaf { .. }))
        .unwrap()
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
    let params = |algorithm: AlgorithmId| -> &'static [(&'static str, i64)] {
        if algorithm.params().iter().any(|doc| doc.name == "n_trees") {
            &[("n_trees", 3)]
        } else {
            &[]
        }
    };
    for algorithm in TREES {
        let file = exported(algorithm, params(algorithm));
        assert_eq!(craft::<TreesMirror>(&file, |_, _| {}), file, "{algorithm}");
    }
    for algorithm in AlgorithmId::ALL {
        let imported = import(&exported(algorithm, params(algorithm)));
        assert!(imported.is_ok(), "{algorithm}: {imported:?}");
    }
}

#[test]
fn a_tree_node_pointing_to_itself_is_refused() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        let Node::Split { left, .. } = &mut model.model.trees[0].nodes[0] else {
            panic!("the root is a leaf")
        };
        *left = 0;
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
fn a_child_past_the_nodes_or_before_its_parent_is_refused() {
    let file = exported(AlgorithmId::RandomForestRegressor, &[("n_trees", 3)]);
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        let Node::Split { right, .. } = &mut model.model.trees[1].nodes[0] else {
            panic!("the root is a leaf")
        };
        *right = 9_999;
    });
    let reason = refused(&crafted);
    assert!(
        reason.starts_with(
            "bad model file: random_forest_regressor: tree 1 node 0 points to node 9999, past its"
        ),
        "{reason}"
    );
    // A split whose child comes before it: each node is still reached once (0 → 2, 3;
    // 2 → 1, 4), but prediction walks forward only.
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        let split = |left, right| Node::Split {
            feature: 0,
            threshold: 1.0,
            left,
            right,
        };
        let leaf = Node::Leaf { offset: 0 };
        model.model.trees[0].nodes = vec![split(2, 3), leaf, split(1, 4), leaf, leaf];
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: decision_tree_classifier: the tree node 2 points back to a node before it"
    );
}

#[test]
fn a_split_on_a_feature_past_the_model_s_is_refused() {
    let file = exported(AlgorithmId::DecisionTreeRegressor, &[]);
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        let Node::Split { feature, .. } = &mut model.model.trees[0].nodes[0] else {
            panic!("the root is a leaf")
        };
        *feature = 7;
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: decision_tree_regressor: the tree node 0 splits on feature 7; the model has 2 features"
    );
}

#[test]
fn leaf_values_past_the_end_or_not_finite_are_refused() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        let tree = &mut model.model.trees[0];
        let index = leaf(tree);
        tree.nodes[index] = Node::Leaf { offset: 10_000 };
    });
    let reason = refused(&crafted);
    assert!(
        reason.starts_with("bad model file: decision_tree_classifier: the tree node ")
            && reason.ends_with(": leaf values at 10000 are past the 4 values"),
        "{reason}"
    );
    let crafted = craft::<TreesMirror>(&file, |model, _| model.model.trees[0].values[1] = f64::NAN);
    assert_eq!(
        refused(&crafted),
        "bad model file: decision_tree_classifier: the tree's leaf values[1] is NaN, not a finite number"
    );
    // The last leaf's values cut short: the leaf's two fractions no longer fit.
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        model.model.trees[0].values.pop();
    });
    assert!(refused(&crafted).ends_with("are past the 3 values"));
}

#[test]
fn a_class_list_or_importances_that_disagree_with_the_model_are_refused() {
    let file = exported(AlgorithmId::RandomForestClassifier, &[("n_trees", 3)]);
    let crafted = craft::<TreesMirror>(&file, |model, _| model.model.present = vec![0, 5]);
    assert_eq!(
        refused(&crafted),
        "bad model file: random_forest_classifier: the class list names class 5, past the model's 2 classes"
    );
    let crafted = craft::<TreesMirror>(&file, |model, _| model.model.importances.push(0.0));
    assert_eq!(
        refused(&crafted),
        "bad model file: random_forest_classifier: 3 feature importances for 2 features"
    );
    let crafted = craft::<TreesMirror>(&file, |model, _| model.model.trees.clear());
    assert_eq!(
        refused(&crafted),
        "bad model file: random_forest_classifier: the model has 0 trees; 1 to 65535 are allowed"
    );
    // A single tree holds one tree.
    let file = exported(AlgorithmId::DecisionTreeRegressor, &[]);
    let crafted = craft::<TreesMirror>(&file, |model, _| {
        let copy = TreeMirror {
            nodes: model.model.trees[0].nodes.clone(),
            values: model.model.trees[0].values.clone(),
        };
        model.model.trees.push(copy);
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: decision_tree_regressor: the model has 2 trees; 1 to 1 are allowed"
    );
}

#[test]
fn a_huge_class_list_is_refused() {
    let file = exported(AlgorithmId::DecisionTreeClassifier, &[]);
    let many: Vec<String> = (0..70_000).map(|class| class.to_string()).collect();
    let crafted = craft::<TreesMirror>(&file, |model, info| {
        model.classes = many.len();
        info.classes = Some(many.clone());
    });
    assert_eq!(
        refused(&crafted),
        "bad model file: the file lists 70000 classes; at most 65536 are allowed"
    );
    // The model alone claiming that many classes is refused as well.
    let crafted = craft::<TreesMirror>(&file, |model, _| model.classes = usize::MAX);
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
        "bad model file: model format 7; this build reads format 3"
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
    let mut model = b"MLTM\x03".to_vec();
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
        AlgorithmId::RandomForestClassifier,
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
