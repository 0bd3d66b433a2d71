//! The builder on hand-computed splits, its limits, and the ensemble's determinism.

use super::*;
use crate::algorithms::Cancel;
use crate::algorithms::dense::testing::matrix;
use crate::prediction::ClassPrediction;

fn growth(criterion: Criterion, splitter: Splitter, limits: TreeLimits) -> Growth {
    Growth {
        algorithm: "test",
        criterion,
        splitter,
        max_features: usize::MAX,
        limits,
    }
}

fn plan(trees: usize, bootstrap: bool, mut growth: Growth, features: usize) -> Plan {
    growth.max_features = growth.max_features.min(features);
    Plan {
        trees,
        bootstrap,
        growth,
    }
}

/// One column of values.
fn column(values: &[f64]) -> Matrix {
    let rows: Vec<[f64; 1]> = values.iter().map(|&v| [v]).collect();
    let refs: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
    matrix(&refs)
}

fn depth(limit: u16) -> TreeLimits {
    TreeLimits {
        max_depth: Some(limit),
        ..TreeLimits::default()
    }
}

fn classify(x: &Matrix, y: &[u32], criterion: Criterion, limits: TreeLimits) -> TreeEnsemble {
    let plan = plan(
        1,
        false,
        growth(criterion, Splitter::Best, limits),
        x.columns.len(),
    );
    TreeEnsemble::classifier(x, y, &plan, 0, &Cancel::never()).unwrap()
}

fn regress(x: &Matrix, y: &[f64], limits: TreeLimits) -> TreeEnsemble {
    let growth = growth(Criterion::SquaredError, Splitter::Best, limits);
    let plan = plan(1, false, growth, x.columns.len());
    TreeEnsemble::regressor(x, y, &plan, 0, &Cancel::never()).unwrap()
}

fn root(tree: &Tree) -> (u32, f64) {
    match tree.nodes[0] {
        Node::Split {
            feature, threshold, ..
        } => (feature, threshold),
        Node::Leaf { .. } => panic!("the root is a leaf: {tree:?}"),
    }
}

fn probabilities(model: &TreeEnsemble, x: &Matrix, classes: usize) -> Vec<f64> {
    let ClassPrediction { probabilities, .. } = model.predict_classes(x, classes).unwrap();
    probabilities.unwrap()
}

