//! Gradients that hold some rows only (TF's `IndexedSlices`, a gather's
//! gradient for its params), and their conversion to dense tensors when an
//! op takes one as an input, named as TF names it.

use super::{OpKind, build, python_slice};
use crate::base::{Operation, Result, Shape, Tensor};
use crate::graph::{Attr, StridedSlice};
use std::cell::RefCell;
use std::sync::Arc;

/// Rows of a tensor: row `indices[i]` of a tensor of shape `dense_shape`
/// holds `values[i]` (summed where an index repeats), every other row is
/// zero (TF `tf.IndexedSlices`). A gather's gradient for its params is one.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, gather, gradients_indexed_with, Gradient, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let table = constant(ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0], [5.0, 6.0]]))?;
/// let rows = gather(&table, &constant(vec![2i32, 0, 2])?)?;
/// let Some(Gradient::Indexed(g)) = gradients_indexed_with(&[&rows], &[&table], &[], None)?.remove(0) else {
///     unreachable!("a gather's params get rows")
/// };
/// assert_eq!(g.values().name(), "gradients/GatherV2_grad/Reshape");
/// let dense = g.to_dense()?;
/// let got = Session::new(&graph).run(&[&dense], &[])?;
/// assert_eq!(got[0].to_f64_vec(), vec![1.0, 1.0, 0.0, 0.0, 2.0, 2.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct IndexedSlices {
    values: Tensor,
    indices: Tensor,
    dense_shape: Tensor,
    /// The static shape of the dense tensor.
    shape: Shape,
}

impl IndexedSlices {
    pub(crate) fn new(values: Tensor, indices: Tensor, dense_shape: Tensor, shape: Shape) -> IndexedSlices {
        IndexedSlices { values, indices, dense_shape, shape }
    }

    /// The rows given, one per index.
    pub fn values(&self) -> &Tensor {
        &self.values
    }

    /// The row of the dense tensor each of `values` is (a vector of integers).
    pub fn indices(&self) -> &Tensor {
        &self.indices
    }

    /// The dense tensor's shape, as an integer vector.
    pub fn dense_shape(&self) -> &Tensor {
        &self.dense_shape
    }

    /// The dense tensor's static shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dense tensor, as TF converts an `IndexedSlices` to a tensor:
    /// `UnsortedSegmentSum(values, indices, dense_shape[0])`, its nodes
    /// (`strided_slice`, `UnsortedSegmentSum`) in the current name scope.
    ///
    /// # Errors
    ///
    /// The errors of the ops it builds ([`Error::NoDefaultGraph`](crate::Error::NoDefaultGraph), …).
    ///
    /// # Examples
    ///
    /// See [`IndexedSlices`].
    pub fn to_dense(&self) -> Result<Tensor> {
        densify(self, None)
    }
}

/// A gradient as [`gradients_indexed_with`](crate::gradients_indexed_with)
/// returns it: a tensor, or the rows of one (TF returns a `Tensor` or an
/// `IndexedSlices`).
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, gradients_indexed_with, mul, Gradient, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(vec![1.0f32, 2.0])?;
/// let grads = gradients_indexed_with(&[&mul(&x, &x)?], &[&x], &[], None)?;
/// assert!(matches!(&grads[0], Some(Gradient::Dense(g)) if g.name() == "gradients/AddN"));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug)]
pub enum Gradient {
    /// A tensor of the x's shape.
    Dense(Tensor),
    /// Some rows of a tensor of the x's shape.
    Indexed(Box<IndexedSlices>),
}

impl Gradient {
    /// The gradient as a tensor ([`IndexedSlices::to_dense`] for rows).
    ///
    /// # Errors
    ///
    /// As for [`IndexedSlices::to_dense`].
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{constant, Gradient, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let t = constant(1.0f32)?;
    /// assert_eq!(Gradient::Dense(t.clone()).into_dense()?.name(), t.name());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    pub fn into_dense(self) -> Result<Tensor> {
        match self {
            Gradient::Dense(t) => Ok(t),
            Gradient::Indexed(s) => s.to_dense(),
        }
    }
}

/// TF `_indexed_slices_to_tensor`: `UnsortedSegmentSum` named `name`.
pub(crate) fn densify(s: &IndexedSlices, name: Option<&str>) -> Result<Tensor> {
    let rows = python_slice(&s.dense_shape, StridedSlice::new([0], [1]).strides([1]).shrink_axis_mask(1))?;
    build(OpKind::UnsortedSegmentSum, name, &[&s.values, &s.indices, &rows], Attr::None)
}

use crate::base::tensor::STAND_IN_BASE;

