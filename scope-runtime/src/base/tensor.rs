//! Symbolic handles: a graph node's output (`Tensor`) and the node itself (`Operation`).

use crate::base::dtype::DType;
use crate::base::error::{Error, Result};
use crate::base::shape::Shape;
use std::sync::Arc;

/// Node numbers of `IndexedSlices` stand-ins (handles a `gradients` call
/// passes between gradient functions) start here, far above any graph's nodes.
pub(crate) const STAND_IN_BASE: u32 = u32::MAX - (1 << 24);

/// An output of a graph node: what ops take and return.
///
/// A `Tensor` names its node (`foo_1/Add`; the TensorFlow tensor name adds
/// the output index, `:0`, or `split:1` for an op with several outputs), and
/// carries the static shape and dtype inferred when it was built.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, name_scope, Graph, DType};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let _s = name_scope("inputs").enter()?;
/// let x = constant(vec![1.0f32, 2.0])?;
/// assert_eq!(x.name(), "inputs/Const");
/// assert_eq!(x.tensor_name(), "inputs/Const:0");
/// assert_eq!((x.shape().to_vec(), x.dtype()), (Some(vec![2]), DType::F32));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Tensor {
    pub(crate) graph_id: u64,
    pub(crate) node: u32,
    /// Which output of the node.
    pub(crate) output: u32,
    pub(crate) name: Arc<str>,
    pub(crate) shape: Shape,
    pub(crate) dtype: DType,
}

impl Tensor {
    /// The name of the op producing this tensor.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// TensorFlow's tensor name: the op name and the output index (`Add:0`, `split:1`).
    pub fn tensor_name(&self) -> String {
        format!("{}:{}", self.name, self.output)
    }

    /// Which output of its op this is (0 for ops with one output).
    pub fn output_index(&self) -> usize {
        self.output as usize
    }

    /// The op that produces this tensor, for control dependencies and run targets.
    pub fn op(&self) -> Operation {
        Operation { graph_id: self.graph_id, node: self.node, name: self.name.clone() }
    }

    /// The static shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The size of dimension `axis` when it is known statically.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownDim`] when the rank or that dimension is unknown.
    pub fn dim(&self, axis: usize) -> Result<usize> {
        self.shape.dims().and_then(|d| d.get(axis).copied().flatten()).ok_or_else(|| Error::UnknownDim {
            tensor: self.name.to_string(),
            axis,
            shape: self.shape.clone(),
        })
    }

    /// Whether both handles are the same output of the same node.
    pub fn same_as(&self, other: &Tensor) -> bool {
        self.graph_id == other.graph_id && self.node == other.node && self.output == other.output
    }
}

impl AsRef<Tensor> for Tensor {
    fn as_ref(&self) -> &Tensor {
        self
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tensor({:?}, shape={}, dtype={})", self.tensor_name(), self.shape, self.dtype)
    }
}

/// A node of the graph as an op to run rather than a value to fetch (TF
/// `tf.Operation`): what [`group`](crate::group) and [`no_op`](crate::no_op)
/// return, what control dependencies name and what a
/// [`Session`](crate::Session) runs as a target.
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, group, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let a = constant(1.0f32)?;
/// assert_eq!(a.op().name(), "Const");
/// assert_eq!(group(&[&a.op()])?.name(), "group_deps");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Operation {
    pub(crate) graph_id: u64,
    pub(crate) node: u32,
    pub(crate) name: Arc<str>,
}

impl Operation {
    /// The op's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl PartialEq for Operation {
    fn eq(&self, other: &Operation) -> bool {
        self.graph_id == other.graph_id && self.node == other.node
    }
}

impl Eq for Operation {}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Operation({:?})", self.name)
    }
}
