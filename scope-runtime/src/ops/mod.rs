//! The op table: one row per op type (TensorFlow type and default name,
//! arity, dtypes, shape function, kernel, in-place policy, gradient), and
//! the builder that names an op under the current name scope and records it.
//! The constructors users call are in `api`, `array` and `state`.

#[macro_use]
mod macros {
    /// Declares op constructors once for both spellings: `add(&a, &b)` with the
    /// default name, and `named("res").add(&a, &b)`.
    macro_rules! api {
        ($($(#[$doc:meta])* fn $fn:ident($($arg:ident: $ty:ty),*) -> $ret:ty |$name:ident| $body:expr;)*) => {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                ///
                /// [`Error::OpShape`](crate::Error::OpShape) or [`Error::OpDType`](crate::Error::OpDType)
                /// naming the op when the inputs do not fit; [`Error::InvalidName`](crate::Error::InvalidName),
                /// [`Error::GraphMismatch`](crate::Error::GraphMismatch), [`Error::NoDefaultGraph`](crate::Error::NoDefaultGraph).
                pub fn $fn($($arg: $ty),*) -> Result<$ret> {
                    let $name: Option<&str> = None;
                    $body
                }
            )*
            impl $crate::ops::Named<'_> {
                $(
                    #[doc = concat!("Like [`", stringify!($fn), "`](fn@", stringify!($fn), "), named.")]
                    ///
                    /// # Errors
                    ///
                    #[doc = concat!("As for [`", stringify!($fn), "`](fn@", stringify!($fn), ").")]
                    pub fn $fn(self, $($arg: $ty),*) -> Result<$ret> {
                        let $name: Option<&str> = Some(self.0);
                        $body
                    }
                )*
            }
        };
    }
}

mod api;
mod array;
mod array_grad;
mod clip;
#[cfg(feature = "mpi")]
mod collective;
mod grad;
mod gradients;
mod indexed;
mod infer;
pub mod losses;
mod random;
mod scan_grad;
mod state;

pub use api::*;
pub use array::*;
pub use clip::*;
#[cfg(feature = "mpi")]
pub(crate) use collective::mpi_allreduce;
pub(crate) use gradients::gradients_gated;
pub use gradients::{gradients, gradients_indexed_with, gradients_with};
pub use indexed::{Gradient, IndexedSlices};
pub use random::*;
pub use state::*;

use crate::base::names::{is_valid_op_name, join_into, name_from_scope_name};
use crate::base::{Error, NameKind, Operation, Result, Tensor};
use crate::graph::{Arity, Attr, DTypes, Grad, GraphState, Kernel, NewNode, OpDef, Values};
use crate::kernels::{array as ka, control as kc, math as km, nn as kn, random as kq, reduce as kr, state as ks};
use crate::scope::with_ctx;
use array_grad as ag;
use grad as g;
use smallvec::SmallVec;
use std::sync::Arc;

