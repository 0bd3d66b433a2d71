//! Test support: smartcore's built-in sets as frames, a seeded stratified k-fold split and
//! a standard scaler fitted inside each fold (the utils service does both in production;
//! a service crate may not depend on another, so the tests carry their own); the seeded
//! generators the generated sets are drawn from ([`SplitMix`], [`XorShift`]); and the
//! scaffolding of the cancel tests ([`cancel_mid_fit`], [`runs_to_its_end`]).

// Each test binary uses part of this module.
#![allow(dead_code)]

use mltools_core::models::Task;
use mltools_core::utils::{Fold, Matrix};
use mltools_core::{Column, ColumnData, Frame};
use mltools_models::ModelsError;
use mltools_models::algorithms::AlgorithmId;
use mltools_models::cv::{Candidate, CvControl, CvRequest, cross_validate};
use mltools_models::metrics::Metric;
use mltools_models::task::Targets;
use rayon::ThreadPool;
use smartcore::dataset::{Dataset, boston, breast_cancer, diabetes, digits, iris};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A built-in set: features and targets.
pub(crate) struct Set {
    pub(crate) features: Frame,
    pub(crate) targets: Targets,
}

fn features<Y>(set: &Dataset<f32, Y>) -> Frame {
    let columns = (0..set.num_features)
        .map(|column| {
            let values = (0..set.num_samples)
                .map(|row| f64::from(set.data[row * set.num_features + column]))
                .collect();
            Column::numeric(format!("x{column}"), values)
        })
        .collect();
    Frame { columns }
}

fn classes(set: Dataset<f32, u32>, names: &[&str]) -> Set {
    Set {
        features: features(&set),
        targets: Targets::Classification {
            codes: set.target.clone(),
            classes: names.iter().map(|name| (*name).to_owned()).collect(),
        },
    }
}

pub(crate) fn iris() -> Set {
    classes(iris::load_dataset(), &["setosa", "versicolor", "virginica"])
}

pub(crate) fn breast_cancer() -> Set {
    classes(breast_cancer::load_dataset(), &["malignant", "benign"])
}

/// The 8×8 digits, 1797 rows of 64 pixels, 10 classes (identical to scikit-learn's).
pub(crate) fn digits() -> Set {
    let set = digits::load_dataset();
    let codes: Vec<u32> = set.target.iter().map(|&class| class as u32).collect();
    Set {
        features: features(&set),
        targets: Targets::Classification {
            codes,
            classes: (0..10).map(|digit| digit.to_string()).collect(),
        },
    }
}

pub(crate) fn diabetes() -> Set {
    let set = diabetes::load_dataset();
    let targets = Targets::Regression(set.target.iter().map(|&y| f64::from(y)).collect());
    Set {
        features: features(&set),
        targets,
    }
}

pub(crate) fn boston() -> Set {
    let set = boston::load_dataset();
    let targets = Targets::Regression(set.target.iter().map(|&y| f64::from(y)).collect());
    Set {
        features: features(&set),
        targets,
    }
}

/// A small seeded generator (splitmix64): the same seed gives the same split, and the
/// same generated set, everywhere.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    /// The generator seeded with `seed`.
    pub(crate) fn new(seed: u64) -> SplitMix {
        SplitMix(seed)
    }

    /// A uniform value in [0, 1), from the top 53 bits of the next value.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle(&mut self, rows: &mut [u32]) {
        for i in (1..rows.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            rows.swap(i, j);
        }
    }
}

/// Marsaglia's xorshift64 from a fixed state: the stream the cancel tests' sets are drawn
/// from.
pub(crate) struct XorShift(u64);

impl XorShift {
    /// The generator from its fixed state.
    pub(crate) fn new() -> XorShift {
        XorShift(0x9e37_79b9_7f4a_7c15)
    }