/// Labels 0 0 0 1 0 1 1 1 on x = 1..8. Σ(class weight²)/weight summed over both sides,
/// cutting after k rows: k=1 4.571, k=2 5.333, k=3 6.4, k=4 5.0, k=5 6.4, k=6 5.333,
/// k=7 4.571. The tie between k=3 and k=5 goes to the first: the cut is 3.5, the left
/// leaf pure, the right 1 of class 0 in 5.
#[test]
fn the_best_gini_cut_and_its_leaf_fractions_are_the_hand_computed_ones() {
    let x = column(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let model = classify(&x, &[0, 0, 0, 1, 0, 1, 1, 1], Criterion::Gini, depth(1));
    assert_eq!(root(model.tree(0)), (0, 3.5));
    assert_eq!(model.tree(0).len(), 3);
    let queries = column(&[3.0, 3.6]);
    assert_eq!(probabilities(&model, &queries, 2), [1.0, 0.0, 0.2, 0.8]);
    // Grown until pure, every training row is predicted with certainty.
    let full = classify(
        &x,
        &[0, 0, 0, 1, 0, 1, 1, 1],
        Criterion::Gini,
        TreeLimits::default(),
    );
    let labels = full.predict_classes(&x, 2).unwrap().labels;
    assert_eq!(labels, [0, 0, 0, 1, 0, 1, 1, 1]);
}

/// Labels 0 0 1 2 0 2 on x = 1..6: Gini prefers the cut after two rows (3.667 against
/// 3.5 after three), entropy the cut after three (−4.159 against −4.499 after two).
#[test]
fn gini_and_entropy_choose_their_own_cuts() {
    let x = column(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let y = [0, 0, 1, 2, 0, 2];
    assert_eq!(
        root(classify(&x, &y, Criterion::Gini, depth(1)).tree(0)).1,
        2.5
    );
    assert_eq!(
        root(classify(&x, &y, Criterion::Entropy, depth(1)).tree(0)).1,
        3.5
    );
}

#[test]
fn a_step_is_cut_at_its_edge_with_the_side_means_as_leaves() {
    let x = column(&(0..10).map(f64::from).collect::<Vec<_>>());
    let y: Vec<f64> = (0..10).map(|i| if i < 6 { 1.0 } else { 5.0 }).collect();
    let model = regress(&x, &y, TreeLimits::default());
    assert_eq!(root(model.tree(0)), (0, 5.5));
    // Both sides are constant: pure leaves, three nodes in all.
    assert_eq!(model.tree(0).len(), 3);
    assert_eq!(
        model.predict_values(&column(&[5.4, 5.6])).unwrap(),
        [1.0, 5.0]
    );
    // A noisy side: its leaf is the mean.
    let y = [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 11.0];
    let model = regress(&x, &y, depth(1));
    assert_eq!(root(model.tree(0)), (0, 5.5));
    assert_eq!(
        model.predict_values(&column(&[0.0, 9.0])).unwrap(),
        [2.0, 11.0]
    );
}

#[test]
fn min_samples_leaf_keeps_that_many_rows_a_side() {
    // The best cut isolates the first row; with 2 rows a leaf it cannot.
    let x = column(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let y = [1, 0, 0, 0, 0, 0];
    let free = classify(&x, &y, Criterion::Gini, TreeLimits::default());
    assert_eq!(root(free.tree(0)).1, 1.5);
    let limits = TreeLimits {
        min_samples_leaf: 2,
        ..TreeLimits::default()
    };
    let held = classify(&x, &y, Criterion::Gini, limits);
    assert_eq!(root(held.tree(0)).1, 2.5);
    // On noisy data every leaf holds at least min_samples_leaf training rows.
    let (x, y) = noisy(300, 4);
    let limits = TreeLimits {
        min_samples_leaf: 7,
        ..TreeLimits::default()
    };
    let model = classify(&x, &y, Criterion::Gini, limits);
    let mut rows_per_leaf = std::collections::HashMap::new();
    for row in x.values.chunks(4) {
        let leaf = model.tree(0).leaf(row, 2).unwrap().as_ptr();
        *rows_per_leaf.entry(leaf).or_insert(0) += 1;
    }
    assert!(rows_per_leaf.len() > 3, "{}", rows_per_leaf.len());
    assert!(
        rows_per_leaf.values().all(|&rows| rows >= 7),
        "{rows_per_leaf:?}"
    );
}

#[test]
fn max_depth_and_min_samples_split_stop_the_growth() {
    let (x, y) = noisy(300, 4);
    for limit in [1u16, 2, 5] {
        let model = classify(&x, &y, Criterion::Gini, depth(limit));
        assert_eq!(tree_depth(model.tree(0)), usize::from(limit));
    }
    let limits = TreeLimits {
        min_samples_split: 301,
        ..TreeLimits::default()
    };
    assert_eq!(classify(&x, &y, Criterion::Gini, limits).tree(0).len(), 1);
}

#[test]
fn values_closer_than_1e_7_are_never_split_between() {
    // Two values 5e-8 apart are one value: the feature is constant, the tree one leaf.
    let x = column(&[1.0, 1.0 + 5e-8]);
    let model = classify(&x, &[0, 1], Criterion::Gini, TreeLimits::default());
    assert_eq!(model.tree(0).len(), 1);
    assert_eq!(probabilities(&model, &column(&[1.0]), 2), [0.5, 0.5]);
    // With a third value, the only cut is above both.
    let x = column(&[1.0, 1.0 + 5e-8, 3.0]);
    let model = classify(&x, &[0, 1, 1], Criterion::Gini, TreeLimits::default());
    assert_eq!(root(model.tree(0)).1, (1.0 + 5e-8) / 2.0 + 1.5);
    assert_eq!(model.tree(0).len(), 3);
}

#[test]
fn a_pure_node_is_a_leaf_and_a_constant_feature_is_never_split_on() {
    let (x, _) = noisy(50, 3);
    let model = classify(&x, &[1; 50], Criterion::Gini, TreeLimits::default());
    assert_eq!(model.tree(0).len(), 1);
    let y = vec![2.5; 50];
    assert_eq!(regress(&x, &y, TreeLimits::default()).tree(0).len(), 1);
    // Column 0 constant, the labels from column 1.
    let rows: Vec<[f64; 2]> = (0..40).map(|i| [7.0, f64::from(i % 9)]).collect();
    let refs: Vec<&[f64]> = rows.iter().map(|r| r.as_slice()).collect();
    let x = matrix(&refs);
    let y: Vec<u32> = (0..40).map(|i| u32::from(i % 9 > 4)).collect();
    let model = classify(&x, &y, Criterion::Entropy, TreeLimits::default());
    let splits: Vec<u32> = model
        .tree(0)
        .nodes
        .iter()
        .filter_map(|node| match node {
            Node::Split { feature, .. } => Some(*feature),
            Node::Leaf { .. } => None,
        })
        .collect();
    assert_eq!(splits, [1]);
    assert_eq!(model.importances(), [0.0, 1.0]);
}

#[test]
fn a_row_of_zero_weight_is_left_out_and_weights_count_in_the_leaves() {
    let x = column(&[1.0, 2.0, 3.0]);
    let labels = Labels::Classes {
        codes: vec![0, 1, 0],
        width: 2,
    };
    let growth = growth(Criterion::Gini, Splitter::Best, TreeLimits::default());
    let mut random = tree_random(0, 0);
    let columns = Columns::new(&x).unwrap();
    let cancel = Cancel::never();
    let grown = build::Builder::new(
        &columns,
        &labels,
        &[1.0, 0.0, 1.0],
        &growth,
        &mut random,
        &cancel,
    )
    .grow()
    .unwrap();
    assert_eq!(grown.tree.nodes, [Node::Leaf { offset: 0 }]);
    assert_eq!(grown.tree.values, [1.0, 0.0]);
    let x = column(&[1.0, 1.0]);
    let columns = Columns::new(&x).unwrap();
    let labels = Labels::Classes {
        codes: vec![0, 1],
        width: 2,
    };
    let grown = build::Builder::new(
        &columns,
        &labels,
        &[3.0, 1.0],
        &growth,
        &mut random,
        &cancel,
    )
    .grow()
    .unwrap();
    assert_eq!(grown.tree.values, [0.75, 0.25]);
    let error = build::Builder::new(
        &columns,
        &labels,
        &[0.0, 0.0],
        &growth,
        &mut random,
        &cancel,
    )
    .grow()
    .err()
    .unwrap();
    assert!(
        error
            .to_string()
            .contains("no training row has a positive weight"),
        "{error}"
    );
}

#[test]
fn the_importances_follow_the_informative_feature() {
    // The label is column 2's sign; columns 0 and 1 are noise.
    let (x, _) = noisy(400, 3);
    let y: Vec<u32> = x
        .values
        .chunks(3)
        .map(|row| u32::from(row[2] > 0.5))
        .collect();
    let model = classify(&x, &y, Criterion::Gini, depth(1));
    assert_eq!(model.importances(), [0.0, 0.0, 1.0]);
    let forest = forest_of(&x, &y, 10, Splitter::Best, 0);
    let importances = forest.importances();
    assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(importances[2] > 0.8, "{importances:?}");
}

fn forest_of(x: &Matrix, y: &[u32], trees: usize, splitter: Splitter, seed: u64) -> TreeEnsemble {
    let mut growth = growth(Criterion::Gini, splitter, TreeLimits::default());
    growth.max_features = 2;
    let plan = plan(trees, splitter == Splitter::Best, growth, x.columns.len());
    TreeEnsemble::classifier(x, y, &plan, seed, &Cancel::never()).unwrap()
}

#[test]
fn a_forest_is_the_same_per_seed_and_on_any_number_of_threads() {
    let (x, y) = noisy(500, 5);
    for splitter in [Splitter::Best, Splitter::Random] {
        let bytes = |seed: u64, threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let forest = pool.install(|| forest_of(&x, &y, 12, splitter, seed));
            postcard::to_allocvec(&forest).unwrap()
        };
        let one = bytes(3, 1);
        assert_eq!(one, bytes(3, 3), "{splitter:?}");
        assert_eq!(one, bytes(3, 1), "{splitter:?}");
        assert_ne!(one, bytes(4, 1), "{splitter:?}");
    }
}

#[test]
fn the_random_splitter_cuts_within_the_node_s_range() {
    let (x, y) = noisy(200, 3);
    let forest = forest_of(&x, &y, 5, Splitter::Random, 1);
    for index in 0..5 {
        let tree = forest.tree(index);
        assert!(tree.len() > 1);
        for node in &tree.nodes {
            if let Node::Split { threshold, .. } = node {
                assert!((0.0..1.0).contains(threshold), "{threshold}");
            }
        }
    }
    // Grown until pure on distinct rows, the training rows are predicted exactly.
    let labels = forest.predict_classes(&x, 2).unwrap().labels;
    assert_eq!(labels, y);
}

#[test]
fn a_cancelled_fit_gives_up() {
    let token = tokio_util::sync::CancellationToken::new();
    token.cancel();
    let (x, y) = noisy(50, 2);
    let plan = plan(
        3,
        true,
        growth(Criterion::Gini, Splitter::Best, TreeLimits::default()),
        2,
    );
    let outcome = TreeEnsemble::classifier(&x, &y, &plan, 0, &Cancel::new(token));
    assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled);
}

#[test]
fn a_tree_that_does_not_hold_together_is_refused_naming_the_fault() {
    let split = |feature, left, right| Node::Split {
        feature,
        threshold: 0.5,
        left,
        right,
    };
    let check = |nodes: Vec<Node>, values: Vec<f64>| Tree { nodes, values }.check("the tree", 2, 2);
    let leaves = vec![0.5; 4];
    assert!(
        check(
            vec![
                split(1, 1, 2),
                Node::Leaf { offset: 0 },
                Node::Leaf { offset: 2 }
            ],
            leaves.clone()
        )
        .is_ok()
    );
    // Each broken tree, over four leaf values, and the fault named.
    let faults = [
        (
            vec![split(0, 0, 1), Node::Leaf { offset: 0 }],
            "the tree node 0 is reached twice (a loop or a shared node)",
        ),
        (
            vec![split(0, 1, 9), Node::Leaf { offset: 0 }],
            "the tree node 0 points to node 9, past its 2 nodes",
        ),
        (
            vec![
                split(2, 1, 2),
                Node::Leaf { offset: 0 },
                Node::Leaf { offset: 2 },
            ],
            "the tree node 0 splits on feature 2; the model has 2 features",
        ),
        (
            vec![
                split(0, 1, 2),
                Node::Leaf { offset: 0 },
                Node::Leaf { offset: 3 },
            ],
            "the tree node 2: leaf values at 3 are past the 4 values",
        ),
        (
            vec![
                Node::Leaf { offset: 0 },
                split(0, 0, 2),
                Node::Leaf { offset: 0 },
            ],
            "the tree node 1 points back to a node before it",
        ),
    ];
    for (nodes, fault) in faults {
        assert_eq!(check(nodes, leaves.clone()).unwrap_err(), fault);
    }
    assert_eq!(
        check(vec![Node::Leaf { offset: 0 }], vec![0.5, f64::NAN]).unwrap_err(),
        "the tree's leaf values[1] is NaN, not a finite number"
    );
    assert_eq!(
        check(
            vec![
                Node::Leaf { offset: 0 },
                split(0, 0, 2),
                Node::Leaf { offset: 0 }
            ],
            leaves.clone()
        )
        .unwrap_err(),
        "the tree node 1 points back to a node before it"
    );
    let mut nan = split(0, 1, 2);
    if let Node::Split { threshold, .. } = &mut nan {
        *threshold = f64::NAN;
    }
    assert_eq!(
        check(
            vec![nan, Node::Leaf { offset: 0 }, Node::Leaf { offset: 2 }],
            leaves
        )
        .unwrap_err(),
        "the tree node 0: the threshold is NaN"
    );
}

#[test]
fn a_deep_chain_is_walked_and_predicted_without_recursion() {
    // 100,000 splits in a chain, each with a leaf on its left.
    let depth = 100_000u32;
    let mut nodes = Vec::new();
    for level in 0..depth {
        let here = 2 * level;
        nodes.push(Node::Split {
            feature: 0,
            threshold: f64::from(level),
            left: here + 1,
            right: here + 2,
        });
        nodes.push(Node::Leaf { offset: 0 });
    }
    nodes.push(Node::Leaf { offset: 1 });
    let tree = Tree {
        nodes,
        values: vec![1.0, 2.0],
    };
    assert!(tree.check("the tree", 1, 1).is_ok());
    assert_eq!(tree.leaf(&[1e9], 1).unwrap(), [2.0]);
    assert_eq!(tree.leaf(&[0.5], 1).unwrap(), [1.0]);
}

/// The depth of the deepest leaf.
fn tree_depth(tree: &Tree) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(0usize, 0usize)];
    while let Some((index, depth)) = stack.pop() {
        match tree.nodes[index] {
            Node::Leaf { .. } => deepest = deepest.max(depth),
            Node::Split { left, right, .. } => {
                stack.push((left as usize, depth + 1));
                stack.push((right as usize, depth + 1));
            }
        }
    }
    deepest
}

