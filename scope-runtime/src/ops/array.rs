//! Constructors of ops that cut, select and rearrange: split, slices,
//! unstack, shape, fill, `*_like`, one_hot, pad and tile.

use super::{OpKind, build, build_op, int_const, named, scoped_op};
use crate::base::{DType, Result, Shape, Tensor, Value};
use crate::graph::{Attr, OneHot, StridedSlice};
use std::sync::Arc;

/// TF `fill(dims, value)` inside an op scope: `dims` and `value` as constants, then `Fill`.
fn fill_from(name: &str, dims: Tensor, value: Tensor, shape: Shape) -> Result<Tensor> {
    build(OpKind::Fill, Some(name), &[&dims, &value], Attr::Fill(Box::new(shape)))
}

/// The outputs of an op with several, as a `Vec`.
fn outputs(kind: OpKind, name: Option<&str>, x: &Tensor, attr: Attr) -> Result<Vec<Tensor>> {
    Ok(build_op(kind, name, &[x], &[], attr)?.outputs.into_vec())
}

api! {
    /// `num` equal parts along `axis` (TF `tf.split(x, num, axis)`; one op
    /// `split` with outputs `split:0`, `split:1`, …).
    ///
    /// ```
    /// use scope_runtime::{placeholder, split, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(6)]))?;
    /// let parts = split(&x, 3, 1)?;
    /// assert_eq!(parts[2].tensor_name(), "split:2");
    /// assert_eq!(parts[0].shape().to_string(), "(None, 2)");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn split(x: &Tensor, num: usize, axis: usize) -> Vec<Tensor> |name| {
        // TF's `Split` takes the axis first, as the constant `split/split_dim`.
        scoped_outputs(name, "split", |op| {
            let split_dim = axis_const("split_dim", axis)?;
            Ok(build_op(OpKind::Split, Some(op), &[&split_dim, x], &[], Attr::Split { axis, num })?.outputs.into_vec())
        })
    };
    /// Parts of the given sizes along `axis`, one of which may be `-1` for the
    /// rest (TF `tf.split(x, [sizes], axis)`, op `SplitV`).
    ///
    /// ```
    /// use scope_runtime::{constant, split_sizes, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 6)))?;
    /// let parts = split_sizes(&x, &[1, -1, 2], 1)?;
    /// assert_eq!(parts[1].shape().to_vec(), Some(vec![2, 3]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn split_sizes(x: &Tensor, sizes: &[i64], axis: usize) -> Vec<Tensor> |name| {
        // TF converts the sizes to a constant in the current scope before naming the op.
        let sizes_tensor = super::constant(Value::from(sizes.iter().map(|&s| s as i32).collect::<Vec<_>>()))?;
        let attr = Attr::SplitV { axis, sizes: sizes.to_vec() };
        scoped_outputs(name, "split", |op| {
            let split_dim = axis_const("split_dim", axis)?;
            Ok(build_op(OpKind::SplitV, Some(op), &[x, &sizes_tensor, &split_dim], &[], attr)?.outputs.into_vec())
        })
    };
    /// The slices of `x` along `axis`, that axis removed (TF `tf.unstack`; op
    /// `unstack` of type `Unpack`). Their number is `num`, or when `None` the
    /// axis's size, which must then be known.
    ///
    /// ```
    /// use scope_runtime::{placeholder, unstack, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([Some(4), None, Some(2)]))?;
    /// let steps = unstack(&x, None, 0)?;
    /// assert_eq!((steps.len(), steps[3].tensor_name()), (4, "unstack:3".to_owned()));
    /// assert!(unstack(&x, None, 1).is_err()); // the size of axis 1 is unknown
    /// assert_eq!(unstack(&x, Some(3), 1)?.len(), 3);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn unstack(x: &Tensor, num: Option<usize>, axis: usize) -> Vec<Tensor> |name| {
        let num = match num {
            Some(n) => n,
            None => x.dim(axis)?,
        };
        outputs(OpKind::Unstack, name, x, Attr::Unstack { axis, num })
    };
    /// `size[i]` elements from `begin[i]` along each axis; a size of `-1` takes
    /// the rest (TF `tf.slice`).
    ///
    /// ```
    /// use scope_runtime::{constant, slice, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((4, 5)))?;
    /// let s = slice(&x, &[1, 2], &[2, -1])?;
    /// assert_eq!((s.name(), s.shape().to_vec()), ("Slice", Some(vec![2, 3])));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn slice(x: &Tensor, begin: &[usize], size: &[i64]) -> Tensor |name| {
        scoped_op(name, "Slice", |op| {
            let begin = int_const("begin", &begin.iter().map(|&b| b as i64).collect::<Vec<_>>())?;
            let size = int_const("size", size)?;
            build(OpKind::Slice, Some(op), &[x, &begin, &size], Attr::None)
        })
    };
    /// Python-style slicing with strides and masks (TF `tf.strided_slice`);
    /// see [`StridedSlice`] for the arguments.
    ///
    /// ```
    /// use scope_runtime::{placeholder, strided_slice, DType, Graph, Shape, StridedSlice};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(5), Some(3)]))?;
    /// // x[:, -1] : the last step of every sequence
    /// let last = strided_slice(&x, &StridedSlice::new([0, -1], [0, 0]).begin_mask(1).end_mask(1).shrink_axis_mask(2))?;
    /// assert_eq!(last.shape().to_string(), "(None, 3)");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn strided_slice(x: &Tensor, spec: &StridedSlice) -> Tensor |name| {
        // TF's Python makes the default strides with `ones_like(begin)` first.
        let ones = match &spec.strides {
            Some(_) => None,
            None => Some(scoped_op(None, "ones_like", |op| {
                int_const("tensor", &spec.begin)?;
                let n = spec.begin.len();
                let dims = named("Shape/shape_as_tensor").constant(Value::from(vec![n as i32]))?;
                fill_from(op, dims, super::constant(1i32)?, Shape::from(&[n][..]))
            })?),
        };
        scoped_op(name, "StridedSlice", |op| {
            let begin = int_const("begin", &spec.begin)?;
            let end = int_const("end", &spec.end)?;
            let strides = match (ones, &spec.strides) {
                (Some(ones), _) => ones,
                (None, strides) => int_const("strides", strides.as_deref().unwrap_or_default())?,
            };
            build(OpKind::StridedSlice, Some(op), &[x, &begin, &end, &strides], Attr::StridedSlice(Box::new(spec.clone())))
        })
    };
    /// The shape of `x` at run time, as an int32 vector (TF `tf.shape`; as
    /// there, a constant named `Shape` when the static shape is fully known).
    ///
    /// ```
    /// use scope_runtime::{placeholder, shape, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    /// let s = shape(&x)?;
    /// assert_eq!((s.name(), s.shape().to_vec(), s.dtype()), ("Shape", Some(vec![2]), DType::I32));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn shape(x: &Tensor) -> Tensor |name| shape_of(name, x, DType::I32);
    /// [`shape`] as int32 or int64 (TF `tf.shape(x, out_type)`).
    ///
    /// ```
    /// use scope_runtime::{constant, shape_as, DType, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(shape_as(&constant(vec![1.0f32])?, DType::I64)?.dtype(), DType::I64);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn shape_as(x: &Tensor, dtype: DType) -> Tensor |name| shape_of(name, x, dtype);
    /// A tensor of shape `dims` filled with the scalar `value` (TF `tf.fill`;
    /// `dims` and `value` become the constants `Fill/dims` and `Fill/value`).
    ///
    /// ```
    /// use scope_runtime::{fill, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = fill(&[2, 3], 1.5f32)?;
    /// assert_eq!((x.name(), x.shape().to_vec()), ("Fill", Some(vec![2, 3])));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn fill(dims: &[usize], value: impl Into<Value>) -> Tensor |name| {
        let value = value.into();
        scoped_op(name, "Fill", |op| {
            // int32 as TF converts a list of Python ints, int64 when a size does not fit.
            let d = int_const("dims", &dims.iter().map(|&d| d as i64).collect::<Vec<_>>())?;
            let v = named("value").constant(value)?;
            fill_from(op, d, v, Shape::from(dims))
        })
    };
    /// A scalar `value` repeated into the shape the integer vector `dims`
    /// holds when the graph runs, of which `known` is what is known now (TF
    /// `tf.fill(dims, value)` with a tensor for `dims`, as
    /// `tf.zeros(tf.stack([batch_size, units]))` builds an RNN's zero state).
    ///
    /// ```
    /// use scope_runtime::{fill_to, placeholder, shape, DType, Graph, Shape, Session, Value};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    /// let zeros = fill_to(&shape(&x)?, &Shape::from_dims([None, Some(3)]), 0.0f32)?;
    /// assert_eq!(zeros.shape().to_string(), "(None, 3)");
    /// let out = Session::new(&graph).run(&[&zeros], &[(&x, &Value::from(ndarray::Array2::<f32>::ones((2, 3))))])?;
    /// assert_eq!(out[0].shape(), &[2, 3]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn fill_to(dims: &Tensor, known: &Shape, value: impl Into<Value>) -> Tensor |name| {
        let value = value.into();
        scoped_op(name, "Fill", |op| {
            let v = named("value").constant(value)?;
            fill_from(op, dims.clone(), v, known.clone())
        })
    };
    /// Zeros of `x`'s shape and dtype (TF `tf.zeros_like`: as there, a
    /// constant when the shape is known and small, a `Fill` when known and
    /// large, else a `ZerosLike` op).
    ///
    /// ```
    /// use scope_runtime::{constant, placeholder, zeros_like, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    /// assert_eq!(zeros_like(&x)?.name(), "zeros_like");
    /// assert_eq!(zeros_like(&constant(vec![1i32, 2])?)?.name(), "zeros_like_1");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn zeros_like(x: &Tensor) -> Tensor |name| zeros_of(name, x, x.dtype);
    /// Zeros of `x`'s shape in another dtype (TF `tf.zeros_like(x, dtype)`).
    ///
    /// ```
    /// use scope_runtime::{placeholder, zeros_like_as, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    /// assert_eq!(zeros_like_as(&x, DType::I32)?.dtype(), DType::I32);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn zeros_like_as(x: &Tensor, dtype: DType) -> Tensor |name| zeros_of(name, x, dtype);
    /// Ones of `x`'s shape and dtype (TF `tf.ones_like`: `Fill` of `Shape(x)` and 1).
    ///
    /// ```
    /// use scope_runtime::{constant, ones_like, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![2i64, 3])?;
    /// assert_eq!(ones_like(&x)?.name(), "ones_like");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn ones_like(x: &Tensor) -> Tensor |name| filled_like(name, "ones_like", x, Value::filled(x.dtype, &[], 1.0));
    /// One-hot vectors of `depth` for integer `indices`, along a new last axis,
    /// `1.0` at the index and `0.0` elsewhere, as float32 (TF `tf.one_hot`).
    ///
    /// ```
    /// use scope_runtime::{constant, one_hot, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let labels = constant(vec![0i32, 3])?;
    /// assert_eq!(one_hot(&labels, 4)?.shape().to_vec(), Some(vec![2, 4]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn one_hot(indices: &Tensor, depth: usize) -> Tensor |name| {
        let attr = OneHot { depth, on: 1.0, off: 0.0, axis: None, dtype: DType::F32 };
        build(OpKind::OneHot, name, &[indices], Attr::OneHot(attr))
    };
    /// [`one_hot`] with its other options: the values `on` and `off`, the new
    /// `axis` (`None`: last) and the output dtype.
    ///
    /// ```
    /// use scope_runtime::{constant, one_hot_with, DType, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let labels = constant(vec![0i32, 3])?;
    /// let y = one_hot_with(&labels, 4, 5.0, -1.0, Some(0), DType::I32)?;
    /// assert_eq!((y.shape().to_vec(), y.dtype()), (Some(vec![4, 2]), DType::I32));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn one_hot_with(indices: &Tensor, depth: usize, on: f64, off: f64, axis: Option<usize>, dtype: DType) -> Tensor |name| {
        build(OpKind::OneHot, name, &[indices], Attr::OneHot(OneHot { depth, on, off, axis, dtype }))
    };
    /// Zeros before and after `x` along each axis (TF `tf.pad` in its constant mode).
    ///
    /// ```
    /// use scope_runtime::{constant, pad, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(pad(&x, &[[1, 1], [0, 2]])?.shape().to_vec(), Some(vec![4, 5]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn pad(x: &Tensor, paddings: &[[usize; 2]]) -> Tensor |name| pad_op(name, x, paddings, None);
    /// `value` before and after `x` along each axis (TF `tf.pad(x, paddings,
    /// constant_values=value)`: op `PadV2`, or `Pad` for 0).
    ///
    /// ```
    /// use scope_runtime::{constant, pad_with, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(pad_with(&x, &[[1, 1], [0, 2]], 9.0)?.name(), "PadV2");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn pad_with(x: &Tensor, paddings: &[[usize; 2]], value: f64) -> Tensor |name| {
        pad_op(name, x, paddings, (value != 0.0).then_some(value))
    };
    /// `x` broadcast to `shape` by numpy's rules (TF `tf.broadcast_to`; the
    /// shape is the constant `BroadcastTo/shape`).
    ///
    /// ```
    /// use scope_runtime::{broadcast_to, constant, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let b = broadcast_to(&constant(vec![1.0f32, 2.0])?, &[2, 2])?;
    /// assert_eq!(b.name(), "BroadcastTo");
    /// assert_eq!(Session::new(&graph).run(&[&b], &[])?[0].to_f64_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn broadcast_to(x: &Tensor, shape: &[usize]) -> Tensor |name| {
        scoped_op(name, "BroadcastTo", |op| {
            let dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
            build(OpKind::BroadcastTo, Some(op), &[x, &int_const("shape", &dims)?], Attr::None)
        })
    };
    /// `x` repeated `multiples[i]` times along axis `i` (TF `tf.tile`).
    ///
    /// ```
    /// use scope_runtime::{constant, tile, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(ndarray::Array2::<f32>::zeros((2, 3)))?;
    /// assert_eq!(tile(&x, &[2, 1])?.shape().to_vec(), Some(vec![4, 3]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn tile(x: &Tensor, multiples: &[usize]) -> Tensor |name| {
        scoped_op(name, "Tile", |op| {
            let multiples = int_const("multiples", &multiples.iter().map(|&m| m as i64).collect::<Vec<_>>())?;
            build(OpKind::Tile, Some(op), &[x, &multiples], Attr::None)
        })
    };
    /// The listed axes, each of size 1, removed (TF `tf.squeeze(x, axis)`).
    ///
    /// ```
    /// use scope_runtime::{constant, squeeze, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let s = squeeze(&constant(ndarray::Array3::<f32>::zeros((1, 4, 1)))?, &[0, 2])?;
    /// assert_eq!((s.name(), s.shape().to_vec()), ("Squeeze", Some(vec![4])));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn squeeze(x: &Tensor, axes: &[usize]) -> Tensor |name| build(OpKind::Squeeze, name, &[x], Attr::Squeeze(axes.to_vec()));
}

