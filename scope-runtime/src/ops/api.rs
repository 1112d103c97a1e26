//! The math and neural-network op constructors users call: `add(&a, &b)`,
//! `named("res").add(&a, &b)`, `&a + &b`. Each names and records one node
//! through [`build`].

use super::{OpKind, Side, build, int_const, scoped_op, with_number};
use crate::base::{DType, Result, Shape, Tensor, Value};
use crate::graph::{Attr, Conv, Padding, Pool};
use crate::variable::Variable;
use std::sync::Arc;

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
pub struct Named<'a>(pub(crate) &'a str);

fn unary(kind: OpKind, name: Option<&str>, x: &Tensor) -> Result<Tensor> {
    build(kind, name, &[x], Attr::None)
}

fn binary(kind: OpKind, name: Option<&str>, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    build(kind, name, &[a, b], Attr::None)
}

/// TF `tf.gather` on axis 0: `GatherV2` and its axis as the constant `<op>/axis`.
fn gather_rows(name: Option<&str>, default: &str, params: &Tensor, indices: &Tensor) -> Result<Tensor> {
    gather_along(name, default, params, indices, 0)
}

/// TF `tf.gather(params, indices, axis)`: `GatherV2` of the constant `axis` made in its scope.
fn gather_along(name: Option<&str>, default: &str, params: &Tensor, indices: &Tensor, axis: i64) -> Result<Tensor> {
    scoped_op(name, default, |op| {
        let axis = match i32::try_from(axis) {
            Ok(a) => named("axis").constant(a)?,
            Err(_) => named("axis").constant(axis)?,
        };
        build(OpKind::Gather, Some(op), &[params, indices, &axis], Attr::None)
    })
}

fn reduction(kind: OpKind, name: Option<&str>, x: &Tensor, axes: Option<&[usize]>, keep_dims: bool) -> Result<Tensor> {
    let attr = Attr::Reduce { keep_dims, all_axes: axes.is_none() };
    match axes {
        // TF converts the axes inside the op's scope: `Sum/reduction_indices`.
        Some(axes) => scoped_op(name, kind.def().default_name, |op| {
            let axes: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
            let axes = int_const("reduction_indices", &axes)?;
            build(kind, Some(op), &[x, &axes], attr)
        }),
        None => build(kind, name, &[x, &all_axes(x)?], attr),
    }
}

/// The axes a reduction runs over, given as TF's `axis` argument: one axis
/// (a scalar) or a list, each counted from the end when negative. For
/// [`reduce_sum_axes`] and its siblings; `reduce_sum(x, Some(&[1]), …)`
/// takes a list of non-negative axes.
///
/// # Examples
///
/// ```
/// use scope_runtime::Axes;
/// assert_eq!(Axes::from(-1), Axes::One(-1));
/// assert_eq!(Axes::from([0, -1]), Axes::List(vec![0, -1]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    /// One axis, a scalar `reduction_indices` (TF `axis=-1`).
    One(i64),
    /// A list of axes, a vector `reduction_indices` (TF `axis=[0, 2]`).
    List(Vec<i64>),
}

impl From<i64> for Axes {
    fn from(axis: i64) -> Axes {
        Axes::One(axis)
    }
}

impl From<i32> for Axes {
    fn from(axis: i32) -> Axes {
        Axes::One(axis.into())
    }
}

impl From<&[i64]> for Axes {
    fn from(axes: &[i64]) -> Axes {
        Axes::List(axes.to_vec())
    }
}

impl From<Vec<i64>> for Axes {
    fn from(axes: Vec<i64>) -> Axes {
        Axes::List(axes)
    }
}

impl<const N: usize> From<[i64; N]> for Axes {
    fn from(axes: [i64; N]) -> Axes {
        Axes::List(axes.to_vec())
    }
}

impl<const N: usize> From<[i32; N]> for Axes {
    fn from(axes: [i32; N]) -> Axes {
        Axes::List(axes.iter().map(|&a| a.into()).collect())
    }
}

/// A reduction over axes given as TF gives them: `<op>/reduction_indices`,
/// a scalar or a vector.
fn reduction_along(kind: OpKind, name: Option<&str>, x: &Tensor, axes: Axes, keep_dims: bool) -> Result<Tensor> {
    let attr = Attr::Reduce { keep_dims, all_axes: false };
    scoped_op(name, kind.def().default_name, |op| {
        let axes = match axes {
            Axes::One(axis) => int_const_scalar("reduction_indices", axis)?,
            Axes::List(axes) => int_const("reduction_indices", &axes)?,
        };
        build(kind, Some(op), &[x, &axes], attr)
    })
}

/// A scalar integer constant named `name`: int32 when it fits, as TF converts a Python int.
fn int_const_scalar(name: &str, value: i64) -> Result<Tensor> {
    match i32::try_from(value) {
        Ok(small) => named(name).constant(small),
        Err(_) => named(name).constant(value),
    }
}

/// A `Sum` over the last axis, keeping it, as TF's gradients write
/// `reduce_sum(x, -1, keepdims=True)`: a scalar `-1` as `Sum/reduction_indices`.
pub(super) fn sum_last_axis_kept(x: &Tensor) -> Result<Tensor> {
    scoped_op(None, "Sum", |op| {
        let axis = super::named("reduction_indices").constant(-1i32)?;
        build(OpKind::Sum, Some(op), &[x, &axis], Attr::Reduce { keep_dims: true, all_axes: false })
    })
}

/// TF's `_ReductionDims` for no axes, in the current scope: a constant
/// `[0, …, rank - 1]` when the rank is known and not 0, else
/// `range(0, Rank(x))` (the rank a constant `Rank` when known: TF tests the
/// rank for truth, so a scalar takes this path).
fn all_axes(x: &Tensor) -> Result<Tensor> {
    match x.shape.rank() {
        Some(rank) if rank > 0 => constant(Value::from((0..rank as i32).collect::<Vec<_>>())),
        _ => {
            let rank = rank_of(x)?;
            scoped_op(Some("range"), "range", |op| {
                let (start, delta) = (named("start").constant(0i32)?, named("delta").constant(1i32)?);
                build(OpKind::Range, Some(op), &[&start, &rank, &delta], Attr::None)
            })
        }
    }
}

/// TF `array_ops.rank(x)`: a constant `Rank` when the rank is known, else a `Rank` op.
pub(super) fn rank_of(x: &Tensor) -> Result<Tensor> {
    match x.shape.rank() {
        Some(rank) => named("Rank").constant(rank as i32),
        None => build(OpKind::Rank, None, &[x], Attr::None),
    }
}

/// TF `array_ops.slice(shape, begin, size)` of a shape vector, `begin` and
/// `size` one element each, given as a number or a tensor (which TF packs
/// into `Slice/begin` or `Slice/size`).
fn slice_shape(shape: &Tensor, begin: Result<i64, &Tensor>, size: Result<i64, &Tensor>) -> Result<Tensor> {
    scoped_op(None, "Slice", |op| {
        let operand = |name: &str, v: Result<i64, &Tensor>| match v {
            Ok(n) => int_const(name, &[n]),
            Err(t) => named(name).stack(&[t], 0),
        };
        let (begin, size) = (operand("begin", begin)?, operand("size", size)?);
        build(OpKind::Slice, Some(op), &[shape, &begin, &size], Attr::None)
    })
}

