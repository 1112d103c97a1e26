//! What each op is: its TensorFlow type, default name, and static shape rule;
//! and the constructors that name and record op nodes.

use crate::context::with_ctx;
use crate::dtype::DType;
use crate::error::{Error, NameKind, Result};
use crate::graph::{Attr, GraphState, Node};
use crate::names::{is_valid_op_name, join, name_from_scope_name};
use crate::shape::{Dim, Shape};
use crate::tensor::Tensor;
use crate::value::Value;
use std::sync::Arc;

/// How an op's output shape follows from its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShapeRule {
    /// No inputs; the shape is given when the node is made.
    Given,
    /// One input; the output has its shape.
    SameAsInput,
    /// Two inputs broadcast as NumPy does.
    Broadcast,
    /// `[m, k] x [k, n] -> [m, n]`.
    MatMul,
    /// The output is a scalar.
    Scalar,
}

/// The definition of an op type: one row of the op table.
#[derive(Debug)]
pub struct OpDef {
    /// TensorFlow's op type, as it appears in a GraphDef (`AddV2`).
    pub type_name: &'static str,
    /// The default op name TensorFlow's Python API gives it (`Add`).
    pub default_name: &'static str,
    /// Number of inputs.
    pub arity: usize,
    /// How the output shape is inferred.
    pub shape_rule: ShapeRule,
    /// Whether the inputs may be of any dtype (otherwise floats and integers only).
    pub any_dtype: bool,
}

macro_rules! op_table {
    ($($kind:ident $type_name:literal $default:literal $arity:literal $rule:ident $any:literal;)*) => {
        /// Every op type a graph can hold.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OpKind { $($kind,)* }

        static OP_DEFS: &[OpDef] = &[$(OpDef {
            type_name: $type_name,
            default_name: $default,
            arity: $arity,
            shape_rule: ShapeRule::$rule,
            any_dtype: $any,
        },)*];
    };
}

op_table! {
    Const            "Const"      "Const"    0 Given       true;
    Variable         "VariableV2" "Variable" 0 Given       true;
    Add              "AddV2"      "Add"      2 Broadcast   false;
    Sub              "Sub"        "Sub"      2 Broadcast   false;
    Mul              "Mul"        "Mul"      2 Broadcast   false;
    MatMul           "MatMul"     "MatMul"   2 MatMul      false;
    Relu             "Relu"       "Relu"     1 SameAsInput false;
    Identity         "Identity"   "Identity" 1 SameAsInput true;
    L2Loss           "L2Loss"     "L2Loss"   1 Scalar      false;
    ConcatPartitions "ConcatV2"   "concat"   0 Given       true;
}

impl OpKind {
    /// This op's row of the op table.
    pub fn def(self) -> &'static OpDef {
        &OP_DEFS[self as usize]
    }
}

/// NumPy broadcasting of two static shapes; `None` when they cannot broadcast.
fn broadcast(a: &Shape, b: &Shape) -> Option<Shape> {
    let (Some(a), Some(b)) = (a.dims(), b.dims()) else {
        return Some(Shape::unknown());
    };
    let rank = a.len().max(b.len());
    let at = |d: &[Dim], i: usize| {
        if i + d.len() >= rank { d[i + d.len() - rank] } else { Some(1) }
    };
    let dims: Option<Vec<Dim>> = (0..rank)
        .map(|i| match (at(a, i), at(b, i)) {
            (Some(x), Some(y)) if x == y || y == 1 => Some(Some(x)),
            (Some(1), y) | (y, Some(1)) => Some(y),
            (Some(_), Some(_)) => None,
            (None, Some(y)) | (Some(y), None) => Some(Some(y)),
            (None, None) => Some(None),
        })
        .collect();
    dims.map(Shape::from_dims)
}