macro_rules! op_table {
    // A row may end its doc comment with `#[cfg(…)]`: the op exists only
    // when the cfg holds (an optional feature's op).
    ($($(#[doc = $doc:literal])* $(#[cfg($cfg:meta)])? $kind:ident $type_name:literal $default:literal $arity:tt
        $dtypes:ident $infer:ident $kernel:expr, $in_place:literal, $grad:expr;)*) => {
        /// Every op type a graph can hold.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum OpKind { $($(#[doc = $doc])* $(#[cfg($cfg)])? $kind,)* }

        static OP_DEFS: &[OpDef] = &[$($(#[cfg($cfg)])? OpDef {
            type_name: $type_name,
            default_name: $default,
            arity: op_table!(@arity $arity),
            dtypes: DTypes::$dtypes,
            infer: infer::$infer,
            kernel: $kernel,
            in_place: $in_place,
            grad: $grad,
            values: op_table!(@values $infer),
        },)*];
    };
    (@arity n) => { Arity::Many };
    (@arity $n:literal) => { Arity::Exactly($n) };
    // Told by the shape function: the ops whose outputs are other tensors' shapes.
    (@values shape_of) => { Values::ShapesOfInputs };
    (@values shape_n) => { Values::ShapesOfInputs };
    (@values $other:ident) => { Values::Computed };
}

use Grad::{NotDifferentiable, Of, Undefined};
use Kernel::{Many, One, Update};

op_table! {
    //                TF type        default name     arity dtypes  shape function   kernel, may work in place, gradient
    /// A constant value.
    Const            "Const"         "Const"          0 Any     constant        Kernel::Const, false, NotDifferentiable;
    /// A value fed at run time.
    Placeholder      "Placeholder"   "Placeholder"    0 Any     placeholder     Kernel::Placeholder, false, NotDifferentiable;
    /// A variable's value.
    Variable         "VariableV2"    "Variable"       0 Any     variable        Kernel::Variable, false, NotDifferentiable;
    /// A variable's value as ops read it (TF's `v/read`).
    VariableRead     "Identity"      "read"           1 Any     same            Kernel::Read, false, Of(g::identity);
    /// Nothing; runs its control inputs.
    NoOp             "NoOp"          "NoOp"           0 Any     nothing         Kernel::NoOp, false, NotDifferentiable;
    /// `a + b`.
    Add              "AddV2"         "Add"            2 Numeric broadcast       One(km::add_kernel), true, Of(g::add);
    /// `a - b`.
    Sub              "Sub"           "Sub"            2 Numeric broadcast       One(km::sub_kernel), true, Of(g::sub);
    /// `a * b`.
    Mul              "Mul"           "Mul"            2 Numeric broadcast       One(km::mul_kernel), true, Of(g::mul);
    /// `a / b` on floats.
    Div              "RealDiv"       "truediv"        2 Float   broadcast       One(km::div_kernel), true, Of(g::real_div);
    /// `min(a, b)`.
    Minimum          "Minimum"       "Minimum"        2 Numeric broadcast       One(km::minimum_kernel), true, Of(g::minimum);
    /// `(a - b)²`.
    SquaredDifference "SquaredDifference" "SquaredDifference" 2 Numeric broadcast One(km::squared_difference_kernel), true, Of(g::squared_difference);
    /// `a / b`, 0 where `b` is 0.
    DivNoNan         "DivNoNan"      "div_no_nan"     2 Float   broadcast       One(km::div_no_nan_kernel), true, Of(g::div_no_nan);
    /// `aᵇ` on floats.
    Pow              "Pow"           "Pow"            2 Float   broadcast       One(km::pow_kernel), true, Of(g::pow);
    /// `max(a, b)`.
    Maximum          "Maximum"       "Maximum"        2 Numeric broadcast       One(km::maximum_kernel), true, Of(g::maximum);
    /// `floor(a / b)` on integers.
    FloorDiv         "FloorDiv"      "floordiv"       2 Numeric int_broadcast   One(km::floor_div_kernel), false, NotDifferentiable;
    /// `a - floor(a / b) * b` on integers.
    FloorMod         "FloorMod"      "mod"            2 Numeric int_broadcast   One(km::floor_mod_kernel), false, Undefined;
    /// `a == b`.
    Equal            "Equal"         "Equal"          2 Any     compare         One(km::equal_kernel), false, NotDifferentiable;
    /// `a < b`.
    Less             "Less"          "Less"           2 Numeric compare         One(km::less_kernel), false, NotDifferentiable;
    /// `a > b`.
    Greater          "Greater"       "Greater"        2 Numeric compare         One(km::greater_kernel), false, NotDifferentiable;
    /// `a >= b`.
    GreaterEqual     "GreaterEqual"  "GreaterEqual"   2 Numeric compare         One(km::greater_equal_kernel), false, NotDifferentiable;
    /// `a <= b`.
    LessEqual        "LessEqual"     "LessEqual"      2 Numeric compare         One(km::less_equal_kernel), false, NotDifferentiable;
    /// `cond ? x : y`, `cond` of `x`'s shape or one entry per row.
    Select           "Select"        "Select"         3 Mixed   select          One(km::select_kernel), false, Of(ag::select);
    /// `cond ? x : y` with broadcasting.
    SelectV2         "SelectV2"      "SelectV2"       3 Mixed   select_v2       One(km::select_v2_kernel), false, Of(g::select_v2);
    /// Matrix product.
    MatMul           "MatMul"        "MatMul"         2 Numeric matmul          One(km::matmul_kernel), false, Of(g::matmul);
    /// `x + bias` along the last axis.
    BiasAdd          "BiasAdd"       "BiasAdd"        2 Numeric bias_add        One(km::bias_add_kernel), true, Of(g::bias_add);
    /// `max(x, 0)`.
    Relu             "Relu"          "Relu"           1 Numeric same            One(km::relu_kernel), true, Of(g::relu);
    /// `min(max(x, 0), 6)`.
    Relu6            "Relu6"         "Relu6"          1 Float   same            One(km::relu6_kernel), true, Of(g::relu6);
    /// `x` where positive, else `alpha x`.
    LeakyRelu        "LeakyRelu"     "LeakyRelu"      1 Float   same            One(km::leaky_relu_kernel), true, Of(g::leaky_relu);
    /// `ln(1 + eˣ)`.
    Softplus         "Softplus"      "Softplus"       1 Float   same            One(km::softplus_kernel), true, Of(g::softplus);
    /// `1 / (1 + e⁻ˣ)`.
    Sigmoid          "Sigmoid"       "Sigmoid"        1 Float   same            One(km::sigmoid_kernel), true, Of(g::sigmoid);
    /// `tanh(x)`.
    Tanh             "Tanh"          "Tanh"           1 Float   same            One(km::tanh_kernel), true, Of(g::tanh);
    /// `-x`.
    Neg              "Neg"           "Neg"            1 Numeric same            One(km::neg_kernel), true, Of(g::neg_grad);
    /// `|x|`.
    Abs              "Abs"           "Abs"            1 Numeric same            One(km::abs_kernel), true, Of(g::abs);
    /// `x²`.
    Square           "Square"        "Square"         1 Numeric same            One(km::square_kernel), true, Of(g::square);
    /// `√x`.
    Sqrt             "Sqrt"          "Sqrt"           1 Float   same            One(km::sqrt_kernel), true, Of(g::sqrt);
    /// `1 / √x`.
    Rsqrt            "Rsqrt"         "Rsqrt"          1 Float   same            One(km::rsqrt_kernel), true, Of(g::rsqrt);
    /// `grad * -0.5 * y³` for a Rsqrt's output `y`.
    RsqrtGrad        "RsqrtGrad"     "RsqrtGrad"      2 Float   same            One(km::rsqrt_grad_kernel), false, Undefined;
    /// `eˣ`.
    Exp              "Exp"           "Exp"            1 Float   same            One(km::exp_kernel), true, Of(g::exp);
    /// `ln x`.
    Log              "Log"           "Log"            1 Float   same            One(km::log_kernel), true, Of(g::log);
    /// `ln(1 + x)`, exact for small `x`.
    Log1p            "Log1p"         "Log1p"          1 Float   same            One(km::log1p_kernel), true, Of(g::log1p);
    /// The largest integer not above `x`, as a float.
    Floor            "Floor"         "Floor"          1 Float   same            One(km::floor_kernel), true, Of(g::floor);
    /// The input unchanged.
    Identity         "Identity"      "Identity"       1 Any     same            One(km::identity_kernel), true, Of(g::identity);
    /// The input unchanged, but no gradient flows through it.
    StopGradient     "StopGradient"  "StopGradient"   1 Any     same            One(km::identity_kernel), true, NotDifferentiable;
    /// The sum of its inputs, all of one shape.
    AddN             "AddN"          "AddN"           n Numeric add_n           One(km::add_n_kernel), false, Of(g::add_n);
    /// `grad` where the Relu's output is positive, else 0.
    ReluGrad         "ReluGrad"      "ReluGrad"       2 Float   same            One(km::relu_grad_kernel), false, Undefined;
    /// `grad * y * (1 - y)` for a Sigmoid's output `y`.
    SigmoidGrad      "SigmoidGrad"   "SigmoidGrad"    2 Float   same            One(km::sigmoid_grad_kernel), false, Undefined;
    /// A BiasAdd's gradient for its bias: the sum over all axes but the last.
    BiasAddGrad      "BiasAddGrad"   "BiasAddGrad"    1 Numeric bias_add_grad   One(kr::bias_add_grad_kernel), false, Undefined;
    /// `grad` where a Relu6's input lies in (0, 6), else 0.
    Relu6Grad        "Relu6Grad"     "Relu6Grad"      2 Float   same            One(km::relu6_grad_kernel), false, Undefined;
    /// `grad * (1 - y²)` for a Tanh's output `y`.
    TanhGrad         "TanhGrad"      "TanhGrad"       2 Float   same            One(km::tanh_grad_kernel), false, Undefined;
    /// `grad * 0.5 / y` for a Sqrt's output `y`.
    SqrtGrad         "SqrtGrad"      "SqrtGrad"       2 Float   same            One(km::sqrt_grad_kernel), false, Undefined;
    /// `grad` where a LeakyRelu's input is positive, else `alpha * grad`.
    LeakyReluGrad    "LeakyReluGrad" "LeakyReluGrad"  2 Float   same            One(km::leaky_relu_grad_kernel), false, Undefined;
    /// -1, 0 or 1 by the sign of `x`.
    Sign             "Sign"          "Sign"           1 Numeric same            One(km::sign_kernel), true, Of(g::sign);
    /// `1 / x`.
    Reciprocal       "Reciprocal"    "Reciprocal"     1 Float   same            One(km::reciprocal_kernel), true, Of(g::reciprocal);
    /// `-grad * y²` for a Reciprocal's output `y`.
    ReciprocalGrad   "ReciprocalGrad" "ReciprocalGrad" 2 Float  same            One(km::reciprocal_grad_kernel), false, Undefined;
    /// A dtype conversion.
    Cast             "Cast"          "Cast"           1 Any     cast            One(km::cast_kernel), true, Of(g::cast);
    /// Softmax over the last axis.
    Softmax          "Softmax"       "Softmax"        1 Float   same            One(kn::softmax_kernel), true, Of(g::softmax);
    /// Log-softmax over the last axis.
    LogSoftmax       "LogSoftmax"    "LogSoftmax"     1 Float   same            One(kn::log_softmax_kernel), true, Of(g::log_softmax);
    /// `sum(x²) / 2`.
    L2Loss           "L2Loss"        "L2Loss"         1 Float   scalar          One(kn::l2_loss_kernel), false, Of(g::l2_loss);
    /// Batch normalization of NHWC inputs over their last axis, by the batch's moments or by given ones (six outputs).
    FusedBatchNorm   "FusedBatchNormV3" "FusedBatchNormV3" 5 Float fused_batch_norm Many(kn::fused_batch_norm_kernel), false, Of(g::fused_batch_norm);
    /// The gradients of `FusedBatchNormV3` for its input, scale and offset (five outputs).
    FusedBatchNormGrad "FusedBatchNormGradV3" "FusedBatchNormGradV3" 6 Float fused_batch_norm_grad Many(kn::fused_batch_norm_grad_kernel), false, Undefined;
    /// Softmax cross-entropy against integer labels, and its gradient (two outputs).
    SparseSoftmaxXent "SparseSoftmaxCrossEntropyWithLogits" "SparseSoftmaxCrossEntropyWithLogits" 2 Mixed sparse_softmax_xent Many(kn::sparse_softmax_xent_kernel), false, Of(g::sparse_softmax_xent);
    /// Softmax cross-entropy against a distribution per row, and its gradient (two outputs).
    SoftmaxXent      "SoftmaxCrossEntropyWithLogits" "SoftmaxCrossEntropyWithLogits" 2 Float softmax_xent Many(kn::softmax_xent_kernel), false, Of(g::softmax_xent);
    /// 2-D convolution, NHWC.
    Conv2D           "Conv2D"        "Conv2D"         2 Float   conv2d          One(kn::conv2d_kernel), false, Of(g::conv2d);
    /// A convolution's gradient for its input.
    Conv2DBackpropInput "Conv2DBackpropInput" "Conv2DBackpropInput" 3 Mixed conv2d_backprop_input One(kn::conv2d_backprop_input_kernel), false, Of(g::conv2d_backprop_input);
    /// A convolution's gradient for its filter.
    Conv2DBackpropFilter "Conv2DBackpropFilter" "Conv2DBackpropFilter" 3 Mixed conv2d_backprop_filter One(kn::conv2d_backprop_filter_kernel), false, Undefined;
    /// Max pooling, NHWC.
    MaxPool          "MaxPool"       "MaxPool"        1 Float   pool            One(kn::max_pool_kernel), false, Of(g::max_pool);
    /// Max pooling's gradient: to the first maximum of each window.
    MaxPoolGrad      "MaxPoolGrad"   "MaxPoolGrad"    3 Float   same            One(kn::max_pool_grad_kernel), false, Undefined;
    /// Average pooling, NHWC.
    AvgPool          "AvgPool"       "AvgPool"        1 Float   pool            One(kn::avg_pool_kernel), false, Of(g::avg_pool);
    /// Average pooling's gradient: shared by each window's inputs.
    AvgPoolGrad      "AvgPoolGrad"   "AvgPoolGrad"    2 Mixed   avg_pool_grad   One(kn::avg_pool_grad_kernel), false, Undefined;
    /// Sum over the axes its second input lists.
    Sum              "Sum"           "Sum"            2 Mixed   reduce          One(kr::sum_kernel), false, Of(g::sum);
    /// Mean over axes.
    Mean             "Mean"          "Mean"           2 Mixed   reduce          One(kr::mean_kernel), false, Of(g::mean);
    /// Maximum over axes.
    Max              "Max"           "Max"            2 Mixed   reduce          One(kr::max_kernel), false, Of(g::max);
    /// Sums of the data's rows by segment id (data, ids, number of segments).
    UnsortedSegmentSum "UnsortedSegmentSum" "UnsortedSegmentSum" 3 Mixed unsorted_segment_sum One(kr::unsorted_segment_sum_kernel), false, Undefined;
    /// Product over axes.
    Prod             "Prod"          "Prod"           2 Mixed   reduce          One(kr::prod_kernel), false, Of(g::prod);
    /// Running products along an axis.
    Cumprod          "Cumprod"       "Cumprod"        2 Mixed   cumulative      One(km::cumprod_kernel), false, Undefined;
    /// Index of the maximum along an axis.
    ArgMax           "ArgMax"        "ArgMax"         1 Numeric arg_max         One(kr::arg_max_kernel), false, NotDifferentiable;
    /// A new shape (its second input), same elements.
    Reshape          "Reshape"       "Reshape"        2 Mixed   reshape         One(ka::reshape_kernel), true, Of(g::reshape_to_input);
    /// The listed axes of size 1 removed.
    Squeeze          "Squeeze"       "Squeeze"        1 Any     squeeze         One(ka::squeeze_kernel), true, Of(g::squeeze);
    /// An axis of size 1 inserted.
    ExpandDims       "ExpandDims"    "ExpandDims"     2 Mixed   expand_dims     One(ka::expand_dims_kernel), false, Of(g::reshape_to_input);
    /// Permuted axes.
    Transpose        "Transpose"     "transpose"      2 Mixed   transpose       One(ka::transpose_kernel), false, Of(g::transpose);
    /// The inverse of a permutation vector.
    InvertPermutation "InvertPermutation" "InvertPermutation" 1 Mixed int_vector One(ka::invert_permutation_kernel), false, NotDifferentiable;
    /// Concatenation along an axis.
    Concat           "ConcatV2"      "concat"         n Mixed   concat          One(ka::concat_kernel), false, Of(ag::concat);
    /// A partitioned variable's shards, concatenated.
    ConcatPartitions "ConcatV2"      "concat"         n Any     concat          One(ka::concat_kernel), false, Undefined;
    /// Stacking along a new axis.
    Stack            "Pack"          "stack"          n Any     stack           One(ka::stack_kernel), false, Of(ag::stack);
    /// Slices along an axis, that axis removed.
    Unstack          "Unpack"        "unstack"        1 Any     unstack         Many(ka::unstack_kernel), false, Of(ag::unstack);
    /// Equal parts along an axis (the first input, then the value).
    Split            "Split"         "split"          2 Mixed   split           Many(ka::split_kernel), false, Of(ag::split);
    /// Parts of given sizes along an axis (the value, the sizes, the axis).
    SplitV           "SplitV"        "split"          3 Mixed   split_v         Many(ka::split_v_kernel), false, Of(ag::split_v);
    /// A block of the input from `begin` (second input) of `size` (third).
    Slice            "Slice"         "Slice"          3 Mixed   slice           One(ka::slice_kernel), false, Of(ag::slice);
    /// Python-style slicing with strides and masks (input, begin, end, strides).
    StridedSlice     "StridedSlice"  "StridedSlice"   4 Mixed   strided_slice   One(ka::strided_slice_kernel), false, Of(ag::strided_slice);
    /// A StridedSlice's gradient: `grad` (last input) placed into zeros of the shape (first input).
    StridedSliceGrad "StridedSliceGrad" "StridedSliceGrad" 5 Mixed strided_slice_grad One(ka::strided_slice_grad_kernel), false, Undefined;
    /// Where each input starts in a concatenation along the first input's axis.
    ConcatOffset     "ConcatOffset"  "ConcatOffset"   n Mixed   concat_offset   Many(ka::concat_offset_kernel), false, NotDifferentiable;
    /// The shapes of all inputs, one output each.
    ShapeN           "ShapeN"        "ShapeN"         n Any     shape_n         Many(ka::shape_n_kernel), false, NotDifferentiable;
    /// Rows of `params` picked by integer `indices`.
    Gather           "GatherV2"      "GatherV2"       3 Mixed   gather          One(ka::gather_kernel), false, Of(ag::gather);
    /// The input's shape.
    Shape            "Shape"         "Shape"          1 Any     shape_of        One(ka::shape_kernel), false, NotDifferentiable;
    /// A scalar repeated into a shape.
    Fill             "Fill"          "Fill"           2 Mixed   fill            One(ka::fill_kernel), false, Undefined;
    /// Zeros of the input's shape.
    ZerosLike        "ZerosLike"     "zeros_like"     1 Any     same            One(ka::zeros_like_kernel), false, NotDifferentiable;
    /// One-hot vectors of integer indices.
    OneHot           "OneHot"        "one_hot"        1 Mixed   one_hot         One(ka::one_hot_kernel), false, NotDifferentiable;
    /// Zeros around the input.
    Pad              "Pad"           "Pad"            2 Mixed   pad             One(ka::pad_kernel), false, Of(ag::pad);
    /// A value around the input.
    PadV2            "PadV2"         "PadV2"          3 Mixed   pad             One(ka::pad_kernel), false, Of(ag::pad);
    /// The input repeated along each axis.
    Tile             "Tile"          "Tile"           2 Mixed   tile            One(ka::tile_kernel), false, Of(ag::tile);
    /// The axes each of two broadcast shapes was stretched along (two outputs).
    BroadcastGradientArgs "BroadcastGradientArgs" "BroadcastGradientArgs" 2 Mixed broadcast_gradient_args Many(kr::broadcast_gradient_args_kernel), false, NotDifferentiable;
    /// The input broadcast to a shape.
    BroadcastTo      "BroadcastTo"   "BroadcastTo"    2 Mixed   broadcast_to    One(ka::broadcast_to_kernel), false, Of(g::broadcast_to);
    /// Slices of data placed at given indices.
    DynamicStitch    "DynamicStitch" "DynamicStitch"  n Mixed   dynamic_stitch  One(ka::dynamic_stitch_kernel), false, Undefined;
    /// The elements of a vector not in another, and their positions (two outputs).
    ListDiff         "ListDiff"      "ListDiff"       2 Mixed   list_diff       Many(ka::list_diff_kernel), false, NotDifferentiable;
    /// The input's rank.
    Rank             "Rank"          "Rank"           1 Any     rank            One(ka::rank_kernel), false, NotDifferentiable;
    /// Integers from a start to a limit by a step.
    Range            "Range"         "Range"          3 Mixed   range           One(ka::range_kernel), false, NotDifferentiable;
    /// Floats uniform on `[0, 1)` of the shape its input holds, from the op's seeded stream.
    RandomUniform    "RandomUniform" "RandomUniform"  1 Mixed   random_uniform  One(kq::random_uniform_kernel), false, NotDifferentiable;
    /// A loop over time: a body subgraph run once per step on the states, one slice of each sequence and the captures (see `scan`).
    Scan             "Scan"          "scan"           n Mixed   scan            Kernel::Loop(kc::scan_kernel), false, Of(scan_grad::scan);
    /// A `Scan`'s backpropagation through time: its body's gradient run once per step, last step first.
    ScanGrad         "ScanGrad"      "ScanGrad"       n Mixed   scan_grad       Kernel::Loop(kc::scan_grad_kernel), false, Undefined;
    /// Standard normal values of the shape its input holds, from the op's seeded stream.
    RandomStandardNormal "RandomStandardNormal" "RandomStandardNormal" 1 Mixed random_uniform One(kq::random_standard_normal_kernel), false, NotDifferentiable;
    /// Standard normal values within two standard deviations, from the op's seeded stream.
    TruncatedNormal  "TruncatedNormal" "TruncatedNormal" 1 Mixed random_uniform One(kq::truncated_normal_kernel), false, NotDifferentiable;
    /// Stores a value in a variable.
    Assign           "Assign"        "Assign"         2 Any     assign          Update(ks::assign_kernel), false, NotDifferentiable;
    /// Adds to a variable.
    AssignAdd        "AssignAdd"     "AssignAdd"      2 Numeric assign          Update(ks::assign_add_kernel), false, NotDifferentiable;
    /// Subtracts from a variable.
    AssignSub        "AssignSub"     "AssignSub"      2 Numeric assign          Update(ks::assign_sub_kernel), false, NotDifferentiable;
    /// `var -= alpha * delta`, in place (TF's GradientDescent update).
    ApplyGradientDescent "ApplyGradientDescent" "ApplyGradientDescent" 3 Float apply_gradient_descent Update(ks::apply_gradient_descent_kernel), false, NotDifferentiable;
    /// `accum = accum * momentum + grad; var -= lr * accum` (Nesterov: `var -= lr * (grad + momentum * accum)`), in place.
    ApplyMomentum    "ApplyMomentum" "ApplyMomentum"  5 Float   apply_momentum  Update(ks::apply_momentum_kernel), false, NotDifferentiable;
    /// Adam's update of a variable and its moments `m`, `v`, in place.
    ApplyAdam        "ApplyAdam"     "ApplyAdam"      10 Float  apply_slots     Update(ks::apply_adam_kernel), false, NotDifferentiable;
    /// RMSProp's update of a variable and its `ms`, `mom` slots, in place.
    ApplyRMSProp     "ApplyRMSProp"  "ApplyRMSProp"   8 Float   apply_slots     Update(ks::apply_rms_prop_kernel), false, NotDifferentiable;
    /// Centered RMSProp's update of a variable and its `mg`, `ms`, `mom` slots, in place.
    ApplyCenteredRMSProp "ApplyCenteredRMSProp" "ApplyCenteredRMSProp" 9 Float apply_slots Update(ks::apply_centered_rms_prop_kernel), false, NotDifferentiable;
    /// Adagrad's update of a variable and its accumulator, in place.
    ApplyAdagrad     "ApplyAdagrad"  "ApplyAdagrad"   4 Float   apply_slots     Update(ks::apply_adagrad_kernel), false, NotDifferentiable;
    /// The mean of each input over the processes of an MPI job, by name, fused by dtype.
    #[cfg(feature = "mpi")]
    MpiAllreduce     "MpiAllreduce"  "MpiAllreduce"   n Mixed   each_float      Kernel::Collective, true, Undefined;
}

impl OpKind {
    /// This op's row of the op table.
    pub(crate) fn def(self) -> &'static OpDef {
        &OP_DEFS[self as usize]
    }
}