/// TF `Tensor.set_shape`: `t` with the static shape it has merged with
/// `shape` (what either knows), for a shape known only to the caller; the
/// graph's node learns it too.
///
/// # Errors
///
/// [`Error::OpShape`](crate::Error::OpShape) when the shapes are not compatible.
///
/// # Examples
///
/// ```
/// use scope_runtime::{placeholder, set_shape, DType, Graph, Shape};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, None]))?;
/// let y = set_shape(&x, &Shape::from_dims([None, Some(3)]))?;
/// assert_eq!(y.shape(), &Shape::from_dims([None, Some(3)]));
/// assert!(set_shape(&y, &Shape::from(vec![2, 4])).is_err());
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn set_shape(t: &Tensor, shape: &Shape) -> Result<Tensor> {
    let graph = crate::graph::get_default_graph()?;
    let mut state = graph.write();
    let mut out = t.clone();
    let known = state.nodes.get_mut(t.node as usize).and_then(|n| n.outputs.get_mut(t.output as usize));
    match known.map(|(known, _)| (known.merge(shape), known)) {
        Some((Some(merged), known)) => {
            *known = merged;
            out.shape = known.clone();
            Ok(out)
        }
        _ => Err(crate::base::Error::OpShape {
            op: t.name().to_owned(),
            op_type: "set_shape",
            shapes: vec![t.shape.clone(), shape.clone()],
            rule: "set_shape needs a shape compatible with the tensor's",
        }),
    }
}