/// TF `nn_ops._flatten_outer_dims`: `x` as a matrix `[-1, last dimension]`.
fn flatten_outer_dims(x: &Tensor) -> Result<Tensor> {
    let rank = rank_of(x)?;
    let shape = super::shape(x)?;
    let last = with_number(OpKind::Sub, "Sub", 1.0, Side::Right, &rank)?;
    let last_size = slice_shape(&shape, Err(&last), Ok(1))?;
    let matrix = scoped_op(None, "concat", |op| {
        let (rows, axis) = (int_const("values_0", &[-1])?, named("axis").constant(0i32)?);
        build(OpKind::Concat, Some(op), &[&rows, &last_size, &axis], Attr::None)
    })?;
    reshape_to(x, &matrix)
}

/// TF `softmax_cross_entropy_with_logits_v2`'s body, in its name scope `op`:
/// the logits and labels made matrices, the op, and its cost shaped back.
fn softmax_xent_in(op: &str, labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    if !logits.dtype.is_floating() {
        return Err(crate::base::Error::OpDType {
            op: op.trim_end_matches('/').to_owned(),
            op_type: "SoftmaxCrossEntropyWithLogits",
            dtypes: vec![labels.dtype, logits.dtype],
        });
    }
    let labels = cast(labels, logits.dtype)?;
    let input_rank = rank_of(logits)?;
    let input_shape = super::shape(logits)?;
    let flat_logits = flatten_outer_dims(logits)?;
    let flat_labels = flatten_outer_dims(&labels)?;
    let cost = super::build_op(OpKind::SoftmaxXent, Some(op), &[&flat_logits, &flat_labels], &[], Attr::None)?;
    let outer = with_number(OpKind::Sub, "Sub", 1.0, Side::Right, &input_rank)?;
    let output_shape = slice_shape(&input_shape, Ok(0), Err(&outer))?;
    reshape_to(&cost.outputs[0], &output_shape)
}

