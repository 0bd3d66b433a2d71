//! The forest's probabilities: leaf class fractions, averaged over the trees.

use super::*;
use crate::algorithms::Cancel;
use crate::algorithms::cart::TreeEnsemble;
use crate::algorithms::dense::testing;
use crate::algorithms::forest::{ForestParams, ForestValidParams};
use crate::algorithms::trees::TreeLimits;
use crate::task::Targets;
use mltools_core::utils::Matrix;

fn params(n_trees: usize, bootstrap: bool, limits: TreeLimits) -> ForestValidParams {
    ForestParams {
        n_trees,
        bootstrap,
        limits,
        ..ForestParams::new(FOREST)
    }
    .check()
    .unwrap()
}

fn fit(params: &ForestValidParams, x: &Matrix, y: &[u32], seed: u64) -> TreeEnsemble {
    let classes = (0..=y.iter().copied().max().unwrap_or(0))
        .map(|class| class.to_string())
        .collect();
    let targets = Targets::Classification {
        codes: y.to_vec(),
        classes,
    };
    params
        .fit_until(x, &targets, seed, &Cancel::never())
        .unwrap()
}

/// Identical rows cannot be split: without a bootstrap each tree is one leaf holding
/// every row, so the forest gives the classes' shares, 0.75 and 0.25, where votes would
/// say 1 and 0. With a bootstrap each tree holds its own draw: the shares vary by tree
/// but still sum to 1.
#[test]
fn an_impure_leaf_gives_its_class_fractions() {
    let x = testing::matrix(&[&[1.0], &[1.0], &[1.0], &[1.0]]);
    let y = [0, 1, 0, 0];
    let queries = testing::matrix(&[&[1.0], &[-4.0]]);
    let model = fit(&params(5, false, TreeLimits::default()), &x, &y, 3);
    let prediction = model.predict_classes(&queries, 2).unwrap();
    assert_eq!(prediction.probabilities.unwrap(), [0.75, 0.25, 0.75, 0.25]);
    assert_eq!(prediction.labels, [0, 0]);
    let model = fit(&params(5, true, TreeLimits::default()), &x, &y, 3);
    let probabilities = model
        .predict_classes(&queries, 2)
        .unwrap()
        .probabilities
        .unwrap();
    assert!((probabilities[0] + probabilities[1] - 1.0).abs() < 1e-12);
}

#[test]
fn shallow_trees_give_graded_probabilities() {
    let (x, y) = testing::three_blobs();
    let stumps = TreeLimits {
        max_depth: Some(1),
        ..TreeLimits::default()
    };
    let model = fit(&params(20, true, stumps), &x, &y, 11);
    assert_eq!(model.trees(), 20);
    let probabilities = model.predict_classes(&x, 3).unwrap().probabilities.unwrap();
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

/// A class absent from the training rows gets probability 0 and the others keep their
/// codes.
#[test]
fn absent_classes_get_no_probability() {
    let (x, y) = testing::blobs();
    let y: Vec<u32> = y.iter().map(|&class| class * 2).collect();
    let model = fit(&params(10, true, TreeLimits::default()), &x, &y, 0);
    let prediction = model.predict_classes(&x, 3).unwrap();
    assert_eq!(prediction.labels, y);
    let probabilities = prediction.probabilities.unwrap();
    assert!(probabilities.chunks(3).all(|p| p[1] == 0.0));
}