/// An op just built: the op and its outputs.
pub(crate) struct Built {
    pub(crate) op: Operation,
    pub(crate) outputs: SmallVec<[Tensor; 1]>,
}

/// Builds an op in the default graph under the current name scope: names it
/// (`name`, or the op's default name, made unique), checks its inputs and
/// infers its outputs through the graph's one builder, then hands the new
/// node to `made`, under the graph's lock.
fn build_node<R>(
    kind: OpKind,
    name: Option<&str>,
    inputs: &[&Tensor],
    control_inputs: &[&Operation],
    attr: Attr,
    made: impl FnOnce(&GraphState, u64, u32) -> R,
) -> Result<R> {
    if inputs.iter().any(|t| indexed::is_stand_in(t)) || control_inputs.iter().any(|o| indexed::is_stand_in_op(o)) {
        return build_with_dense_inputs(kind, name, inputs, control_inputs, attr, made);
    }
    with_ctx(|mut ctx| {
        let def = kind.def();
        let base = name.unwrap_or(def.default_name);
        // The full name is made in the thread's scratch buffer: no allocation but the node's name.
        let mut full = std::mem::take(&mut ctx.stack.buf);
        if base.ends_with('/') {
            full.clear();
            full.push_str(base);
        } else {
            join_into(&mut full, ctx.stack.name_stack(), base);
        }
        let result = name_and_add(&mut ctx, def, &mut full, inputs, control_inputs, attr, made);
        ctx.stack.buf = full;
        result
    })
}

