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

pub use scope_macros::{model, scoped};
pub use scope_runtime::*;

/// The README's example, compiled and run as a doc test.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The names most programs need: `use scopeflow::prelude::*;`.
pub mod prelude {
    pub use scope_macros::{model, scoped};
    pub use scope_runtime::{
        DType, Error, Graph, Init, Partitioner, Regularizer, Result, Reuse, Shape, Tensor, Value, Variable,
        VariableScope, add, constant, current_variable_scope, get_variable, identity, matmul, mul, name_scope, named,
        relu, sub, variable_scope,
    };
}

/// Items named by macro output. Not public API; may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use ::core::result::Result::{self, Err, Ok};
    pub use scope_runtime::{
        AsScopeArg, DType, Init, Result as ScopeResult, Reuse, ScopeArg, Variable, get_variable, name_scope,
        variable_scope,
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
