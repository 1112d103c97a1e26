//! Options of new variables: how to partition them and what loss they add.

use crate::base::DType;
use std::sync::Arc;

/// A penalty added to `regularization_losses` when a variable is created.
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, Graph, Regularizer};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let _s = variable_scope("s").regularizer(Regularizer::L2(0.1)).enter()?;
/// get_variable("w", [2]).get()?;
/// get_variable("b", [2]).regularizer(Regularizer::None).get()?;
/// let losses: Vec<String> = graph.regularization_losses(None)?.iter().map(|t| t.name().to_owned()).collect();
/// assert_eq!(losses, ["s/w/Regularizer/l2_regularizer"]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Regularizer {
    /// TF `l2_regularizer(scale)`: `scale * sum(w²) / 2`.
    L2(f64),
    /// TF `no_regularizer`: no loss, overriding a scope's regularizer.
    None,
}

/// Splits a new variable into shards along one axis (TF partitioners).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, Graph, Partitioner};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let v = get_variable("emb", [5, 2]).partitioner(Partitioner::fixed(2)).get()?;
/// let shards: Vec<_> = v.shards().iter().map(|s| (s.name().to_owned(), s.shape().to_vec())).collect();
/// assert_eq!(shards, [("emb/part_0".to_owned(), vec![3, 2]), ("emb/part_1".to_owned(), vec![2, 2])]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub enum Partitioner {
    /// TF `fixed_size_partitioner(shards, axis)`: that many shards, never more than the axis has rows.
    Fixed {
        /// Number of shards.
        shards: usize,
        /// The axis to split.
        axis: usize,
    },
    /// Any function from the full shape and dtype to the number of shards per axis.
    /// It must not build graph ops.
    Custom(Arc<PartitionFn>),
}

impl Partitioner {
    /// `shards` shards along axis 0.
    pub fn fixed(shards: usize) -> Partitioner {
        Partitioner::Fixed { shards, axis: 0 }
    }

    pub(crate) fn partitions(&self, shape: &[usize], dtype: DType) -> Vec<usize> {
        match self {
            Partitioner::Fixed { shards, axis } => {
                if *axis >= shape.len() {
                    return Vec::new(); // rejected by call_partitioner: no axis to split
                }
                let mut p = vec![1; shape.len()];
                p[*axis] = (*shards).min(shape[*axis]);
                p
            }
            Partitioner::Custom(f) => f(shape, dtype),
        }
    }
}

impl std::fmt::Debug for Partitioner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Partitioner::Fixed { shards, axis } => {
                write!(f, "Fixed {{ shards: {shards}, axis: {axis} }}")
            }
            Partitioner::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A custom partitioner: the number of shards per axis for a full shape and dtype.
pub type PartitionFn = dyn Fn(&[usize], DType) -> Vec<usize> + Send + Sync;