thread_local! {
    /// The `IndexedSlices` the gradient functions of one `gradients` call
    /// pass around as stand-in tensors.
    static STAND_INS: RefCell<Vec<IndexedSlices>> = const { RefCell::new(Vec::new()) };
}

/// A tensor handle standing for `s` while gradient functions pass it on (an
/// Identity's gradient) or give it to ops, which convert it to a dense
/// tensor the way TF does (see `dense_inputs`). Valid until the
/// [`StandIns`] guard of the `gradients` call drops.
pub(crate) fn stand_in(s: IndexedSlices) -> Tensor {
    STAND_INS.with(|all| {
        let mut all = all.borrow_mut();
        let node = STAND_IN_BASE + all.len() as u32;
        let t = Tensor {
            graph_id: s.values.graph_id,
            node,
            output: 0,
            name: Arc::from(format!("IndexedSlices({})", s.values.name)),
            shape: s.shape.clone(),
            dtype: s.values.dtype,
        };
        all.push(s);
        t
    })
}

/// Whether `t` stands for an `IndexedSlices`.
pub(crate) fn is_stand_in(t: &Tensor) -> bool {
    t.node >= STAND_IN_BASE
}

/// Whether `op` is a stand-in's (a control dependency on a gradient).
pub(crate) fn is_stand_in_op(op: &Operation) -> bool {
    op.node >= STAND_IN_BASE
}

/// The `IndexedSlices` `t` stands for.
pub(crate) fn lookup(t: &Tensor) -> Option<IndexedSlices> {
    let i = t.node.checked_sub(STAND_IN_BASE)? as usize;
    STAND_INS.with(|all| all.borrow().get(i).cloned())
}

/// The node to wait for when an open `control_dependencies` context names
/// `node`: itself, or a stand-in's values' node (`None` for a stand-in of a
/// `gradients` call that has ended, which no node can wait for).
pub(crate) fn real_node(node: u32) -> Option<u32> {
    match node.checked_sub(STAND_IN_BASE) {
        None => Some(node),
        Some(i) => STAND_INS.with(|all| all.borrow().get(i as usize).map(|s| s.values.node)),
    }
}

/// The op to wait for when a control dependency names a stand-in: its values'.
pub(crate) fn real_op(op: &Operation) -> Operation {
    let stand_in = Tensor {
        graph_id: op.graph_id,
        node: op.node,
        output: 0,
        name: op.name.clone(),
        shape: Shape::unknown(),
        dtype: crate::base::DType::F32,
    };
    lookup(&stand_in).map_or_else(|| op.clone(), |s| s.values.op())
}

/// Forgets the stand-ins made since it was made, when dropped.
pub(crate) struct StandIns(usize);

impl StandIns {
    pub(crate) fn new() -> StandIns {
        StandIns(STAND_INS.with(|all| all.borrow().len()))
    }
}

impl Drop for StandIns {
    fn drop(&mut self) {
        STAND_INS.with(|all| all.borrow_mut().truncate(self.0));
    }
}

/// TF converts an `IndexedSlices` input inside the op's name scope, named
/// after the op's argument (`Mul/x`); the name of input `i` of `kind` (a
/// list argument's entries get `_0`, `_1`, …).
pub(crate) fn input_name(kind: OpKind, i: usize) -> String {
    use OpKind as K;
    let names: &[&str] = match kind {
        K::Add
        | K::Sub
        | K::Mul
        | K::Div
        | K::Maximum
        | K::FloorDiv
        | K::FloorMod
        | K::Equal
        | K::Less
        | K::Greater
        | K::GreaterEqual => &["x", "y"],
        K::MatMul => &["a", "b"],
        K::BiasAdd => &["value", "bias"],
        K::Relu | K::Relu6 | K::LeakyRelu | K::Softplus => &["features"],
        K::Softmax | K::LogSoftmax => &["logits"],
        K::L2Loss => &["t"],
        K::Reshape => &["tensor", "shape"],
        K::Transpose => &["x", "perm"],
        K::Sum | K::Mean | K::Max | K::Prod => &["input", "reduction_indices"],
        K::Identity | K::StopGradient | K::Tile | K::Pad | K::PadV2 | K::Slice | K::StridedSlice => &["input"],
        K::Gather => &["params", "indices", "axis"],
        K::UnsortedSegmentSum => &["data", "segment_ids", "num_segments"],
        K::AddN => return format!("inputs_{i}"),
        K::Concat | K::Stack => return format!("values_{i}"),
        _ => &["x"],
    };
    names.get(i).copied().unwrap_or("input").to_owned()
}
