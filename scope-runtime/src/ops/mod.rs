//! What each op is: one row of the op table (TensorFlow type, default name,
//! arity, shape rule, dtypes), and how an op node is named and recorded.
//! How an op computes lives in [`kernels`](crate::kernels).

mod api;
mod shapes;

pub use api::*;
pub(crate) use shapes::{broadcast_sizes, reshape_target, window};

use crate::context::with_ctx;
use crate::dtype::DType;
use crate::error::{Error, NameKind, Result};
use crate::graph::{Attr, GraphState, Node};
use crate::names::{is_valid_op_name, join, name_from_scope_name};
use crate::shape::Shape;
use crate::tensor::Tensor;
use std::sync::Arc;

/// How an op's output shape follows from its inputs and attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeRule {
    /// No inputs; the shape is given when the node is made.
    Given,
    /// The output has the first input's shape.
    SameAsInput,
    /// Two inputs broadcast as NumPy does.
    Broadcast,
    /// `[m, k] x [k, n] -> [m, n]`, after optional transposes.
    MatMul,
    /// `[…, n] + [n]`.
    BiasAdd,
    /// The output is a scalar.
    Scalar,
    /// Reduction over some axes.
    Reduce,
    /// A reshape to the target in the attributes.
    Reshape,
    /// A permutation of the axes.
    Transpose,
    /// Concatenation along an axis.
    Concat,
    /// Stacking along a new axis.
    Stack,
    /// `params[indices]` along axis 0.
    Gather,
    /// 2-D convolution, NHWC.
    Conv2D,
    /// 2-D pooling, NHWC.
    Pool,
}

/// Which dtypes an op's inputs may have (all inputs the same, but for `Gather`'s indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DTypes {
    /// Any dtype.
    Any,
    /// Numbers: not bool.
    Numeric,
    /// Floats only.
    Float,
}

/// The definition of an op type: one row of the op table. Gradients will
/// join this row when training arrives.
#[derive(Debug)]
pub struct OpDef {
    /// TensorFlow's op type, as it appears in a GraphDef (`AddV2`).
    pub type_name: &'static str,
    /// The default op name TensorFlow's Python API gives it (`Add`).
    pub default_name: &'static str,
    /// Number of inputs (`None`: any number, for concat and stack).
    pub arity: Option<usize>,
    /// How the output shape is inferred.
    pub shape_rule: ShapeRule,
    /// Which input dtypes it accepts.
    pub dtypes: DTypes,
}

macro_rules! op_table {
    ($($(#[$doc:meta])* $kind:ident $type_name:literal $default:literal $arity:tt $rule:ident $dtypes:ident;)*) => {
        /// Every op type a graph can hold.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OpKind { $($(#[$doc])* $kind,)* }

        static OP_DEFS: &[OpDef] = &[$(OpDef {
            type_name: $type_name,
            default_name: $default,
            arity: op_table!(@arity $arity),
            shape_rule: ShapeRule::$rule,
            dtypes: DTypes::$dtypes,
        },)*];
    };
    (@arity n) => { None };
    (@arity $n:literal) => { Some($n) };
}

op_table! {
    /// A constant value.
    Const            "Const"       "Const"       0 Given       Any;
    /// A value fed at run time.
    Placeholder      "Placeholder" "Placeholder" 0 Given       Any;
    /// A variable's value.
    Variable         "VariableV2"  "Variable"    0 Given       Any;
    /// `a + b`.
    Add              "AddV2"       "Add"         2 Broadcast   Numeric;
    /// `a - b`.
    Sub              "Sub"         "Sub"         2 Broadcast   Numeric;
    /// `a * b`.
    Mul              "Mul"         "Mul"         2 Broadcast   Numeric;
    /// `a / b` on floats.
    Div              "RealDiv"     "truediv"     2 Broadcast   Float;
    /// `max(a, b)`.
    Maximum          "Maximum"     "Maximum"     2 Broadcast   Numeric;
    /// Matrix product.
    MatMul           "MatMul"      "MatMul"      2 MatMul      Numeric;
    /// `x + bias` along the last axis.
    BiasAdd          "BiasAdd"     "BiasAdd"     2 BiasAdd     Numeric;
    /// `max(x, 0)`.
    Relu             "Relu"        "Relu"        1 SameAsInput Numeric;
    /// `min(max(x, 0), 6)`.
    Relu6            "Relu6"       "Relu6"       1 SameAsInput Numeric;
    /// `1 / (1 + exp(-x))`.
    Sigmoid          "Sigmoid"     "Sigmoid"     1 SameAsInput Float;
    /// `tanh(x)`.
    Tanh             "Tanh"        "Tanh"        1 SameAsInput Float;
    /// Softmax over the last axis.
    Softmax          "Softmax"     "Softmax"     1 SameAsInput Float;
    /// Log-softmax over the last axis.
    LogSoftmax       "LogSoftmax"  "LogSoftmax"  1 SameAsInput Float;
    /// `x²`.
    Square           "Square"      "Square"      1 SameAsInput Numeric;
    /// `√x`.
    Sqrt             "Sqrt"        "Sqrt"        1 SameAsInput Float;
    /// `eˣ`.
    Exp              "Exp"         "Exp"         1 SameAsInput Float;
    /// `ln x`.
    Log              "Log"         "Log"         1 SameAsInput Float;
    /// The input unchanged.
    Identity         "Identity"    "Identity"    1 SameAsInput Any;
    /// Sum over axes.
    Sum              "Sum"         "Sum"         1 Reduce      Numeric;
    /// Mean over axes.
    Mean             "Mean"        "Mean"        1 Reduce      Numeric;
    /// Maximum over axes.
    Max              "Max"         "Max"         1 Reduce      Numeric;
    /// A new shape, same elements.
    Reshape          "Reshape"     "Reshape"     1 Reshape     Any;
    /// Permuted axes.
    Transpose        "Transpose"   "transpose"   1 Transpose   Any;
    /// Concatenation along an axis.
    Concat           "ConcatV2"    "concat"      n Concat      Any;
    /// Stacking along a new axis.
    Stack            "Pack"        "stack"       n Stack       Any;
    /// Rows of `params` picked by integer `indices`.
    Gather           "GatherV2"    "GatherV2"    2 Gather      Any;
    /// A dtype conversion.
    Cast             "Cast"        "Cast"        1 SameAsInput Any;
    /// 2-D convolution, NHWC.
    Conv2D           "Conv2D"      "Conv2D"      2 Conv2D      Float;
    /// Max pooling, NHWC.
    MaxPool          "MaxPool"     "MaxPool"     1 Pool        Float;
    /// Average pooling, NHWC.
    AvgPool          "AvgPool"     "AvgPool"     1 Pool        Float;
    /// `sum(x²) / 2`.
    L2Loss           "L2Loss"      "L2Loss"      1 Scalar      Float;
    /// A partitioned variable's shards, concatenated.
    ConcatPartitions "ConcatV2"    "concat"      n Given       Any;
}

impl OpKind {
    /// This op's row of the op table.
    pub fn def(self) -> &'static OpDef {
        &OP_DEFS[self as usize]
    }
}

/// Padding of a convolution or pooling window (TensorFlow's `SAME` / `VALID`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Pad so that the output has `ceil(input / stride)` positions.
    Same,
    /// No padding: only windows that fit.
    Valid,
}

