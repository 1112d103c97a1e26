//! scopeflow: TensorFlow 1.x scoped model building for Rust.
//!
//! `variable_scope` / `name_scope`, `get_variable` with `reuse = true | auto`,
//! initializer / dtype / regularizer inheritance, unique default names,
//! captured scopes re-entered later or on another thread, named ops and
//! collections, with TensorFlow's exact names, so a model ported from TF1
//! keeps its checkpoint names.
//!
//! ```
//! use scopeflow::prelude::*;
//!
//! let graph = Graph::new();
//! let _g = graph.as_default();
//! let embed = |ids: &str| -> Result<Variable> {
//!     let _s = variable_scope("text_embedding").reuse(Reuse::Auto).enter()?;
//!     let _ = ids;
//!     get_variable("matrix", [50, 8]).get()
//! };
//! assert_eq!(embed("a")?, embed("b")?);
//! assert_eq!(embed("a")?.name(), "text_embedding/matrix");
//! # Ok::<(), scopeflow::Error>(())
//! ```

// `#[scoped]` expands to `::scopeflow::…` paths; the layers use it too.
extern crate self as scopeflow;

pub use scope_macros::{model, scoped};
pub use scope_runtime::losses;

pub mod layers;
pub mod rnn;
/// Data-parallel training on MPI (feature `mpi`): see the README's section
/// "Training on several processes or machines".
#[cfg(feature = "mpi")]
pub use scope_runtime::mpi;
pub use scope_runtime::{
    AdagradOptimizer, AdamOptimizer, AsScopeArg, Axes, CallSite, CollectionItem, Constraint, ConstraintFn,
    ControlDependencies, ControlDependenciesGuard, CustomGetter, CustomGetterFn, DType, DefaultGraphGuard, Dim,
    Distribution, Element, Error, ErrorKind, EventWriter, FanMode, FileKind, GLOBAL_STEP, GLOBAL_VARIABLES,
    GetVariable, Getter, GradAndVar, Gradient, GradientDescentOptimizer, Graph, IndexedSlices, Init, LOSSES,
    LearningRate, Manifest, ManifestEntry, Mismatch, MomentumOptimizer, NameKind, NameScopeBuilder, NameScopeGuard,
    Named, NewVariable, NodeInfo, Operation, Optimizer, Padding, PartitionFn, PartitionProblem, Partitioner,
    REGULARIZATION_LOSSES, RMSPropOptimizer, Regularizer, RestoreOptions, RestoreReport, Result, Reuse, SaveOptions,
    Saver, ScanOutput, ScanStep, ScopeArg, Session, SessionOptions, Shape, Stored, StridedSlice, TRAINABLE_VARIABLES,
    Tensor, UPDATE_OPS, Value, Variable, VariableRequest, VariableScope, VariableScopeBuilder, VariableScopeGuard, abs,
    add, add_n, argmax, argmax_as, assign, assign_add, assign_sub, avg_pool, bias_add, broadcast_to, cast,
    clip_by_global_norm, clip_by_value, concat, constant, control_dependencies, conv2d, conv2d_dilated,
    conv2d_transpose, current_name_scope, current_variable_scope, div, div_no_nan, embedding_lookup, equal, exp,
    expand_dims, exponential_decay, fans, fill, fill_to, floor, floor_div, floor_mod, fused_batch_norm, gather,
    gather_axis, get_default_graph, get_item, get_or_create_global_step, get_variable, global_norm, gradients,
    gradients_indexed_with, gradients_with, greater, greater_equal, group, identity, is_valid_op_name,
    is_valid_scope_name, l2_loss, latest_checkpoint, leaky_relu, less, log, log_softmax, log1p, matmul, matmul_into,
    matmul_transposed, max_pool, maximum, minimum, mul, name_scope, named, ndarray, neg, no_op, one_hot, one_hot_with,
    ones_like, pad, pad_with, piecewise_constant, placeholder, pow, random_normal, random_uniform,
    random_uniform_with_seed, read_checkpoint, read_manifest, read_safetensors, read_tf1_checkpoint, reciprocal,
    reduce_max, reduce_max_axes, reduce_mean, reduce_mean_axes, reduce_prod, reduce_prod_axes, reduce_sum,
    reduce_sum_axes, relu, relu6, reshape, reshape_to, rsqrt, scan, select, set_shape, shape, shape_as, sigmoid,
    sigmoid_cross_entropy_with_logits, sign, slice, softmax, softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2, softplus, sparse_softmax_cross_entropy_with_logits, split, split_sizes, sqrt,
    square, squared_difference, squeeze, stack, stop_gradient, strided_slice, sub, tanh, tile, transpose, transpose_to,
    truncated_normal, unstack, variable_scope, where_v2, with_dependencies, write_safetensors, write_tf1_checkpoint,
    zeros_like, zeros_like_as,
};

/// The README's example, compiled and run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The names a program that builds and runs a model needs: `use scopeflow::prelude::*;`.
pub mod prelude {
    pub use scope_macros::{model, scoped};
    pub use scope_runtime::{
        DType, Error, Graph, Init, Operation, Partitioner, Regularizer, Result, Reuse, Saver, Session, Shape, Tensor,
        Value, Variable, VariableScope, add, bias_add, concat, constant, current_variable_scope, get_variable,
        identity, matmul, mul, name_scope, named, placeholder, reduce_mean, reduce_sum, relu, reshape, sigmoid,
        softmax, sub, tanh, variable_scope,
    };
}

/// Items named by macro output. Not public API; may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use ::core::result::Result::{self, Err, Ok};
    pub use scope_runtime::{
        AsScopeArg, DType, Init, Result as ScopeResult, Reuse, ScopeArg, Variable, VariableScopeGuard, get_variable,
        name_scope, variable_scope,
    };

    /// The scope argument a `#[scoped(scope = param)]` parameter names.
    pub fn scope_arg<T: AsScopeArg + ?Sized>(value: &T) -> ScopeArg<'_> {
        value.as_scope_arg()
    }

    /// Enters a scope for a `#[scoped]` function that cannot return the
    /// error: it panics with the error's message instead.
    #[track_caller]
    pub fn enter_or_panic<G>(entered: scope_runtime::Result<G>) -> G {
        match entered {
            Ok(guard) => guard,
            Err(e) => panic!("#[scoped] could not enter its scope: {e}"),
        }
    }
}
