//! Symbolic tensor handles: a graph node's output with its static shape and dtype.

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::shape::Shape;
use std::sync::Arc;

/// The output of a graph node: what ops take and return.
///
/// A `Tensor` names its node (`foo_1/Add`; the TensorFlow tensor name adds
/// `:0`), and carries the static shape and dtype inferred when it was built.
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
    pub(crate) name: Arc<str>,
    pub(crate) shape: Shape,
    pub(crate) dtype: DType,
}

impl Tensor {
    /// The name of the op producing this tensor.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// TensorFlow's tensor name: the op name and `:0`.
    pub fn tensor_name(&self) -> String {
        format!("{}:0", self.name)
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
        self.graph_id == other.graph_id && self.node == other.node
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