fn infer_shape(kind: OpKind, inputs: &[&Tensor]) -> std::result::Result<Shape, &'static str> {
    match kind.def().shape_rule {
        ShapeRule::Given => Ok(Shape::unknown()),
        ShapeRule::SameAsInput => Ok(inputs[0].shape.clone()),
        ShapeRule::Scalar => Ok(Shape::scalar()),
        ShapeRule::Broadcast => broadcast(&inputs[0].shape, &inputs[1].shape)
            .ok_or("each dimension must match or be 1 (NumPy broadcasting)"),
        ShapeRule::MatMul => {
            let dims = |s: &Shape| match s.dims() {
                Some(&[m, k]) => Ok((m, k)),
                Some(_) => Err("both inputs of MatMul must have rank 2"),
                None => Ok((None, None)),
            };
            let ((m, k1), (k2, n)) = (dims(&inputs[0].shape)?, dims(&inputs[1].shape)?);
            match (k1, k2) {
                (Some(a), Some(b)) if a != b => Err("the inner dimensions must agree: [m, k] x [k, n]"),
                _ => Ok(Shape::from_dims([m, n])),
            }
        }
    }
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
/// infers its output.
fn build(kind: OpKind, name: Option<&str>, inputs: &[&Tensor], given: Option<(Shape, DType, Attr)>) -> Result<Tensor> {
    with_ctx(|ctx| {
        let def = kind.def();
        let base = name.unwrap_or(def.default_name);
        let absolute = base.ends_with('/');
        let full = if absolute { base.to_owned() } else { join(ctx.stack.name_stack(), base) };
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
        let would_be = || name.clone();
        let (shape, dtype, attr) = match given {
            Some(g) => g,
            None => {
                let dtype = inputs[0].dtype;
                if inputs.iter().any(|t| t.dtype != dtype) || (!def.any_dtype && dtype == DType::Bool) {
                    return Err(Error::OpDType {
                        op: would_be(),
                        op_type: def.type_name,
                        dtypes: inputs.iter().map(|t| t.dtype).collect(),
                    });
                }
                let shape = infer_shape(kind, inputs).map_err(|rule| Error::OpShape {
                    op: would_be(),
                    op_type: def.type_name,
                    shapes: inputs.iter().map(|t| t.shape.clone()).collect(),
                    rule,
                })?;
                (shape, dtype, Attr::None)
            }
        };
        Ok(state.push_node(graph_id, NewNode { name, op: kind, inputs, shape, dtype, attr }))
    })
}

/// Gives the op built next a name instead of its default name (TensorFlow's
/// `name=` argument): `named("res").add(&a, &b)`. The name is made unique
/// under the current name scope like any other; a name ending in `/` is used
/// as is.
///
/// # Examples
///
/// ```
/// use scope_runtime::{add, constant, mul, name_scope, named, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let _s = name_scope("loss").enter()?;
/// let a = constant(1.0f32)?;
/// let res = named("res").add(&mul(&a, &a)?, &a)?;
/// assert_eq!(res.name(), "loss/res");
/// assert_eq!(named("c").constant(2.0f32)?.name(), "loss/c");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn named(name: &str) -> Named<'_> {
    Named(name)
}

/// An op name waiting for its op; see [`named`].
#[derive(Clone, Copy, Debug)]
#[must_use = "the name applies to an op built with one of its methods"]
pub struct Named<'a>(&'a str);

impl Named<'_> {
    /// Like [`constant`], named.
    ///
    /// # Errors
    ///
    /// As for [`constant`].
    pub fn constant(self, value: impl Into<Value>) -> Result<Tensor> {
        constant_op(Some(self.0), value.into())
    }
}

fn constant_op(name: Option<&str>, value: Value) -> Result<Tensor> {
    let shape = Shape::from(value.shape());
    let dtype = value.dtype();
    build(OpKind::Const, name, &[], Some((shape, dtype, Attr::Const(Arc::new(value)))))
}