/// [`build_node`] once the full name is in `full` (left with the node's name).
fn name_and_add<R>(
    ctx: &mut crate::scope::Ctx<'_>,
    def: &'static OpDef,
    full: &mut String,
    inputs: &[&Tensor],
    control_inputs: &[&Operation],
    attr: Attr,
    made: impl FnOnce(&GraphState, u64, u32) -> R,
) -> Result<R> {
    if !is_valid_op_name(name_from_scope_name(full)) {
        return Err(Error::InvalidName {
            name: name_from_scope_name(full).to_owned(),
            kind: NameKind::Op,
            nested: !ctx.stack.name_scope.is_empty(),
        });
    }
    let graph_id = ctx.graph.id();
    if let Some(t) = inputs.iter().find(|t| t.graph_id != graph_id) {
        return Err(Error::GraphMismatch { name: t.name.to_string() });
    }
    if let Some(op) = control_inputs.iter().find(|o| o.graph_id != graph_id) {
        return Err(Error::GraphMismatch { name: op.name.to_string() });
    }
    let mut state = ctx.graph.write();
    inputs.iter().try_for_each(|t| state.check_tensor(t))?;
    control_inputs.iter().try_for_each(|o| state.check_op(o))?;
    // TensorFlow names an op before checking its inputs: a failed op still uses its name.
    state.claim_node_name_into(full)?;
    let name: Arc<str> = Arc::from(full.as_str());
    // TF's `_control_dependencies_for_inputs`: the open contexts' ops, but
    // for those the op already takes as inputs, and for the contexts one
    // of its inputs was built inside (that input already waits for them).
    let mut control: Vec<u32> = Vec::new();
    let context = ctx
        .stack
        .control_inputs
        .iter()
        .filter(|c| !inputs.iter().any(|t| c.seen.contains(&t.node)))
        .flat_map(|c| &c.ops)
        // A gradient function waiting on its incoming gradient, an
        // `IndexedSlices` (Square's grad under a Gather's): its values' op.
        .filter_map(|&node| indexed::real_node(node));
    for node in control_inputs.iter().map(|o| o.node).chain(context) {
        if !control.contains(&node) && !inputs.iter().any(|t| t.node == node) {
            control.push(node);
        }
    }
    let control_inputs = control;
    let node = state.add_node(graph_id, NewNode { name, op: def, inputs, control_inputs, attr })?;
    for c in &mut ctx.stack.control_inputs {
        c.seen.insert(node);
    }
    Ok(made(&state, graph_id, node))
}