/// `t[i]`, element `i` along the first axis, as TF's Python indexing builds
/// it (`Tensor.__getitem__`): a `strided_slice` op of constants `stack`,
/// `stack_1` and `stack_2`, the axis dropped.
///
/// # Errors
///
/// As for [`strided_slice`](fn@strided_slice).
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, get_item, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let first = get_item(&constant(vec![7i32, 8, 9])?, 0)?;
/// assert_eq!((first.name(), first.shape().to_vec()), ("strided_slice", Some(vec![])));
/// assert_eq!(Session::new(&graph).run(&[&first], &[])?[0].to_f64_vec(), vec![7.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn get_item(t: &Tensor, i: i64) -> Result<Tensor> {
    python_slice(t, StridedSlice::new([i], [i + 1]).strides([1]).shrink_axis_mask(1))
}

/// TF's Python slicing of a tensor (`t[1:]`, `t[0]`): a `strided_slice` of
/// its constants `stack` (begin), `stack_1` (end) and `stack_2` (strides).
pub(crate) fn python_slice(t: &Tensor, spec: StridedSlice) -> Result<Tensor> {
    scoped_op(None, "strided_slice", |op| {
        let begin = int_const("stack", &spec.begin)?;
        let end = int_const("stack_1", &spec.end)?;
        let ones = vec![1; spec.begin.len()];
        let strides = int_const("stack_2", spec.strides.as_deref().unwrap_or(&ones))?;
        build(OpKind::StridedSlice, Some(op), &[t, &begin, &end, &strides], Attr::StridedSlice(Box::new(spec)))
    })
}