/// Attributes of a 2-D convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv {
    /// Strides along height and width.
    pub strides: [usize; 2],
    /// Dilations along height and width.
    pub dilations: [usize; 2],
    /// Padding.
    pub padding: Padding,
}

/// Attributes of a 2-D pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool {
    /// Window height and width.
    pub ksize: [usize; 2],
    /// Strides along height and width.
    pub strides: [usize; 2],
    /// Padding.
    pub padding: Padding,
}

/// A node about to be recorded, under an already unique name.
pub(crate) struct NewNode<'a> {
    pub(crate) name: String,
    pub(crate) op: OpKind,
    pub(crate) inputs: &'a [&'a Tensor],
    pub(crate) shape: Shape,
    pub(crate) dtype: DType,
    pub(crate) attr: Attr,
}

impl GraphState {
    /// Records a node and returns its output.
    pub(crate) fn push_node(&mut self, graph_id: u64, new: NewNode<'_>) -> Tensor {
        let name: Arc<str> = Arc::from(new.name);
        self.node_names.insert(name.clone());
        let node = u32::try_from(self.nodes.len()).expect("fewer than 2^32 nodes");
        self.nodes.push(Node {
            name: name.clone(),
            op: new.op,
            inputs: new.inputs.iter().map(|t| t.node).collect(),
            shape: new.shape.clone(),
            dtype: new.dtype,
            attr: new.attr,
        });
        Tensor { graph_id, node, name, shape: new.shape, dtype: new.dtype }
    }

    /// TensorFlow's naming of a new node from a full name: made unique and
    /// marked used, or, ending in `/`, used as is without marking. As in
    /// TensorFlow, a name that is already a node's is an error, and the
    /// name it was made from stays used.
    pub(crate) fn claim_node_name(&mut self, full: &str) -> Result<String> {
        let name = match full.strip_suffix('/') {
            Some(as_is) => as_is.to_owned(),
            None => self.names.unique(full),
        };
        if self.node_names.contains(name.as_str()) {
            return Err(Error::DuplicateNode { name });
        }
        Ok(name)
    }
}

/// Builds an op in the default graph under the current name scope: names it
/// (`name`, or the op's default name, made unique), checks its inputs and
/// infers its output. `given` is the output of ops without a shape rule.
pub(crate) fn build(
    kind: OpKind,
    name: Option<&str>,
    inputs: &[&Tensor],
    attr: Attr,
    given: Option<(Shape, DType)>,
) -> Result<Tensor> {
    with_ctx(|ctx| {
        let def = kind.def();
        let base = name.unwrap_or(def.default_name);
        let full = if base.ends_with('/') { base.to_owned() } else { join(ctx.stack.name_stack(), base) };
        if !is_valid_op_name(name_from_scope_name(&full)) {
            return Err(Error::InvalidName {
                name: name_from_scope_name(&full).to_owned(),
                kind: NameKind::Op,
                nested: !ctx.stack.name_scope.is_empty(),
            });
        }
        let graph_id = ctx.graph.id();
        if let Some(t) = inputs.iter().find(|t| t.graph_id != graph_id) {
            return Err(Error::GraphMismatch { name: t.name.to_string() });
        }
        let mut state = ctx.graph.write();
        // TensorFlow names an op before checking its inputs: a failed op still uses its name.
        let name = state.claim_node_name(&full)?;
        let (shape, dtype) = match given {
            Some(g) => g,
            None => shapes::infer(kind, inputs, &attr).map_err(|fail| match fail {
                shapes::Fail::DType => Error::OpDType {
                    op: name.clone(),
                    op_type: def.type_name,
                    dtypes: inputs.iter().map(|t| t.dtype).collect(),
                },
                shapes::Fail::Shape(rule) => Error::OpShape {
                    op: name.clone(),
                    op_type: def.type_name,
                    shapes: inputs.iter().map(|t| t.shape.clone()).collect(),
                    rule,
                },
            })?,
        };
        Ok(state.push_node(graph_id, NewNode { name, op: kind, inputs, shape, dtype, attr }))
    })
}