/// [`build_node`] when a gradient function gives an op an `IndexedSlices`
/// (a stand-in): as TF, inside the op's name scope, each is converted to a
/// dense tensor named after the op's argument (`Mul/x`), then the op takes
/// the scope's name.
fn build_with_dense_inputs<R>(
    kind: OpKind,
    name: Option<&str>,
    inputs: &[&Tensor],
    control_inputs: &[&Operation],
    attr: Attr,
    made: impl FnOnce(&GraphState, u64, u32) -> R,
) -> Result<R> {
    let scope = crate::scope::name_scope(name.unwrap_or(kind.def().default_name)).enter()?;
    let op_name = scope.name().to_owned();
    let mut dense = Vec::with_capacity(inputs.len());
    for (i, t) in inputs.iter().enumerate() {
        dense.push(match indexed::lookup(t) {
            Some(s) => indexed::densify(&s, Some(&indexed::input_name(kind, i)))?,
            None => Tensor::clone(t),
        });
    }
    let control: Vec<Operation> = control_inputs.iter().map(|o| indexed::real_op(o)).collect();
    let inputs: Vec<&Tensor> = dense.iter().collect();
    build_node(kind, Some(&op_name), &inputs, &control.iter().collect::<Vec<_>>(), attr, made)
}

/// Builds an op and returns it with all its outputs.
pub(crate) fn build_op(
    kind: OpKind,
    name: Option<&str>,
    inputs: &[&Tensor],
    control_inputs: &[&Operation],
    attr: Attr,
) -> Result<Built> {
    build_node(kind, name, inputs, control_inputs, attr, |state, graph_id, node| {
        let n = &state.nodes[node as usize];
        let outputs = (0..n.outputs.len() as u32).map(|i| state.output(graph_id, node, i)).collect();
        Built { op: Operation { graph_id, node, name: n.name.clone() }, outputs }
    })
}