/// `rows` rows of `features` uniform values in [0, 1) and a label that is mostly the
/// first feature's side of 0.5.
fn noisy(rows: usize, features: usize) -> (Matrix, Vec<u32>) {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state = splitmix(state);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut values = Vec::with_capacity(rows * features);
    let mut labels = Vec::with_capacity(rows);
    for _ in 0..rows {
        let row: Vec<f64> = (0..features).map(|_| next()).collect();
        labels.push(u32::from((row[0] > 0.5) != (next() < 0.2)));
        values.extend(row);
    }
    let matrix = Matrix {
        rows,
        columns: (0..features).map(|f| format!("x{f}")).collect(),
        values,
    };
    (matrix, labels)
}

#[test]
fn values_at_the_ends_of_f64_are_cut_without_overflow() {
    let x = column(&[-1.7e308, -1.0, 1.0, 1.7e308]);
    let y = [0, 0, 1, 1];
    for splitter in [Splitter::Best, Splitter::Random] {
        let growth = growth(Criterion::Gini, splitter, TreeLimits::default());
        let plan = plan(5, false, growth, 1);
        let model = TreeEnsemble::classifier(&x, &y, &plan, 0, &Cancel::never()).unwrap();
        assert_eq!(
            model.predict_classes(&x, 2).unwrap().labels,
            y,
            "{splitter:?}"
        );
        assert!(model.tree(0).check("the tree", 1, 2).is_ok());
    }
}