/// Like [`scoped_op`] for an op with several outputs.
fn scoped_outputs(
    name: Option<&str>,
    default: &str,
    inner: impl FnOnce(&str) -> Result<Vec<Tensor>>,
) -> Result<Vec<Tensor>> {
    let scope = crate::scope::name_scope(name.unwrap_or(default)).enter()?;
    let op_name = scope.name().to_owned();
    inner(&op_name)
}

/// An axis as TF's Python passes it to an op: an int32 scalar constant.
fn axis_const(name: &str, axis: usize) -> Result<Tensor> {
    named(name).constant(i32::try_from(axis).unwrap_or(i32::MAX))
}

/// TF's `ones_like` pattern: under scope `default`, `Shape` of `x`, a `Const`
/// scalar, and a `Fill` named the scope.
fn filled_like(name: Option<&str>, default: &str, x: &Tensor, scalar: Value) -> Result<Tensor> {
    scoped_op(name, default, |op| {
        let dims = match x.shape.is_fully_defined() {
            // TF 1.x converts the known shape inside a `Shape` scope.
            true => {
                let _s = crate::scope::name_scope("Shape").enter()?;
                shape_of(Some("shape_as_tensor"), x, DType::I32)?
            }
            false => shape_of(None, x, DType::I32)?,
        };
        let value = super::constant(scalar)?;
        fill_from(op, dims, value, x.shape.clone())
    })
}

