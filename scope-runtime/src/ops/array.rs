//! Constructors of ops that cut, select and rearrange: split, slices,
//! unstack, shape, fill, `*_like`, one_hot, pad and tile.

use super::{OpKind, build, build_op};
use crate::base::{DType, Result, Tensor, Value};
use crate::graph::{Attr, OneHot, StridedSlice};
use std::sync::Arc;

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
        outputs(OpKind::Split, name, x, Attr::Split { axis, num })
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
        outputs(OpKind::SplitV, name, x, Attr::SplitV { axis, sizes: sizes.to_vec() })
    };
    /// The slices of `x` along `axis`, that axis removed (TF `tf.unstack`; op
    /// `unstack` of type `Unpack`). The axis must have a known size.
    ///
    /// ```
    /// use scope_runtime::{placeholder, unstack, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([Some(4), None, Some(2)]))?;
    /// let steps = unstack(&x, 0)?;
    /// assert_eq!((steps.len(), steps[3].tensor_name()), (4, "unstack:3".to_owned()));
    /// assert!(unstack(&x, 1).is_err()); // the size of axis 1 is unknown
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn unstack(x: &Tensor, axis: usize) -> Vec<Tensor> |name| {
        let num = x.dim(axis)?;
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
        build(OpKind::Slice, name, &[x], Attr::Slice { begin: begin.to_vec(), size: size.to_vec() })
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
    /// let last = strided_slice(&x, &StridedSlice::new([0, -1], [0, 0], [1, 1]).begin_mask(1).end_mask(1).shrink_axis_mask(2))?;
    /// assert_eq!(last.shape().to_string(), "(None, 3)");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn strided_slice(x: &Tensor, spec: &StridedSlice) -> Tensor |name| {
        build(OpKind::StridedSlice, name, &[x], Attr::StridedSlice(Box::new(spec.clone())))
    };
    /// The shape of `x` at run time, as an int32 vector (TF `tf.shape`).
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
    fn shape(x: &Tensor) -> Tensor |name| build(OpKind::Shape, name, &[x], Attr::DType(DType::I32));
    /// A tensor of shape `dims` filled with the scalar `value` (TF `tf.fill`).
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
        // TensorFlow's `Fill` takes its value as an input: a constant inside the op's scope.
        let value = value.into();
        let op = name.unwrap_or("Fill");
        let scope = crate::scope::name_scope(op).enter()?;
        let op_name = scope.name().to_owned();
        let v = super::named("value").constant(value)?;
        build(OpKind::Fill, Some(&op_name), &[&v], Attr::Fill(dims.to_vec()))
    };
    /// Zeros of `x`'s shape and dtype (TF `tf.zeros_like`; a constant when the
    /// shape is known and small, as TensorFlow folds it).
    ///
    /// ```
    /// use scope_runtime::{constant, placeholder, zeros_like, DType, Graph, Shape};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = placeholder(DType::F32, Shape::from_dims([None, Some(3)]))?;
    /// assert_eq!(zeros_like(&x)?.name(), "zeros_like");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn zeros_like(x: &Tensor) -> Tensor |name| {
        let name = name.or(Some("zeros_like"));
        match x.shape.to_vec() {
            Some(dims) if dims.iter().product::<usize>() < 1000 => {
                build(OpKind::Const, name, &[], Attr::Const(Arc::new(Value::filled(x.dtype, &dims, 0.0))))
            }
            _ => build(OpKind::ZerosLike, name, &[x], Attr::None),
        }
    };
    /// Ones of `x`'s shape and dtype (TF `tf.ones_like`).
    ///
    /// ```
    /// use scope_runtime::{constant, ones_like, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let x = constant(vec![2i64, 3])?;
    /// assert_eq!(ones_like(&x)?.name(), "ones_like");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn ones_like(x: &Tensor) -> Tensor |name| build(OpKind::OnesLike, name, &[x], Attr::None);
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
    fn pad(x: &Tensor, paddings: &[[usize; 2]]) -> Tensor |name| build(OpKind::Pad, name, &[x], Attr::Pad(paddings.to_vec()));
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
    fn tile(x: &Tensor, multiples: &[usize]) -> Tensor |name| build(OpKind::Tile, name, &[x], Attr::Tile(multiples.to_vec()));
}