api! {
    /// A constant op holding `value` (TF `tf.constant`; default name `Const`).
    ///
    /// ```
    /// use scope_runtime::{constant, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(constant(1.0f32)?.name(), "Const");
    /// assert_eq!(constant(vec![1i32, 2])?.name(), "Const_1");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn constant(value: impl Into<Value>) -> Tensor |name| {
        build(OpKind::Const, name, &[], Attr::Const(Arc::new(value.into())))
    };
    /// A value fed to each [`Session::run`](crate::Session::run) (TF `tf.placeholder`);
    /// dimensions may be unknown (`Shape::from_dims([None, Some(784)])`).
    ///
    /// ```
    /// use scope_runtime::{placeholder, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(784)]))?;
    /// assert_eq!((x.name(), x.shape().to_string()), ("Placeholder", "(None, 784)".to_owned()));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn placeholder(dtype: DType, shape: impl Into<Shape>) -> Tensor |name| {
        build(OpKind::Placeholder, name, &[], Attr::Placeholder(Box::new(shape.into()), dtype))
    };
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
    fn add(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Add, name, a, b);
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
    fn sub(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Sub, name, a, b);
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
    fn mul(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Mul, name, a, b);
    /// `a / b` on floats with broadcasting (TF `tf.divide`; default name `truediv`).
    ///
    /// ```
    /// use scope_runtime::{constant, div, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(1.0f32)?;
    /// assert_eq!(div(&a, &a)?.name(), "truediv");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn div(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Div, name, a, b);
    /// `max(a, b)` elementwise with broadcasting (TF `tf.maximum`).
    ///
    /// ```
    /// use scope_runtime::{constant, maximum, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1.0f32, -2.0])?;
    /// assert_eq!(maximum(&a, &constant(0.0f32)?)?.name(), "Maximum");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn maximum(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Maximum, name, a, b);
    /// `min(a, b)` elementwise with broadcasting (TF `tf.minimum`).
    ///
    /// ```
    /// use scope_runtime::{constant, minimum, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1.0f32, -2.0])?;
    /// assert_eq!(minimum(&a, &constant(0.0f32)?)?.name(), "Minimum");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn minimum(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Minimum, name, a, b);
    /// `aᵇ` with broadcasting, on floats (TF `tf.pow`).
    ///
    /// ```
    /// use scope_runtime::{constant, pow, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let p = pow(&constant(vec![2.0f32, 9.0])?, &constant(vec![3.0f32, 0.5])?)?;
    /// assert_eq!(p.name(), "Pow");
    /// assert_eq!(Session::new(&graph).run(&[&p], &[])?[0].to_f64_vec(), vec![8.0, 3.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn pow(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Pow, name, a, b);
    /// The largest integer not above each element, as a float (TF `tf.floor`).
    ///
    /// ```
    /// use scope_runtime::{constant, floor, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let f = floor(&constant(vec![1.5f32, -1.5])?)?;
    /// assert_eq!(Session::new(&graph).run(&[&f], &[])?[0].to_f64_vec(), vec![1.0, -2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn floor(x: &Tensor) -> Tensor |name| unary(OpKind::Floor, name, x);
    /// `(a - b)²` with broadcasting (TF `tf.math.squared_difference`).
    ///
    /// ```
    /// use scope_runtime::{constant, squared_difference, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let d = squared_difference(&constant(vec![1.0f32, 5.0])?, &constant(2.0f32)?)?;
    /// assert_eq!(d.name(), "SquaredDifference");
    /// assert_eq!(Session::new(&graph).run(&[&d], &[])?[0].to_f64_vec(), vec![1.0, 9.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn squared_difference(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::SquaredDifference, name, a, b);
    /// `a / b` with broadcasting, and 0 where `b` is 0 (TF `tf.math.divide_no_nan`).
    ///
    /// ```
    /// use scope_runtime::{constant, div_no_nan, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let q = div_no_nan(&constant(vec![1.0f32, 3.0])?, &constant(vec![0.0f32, 2.0])?)?;
    /// assert_eq!(q.name(), "div_no_nan");
    /// assert_eq!(Session::new(&graph).run(&[&q], &[])?[0].to_f64_vec(), vec![0.0, 1.5]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn div_no_nan(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::DivNoNan, name, a, b);
    /// `floor(a / b)` on integers, with broadcasting (TF `tf.math.floordiv`;
    /// default name `floordiv`). Dividing by zero fails the run.
    ///
    /// ```
    /// use scope_runtime::{constant, floor_div, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let q = floor_div(&constant(vec![7i32, -7])?, &constant(2i32)?)?;
    /// assert_eq!(Session::new(&graph).run(&[&q], &[])?[0].to_f64_vec(), vec![3.0, -4.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn floor_div(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::FloorDiv, name, a, b);
    /// `a - floor(a / b) * b` on integers, with broadcasting (TF `tf.math.floormod`;
    /// default name `mod`): the remainder takes the divisor's sign.
    ///
    /// ```
    /// use scope_runtime::{constant, floor_mod, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let r = floor_mod(&constant(vec![7i32, -7])?, &constant(3i32)?)?;
    /// assert_eq!(Session::new(&graph).run(&[&r], &[])?[0].to_f64_vec(), vec![1.0, 2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn floor_mod(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::FloorMod, name, a, b);
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
    fn matmul(a: &Tensor, b: &Tensor) -> Tensor |name| {
        build(OpKind::MatMul, name, &[a, b], Attr::MatMul { transpose_a: false, transpose_b: false })
    };
    /// Matrix product with either input transposed first (TF `tf.matmul(a, b, transpose_a, transpose_b)`).
    ///
    /// ```
    /// use ndarray::array;
    /// use scope_runtime::{constant, matmul_transposed, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(array![[1.0f32, 2.0]])?;
    /// assert_eq!(matmul_transposed(&a, &a, true, false)?.shape().to_vec(), Some(vec![2, 2]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn matmul_transposed(a: &Tensor, b: &Tensor, transpose_a: bool, transpose_b: bool) -> Tensor |name| {
        build(OpKind::MatMul, name, &[a, b], Attr::MatMul { transpose_a, transpose_b })
    };
    /// `x + bias` along the last axis (TF `tf.nn.bias_add`).
    ///
    /// ```
    /// use scope_runtime::{bias_add, constant, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert!(bias_add(&x, &constant(vec![1.0f32, 2.0])?).is_err());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn bias_add(x: &Tensor, bias: &Tensor) -> Tensor |name| binary(OpKind::BiasAdd, name, x, bias);
    /// `max(x, 0)` (TF `tf.nn.relu`; default name `Relu`).
    ///
    /// ```
    /// use scope_runtime::{constant, relu, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(relu(&constant(-1.0f32)?)?.name(), "Relu");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn relu(x: &Tensor) -> Tensor |name| unary(OpKind::Relu, name, x);
    /// `min(max(x, 0), 6)` (TF `tf.nn.relu6`).
    ///
    /// ```
    /// use scope_runtime::{constant, relu6, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(relu6(&constant(9.0f32)?)?.name(), "Relu6");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn relu6(x: &Tensor) -> Tensor |name| unary(OpKind::Relu6, name, x);
    /// The logistic function (TF `tf.sigmoid`).
    ///
    /// ```
    /// use scope_runtime::{constant, sigmoid, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert!(sigmoid(&constant(1i32)?).is_err()); // floats only
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn sigmoid(x: &Tensor) -> Tensor |name| unary(OpKind::Sigmoid, name, x);
    /// Hyperbolic tangent (TF `tf.tanh`).
    ///
    /// ```
    /// use scope_runtime::{constant, tanh, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(tanh(&constant(0.5f64)?)?.name(), "Tanh");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn tanh(x: &Tensor) -> Tensor |name| unary(OpKind::Tanh, name, x);
    /// Softmax over the last axis (TF `tf.nn.softmax`).
    ///
    /// ```
    /// use scope_runtime::{constant, softmax, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(softmax(&constant(vec![1.0f32, 2.0])?)?.name(), "Softmax");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn softmax(logits: &Tensor) -> Tensor |name| unary(OpKind::Softmax, name, logits);
    /// `sum(x²) / 2` (TF `tf.nn.l2_loss`).
    ///
    /// ```
    /// use scope_runtime::{constant, l2_loss, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let l = l2_loss(&constant(vec![1.0f32, 2.0])?)?;
    /// assert_eq!(Session::new(&graph).run(&[&l], &[])?[0].to_f64_vec(), vec![2.5]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn l2_loss(x: &Tensor) -> Tensor |name| unary(OpKind::L2Loss, name, x);
    /// Per row of `logits` `[batch, classes]`, the cross-entropy of its softmax
    /// against the integer class in `labels` `[batch]`, computed stably as
    /// `logsumexp(logits) - logits[label]` (TF
    /// `tf.nn.sparse_softmax_cross_entropy_with_logits`; the op is
    /// `SparseSoftmaxCrossEntropyWithLogits/SparseSoftmaxCrossEntropyWithLogits`).
    /// A label outside `[0, classes)` fails the run.
    ///
    /// ```
    /// use scope_runtime::{constant, sparse_softmax_cross_entropy_with_logits, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let logits = constant(ndarray::arr2(&[[0.0f32, 0.0], [1000.0, 0.0]]))?;
    /// let loss = sparse_softmax_cross_entropy_with_logits(&constant(vec![1i32, 0])?, &logits)?;
    /// assert_eq!(loss.name(), "SparseSoftmaxCrossEntropyWithLogits/SparseSoftmaxCrossEntropyWithLogits");
    /// let v = Session::new(&graph).run(&[&loss], &[])?[0].to_f64_vec();
    /// assert!((v[0] - 2f64.ln()).abs() < 1e-6 && v[1] == 0.0);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn sparse_softmax_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Tensor |name| {
        scoped_op(name, "SparseSoftmaxCrossEntropyWithLogits", |_| {
            // TF takes the labels' shape first (for labels of rank above 1; unused here).
            super::shape(labels)?;
            build(OpKind::SparseSoftmaxXent, None, &[logits, labels], Attr::None)
        })
    };
    /// Per element, the cross-entropy of `sigmoid(logits)` against `labels`
    /// (probabilities of the same shape), computed stably as TF does:
    /// `max(x, 0) - x z + log1p(exp(-|x|))` (TF
    /// `tf.nn.sigmoid_cross_entropy_with_logits`; the result is `logistic_loss`).
    ///
    /// ```
    /// use scope_runtime::{constant, sigmoid_cross_entropy_with_logits, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let logits = constant(vec![0.0f32, 1000.0, -1000.0])?;
    /// let loss = sigmoid_cross_entropy_with_logits(&constant(vec![1.0f32, 1.0, 1.0])?, &logits)?;
    /// assert_eq!(loss.name(), "logistic_loss");
    /// let v = Session::new(&graph).run(&[&loss], &[])?[0].to_f64_vec();
    /// assert!((v[0] - 2f64.ln()).abs() < 1e-6 && v[1] == 0.0 && v[2] == 1000.0);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn sigmoid_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Tensor |name| {
        scoped_op(name, "logistic_loss", |op| {
            if !labels.shape.is_compatible_with(&logits.shape) {
                return Err(crate::base::Error::OpShape {
                    op: op.trim_end_matches('/').to_owned(),
                    op_type: "logistic_loss",
                    shapes: vec![labels.shape.clone(), logits.shape.clone()],
                    rule: "the labels and the logits have one shape",
                });
            }
            let zeros = super::zeros_like(logits)?;
            let positive = greater_equal(logits, &zeros)?;
            let relu_logits = select(&positive, logits, &zeros)?;
            let neg_abs_logits = select(&positive, &(-logits)?, logits)?;
            let linear = (&relu_logits - &(logits * labels)?)?;
            named(op).add(&linear, &log1p(&exp(&neg_abs_logits)?)?)
        })
    };
    /// Per row of `logits` (its last axis the classes), the cross-entropy of
    /// its softmax against the probabilities `labels` of the same shape,
    /// computed stably; gradients flow into both (TF
    /// `tf.nn.softmax_cross_entropy_with_logits_v2`, node for node: the
    /// result is `softmax_cross_entropy_with_logits/Reshape_2`).
    ///
    /// ```
    /// use scope_runtime::{constant, softmax_cross_entropy_with_logits_v2, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let logits = constant(ndarray::arr2(&[[0.0f32, 0.0], [1000.0, 0.0]]))?;
    /// let labels = constant(ndarray::arr2(&[[0.5f32, 0.5], [1.0, 0.0]]))?;
    /// let loss = softmax_cross_entropy_with_logits_v2(&labels, &logits)?;
    /// assert_eq!(loss.name(), "softmax_cross_entropy_with_logits/Reshape_2");
    /// let v = Session::new(&graph).run(&[&loss], &[])?[0].to_f64_vec();
    /// assert!((v[0] - 2f64.ln()).abs() < 1e-6 && v[1] == 0.0);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn softmax_cross_entropy_with_logits_v2(labels: &Tensor, logits: &Tensor) -> Tensor |name| {
        scoped_op(name, "softmax_cross_entropy_with_logits", |op| softmax_xent_in(op, labels, logits))
    };
    /// TF 1.x's `tf.nn.softmax_cross_entropy_with_logits`: as
    /// [`softmax_cross_entropy_with_logits_v2`], with no gradient into the
    /// labels (`softmax_cross_entropy_with_logits_sg/labels_stop_gradient`).
    ///
    /// ```
    /// use scope_runtime::{constant, softmax_cross_entropy_with_logits, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let logits = constant(ndarray::arr2(&[[0.0f32, 1.0]]))?;
    /// let loss = softmax_cross_entropy_with_logits(&constant(ndarray::arr2(&[[0.0f32, 1.0]]))?, &logits)?;
    /// assert_eq!(loss.name(), "softmax_cross_entropy_with_logits_sg/Reshape_2");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn softmax_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Tensor |name| {
        scoped_op(name, "softmax_cross_entropy_with_logits_sg", |op| {
            let labels = named("labels_stop_gradient").stop_gradient(labels)?;
            softmax_xent_in(op, &labels, logits)
        })
    };
    /// Log-softmax over the last axis (TF `tf.nn.log_softmax`).
    ///
    /// ```
    /// use scope_runtime::{constant, log_softmax, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(log_softmax(&constant(vec![1.0f32, 2.0])?)?.name(), "LogSoftmax");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn log_softmax(logits: &Tensor) -> Tensor |name| unary(OpKind::LogSoftmax, name, logits);
    /// `x²` (TF `tf.square`).
    ///
    /// ```
    /// use scope_runtime::{constant, square, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(square(&constant(3i64)?)?.name(), "Square");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn square(x: &Tensor) -> Tensor |name| unary(OpKind::Square, name, x);
    /// `√x` (TF `tf.sqrt`).
    ///
    /// ```
    /// use scope_runtime::{constant, sqrt, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(sqrt(&constant(4.0f32)?)?.name(), "Sqrt");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn sqrt(x: &Tensor) -> Tensor |name| unary(OpKind::Sqrt, name, x);
    /// `1 / √x` (TF `tf.math.rsqrt`).
    ///
    /// ```
    /// use scope_runtime::{constant, rsqrt, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let r = rsqrt(&constant(vec![4.0f32, 0.25])?)?;
    /// assert_eq!(r.name(), "Rsqrt");
    /// assert_eq!(Session::new(&graph).run(&[&r], &[])?[0].to_f64_vec(), vec![0.5, 2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn rsqrt(x: &Tensor) -> Tensor |name| unary(OpKind::Rsqrt, name, x);
    /// `eˣ` (TF `tf.exp`).
    ///
    /// ```
    /// use scope_runtime::{constant, exp, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(exp(&constant(0.0f32)?)?.name(), "Exp");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn exp(x: &Tensor) -> Tensor |name| unary(OpKind::Exp, name, x);
    /// -1, 0 or 1 by the sign of each element (TF `tf.sign`).
    ///
    /// ```
    /// use scope_runtime::{constant, sign, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let s = sign(&constant(vec![-2.0f32, 0.0, 3.0])?)?;
    /// assert_eq!(Session::new(&graph).run(&[&s], &[])?[0].to_f64_vec(), vec![-1.0, 0.0, 1.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn sign(x: &Tensor) -> Tensor |name| unary(OpKind::Sign, name, x);
    /// `1 / x` (TF `tf.math.reciprocal`).
    ///
    /// ```
    /// use scope_runtime::{constant, reciprocal, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let r = reciprocal(&constant(vec![2.0f32, 0.5])?)?;
    /// assert_eq!(Session::new(&graph).run(&[&r], &[])?[0].to_f64_vec(), vec![0.5, 2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reciprocal(x: &Tensor) -> Tensor |name| unary(OpKind::Reciprocal, name, x);
    /// `ln(1 + x)`, exact for small `x` (TF `tf.math.log1p`).
    ///
    /// ```
    /// use scope_runtime::{constant, log1p, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let y = log1p(&constant(1e-10f64)?)?;
    /// assert_eq!(y.name(), "Log1p");
    /// let v = Session::new(&graph).run(&[&y], &[])?[0].to_f64_vec()[0];
    /// assert!((v - 1e-10).abs() < 1e-19); // `ln(1.0 + 1e-10)` is off by 8e-18
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn log1p(x: &Tensor) -> Tensor |name| unary(OpKind::Log1p, name, x);
    /// `ln x` (TF `tf.math.log`).
    ///
    /// ```
    /// use scope_runtime::{constant, log, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(log(&constant(1.0f32)?)?.name(), "Log");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn log(x: &Tensor) -> Tensor |name| unary(OpKind::Log, name, x);
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
    fn identity(x: &Tensor) -> Tensor |name| unary(OpKind::Identity, name, x);
    /// The sum of tensors of one shape (TF `tf.add_n`; default name `AddN`).
    /// As in TF, one tensor is returned as it is, or through an `Identity`
    /// when a name is given.
    ///
    /// ```
    /// use scope_runtime::{add_n, constant, named, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let (a, b) = (constant(vec![1.0f32])?, constant(vec![2.0f32])?);
    /// assert_eq!(add_n(&[&a, &b, &a])?.name(), "AddN");
    /// assert_eq!(add_n(&[&a])?.name(), a.name());
    /// assert_eq!(named("total").add_n(&[&a])?.name(), "total");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn add_n(values: &[&Tensor]) -> Tensor |name| match (values, name) {
        ([one], None) => Ok(Tensor::clone(one)),
        ([one], Some(_)) => unary(OpKind::Identity, name, one),
        _ => build(OpKind::AddN, name, values, Attr::None),
    };
    /// `x` unchanged, through which no gradient flows (TF `tf.stop_gradient`).
    ///
    /// ```
    /// use scope_runtime::{constant, gradients, mul, stop_gradient, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![1.0f32, 2.0])?;
    /// let y = mul(&stop_gradient(&x)?, &x)?;
    /// assert_eq!(gradients(&[&y], &[&x])?[0].as_ref().map(|g| g.name().to_owned()), Some("gradients/Mul_grad/Mul_1".into()));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn stop_gradient(x: &Tensor) -> Tensor |name| unary(OpKind::StopGradient, name, x);
    /// `-x` (TF `tf.negative`; default name `Neg`, also the name of unary `-x`).
    ///
    /// ```
    /// use scope_runtime::{constant, neg, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![1.0f32, -2.0])?;
    /// assert_eq!(neg(&x)?.name(), "Neg");
    /// assert_eq!((-&x)?.name(), "Neg_1");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn neg(x: &Tensor) -> Tensor |name| unary(OpKind::Neg, name, x);
    /// `|x|` (TF `tf.abs`).
    ///
    /// ```
    /// use scope_runtime::{abs, constant, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(abs(&constant(-2i32)?)?.name(), "Abs");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn abs(x: &Tensor) -> Tensor |name| unary(OpKind::Abs, name, x);
    /// `ln(1 + eˣ)`, computed stably (TF `tf.nn.softplus`).
    ///
    /// ```
    /// use scope_runtime::{constant, softplus, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(softplus(&constant(0.0f32)?)?.name(), "Softplus");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn softplus(x: &Tensor) -> Tensor |name| unary(OpKind::Softplus, name, x);
    /// `max(x, alpha * x)` (TF `tf.nn.leaky_relu`, whose default `alpha` is 0.2).
    ///
    /// ```
    /// use scope_runtime::{constant, leaky_relu, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(leaky_relu(&constant(-1.0f32)?, 0.2)?.name(), "LeakyRelu");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn leaky_relu(x: &Tensor, alpha: f64) -> Tensor |name| build(OpKind::LeakyRelu, name, &[x], Attr::Alpha(alpha));
    /// `a == b` elementwise with broadcasting, as bools (TF `tf.equal`).
    ///
    /// ```
    /// use scope_runtime::{constant, equal, DType, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1i32, 2])?;
    /// assert_eq!(equal(&a, &a)?.dtype(), DType::Bool);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn equal(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Equal, name, a, b);
    /// `a >= b` elementwise with broadcasting, as bools (TF `tf.greater_equal`).
    ///
    /// ```
    /// use scope_runtime::{constant, greater_equal, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(greater_equal(&constant(1i32)?, &constant(2i32)?)?.name(), "GreaterEqual");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn greater_equal(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::GreaterEqual, name, a, b);
    /// `a < b` elementwise with broadcasting (TF `tf.less`).
    ///
    /// ```
    /// use scope_runtime::{constant, less, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1.0f32, 2.0])?;
    /// assert_eq!(less(&a, &constant(1.5f32)?)?.name(), "Less");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn less(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Less, name, a, b);
    /// `a > b` elementwise with broadcasting (TF `tf.greater`).
    ///
    /// ```
    /// use scope_runtime::{constant, greater, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1.0f32, 2.0])?;
    /// assert_eq!(greater(&a, &a)?.shape().to_vec(), Some(vec![2]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn greater(a: &Tensor, b: &Tensor) -> Tensor |name| binary(OpKind::Greater, name, a, b);
    /// `cond ? x : y` elementwise (TF 1.x `tf.where(cond, x, y)`, op `Select`): `cond`
    /// has the shape of `x` and `y`, or is a vector picking whole rows.
    ///
    /// ```
    /// use scope_runtime::{constant, select, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let c = constant(vec![true, false])?;
    /// let (x, y) = (constant(vec![1.0f32, 2.0])?, constant(vec![3.0f32, 4.0])?);
    /// assert_eq!(select(&c, &x, &y)?.name(), "Select");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn select(cond: &Tensor, x: &Tensor, y: &Tensor) -> Tensor |name| build(OpKind::Select, name, &[cond, x, y], Attr::None);
    /// `cond ? x : y` with all three broadcast (TF `tf.where` in 2.x, `tf.where_v2`; op `SelectV2`).
    ///
    /// ```
    /// use scope_runtime::{constant, where_v2, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let c = constant(vec![true, false])?;
    /// let out = where_v2(&c, &constant(1.0f32)?, &constant(vec![3.0f32, 4.0])?)?;
    /// assert_eq!((out.name(), out.shape().to_vec()), ("SelectV2", Some(vec![2])));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn where_v2(cond: &Tensor, x: &Tensor, y: &Tensor) -> Tensor |name| build(OpKind::SelectV2, name, &[cond, x, y], Attr::None);
    /// The index of the largest element along `axis`, as int64 (TF `tf.argmax`).
    ///
    /// ```
    /// use scope_runtime::{argmax, constant, DType, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((4, 10)))?;
    /// let best = argmax(&x, 1)?;
    /// assert_eq!((best.shape().to_vec(), best.dtype()), (Some(vec![4]), DType::I64));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn argmax(x: &Tensor, axis: usize) -> Tensor |name| build(OpKind::ArgMax, name, &[x], Attr::ArgMax { axis, dtype: DType::I64 });
    /// [`argmax`] as int32 or int64 (TF `tf.argmax(x, axis, output_type)`).
    ///
    /// ```
    /// use scope_runtime::{argmax_as, constant, DType, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![1.0f32, 3.0, 2.0])?;
    /// assert_eq!(argmax_as(&x, 0, DType::I32)?.dtype(), DType::I32);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn argmax_as(x: &Tensor, axis: usize, dtype: DType) -> Tensor |name| build(OpKind::ArgMax, name, &[x], Attr::ArgMax { axis, dtype });
    /// Sum over `axes` (`None`: all), keeping them as size 1 when `keep_dims` (TF `tf.reduce_sum`).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_sum, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(reduce_sum(&x, Some(&[1]), false)?.shape().to_vec(), Some(vec![2]));
    /// assert_eq!(reduce_sum(&x, None, true)?.shape().to_vec(), Some(vec![1, 1]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_sum(x: &Tensor, axes: Option<&[usize]>, keep_dims: bool) -> Tensor |name| reduction(OpKind::Sum, name, x, axes, keep_dims);
    /// Mean over `axes` (TF `tf.reduce_mean`).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_mean, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![1.0f32, 2.0])?;
    /// assert_eq!(reduce_mean(&x, None, false)?.name(), "Mean");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_mean(x: &Tensor, axes: Option<&[usize]>, keep_dims: bool) -> Tensor |name| reduction(OpKind::Mean, name, x, axes, keep_dims);
    /// Maximum over `axes` (TF `tf.reduce_max`).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_max, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![1.0f32, 2.0])?;
    /// assert!(reduce_max(&x, Some(&[1]), false).is_err()); // no axis 1
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_max(x: &Tensor, axes: Option<&[usize]>, keep_dims: bool) -> Tensor |name| reduction(OpKind::Max, name, x, axes, keep_dims);
    /// Sum over `axes` given as TF's `axis` (one axis or a list, negative
    /// from the end; see [`Axes`]) (TF `tf.reduce_sum(x, axis=-1)`).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_sum_axes, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(reduce_sum_axes(&x, -1, false)?.shape().to_vec(), Some(vec![2]));
    /// assert_eq!(reduce_sum_axes(&x, [0, -1], true)?.shape().to_vec(), Some(vec![1, 1]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_sum_axes(x: &Tensor, axes: impl Into<Axes>, keep_dims: bool) -> Tensor |name| reduction_along(OpKind::Sum, name, x, axes.into(), keep_dims);
    /// Mean over `axes` given as TF's `axis` (see [`reduce_sum_axes`]).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_mean_axes, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(reduce_mean_axes(&x, 0, false)?.shape().to_vec(), Some(vec![3]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_mean_axes(x: &Tensor, axes: impl Into<Axes>, keep_dims: bool) -> Tensor |name| reduction_along(OpKind::Mean, name, x, axes.into(), keep_dims);
    /// Maximum over `axes` given as TF's `axis` (see [`reduce_sum_axes`]).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_max_axes, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(reduce_max_axes(&x, -1, true)?.shape().to_vec(), Some(vec![2, 1]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_max_axes(x: &Tensor, axes: impl Into<Axes>, keep_dims: bool) -> Tensor |name| reduction_along(OpKind::Max, name, x, axes.into(), keep_dims);
    /// Product over `axes` given as TF's `axis` (see [`reduce_sum_axes`]).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_prod_axes, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::ones((2, 3)))?;
    /// assert_eq!(reduce_prod_axes(&x, -1, false)?.shape().to_vec(), Some(vec![2]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_prod_axes(x: &Tensor, axes: impl Into<Axes>, keep_dims: bool) -> Tensor |name| reduction_along(OpKind::Prod, name, x, axes.into(), keep_dims);
    /// Product over `axes` (TF `tf.reduce_prod`).
    ///
    /// ```
    /// use scope_runtime::{constant, reduce_prod, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let p = reduce_prod(&constant(vec![2i32, 3, 4])?, None, false)?;
    /// assert_eq!(Session::new(&graph).run(&[&p], &[])?[0].to_f64_vec(), vec![24.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reduce_prod(x: &Tensor, axes: Option<&[usize]>, keep_dims: bool) -> Tensor |name| reduction(OpKind::Prod, name, x, axes, keep_dims);
    /// The same elements in a new shape; one size may be `-1` (TF `tf.reshape`).
    ///
    /// ```
    /// use scope_runtime::{constant, reshape, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 6)))?;
    /// assert_eq!(reshape(&x, &[-1, 3])?.shape().to_vec(), Some(vec![4, 3]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reshape(x: &Tensor, shape: &[i64]) -> Tensor |name| {
        scoped_op(name, "Reshape", |op| {
            if shape.is_empty() {
                // TF converts an empty list to float32 first, finds the dtype
                // wrong and converts again: `Reshape/shape` (unused), `shape_1`.
                named("shape").constant(Value::from(Vec::<f32>::new()))?;
            }
            build(OpKind::Reshape, Some(op), &[x, &int_const("shape", shape)?], Attr::None)
        })
    };
    /// `x` in the shape the int32 or int64 vector `shape` holds when run (TF
    /// `tf.reshape` with a tensor shape): for shapes known only at run time.
    ///
    /// ```
    /// use scope_runtime::{constant, placeholder, reshape_to, shape, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    /// let flat = constant(vec![0.0f32; 6])?;
    /// // As TF, the static shape is what `shape(x)` knows of x: (None, 3).
    /// assert_eq!(reshape_to(&flat, &shape(&x)?)?.shape().to_string(), "(None, 3)");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn reshape_to(x: &Tensor, shape: &Tensor) -> Tensor |name| build(OpKind::Reshape, name, &[x, shape], Attr::None);
    /// `x` with an axis of size 1 inserted at `axis` (from the end when
    /// negative) (TF `tf.expand_dims`; the axis is the constant `ExpandDims/dim`).
    ///
    /// ```
    /// use scope_runtime::{constant, expand_dims, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![1.0f32, 2.0])?;
    /// assert_eq!(expand_dims(&x, -1)?.shape().to_vec(), Some(vec![2, 1]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn expand_dims(x: &Tensor, axis: i64) -> Tensor |name| {
        scoped_op(name, "ExpandDims", |op| {
            let dim = match i32::try_from(axis) {
                Ok(a) => super::named("dim").constant(a)?,
                Err(_) => super::named("dim").constant(axis)?,
            };
            build(OpKind::ExpandDims, Some(op), &[x, &dim], Attr::None)
        })
    };
    /// The axes permuted (`None`: reversed) (TF `tf.transpose`; default name `transpose`).
    ///
    /// ```
    /// use scope_runtime::{constant, transpose, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array3::<f32>::zeros((2, 3, 4)))?;
    /// assert_eq!(transpose(&x, Some(&[0, 2, 1]))?.shape().to_vec(), Some(vec![2, 4, 3]));
    /// assert_eq!(transpose(&x, None)?.shape().to_vec(), Some(vec![4, 3, 2]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn transpose(x: &Tensor, perm: Option<&[usize]>) -> Tensor |name| {
        scoped_op(Some(name.unwrap_or("transpose")), "transpose", |op| {
            let perm = match (perm, x.shape.rank()) {
                (Some(p), _) => int_const("perm", &p.iter().map(|&a| a as i64).collect::<Vec<_>>())?,
                (None, Some(rank)) => int_const("perm", &(0..rank as i64).rev().collect::<Vec<_>>())?,
                // TF: `_range(Rank(x) - 1, -1, -1)` when the rank is unknown.
                (None, None) => {
                    let rank = build(OpKind::Rank, None, &[x], Attr::None)?;
                    let last = scoped_op(None, "sub", |sub| {
                        build(OpKind::Sub, Some(sub), &[&rank, &named("y").constant(1i32)?], Attr::None)
                    })?;
                    scoped_op(None, "Range", |range| {
                        let (limit, delta) = (named("limit").constant(-1i32)?, named("delta").constant(-1i32)?);
                        build(OpKind::Range, Some(range), &[&last, &limit, &delta], Attr::None)
                    })?
                }
            };
            build(OpKind::Transpose, Some(op), &[x, &perm], Attr::None)
        })
    };
    /// The axes permuted by the int32 vector `perm` (TF `tf.transpose(x, perm)`
    /// with a tensor `perm`; default name `transpose`).
    ///
    /// ```
    /// use scope_runtime::{constant, transpose_to, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::array![[1.0f32, 2.0], [3.0, 4.0]])?;
    /// let t = transpose_to(&x, &constant(vec![1i32, 0])?)?;
    /// assert_eq!(t.name(), "transpose");
    /// assert_eq!(Session::new(&graph).run(&[&t], &[])?[0].to_f64_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn transpose_to(x: &Tensor, perm: &Tensor) -> Tensor |name| build(OpKind::Transpose, name, &[x, perm], Attr::None);
    /// Concatenation along `axis` (TF `tf.concat`; default name `concat`).
    ///
    /// ```
    /// use scope_runtime::{concat, constant, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let (a, b) = (constant(vec![1.0f32])?, constant(vec![2.0f32, 3.0])?);
    /// assert_eq!(concat(&[&a, &b], 0)?.shape().to_vec(), Some(vec![3]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn concat(values: &[&Tensor], axis: usize) -> Tensor |name| {
        scoped_op(name, "concat", |op| {
            if let [single] = values {
                // TF: one value is an Identity, beside its unused axis `concat_dim`.
                int_const("concat_dim", &[axis as i64])?;
                return build(OpKind::Identity, Some(name.unwrap_or("concat")), &[single], Attr::None);
            }
            let axis = named("axis").constant(i32::try_from(axis).unwrap_or(i32::MAX))?;
            let inputs: Vec<&Tensor> = values.iter().copied().chain([&axis]).collect();
            build(OpKind::Concat, Some(op), &inputs, Attr::None)
        })
    };
    /// Stacking along a new `axis` (TF `tf.stack`; default name `stack`).
    ///
    /// ```
    /// use scope_runtime::{constant, stack, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = constant(vec![1.0f32, 2.0])?;
    /// assert_eq!(stack(&[&a, &a, &a], 1)?.shape().to_vec(), Some(vec![2, 3]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn stack(values: &[&Tensor], axis: usize) -> Tensor |name| build(OpKind::Stack, name, values, Attr::Axis(axis));
    /// Rows of `params` picked by integer `indices` (TF `tf.gather` on axis 0).
    ///
    /// ```
    /// use scope_runtime::{constant, gather, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let table = constant(ndarray::Array2::<f32>::zeros((10, 4)))?;
    /// let ids = constant(vec![3i32, 1, 3])?;
    /// assert_eq!(gather(&table, &ids)?.shape().to_vec(), Some(vec![3, 4]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn gather(params: &Tensor, indices: &Tensor) -> Tensor |name| gather_rows(name, "GatherV2", params, indices);
    /// Slices of `params` along `axis` picked by integer `indices`, which
    /// take that axis's place (TF `tf.gather(params, indices, axis=axis)`;
    /// a negative axis counts from the end).
    ///
    /// ```
    /// use scope_runtime::{constant, gather_axis, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((4, 3)))?;
    /// let cols = gather_axis(&x, &constant(vec![2i32, 0])?, 1)?;
    /// assert_eq!((cols.name(), cols.shape().to_vec()), ("GatherV2", Some(vec![4, 2])));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn gather_axis(params: &Tensor, indices: &Tensor, axis: i64) -> Tensor |name| {
        gather_along(name, "GatherV2", params, indices, axis)
    };
    /// The embedding rows of `ids` (TF `tf.nn.embedding_lookup`: a gather
    /// named `embedding_lookup` and its `embedding_lookup/Identity`).
    ///
    /// ```
    /// use scope_runtime::{constant, embedding_lookup, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let table = constant(ndarray::Array2::<f32>::zeros((10, 4)))?;
    /// let rows = embedding_lookup(&table, &constant(vec![0i64, 9])?)?;
    /// assert_eq!(rows.name(), "embedding_lookup/Identity");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn embedding_lookup(params: &Tensor, ids: &Tensor) -> Tensor |name| {
        scoped_op(name, "embedding_lookup", |op| super::identity(&gather_rows(Some(op), "GatherV2", params, ids)?))
    };
    /// The values converted to `dtype` (TF `tf.cast`).
    ///
    /// ```
    /// use scope_runtime::{cast, constant, DType, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(1i32)?;
    /// assert_eq!(cast(&x, DType::F32)?.dtype(), DType::F32);
    /// assert_eq!(cast(&x, DType::I32)?.name(), "Const"); // no op for the same dtype
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn cast(x: &Tensor, dtype: DType) -> Tensor |name| {
        // TensorFlow returns the input itself when it already has the dtype.
        if x.dtype == dtype {
            return Ok(x.clone());
        }
        build(OpKind::Cast, name, &[x], Attr::DType(dtype))
    };
    /// 2-D convolution of an NHWC input with a `[height, width, in, out]` filter (TF `tf.nn.conv2d`).
    ///
    /// ```
    /// use scope_runtime::{constant, conv2d, Graph, Padding};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array4::<f32>::zeros((8, 28, 28, 1)))?;
    /// let f = constant(ndarray::Array4::<f32>::zeros((3, 3, 1, 32)))?;
    /// assert_eq!(conv2d(&x, &f, [1, 1], Padding::Same)?.shape().to_vec(), Some(vec![8, 28, 28, 32]));
    /// assert_eq!(conv2d(&x, &f, [2, 2], Padding::Valid)?.shape().to_vec(), Some(vec![8, 13, 13, 32]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn conv2d(input: &Tensor, filter: &Tensor, strides: [usize; 2], padding: Padding) -> Tensor |name| {
        build(OpKind::Conv2D, name, &[input, filter], Attr::Conv(Conv { strides, dilations: [1, 1], padding }))
    };
    /// 2-D convolution with dilations (TF `tf.nn.conv2d(..., dilations=…)`).
    ///
    /// ```
    /// use scope_runtime::{constant, conv2d_dilated, Graph, Padding};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array4::<f32>::zeros((1, 9, 9, 1)))?;
    /// let f = constant(ndarray::Array4::<f32>::zeros((3, 3, 1, 2)))?;
    /// assert_eq!(conv2d_dilated(&x, &f, [1, 1], Padding::Valid, [2, 2])?.shape().to_vec(), Some(vec![1, 5, 5, 2]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn conv2d_dilated(input: &Tensor, filter: &Tensor, strides: [usize; 2], padding: Padding, dilations: [usize; 2]) -> Tensor |name| {
        build(OpKind::Conv2D, name, &[input, filter], Attr::Conv(Conv { strides, dilations, padding }))
    };
    /// The transpose of a 2-D convolution (TF `tf.nn.conv2d_transpose`): a
    /// `Conv2DBackpropInput` of `value` ([batch, height, width, in]) with a
    /// `[height, width, out, in]` filter, to `output_shape` (an int32 vector of
    /// 4), named as the `conv2d_transpose` name scope it opens.
    ///
    /// ```
    /// use scope_runtime::{constant, conv2d_transpose, Graph, Padding, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array4::<f32>::ones((1, 2, 2, 1)))?;
    /// let f = constant(ndarray::Array4::<f32>::ones((2, 2, 1, 1)))?;
    /// let y = conv2d_transpose(&x, &f, &constant(vec![1i32, 4, 4, 1])?, [2, 2], Padding::Valid)?;
    /// assert_eq!((y.name(), y.shape().to_vec()), ("conv2d_transpose", Some(vec![1, 4, 4, 1])));
    /// assert_eq!(Session::new(&graph).run(&[&y], &[])?[0].to_f64_vec(), vec![1.0; 16]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn conv2d_transpose(value: &Tensor, filter: &Tensor, output_shape: &Tensor, strides: [usize; 2], padding: Padding) -> Tensor |name| {
        scoped_op(name, "conv2d_transpose", |op| {
            let conv = Attr::Conv(Conv { strides, dilations: [1, 1], padding });
            build(OpKind::Conv2DBackpropInput, Some(op), &[output_shape, filter, value], conv)
        })
    };
    /// Max pooling of an NHWC input (TF `tf.nn.max_pool2d`).
    ///
    /// ```
    /// use scope_runtime::{constant, max_pool, Graph, Padding};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array4::<f32>::zeros((1, 28, 28, 4)))?;
    /// assert_eq!(max_pool(&x, [2, 2], [2, 2], Padding::Valid)?.shape().to_vec(), Some(vec![1, 14, 14, 4]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn max_pool(input: &Tensor, ksize: [usize; 2], strides: [usize; 2], padding: Padding) -> Tensor |name| {
        build(OpKind::MaxPool, name, &[input], Attr::Pool(Pool { ksize, strides, padding }))
    };
    /// Average pooling of an NHWC input; `SAME` windows average only real elements (TF `tf.nn.avg_pool2d`).
    ///
    /// ```
    /// use scope_runtime::{avg_pool, constant, Graph, Padding};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array4::<f32>::zeros((1, 5, 5, 1)))?;
    /// assert_eq!(avg_pool(&x, [2, 2], [2, 2], Padding::Same)?.shape().to_vec(), Some(vec![1, 3, 3, 1]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn avg_pool(input: &Tensor, ksize: [usize; 2], strides: [usize; 2], padding: Padding) -> Tensor |name| {
        build(OpKind::AvgPool, name, &[input], Attr::Pool(Pool { ksize, strides, padding }))
    };
}