    /// A uniform value in [0, 1), from the top 53 bits of the next state.
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// k folds, stratified by class for classification (each class's rows shuffled and dealt
/// round the folds), shuffled for regression.
pub(crate) fn k_folds(targets: &Targets, k: usize, seed: u64) -> Vec<Fold> {
    let rows = targets.len() as u32;
    let groups: Vec<Vec<u32>> = match targets {
        Targets::Regression(_) => vec![(0..rows).collect()],
        Targets::Classification { codes, classes } => (0..classes.len() as u32)
            .map(|class| {
                (0..rows)
                    .filter(|&row| codes[row as usize] == class)
                    .collect()
            })
            .collect(),
    };
    let mut random = SplitMix::new(seed);
    let mut fold_of = vec![0usize; rows as usize];
    let mut next_fold = 0;
    for mut group in groups {
        random.shuffle(&mut group);
        for row in group {
            fold_of[row as usize] = next_fold;
            next_fold = (next_fold + 1) % k;
        }
    }
    (0..k)
        .map(|fold| Fold {
            train: (0..rows)
                .filter(|&row| fold_of[row as usize] != fold)
                .collect(),
            test: (0..rows)
                .filter(|&row| fold_of[row as usize] == fold)
                .collect(),
        })
        .collect()
}

fn numeric(frame: &Frame) -> Vec<&[f64]> {
    frame
        .columns
        .iter()
        .map(|column| match &column.data {
            ColumnData::Numeric(values) => values.as_slice(),
            ColumnData::Categorical { .. } => panic!("the built-in sets are numeric"),
        })
        .collect()
}

/// A frame of numeric columns named `x0`, `x1`, …
pub(crate) fn frame(columns: Vec<Vec<f64>>) -> Frame {
    Frame {
        columns: columns
            .into_iter()
            .enumerate()
            .map(|(index, values)| Column::numeric(format!("x{index}"), values))
            .collect(),
    }
}

/// A numeric frame as a row-major matrix, its columns named as the frame's.
pub(crate) fn matrix(frame: &Frame) -> Matrix {
    let columns = numeric(frame);
    let rows = frame.rows();
    let width = columns.len();
    let mut values = vec![0.0; rows * width];
    for (index, column) in columns.iter().enumerate() {
        for (row, &value) in column.iter().enumerate() {
            values[row * width + index] = value;
        }
    }
    Matrix {
        rows,
        columns: frame.names().map(str::to_owned).collect(),
        values,
    }
}

/// A preparation that only turns the frames into matrices.
pub(crate) fn as_matrices(
    _: &Candidate,
    train: &Frame,
    test: &Frame,
) -> Result<(Matrix, Matrix), String> {
    Ok((matrix(train), matrix(test)))
}

/// A comparison of `candidates` scored by R² or accuracy (by task), seed 0.
fn request<'a>(
    features: &'a Frame,
    targets: &'a Targets,
    folds: &'a [Fold],
    candidates: &'a [Candidate],
) -> CvRequest<'a> {
    CvRequest {
        features,
        targets,
        folds,
        candidates,
        metric: match targets.task() {
            Task::Regression => Metric::R2,
            Task::Classification => Metric::Accuracy,
        },
        seed: 0,
    }
}

/// Cross-validates `candidate` on `features` over `folds` on `pool`, cancels `after` its
/// first fit started (the preparation signals once the matrices are built, right before
/// the fit), asserts the comparison ends as cancelled with no fit counted as done, and
/// returns how long it ran on after the cancel.
pub(crate) fn cancel_mid_fit(
    pool: &ThreadPool,
    features: &Frame,
    targets: &Targets,
    folds: &[Fold],
    candidate: Candidate,
    after: Duration,
) -> Duration {
    let candidates = vec![candidate];
    let (started, starts) = mpsc::channel();
    let prepare = move |_: &Candidate, train: &Frame, test: &Frame| {
        let matrices = (matrix(train), matrix(test));
        let _ = started.send(Instant::now());
        Ok(matrices)
    };
    let control = CvControl::default();
    let request = request(features, targets, folds, &candidates);
    let (cancelled_at, ended_at, outcome) = std::thread::scope(|scope| {
        let run = scope.spawn(|| {
            let outcome = cross_validate(&request, &prepare, &control, pool);
            (Instant::now(), outcome)
        });
        starts
            .recv_timeout(Duration::from_secs(120))
            .expect("the first fit starts");
        // The pause lets the fit get into its loops: it is not synchronisation, the
        // outcome is the same if the cancel lands earlier.
        std::thread::sleep(after);
        let cancelled_at = Instant::now();
        control.cancel();
        let (ended_at, outcome) = run.join().unwrap();
        (cancelled_at, ended_at, outcome)
    });
    let algorithm = &candidates[0].spec.algorithm;
    assert_eq!(outcome.unwrap_err(), ModelsError::Cancelled, "{algorithm}");
    assert_eq!(
        control.progress().0,
        0,
        "{algorithm}: no fit counts as done"
    );
    ended_at - cancelled_at
}

/// The pool's thread is free: a small comparison of `algorithm` runs to its end on it.
pub(crate) fn runs_to_its_end(
    pool: &ThreadPool,
    algorithm: AlgorithmId,
    features: &Frame,
    targets: &Targets,
    folds: &[Fold],
) {
    let candidates = vec![Candidate::defaults(algorithm)];
    let request = request(features, targets, folds, &candidates);
    let board = cross_validate(&request, &as_matrices, &CvControl::default(), pool).unwrap();
    assert!(board.entries[0].error.is_none(), "{board:?}");
}

/// Standard scaling fitted on `train` (population standard deviation; a constant column
/// is only centred), applied to both: scikit-learn's `StandardScaler` in a pipeline.
pub(crate) fn standard_scaled(
    _: &Candidate,
    train: &Frame,
    test: &Frame,
) -> Result<(Matrix, Matrix), String> {
    let fitted: Vec<(f64, f64)> = numeric(train)
        .into_iter()
        .map(|values| {
            let count = values.len() as f64;
            let mean = values.iter().sum::<f64>() / count;
            let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count).sqrt();
            (mean, if std > 0.0 { std } else { 1.0 })
        })
        .collect();
    let transform = |frame: &Frame| {
        let columns = numeric(frame);
        let rows = frame.rows();
        let mut values = Vec::with_capacity(rows * columns.len());
        for row in 0..rows {
            for (column, (mean, std)) in columns.iter().zip(&fitted) {
                values.push((column[row] - mean) / std);
            }
        }
        Matrix {
            rows,
            columns: frame.names().map(str::to_owned).collect(),
            values,
        }
    };
    Ok((transform(train), transform(test)))
}