/// TF `shape(x)`: a constant when the static shape is fully known, else a `Shape` op.
fn shape_of(name: Option<&str>, x: &Tensor, dtype: DType) -> Result<Tensor> {
    match x.shape.to_vec() {
        Some(dims) if matches!(dtype, DType::I32 | DType::I64) => {
            let dims = Value::from_f64_data(dtype, &[dims.len()], dims.iter().map(|&d| d as f64).collect())?;
            build(OpKind::Const, Some(name.unwrap_or("Shape")), &[], Attr::Const(Arc::new(dims)))
        }
        _ => build(OpKind::Shape, name, &[x], Attr::DType(dtype)),
    }
}

/// TF `zeros_like(x, dtype)`: a constant of a known shape under 1000
/// elements; a `Fill` of a known larger one (`shape_as_tensor` and `Const`
/// inside its scope); a `ZerosLike` op of an unknown shape, or a `Fill` of
/// `Shape(x)` when the dtype changes.
fn zeros_of(name: Option<&str>, x: &Tensor, dtype: DType) -> Result<Tensor> {
    let zero = Value::filled(dtype, &[], 0.0);
    match x.shape.to_vec() {
        Some(dims) if dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).is_some_and(|n| n < 1000) => {
            let zeros = Value::filled(dtype, &dims, 0.0);
            build(OpKind::Const, Some(name.unwrap_or("zeros_like")), &[], Attr::Const(Arc::new(zeros)))
        }
        Some(dims) => scoped_op(name, "zeros_like", |op| {
            let sizes =
                dims.iter().map(|&d| i32::try_from(d).map_err(|_| too_large(op))).collect::<Result<Vec<_>>>()?;
            let shape = named("shape_as_tensor").constant(Value::from(sizes))?;
            fill_from(op, shape, super::constant(zero)?, x.shape.clone())
        }),
        None if dtype == x.dtype => build(OpKind::ZerosLike, Some(name.unwrap_or("zeros_like")), &[x], Attr::None),
        None => filled_like(name, "zeros_like", x, zero),
    }
}

