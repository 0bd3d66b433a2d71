//! The utils service's interface: leak-free preprocessing pipelines, splits and plots.
//!
//! A pipeline is fitted on training rows only ([`Utils::fit_pipeline`]) and then applied to
//! any rows ([`Utils::transform`]) with the statistics it learned, so cross-validation never
//! leaks a held-out fold into its own preprocessing; [`Utils::fit_transform`] does both for
//! one fold in one call.

use crate::ServiceError;
use crate::frame::{ColumnKind, Frame};
use serde::{Deserialize, Serialize};

/// The utils service.
#[tarpc::service]
pub trait Utils {
    /// Learns a pipeline's statistics (means, scales, categories) from `data`, the feature
    /// columns of the training rows (no target).
    async fn fit_pipeline(spec: PipelineSpec, data: Frame) -> Result<FittedPipeline, ServiceError>;
    /// Applies a fitted pipeline to `data` (the same columns, in the same order, as it was
    /// fitted on), giving a numeric matrix.
    async fn transform(pipeline: FittedPipeline, data: Frame) -> Result<Matrix, ServiceError>;
    /// Train/test or k-fold row indices, seeded, optionally stratified.
    async fn split(request: SplitRequest) -> Result<Vec<Fold>, ServiceError>;
    /// The preprocessing a family of algorithms needs by default.
    async fn default_pipeline(family: AlgorithmFamily) -> Result<PipelineSpec, ServiceError>;
    /// Renders a plot to SVG or PNG bytes.
    async fn plot(request: PlotRequest) -> Result<Plot, ServiceError>;
    /// One fold's preprocessing in one call: fits `spec` on `train` (the training rows'
    /// feature columns) and gives both sets transformed by it. The training matrix comes
    /// from the fit's own pass over the rows, so it costs one transform less than
    /// [`Utils::fit_pipeline`] then [`Utils::transform`] twice, and one round trip instead of
    /// three. (Last in the list: older nodes number the other calls as before.)
    async fn fit_transform(
        spec: PipelineSpec,
        train: Frame,
        test: Frame,
    ) -> Result<FoldMatrices, ServiceError>;
}

/// A fold's rows after its preprocessing, fitted on the training rows alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FoldMatrices {
    /// The training rows.
    pub train: Matrix,
    /// The test rows, transformed with the statistics of the training rows.
    pub test: Matrix,
}

/// A preprocessing pipeline: steps applied in order, each to the output of the one before.
///
/// The output of the last step must be all numeric: a categorical column that no
/// [`Step::OneHot`] encodes is refused when the pipeline is fitted.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PipelineSpec {
    /// The steps.
    pub steps: Vec<Step>,
}

/// One preprocessing step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Step {
    /// Fill missing values (scikit-learn's `SimpleImputer`): numeric columns by one
    /// strategy, categorical columns by another. `None` leaves that kind's missing values
    /// as they are; a later step that cannot take them (a scaler, one-hot encoding) then
    /// refuses them, naming the column.
    Impute {
        /// The strategy for numeric columns.
        numeric: Option<Impute>,
        /// The strategy for categorical columns.
        categorical: Option<CategoricalImpute>,
    },
    /// Scale every numeric column; categorical columns pass through.
    Scale(Scale),
    /// One-hot encode every categorical column (scikit-learn's `OneHotEncoder`, categories
    /// sorted); numeric columns pass through.
    OneHot {
        /// What a category unseen at fit time does at transform time.
        unknown: UnknownCategory,
    },
    /// Drop columns that are constant in the fitted rows (scikit-learn's
    /// `VarianceThreshold(0)`).
    DropConstant,
    /// Cap every categorical column at its `max_categories` most frequent labels in the
    /// fitted rows (ties go to the label sorting first); the column's other labels become
    /// one label, `(other)`, so a [`Step::OneHot`] after it makes at most
    /// `max_categories + 1` indicator columns of it. At transform time a label unseen at
    /// fit time also becomes `(other)` when the column has it, and is left to the one-hot
    /// step's [`UnknownCategory`] policy when it does not (the column had no more than
    /// `max_categories` labels). Numeric columns and missing values pass through.
    ///
    /// scikit-learn's `OneHotEncoder(max_categories=n, handle_unknown='infrequent_if_exist')`
    /// does the same with two differences: its `n` counts the infrequent column (ours is
    /// `n + 1` columns), and of tied labels it keeps the ones sorting last.
    CapCategories {
        /// The most labels a column keeps, at least 2.
        max_categories: usize,
    },
}

