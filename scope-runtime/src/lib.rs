//! The runtime of scopeflow: a graph of named ops, TensorFlow 1.x variable and
//! name scopes with TensorFlow's exact naming, and a variable store shared by
//! threads.
//!
//! Most users depend on the `scopeflow` facade, which re-exports this crate.
//!
//! ```
//! use scope_runtime::{constant, get_variable, matmul, variable_scope, Graph, Init, Reuse};
//! let graph = Graph::new();
//! let _g = graph.as_default();
//! let x = constant(ndarray::Array2::<f32>::zeros((1, 4)))?;
//! let y = variable_scope("dense").with(|_| {
//!     let w = get_variable("kernel", [4, 2]).get()?;
//!     matmul(&x, &w)
//! })?;
//! assert_eq!(y.name(), "dense/MatMul");
//! # Ok::<(), scope_runtime::Error>(())
//! ```

pub use ndarray;

// The layers, lowest first: base, variable, graph, kernels, scope, ops,
// store, train, run, io (rustfmt sorts the declarations below). A layer imports only
// from the layers before it; tests/layers.rs checks every `crate::` path.
mod base;
mod graph;
mod io;
mod kernels;
mod ops;
mod run;
mod scope;
mod store;
mod train;
mod variable;

pub use base::error::{CallSite, Error, ErrorKind, FileKind, Mismatch, NameKind, PartitionProblem, Result};
pub use base::names::{is_valid_op_name, is_valid_scope_name};
pub use base::{DType, Dim, Element, Operation, Reuse, Shape, Tensor, Value};
pub use graph::{
    CollectionItem, DefaultGraphGuard, GLOBAL_VARIABLES, Graph, LOSSES, NodeInfo, Padding, REGULARIZATION_LOSSES,
    StridedSlice, TRAINABLE_VARIABLES, UPDATE_OPS, get_default_graph,
};
pub use io::bundle::{Stored, read_tf1_checkpoint};
pub use io::bundle_writer::write_tf1_checkpoint;
pub use io::checkpoint_state::latest_checkpoint;
pub use io::events::EventWriter;
pub use io::manifest::{Manifest, ManifestEntry, read_manifest};
pub use io::saver::{
    RestoreOptions, RestoreReport, SaveOptions, Saver, read_checkpoint, read_safetensors, write_safetensors,
};
pub use kernels::math::matmul_into;
pub use ops::losses;
pub use ops::{
    Axes, Gradient, IndexedSlices, Named, abs, add, add_n, argmax, argmax_as, assign, assign_add, assign_sub, avg_pool,
    bias_add, broadcast_to, cast, clip_by_global_norm, clip_by_value, concat, constant, conv2d, conv2d_dilated,
    conv2d_transpose, div, div_no_nan, embedding_lookup, equal, exp, expand_dims, fill, fill_to, floor, floor_div,
    floor_mod, fused_batch_norm, gather, gather_axis, get_item, global_norm, gradients, gradients_indexed_with,
    gradients_with, greater, greater_equal, group, identity, l2_loss, leaky_relu, less, log, log_softmax, log1p,
    matmul, matmul_transposed, max_pool, maximum, minimum, mul, named, neg, no_op, one_hot, one_hot_with, ones_like,
    pad, pad_with, placeholder, pow, random_normal, random_uniform, random_uniform_with_seed, reciprocal, reduce_max,
    reduce_max_axes, reduce_mean, reduce_mean_axes, reduce_prod, reduce_prod_axes, reduce_sum, reduce_sum_axes, relu,
    relu6, reshape, reshape_to, rsqrt, select, set_shape, shape, shape_as, sigmoid, sigmoid_cross_entropy_with_logits,
    sign, slice, softmax, softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2, softplus,
    sparse_softmax_cross_entropy_with_logits, split, split_sizes, sqrt, square, squared_difference, squeeze, stack,
    stop_gradient, strided_slice, sub, tanh, tile, transpose, transpose_to, truncated_normal, unstack, where_v2,
    with_dependencies, zeros_like, zeros_like_as,
};
pub use run::{ScanOutput, ScanStep, Session, SessionOptions, scan};
pub use scope::{
    AsScopeArg, ControlDependencies, ControlDependenciesGuard, NameScopeBuilder, NameScopeGuard, ScopeArg,
    VariableScope, VariableScopeBuilder, VariableScopeGuard, control_dependencies, current_name_scope,
    current_variable_scope, name_scope, variable_scope,
};
pub use store::{GetVariable, NewVariable, get_variable};
pub use train::{
    AdagradOptimizer, AdamOptimizer, GLOBAL_STEP, GradAndVar, GradientDescentOptimizer, LearningRate,
    MomentumOptimizer, Optimizer, RMSPropOptimizer, exponential_decay, get_or_create_global_step, piecewise_constant,
};
/// Data-parallel training across processes and machines on MPI (the `mpi`
/// feature): [`World`](mpi::World) (rank, size, broadcast of rank 0's
/// variables) and [`DistributedOptimizer`](mpi::DistributedOptimizer)
/// (gradients averaged over the ranks by variable name before each update).
#[cfg(feature = "mpi")]
pub mod mpi {
    pub use crate::train::distributed::{AllreduceStats, DEFAULT_FUSION_THRESHOLD, DistributedOptimizer, World};
}
pub use variable::{
    Constraint, ConstraintFn, CustomGetter, CustomGetterFn, Distribution, FanMode, Getter, Init, PartitionFn,
    Partitioner, Regularizer, Variable, VariableRequest, fans,
};
