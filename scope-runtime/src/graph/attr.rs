//! What an op carries besides its inputs: constants, axes, windows, masks.

use crate::base::{DType, Shape, Value};
use crate::variable::Variable;
use std::sync::Arc;

/// Data an op carries besides its inputs.
#[derive(Clone, Debug)]
pub(crate) enum Attr {
    None,
    Const(Arc<Value>),
    /// A placeholder's static shape (boxed: attributes stay small) and dtype.
    Placeholder(Box<Shape>, DType),
    /// The variable of a `VariableV2` node or of an assignment.
    Variable(Variable),
    /// The variables an optimizer's update changes in place, in input order
    /// (the variable, then its slots), and TF's `use_nesterov`.
    Apply {
        vars: Box<[Variable]>,
        nesterov: bool,
    },
    /// Concatenation, stacking or unstacking axis.
    Axis(usize),
    MatMul {
        transpose_a: bool,
        transpose_b: bool,
    },
    /// Whether a reduction keeps reduced axes as size 1, and whether its axes
    /// are all of them (then, without `keep_dims`, the output is a scalar even
    /// where the input's rank is unknown, as TF's Python sets it).
    Reduce {
        keep_dims: bool,
        all_axes: bool,
    },
    /// The output dtype (`Cast`, `Shape`, `ArgMax`).
    DType(DType),
    Conv(Conv),
    Pool(Pool),
    /// `num` equal parts along `axis` (TF `Split`).
    Split {
        axis: usize,
        num: usize,
    },
    /// Parts of the given sizes along `axis`, one of them possibly `-1` (TF `SplitV`).
    SplitV {
        axis: usize,
        sizes: Vec<i64>,
    },
    /// A strided slice's spec: its masks, and the begin, end and strides its
    /// inputs hold when they are built (the shape function reads them here,
    /// the kernel from the inputs).
    StridedSlice(Box<StridedSlice>),
    /// `num` outputs along `axis` (TF `Unpack`).
    Unstack {
        axis: usize,
        num: usize,
    },
    /// A cumulative op's direction: TF `exclusive` and `reverse`.
    Cumulative {
        exclusive: bool,
        reverse: bool,
    },
    /// What is known of the output shape of `Fill` before its `dims` input is.
    Fill(Box<Shape>),
    OneHot(OneHot),
    /// The slope of `LeakyRelu` below zero.
    Alpha(f64),
    /// The axis of `ArgMax` and the dtype of its output.
    ArgMax {
        axis: usize,
        dtype: DType,
    },
    /// The axes `Squeeze` removes, each of size 1.
    Squeeze(Vec<usize>),
    /// A random op's stream (`RandomUniform`).
    Random(Box<Random>),
    /// Fused batch normalization's `epsilon` (as TF keeps it: a float32) and
    /// `is_training` (TF `FusedBatchNormV3` and its gradient, NHWC,
    /// `exponential_avg_factor = 1`).
    FusedBatchNorm {
        epsilon: f32,
        is_training: bool,
    },
    /// A loop op's body (`Scan`, `ScanGrad`).
    Loop(Arc<dyn super::LoopBody>),
    /// What a collective op computes with the other processes of the job.
    #[cfg(feature = "mpi")]
    Collective(Arc<dyn super::Collective>),
}

/// A random op's stream: its seeds (TF's `seed` and `seed2`), its output
/// dtype, and how many Philox blocks its runs have reserved so far (TF's
/// `GuardedPhiloxRandom`), so that each run draws new values and a graph
/// built again with the same seed draws the same ones.
#[derive(Clone, Debug)]
pub(crate) struct Random {
    pub(crate) seeds: crate::variable::philox::Seeds,
    pub(crate) dtype: DType,
    pub(crate) reserved: Arc<std::sync::atomic::AtomicU64>,
}

/// Padding of a convolution or pooling window (TensorFlow's `SAME` / `VALID`).
///
/// # Examples
///
/// ```
/// use scope_runtime::{avg_pool, constant, Graph, Padding};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(ndarray::Array4::<f32>::zeros((1, 5, 5, 1)))?;
/// assert_eq!(avg_pool(&x, [2, 2], [2, 2], Padding::Same)?.shape().to_vec(), Some(vec![1, 3, 3, 1]));
/// assert_eq!(avg_pool(&x, [2, 2], [2, 2], Padding::Valid)?.shape().to_vec(), Some(vec![1, 2, 2, 1]));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Pad so that the output has `ceil(input / stride)` positions.
    Same,
    /// No padding: only windows that fit.
    Valid,
}