/// How missing numeric values are filled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Impute {
    /// The column's mean.
    Mean,
    /// The column's median.
    Median,
    /// The most frequent value; the smallest of those tied.
    MostFrequent,
    /// A constant.
    Constant(f64),
}

/// How missing categorical values are filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CategoricalImpute {
    /// The most frequent category; the lexicographically smallest of those tied.
    MostFrequent,
    /// A constant label (a new category when no row has it).
    Constant(String),
}

/// How numeric columns are scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scale {
    /// Zero mean, unit (population) variance: scikit-learn's `StandardScaler`.
    Standard,
    /// Into [0, 1]: scikit-learn's `MinMaxScaler`.
    MinMax,
    /// Centred on the median, divided by the interquartile range: scikit-learn's
    /// `RobustScaler`.
    Robust,
}

/// What one-hot encoding does with a category it did not see when fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum UnknownCategory {
    /// All indicator columns are 0.
    Ignore,
    /// The transform fails, naming the column and value.
    Error,
}

/// A pipeline with the statistics learned from its training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FittedPipeline {
    /// The spec it was fitted from.
    pub spec: PipelineSpec,
    /// The input columns it expects, in order.
    pub input_columns: Vec<InputColumn>,
    /// The learned state of each step, in order.
    pub steps: Vec<FittedStep>,
    /// The names of the output matrix's columns.
    pub output_columns: Vec<String>,
}

/// A column a fitted pipeline expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InputColumn {
    /// Its name.
    pub name: String,
    /// Numeric or categorical.
    pub kind: ColumnKind,
}

/// The learned state of one step. Every per-column vector has one entry per column the
/// step receives, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum FittedStep {
    /// The fill value of each column.
    Impute {
        /// Per column: its fill value, or `None` to leave its missing values.
        fill: Vec<Option<Fill>>,
    },
    /// `(x - center) / scale` per numeric column.
    Scale {
        /// The scaler.
        method: Scale,
        /// Per column: its centre and scale, or `None` for a categorical column.
        columns: Vec<Option<Affine>>,
    },
    /// The categories of each encoded column.
    OneHot {
        /// Per column: its sorted categories, or `None` for a numeric column passed through.
        categories: Vec<Option<Vec<String>>>,
        /// The unknown-category policy.
        unknown: UnknownCategory,
    },
    /// The columns kept.
    DropConstant {
        /// Kept column indices, ascending.
        keep: Vec<usize>,
        /// The names of the dropped columns, for reports.
        dropped: Vec<String>,
    },
    /// The labels each categorical column keeps.
    CapCategories {
        /// The cap it was fitted with.
        max_categories: usize,
        /// Per column: its kept labels and its `(other)` label when it had more labels than
        /// the cap; `None` for a numeric column or one within the cap, passed through.
        columns: Vec<Option<CappedLabels>>,
    },
}

/// The labels a capped categorical column keeps; the others become `other`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CappedLabels {
    /// The labels kept, sorted by code point.
    pub kept: Vec<String>,
    /// The label every other one becomes: `(other)`, or `(other)` with more parentheses
    /// when a kept label is already `(other)`.
    pub other: String,
}

/// A learned fill value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Fill {
    /// For a numeric column.
    Number(f64),
    /// For a categorical column: the label.
    Category(String),
}

/// A learned affine map, `(x - center) / scale`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Affine {
    /// Subtracted.
    pub center: f64,
    /// Divided by; never 0.
    pub scale: f64,
}

/// A dense row-major matrix of `f64` with named columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SplitRequest {
    /// How many rows there are.
    pub rows: usize,
    /// The kind of split.
    pub kind: SplitKind,
    /// The seed; the same seed gives the same split on every platform.
    pub seed: u64,
    /// Class labels (one per row) to stratify on, for classification.
    #[serde(with = "crate::wire::opt_u32_le")]
    pub stratify: Option<Vec<u32>>,
}