/// Operators on tensors and variables build ops named as Python's operators
/// name them in TF 1.x: `&a + &b` is `add`, `-` is `sub`, `*` is `mul`, `/`
/// is `truediv` and `-&a` is `Neg`. Each returns `Result<Tensor>`.
///
/// ```
/// use scope_runtime::{add, constant, get_variable, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(vec![1.0f32, 2.0])?;
/// let b = get_variable("b", [2]).get()?;
/// let y = (&(&x * &x)? + &b)?;
/// assert_eq!(y.name(), "add");
/// assert_eq!(add(&x, &x)?.name(), "Add_1"); // names are unique regardless of case
/// # Ok::<(), scope_runtime::Error>(())
/// ```
macro_rules! operators {
    ($($trait:ident $method:ident $kind:ident $name:literal;)*) => {$(
        impl<R: AsRef<Tensor>> std::ops::$trait<R> for &Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: R) -> Result<Tensor> {
                binary(OpKind::$kind, Some($name), self, rhs.as_ref())
            }
        }
        impl<R: AsRef<Tensor>> std::ops::$trait<R> for Tensor {
            type Output = Result<Tensor>;
            fn $method(self, rhs: R) -> Result<Tensor> {
                binary(OpKind::$kind, Some($name), &self, rhs.as_ref())
            }
        }
        impl<R: AsRef<Tensor>> std::ops::$trait<R> for &Variable {
            type Output = Result<Tensor>;
            fn $method(self, rhs: R) -> Result<Tensor> {
                binary(OpKind::$kind, Some($name), self.tensor(), rhs.as_ref())
            }
        }
    )*};
}

