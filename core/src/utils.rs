//! The utils service's interface: leak-free preprocessing pipelines, splits and plots.
//!
//! A pipeline is fitted on training rows only ([`Utils::fit_pipeline`]) and then applied to
//! any rows ([`Utils::transform`]) with the statistics it learned, so cross-validation never
//! leaks a held-out fold into its own preprocessing.

use crate::ServiceError;
use crate::frame::Frame;
use serde::{Deserialize, Serialize};

/// The utils service.
#[tarpc::service]
pub trait Utils {
    /// Learns a pipeline's statistics (means, scales, categories) from `data`.
    async fn fit_pipeline(spec: PipelineSpec, data: Frame) -> Result<FittedPipeline, ServiceError>;
    /// Applies a fitted pipeline to `data`, giving a numeric matrix.
    async fn transform(pipeline: FittedPipeline, data: Frame) -> Result<Matrix, ServiceError>;
    /// Train/test or k-fold row indices, seeded, optionally stratified.
    async fn split(request: SplitRequest) -> Result<Vec<Fold>, ServiceError>;
    /// The preprocessing a family of algorithms needs by default.
    async fn default_pipeline(family: AlgorithmFamily) -> Result<PipelineSpec, ServiceError>;
    /// Renders a plot to SVG or PNG bytes.
    async fn plot(request: PlotRequest) -> Result<Plot, ServiceError>;
}

/// A preprocessing pipeline: steps applied in order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PipelineSpec {
    /// The steps.
    pub steps: Vec<Step>,
}

/// One preprocessing step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Step {
    /// Fill missing values.
    Impute(Impute),
    /// Scale numeric columns.
    Scale(Scale),
    /// One-hot encode categorical columns.
    OneHot {
        /// What a category unseen at fit time does at transform time.
        unknown: UnknownCategory,
    },
    /// Drop columns that are constant in the fitted rows.
    DropConstant,
}

/// How missing values are filled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Impute {
    /// The column's mean.
    Mean,
    /// The column's median.
    Median,
    /// The most frequent value.
    MostFrequent,
    /// A constant.
    Constant(f64),
}

/// How numeric columns are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scale {
    /// Zero mean, unit variance.
    Standard,
    /// Into [0, 1].
    MinMax,
    /// Median and interquartile range.
    Robust,
}

/// What one-hot encoding does with a category it did not see when fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnknownCategory {
    /// All indicator columns are 0.
    Ignore,
    /// The transform fails, naming the column and value.
    Error,
}

/// A pipeline with the statistics learned from its training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedPipeline {
    /// The spec it was fitted from.
    pub spec: PipelineSpec,
    /// The input columns it expects, in order.
    pub input_columns: Vec<String>,
    /// The learned state of each step, in order.
    pub steps: Vec<FittedStep>,
    /// The names of the output matrix's columns.
    pub output_columns: Vec<String>,
}

/// The learned state of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FittedStep {
    /// The fill value of each column.
    Impute {
        /// One per column (`NaN` for a categorical column filled by code).
        fill: Vec<f64>,
    },
    /// `(x - center) / scale` per column.
    Scale {
        /// Subtracted.
        center: Vec<f64>,
        /// Divided by.
        scale: Vec<f64>,
    },
    /// The categories of each encoded column.
    OneHot {
        /// Per input column: its categories, or `None` for a column passed through.
        categories: Vec<Option<Vec<String>>>,
        /// The unknown-category policy.
        unknown: UnknownCategory,
    },
    /// The indices of the columns kept.
    DropConstant {
        /// Kept column indices.
        keep: Vec<usize>,
    },
}

/// A dense row-major matrix of `f64` with named columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// Rows.
    pub rows: usize,
    /// Column names (their count is the number of columns).
    pub columns: Vec<String>,
    /// `rows × columns.len()` values, row-major.
    #[serde(with = "crate::wire::f64_le")]
    pub values: Vec<f64>,
}

/// A request for row indices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitRequest {
    /// How many rows there are.
    pub rows: usize,
    /// The kind of split.
    pub kind: SplitKind,
    /// The seed; the same seed gives the same split on every platform.
    pub seed: u64,
    /// Class labels (one per row) to stratify on, for classification.
    pub stratify: Option<Vec<u32>>,
}

/// The kind of split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum SplitKind {
    /// One train/test split with this fraction of rows held out.
    TrainTest {
        /// The held-out fraction, in (0, 1).
        test_fraction: f64,
    },
    /// k folds, each held out once.
    KFold {
        /// The number of folds, at least 2.
        k: usize,
    },
}

/// Row indices of one split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<u32>,
    /// Rows to evaluate on.
    pub test: Vec<u32>,
}

/// Families of algorithms that share preprocessing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlgorithmFamily {
    /// Linear and logistic models: scaled, imputed, one-hot.
    Linear,
    /// Trees and forests: imputed and encoded, no scaling needed.
    Tree,
    /// Support vector machines: scaled.
    Svm,
    /// k-nearest neighbours: scaled.
    Neighbors,
    /// Naive Bayes.
    NaiveBayes,
}

/// An image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImageFormat {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

/// A plot to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlotRequest {
    /// What to draw.
    pub kind: PlotKind,
    /// The image format.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// What to draw, with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PlotKind {
    /// Histograms of the numeric columns.
    Histograms {
        /// The data.
        frame: Frame,
    },
    /// The correlation heatmap of the numeric columns.
    Correlation {
        /// The data.
        frame: Frame,
    },
    /// A leaderboard as bars with fold-to-fold error bars.
    Leaderboard {
        /// The metric's name (the value axis).
        metric: String,
        /// `(model, mean, standard deviation)` per model.
        entries: Vec<(String, f64, f64)>,
    },
    /// Predicted against actual values, with the identity line.
    PredictedVsActual {
        /// Actual values.
        actual: Vec<f64>,
        /// Predicted values.
        predicted: Vec<f64>,
    },
    /// Residuals against predicted values.
    Residuals {
        /// Actual values.
        actual: Vec<f64>,
        /// Predicted values.
        predicted: Vec<f64>,
    },
    /// A confusion matrix heatmap with counts.
    ConfusionMatrix {
        /// Class labels.
        labels: Vec<String>,
        /// `counts[actual][predicted]`.
        counts: Vec<Vec<u64>>,
    },
    /// A ROC curve with its AUC (binary classification).
    Roc {
        /// True labels (1 = positive).
        labels: Vec<u8>,
        /// Scores of the positive class.
        scores: Vec<f64>,
    },
    /// Feature importances as bars.
    FeatureImportance {
        /// Feature names.
        names: Vec<String>,
        /// Their importances.
        importances: Vec<f64>,
    },
}

/// A rendered plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plot {
    /// The format of `bytes`.
    pub format: ImageFormat,
    /// The image.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}