/// The kind of split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SplitKind {
    /// One train/test split with this fraction of rows held out (rounded up, as
    /// scikit-learn's `train_test_split` does).
    TrainTest {
        /// The held-out fraction, in (0, 1).
        test_fraction: f64,
    },
    /// k folds, each held out once.
    KFold {
        /// The number of folds, at least 2 and at most the number of rows.
        k: usize,
    },
}

/// Row indices of one split, each list ascending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Fold {
    /// Rows to fit on.
    #[serde(with = "crate::wire::u32_le")]
    pub train: Vec<u32>,
    /// Rows to evaluate on.
    #[serde(with = "crate::wire::u32_le")]
    pub test: Vec<u32>,
}

/// Families of algorithms that share preprocessing needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Histogram gradient boosting: categories imputed and encoded, numeric missing values
    /// left for the model, which routes them at every split. (Added after the others: a
    /// utils node that predates it refuses it, and a client that predates it cannot read
    /// the models service's algorithm list, which names it: upgrade utils nodes and
    /// clients first.)
    Boosting,
}

/// An image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImageFormat {
    /// Scalable vector graphics.
    Svg,
    /// Portable network graphics.
    Png,
}

/// A plot to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlotRequest {
    /// What to draw.
    pub kind: PlotKind,
    /// The image format.
    pub format: ImageFormat,
    /// Width in pixels; the service's default (800) when `None`.
    pub width: Option<u32>,
    /// Height in pixels; the service's default (600) when `None`.
    pub height: Option<u32>,
    /// The title; a description of the plot kind when `None`.
    pub title: Option<String>,
}

/// What to draw, with its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PlotKind {
    /// Histograms of the numeric columns, one panel each (the first 16).
    Histograms {
        /// The data.
        frame: Frame,
    },
    /// The Pearson correlation heatmap of the numeric columns.
    Correlation {
        /// The data.
        frame: Frame,
    },
    /// A leaderboard as bars with fold-to-fold error bars (± one standard deviation).
    Leaderboard {
        /// The metric's name (the value axis).
        metric: String,
        /// One bar per model, in the order given.
        entries: Vec<LeaderboardBar>,
    },
    /// Predicted against actual values, with the identity line.
    PredictedVsActual {
        /// The target's name, for the axes; `target` when `None`.
        target: Option<String>,
        /// Actual values.
        #[serde(with = "crate::wire::f64_le")]
        actual: Vec<f64>,
        /// Predicted values.
        #[serde(with = "crate::wire::f64_le")]
        predicted: Vec<f64>,
    },
    /// Residuals (actual − predicted) against predicted values.
    Residuals {
        /// The target's name, for the axes; `target` when `None`.
        target: Option<String>,
        /// Actual values.
        #[serde(with = "crate::wire::f64_le")]
        actual: Vec<f64>,
        /// Predicted values.
        #[serde(with = "crate::wire::f64_le")]
        predicted: Vec<f64>,
    },
    /// A confusion matrix heatmap with counts.
    ConfusionMatrix {
        /// Class labels.
        labels: Vec<String>,
        /// `counts[actual][predicted]`, square, one row and column per label.
        counts: Vec<Vec<u64>>,
    },
    /// A ROC curve with its AUC (binary classification).
    Roc {
        /// True labels (1 = positive, 0 = negative).
        #[serde(with = "serde_bytes")]
        labels: Vec<u8>,
        /// Scores of the positive class.
        #[serde(with = "crate::wire::f64_le")]
        scores: Vec<f64>,
    },
    /// Feature importances as bars, largest first (the first 30).
    FeatureImportance {
        /// Feature names.
        names: Vec<String>,
        /// Their importances.
        #[serde(with = "crate::wire::f64_le")]
        importances: Vec<f64>,
    },
}

/// One model's bar on a leaderboard plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaderboardBar {
    /// The model's label.
    pub model: String,
    /// The metric's mean over folds.
    pub mean: f64,
    /// Its standard deviation over folds (the error bar's half-length).
    pub std: f64,
}

/// A rendered plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plot {
    /// The format of `bytes`.
    pub format: ImageFormat,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The image.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}