/// Attributes of a 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Conv {
    /// Strides along height and width.
    pub(crate) strides: [usize; 2],
    /// Dilations along height and width.
    pub(crate) dilations: [usize; 2],
    pub(crate) padding: Padding,
}

/// Attributes of a 2-D pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Pool {
    /// Window height and width.
    pub(crate) ksize: [usize; 2],
    /// Strides along height and width.
    pub(crate) strides: [usize; 2],
    pub(crate) padding: Padding,
}

/// TF `tf.strided_slice`'s arguments: `begin`, `end` and `strides` per
/// sliced axis (negative indices count from the end) and the masks TF1 code
/// uses: bit `i` of `begin_mask` / `end_mask` ignores `begin[i]` / `end[i]`
/// (the widest range), bit `i` of `shrink_axis_mask` takes the one element
/// `begin[i]` and drops the axis.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, strided_slice, Graph, StridedSlice};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(ndarray::Array2::<f32>::zeros((4, 6)))?;
/// // x[:, 1:5:2]
/// let s = StridedSlice::new([0, 1], [0, 5]).strides([1, 2]).begin_mask(0b01).end_mask(0b01);
/// assert_eq!(strided_slice(&x, &s)?.shape().to_vec(), Some(vec![4, 2]));
/// // x[-1]
/// let last = StridedSlice::new([-1], [0]).shrink_axis_mask(0b1);
/// assert_eq!(strided_slice(&x, &last)?.shape().to_vec(), Some(vec![6]));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StridedSlice {
    pub(crate) begin: Vec<i64>,
    pub(crate) end: Vec<i64>,
    /// `None`: all 1, which TF's Python computes with a `ones_like` op.
    pub(crate) strides: Option<Vec<i64>>,
    pub(crate) begin_mask: u64,
    pub(crate) end_mask: u64,
    pub(crate) shrink_axis_mask: u64,
}

impl StridedSlice {
    /// `begin` and `end`, one entry per sliced axis (axes beyond them are taken whole), with strides of 1.
    pub fn new(begin: impl Into<Vec<i64>>, end: impl Into<Vec<i64>>) -> StridedSlice {
        StridedSlice {
            begin: begin.into(),
            end: end.into(),
            strides: None,
            begin_mask: 0,
            end_mask: 0,
            shrink_axis_mask: 0,
        }
    }

    /// The step per sliced axis; negative steps walk backwards.
    pub fn strides(mut self, strides: impl Into<Vec<i64>>) -> StridedSlice {
        self.strides = Some(strides.into());
        self
    }

    /// The stride of sliced axis `i`.
    pub(crate) fn stride(&self, i: usize) -> i64 {
        self.strides.as_ref().map_or(1, |s| s[i])
    }

    /// Axes whose `begin` is ignored (bit `i` for axis `i`).
    pub fn begin_mask(mut self, mask: u64) -> StridedSlice {
        self.begin_mask = mask;
        self
    }

    /// Axes whose `end` is ignored.
    pub fn end_mask(mut self, mask: u64) -> StridedSlice {
        self.end_mask = mask;
        self
    }

    /// Axes indexed by `begin` alone and removed from the output.
    pub fn shrink_axis_mask(mut self, mask: u64) -> StridedSlice {
        self.shrink_axis_mask = mask;
        self
    }
}

/// Attributes of `OneHot`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct OneHot {
    pub(crate) depth: usize,
    pub(crate) on: f64,
    pub(crate) off: f64,
    /// The new axis (`None`: last).
    pub(crate) axis: Option<usize>,
    pub(crate) dtype: DType,
}

#[cfg(test)]
mod tests {
    /// Every node holds one: keep it to a few words (box what is large).
    #[test]
    fn attributes_stay_small() {
        assert!(std::mem::size_of::<super::Attr>() <= 48, "{}", std::mem::size_of::<super::Attr>());
    }
}
