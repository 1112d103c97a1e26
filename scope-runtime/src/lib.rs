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

pub mod bundle;
pub mod checkpoint;
pub mod context;
pub mod dtype;
pub mod error;
pub mod events;
pub mod export;
pub mod graph;
pub mod init;
pub mod kernels;
pub mod manifest;
pub mod names;
pub mod ops;
pub mod scope;
pub mod session;
pub mod shape;
pub mod store;
pub mod tensor;
pub mod value;
pub mod variable;

pub use checkpoint::{RestoreOptions, RestoreReport, Saver};
pub use context::DefaultGraphGuard;
pub use dtype::DType;
pub use error::{CallSite, Error, ErrorKind, NameKind, PartitionProblem, Result};
pub use graph::{
    CollectionItem, GLOBAL_VARIABLES, Graph, NodeInfo, REGULARIZATION_LOSSES, TRAINABLE_VARIABLES, get_default_graph,
};
pub use init::{Distribution, FanMode, Init};
pub use manifest::Manifest;
pub use ops::*;
pub use scope::{
    AsScopeArg, NameScopeBuilder, NameScopeGuard, Reuse, ScopeArg, VariableScope, VariableScopeBuilder,
    VariableScopeGuard, current_name_scope, current_variable_scope, name_scope, variable_scope,
};
pub use session::Session;
pub use shape::{Dim, Shape};
pub use store::{GetVariable, Partitioner, Regularizer, get_variable};
pub use tensor::Tensor;
pub use value::{Element, Value};
pub use variable::{NewVariable, Variable};