fn too_large(op: &str) -> crate::base::Error {
    crate::base::Error::OpShape {
        op: op.trim_end_matches('/').to_owned(),
        op_type: OpKind::Fill.def().type_name,
        shapes: Vec::new(),
        rule: "a dimension is too large for int32",
    }
}

/// TF `pad`: `Pad` with its `paddings` constant, or `PadV2` with `constant_values` too.
fn pad_op(name: Option<&str>, x: &Tensor, paddings: &[[usize; 2]], value: Option<f64>) -> Result<Tensor> {
    let kind = if value.is_some() { OpKind::PadV2 } else { OpKind::Pad };
    scoped_op(name, kind.def().default_name, |op| {
        let flat: Vec<i64> = paddings.iter().flatten().map(|&p| p as i64).collect();
        let sizes = match flat.iter().map(|&v| i32::try_from(v)).collect::<std::result::Result<Vec<_>, _>>() {
            Ok(small) => {
                Value::from_f64_data(DType::I32, &[paddings.len(), 2], small.iter().map(|&v| v.into()).collect())
            }
            Err(_) => Value::from_f64_data(DType::I64, &[paddings.len(), 2], flat.iter().map(|&v| v as f64).collect()),
        }?;
        let paddings = named("paddings").constant(sizes)?;
        match value {
            Some(v) => {
                let v = named("constant_values").constant(Value::filled(x.dtype, &[], v))?;
                build(kind, Some(op), &[x, &paddings, &v], Attr::None)
            }
            None => build(kind, Some(op), &[x, &paddings], Attr::None),
        }
    })
}
