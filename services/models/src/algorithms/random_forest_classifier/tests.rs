//! The replayed bootstrap, the leaf fractions, and agreement with smartcore's votes.

use super::*;
use crate::algorithms::dense::{Dense, testing};

fn params(n_trees: usize, limits: TreeLimits) -> RandomForestClassifierValidParams {
    RandomForestClassifierParams {
        n_trees,
        limits,
        ..RandomForestClassifierParams::default()
    }
    .check()
    .unwrap()
}

/// Guards the mirror and the replay: the rows we draw for each tree are the rows
/// smartcore drew (its `keep_samples` records which), tree by tree.
#[test]
fn the_replayed_bootstrap_is_smartcore_s() {
    let (x, y) = testing::three_blobs();
    let params = params(12, TreeLimits::default());
    let mut parameters = params.smartcore(2, 5);
    parameters.keep_samples = true;
    let forest: RandomForestClassifier<f64, u32, Dense, Vec<u32>> =
        RandomForestClassifier::fit(&dense(&x).unwrap(), &y, parameters).unwrap();
    let mirrored: ForestMirror = mirror(ID, &forest).unwrap();
    let kept = mirrored.samples.unwrap();
    assert_eq!(kept.len(), 12);
    let class_of_row: Vec<usize> = y.iter().map(|&c| c as usize).collect();
    let mut random = SmallRng::seed_from_u64(5);
    for in_bag in &kept {
        let drawn = bootstrap(&class_of_row, 3, &mut random);
        let ours: Vec<bool> = drawn.iter().map(|&count| count > 0).collect();
        assert_eq!(&ours, in_bag);
        assert_eq!(drawn.iter().sum::<usize>(), y.len());
    }
}

/// With pure leaves (the default growth) the probabilities are the vote shares, so the
/// labels are smartcore's majority votes.
#[test]
fn with_pure_leaves_the_labels_are_smartcore_s_votes() {
    let (x, y) = testing::three_blobs();
    let params = params(15, TreeLimits::default());
    let ours = params.fit(&x, &y, 7).unwrap();
    assert_eq!(ours.trees(), 15);
    let dense = dense(&x).unwrap();
    let theirs: RandomForestClassifier<f64, u32, Dense, Vec<u32>> =
        RandomForestClassifier::fit(&dense, &y, params.smartcore(2, 7)).unwrap();
    let prediction = ours.predict(&x, 3).unwrap();
    assert_eq!(prediction.labels, theirs.predict(&dense).unwrap());
    let probabilities = prediction.probabilities.unwrap();
    assert!(
        probabilities
            .chunks(3)
            .all(|p| (p.iter().sum::<f64>() - 1.0).abs() < 1e-12)
    );
}

/// Identical rows cannot be split: each tree is one leaf holding its bootstrap, which
/// smartcore draws class by class, as many rows as the class has. So every leaf, and the
/// forest, gives the classes' shares: 0.75 and 0.25, where the votes would say 1 and 0.
#[test]
fn an_impure_leaf_gives_its_class_fractions() {
    let x = testing::matrix(&[&[1.0], &[1.0], &[1.0], &[1.0]]);
    let y = [0, 1, 0, 0];
    let model = params(5, TreeLimits::default()).fit(&x, &y, 3).unwrap();
    let prediction = model
        .predict(&testing::matrix(&[&[1.0], &[-4.0]]), 2)
        .unwrap();
    assert_eq!(prediction.probabilities.unwrap(), [0.75, 0.25, 0.75, 0.25]);
    assert_eq!(prediction.labels, [0, 0]);
}

#[test]
fn shallow_trees_give_graded_probabilities() {
    let (x, y) = testing::three_blobs();
    let stumps = TreeLimits {
        max_depth: Some(1),
        ..TreeLimits::default()
    };
    let model = params(20, stumps).fit(&x, &y, 11).unwrap();
    let probabilities = model.predict(&x, 3).unwrap().probabilities.unwrap();
    assert!(
        probabilities
            .chunks(3)
            .all(|p| (p.iter().sum::<f64>() - 1.0).abs() < 1e-12)
    );
    // A stump separates one blob from two: some leaves hold two classes.
    assert!(
        probabilities
            .iter()
            .any(|&p| p > 0.05 && p < 0.95 && p != 0.5),
        "{probabilities:?}"
    );
}