operators! {
    Add add Add "add";
    Sub sub Sub "sub";
    Mul mul Mul "mul";
    Div div Div "truediv";
}

impl std::ops::Neg for &Tensor {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        unary(OpKind::Neg, None, self)
    }
}

impl std::ops::Neg for Tensor {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        unary(OpKind::Neg, None, &self)
    }
}

impl std::ops::Neg for &Variable {
    type Output = Result<Tensor>;
    fn neg(self) -> Result<Tensor> {
        unary(OpKind::Neg, None, self.tensor())
    }
}

impl Tensor {
    /// `self x rhs` (TF `tf.matmul`), for chaining: `x.matmul(&w)?`.
    ///
    /// # Errors
    ///
    /// As for [`matmul`].
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{constant, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// let w = constant(ndarray::Array2::<f32>::zeros((3, 4)))?;
    /// assert_eq!(x.matmul(&w)?.shape().to_vec(), Some(vec![2, 4]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn matmul(&self, rhs: impl AsRef<Tensor>) -> Result<Tensor> {
        matmul(self, rhs.as_ref())
    }
}

/// Batch normalization of an NHWC input over its last axis as one op, TF's
/// `FusedBatchNormV3` (`tf.compat.v1.nn.fused_batch_norm`, which
/// `tf.layers.batch_normalization` builds for 4-D inputs), per channel
/// `y = (x - mean) * rsqrt(variance + epsilon) * scale + offset`. With
/// `is_training`, the mean and variance are the batch's (`mean` and
/// `variance` are then not read) and the results are `y`, the batch mean
/// and the batch's *unbiased* variance (`n / (n - 1)` times the one `y`
/// used), which moving averages take; otherwise `mean` and `variance` are
/// used and passed on. `epsilon` is kept as TF keeps it, a float32.
///
/// # Errors
///
/// [`Error::OpShape`](crate::Error::OpShape) or [`Error::OpDType`](crate::Error::OpDType)
/// naming the op when the inputs do not fit (`x` 4-D, the others vectors of
/// its channels, all of one float dtype); [`Error::GraphMismatch`](crate::Error::GraphMismatch),
/// [`Error::NoDefaultGraph`](crate::Error::NoDefaultGraph).
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, fused_batch_norm, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(ndarray::Array4::from_shape_vec((1, 2, 2, 1), vec![1.0f32, 3.0, 5.0, 7.0]).unwrap())?;
/// let (ones, zeros) = (constant(vec![1.0f32])?, constant(vec![0.0f32])?);
/// let (y, mean, variance) = fused_batch_norm(&x, &ones, &zeros, &zeros, &ones, 0.0, true)?;
/// assert_eq!(y.name(), "FusedBatchNormV3");
/// let got = Session::new(&graph).run(&[&y, &mean, &variance], &[])?;
/// assert_eq!(got[1].to_f64_vec(), [4.0]);
/// assert!((got[2].to_f64_vec()[0] - 20.0 / 3.0).abs() < 1e-5); // unbiased: 20 / (4 - 1)
/// assert!((got[0].to_f64_vec()[0] + 3.0 / 5f64.sqrt()).abs() < 1e-5); // biased variance 5
/// # Ok::<(), scope_runtime::Error>(())
/// ```
// TF's own signature (x, scale, offset, mean, variance, epsilon, is_training): one more argument than clippy's limit.
#[allow(clippy::too_many_arguments)]
pub fn fused_batch_norm(
    x: &Tensor,
    scale: &Tensor,
    offset: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    epsilon: f64,
    is_training: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let attr = Attr::FusedBatchNorm { epsilon: epsilon as f32, is_training };
    let built = super::build_op(OpKind::FusedBatchNorm, None, &[x, scale, offset, mean, variance], &[], attr)?;
    let mut outputs = built.outputs.into_iter();
    match (outputs.next(), outputs.next(), outputs.next()) {
        (Some(y), Some(m), Some(v)) => Ok((y, m, v)),
        _ => unreachable!("FusedBatchNormV3 has six outputs"),
    }
}