/// Builds an op the way TF's Python wrappers do: under a name scope of the
/// op's name, where `inner` makes the constants its operands given as values
/// become (`Reshape/shape`), and named the scope itself.
pub(crate) fn scoped_op(
    name: Option<&str>,
    default: &str,
    inner: impl FnOnce(&str) -> Result<Tensor>,
) -> Result<Tensor> {
    let scope = crate::scope::name_scope(name.unwrap_or(default)).enter()?;
    let op_name = scope.name().to_owned();
    inner(&op_name)
}

/// A constant of integers named `name`, int32 as TF makes Python lists of
/// small integers, int64 when one does not fit.
pub(crate) fn int_const(name: &str, values: &[i64]) -> Result<Tensor> {
    let value = match values.iter().map(|&v| i32::try_from(v)).collect::<std::result::Result<Vec<_>, _>>() {
        Ok(small) => crate::base::Value::from(small),
        Err(_) => crate::base::Value::from(values.to_vec()),
    };
    named(name).constant(value)
}

/// Which operand of a binary op a Python number was (see [`with_number`]).
#[derive(Clone, Copy)]
pub(crate) enum Side {
    /// `1.0 / t`: the number is `x`.
    Left,
    /// `t / 2.0`: the number is `y`.
    Right,
}

/// A binary op with a Python number for one operand, as TF's wrappers build
/// it: under a name scope of the op's name, the number converted to a
/// constant of `t`'s dtype named `x` or `y` (`truediv/x`), then the op
/// named after the scope.
pub(crate) fn with_number(kind: OpKind, default: &str, number: f64, side: Side, t: &Tensor) -> Result<Tensor> {
    scoped_op(None, default, |op| {
        let (name, number) = match side {
            Side::Left => ("x", number),
            Side::Right => ("y", number),
        };
        let number = named(name).constant(crate::base::Value::filled(t.dtype, &[], number))?;
        let inputs = match side {
            Side::Left => [&number, t],
            Side::Right => [t, &number],
        };
        build(kind, Some(op), &inputs, Attr::None)
    })
}

/// Builds an op with one output and returns that output.
pub(crate) fn build(kind: OpKind, name: Option<&str>, inputs: &[&Tensor], attr: Attr) -> Result<Tensor> {
    build_node(kind, name, inputs, &[], attr, |state, graph_id, node| state.output(graph_id, node, 0))
}