/// A constant op holding `value` (TF `tf.constant`; default name `Const`).
///
/// # Errors
///
/// [`Error::NoDefaultGraph`]; [`Error::InvalidName`] for an invalid [`named`] name.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// assert_eq!(constant(1.0f32)?.name(), "Const");
/// assert_eq!(constant(vec![1i32, 2])?.name(), "Const_1");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn constant(value: impl Into<Value>) -> Result<Tensor> {
    constant_op(None, value.into())
}

macro_rules! op_fns {
    ($($(#[$doc:meta])* $fn:ident($($arg:ident),*) => $kind:ident;)*) => {$(
        $(#[$doc])*
        ///
        /// # Errors
        ///
        /// [`Error::OpShape`] or [`Error::OpDType`] when the inputs do not fit,
        /// naming the op; [`Error::GraphMismatch`], [`Error::NoDefaultGraph`].
        pub fn $fn($($arg: &Tensor),*) -> Result<Tensor> {
            build(OpKind::$kind, None, &[$($arg),*], None)
        }

        impl Named<'_> {
            #[doc = concat!("Like [`", stringify!($fn), "`], named.")]
            ///
            /// # Errors
            ///
            #[doc = concat!("As for [`", stringify!($fn), "`].")]
            pub fn $fn(self, $($arg: &Tensor),*) -> Result<Tensor> {
                build(OpKind::$kind, Some(self.0), &[$($arg),*], None)
            }
        }
    )*};
}

op_fns! {
    /// `a + b` with broadcasting (TF `tf.add`; default name `Add`).
    ///
    /// ```
    /// use scope_runtime::{add, constant, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let (a, b) = (constant(vec![1.0f32, 2.0])?, constant(1.0f32)?);
    /// assert_eq!(add(&a, &b)?.shape().to_vec(), Some(vec![2]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    add(a, b) => Add;
    /// `a - b` with broadcasting (TF `tf.subtract`; default name `Sub`).
    ///
    /// ```
    /// use scope_runtime::{constant, sub, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(1.0f32)?;
    /// assert_eq!(sub(&a, &a)?.name(), "Sub");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    sub(a, b) => Sub;
    /// `a * b` elementwise with broadcasting (TF `tf.multiply`; default name `Mul`).
    ///
    /// ```
    /// use scope_runtime::{constant, mul, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1.0f32, 2.0])?;
    /// let b = constant(vec![1.0f32, 2.0, 3.0])?;
    /// assert!(mul(&a, &b).is_err());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    mul(a, b) => Mul;
    /// Matrix product `[m, k] x [k, n] -> [m, n]` (TF `tf.matmul`; default name `MatMul`).
    ///
    /// ```
    /// use ndarray::array;
    /// use scope_runtime::{constant, matmul, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(array![[1.0f32, 2.0]])?;
    /// let b = constant(array![[3.0f32], [4.0]])?;
    /// assert_eq!(matmul(&a, &b)?.shape().to_vec(), Some(vec![1, 1]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    matmul(a, b) => MatMul;
    /// `max(x, 0)` (TF `tf.nn.relu`; default name `Relu`).
    ///
    /// ```
    /// use scope_runtime::{constant, relu, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(relu(&constant(-1.0f32)?)?.name(), "Relu");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    relu(x) => Relu;
    /// The input unchanged (TF `tf.identity`; default name `Identity`).
    ///
    /// ```
    /// use scope_runtime::{constant, identity, named, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(1.0f32)?;
    /// assert_eq!(named("out").identity(&x)?.name(), "out");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    identity(x) => Identity;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcasting_follows_numpy() {
        let s = |d: &[usize]| Shape::from(d);
        assert_eq!(broadcast(&s(&[2, 3]), &s(&[3])), Some(s(&[2, 3])));
        assert_eq!(broadcast(&s(&[2, 1]), &s(&[1, 4])), Some(s(&[2, 4])));
        assert_eq!(broadcast(&s(&[2, 3]), &s(&[2])), None);
        assert_eq!(broadcast(&Shape::from_dims([None, Some(3)]), &s(&[3])), Some(Shape::from_dims([None, Some(3)])));
    }
}
