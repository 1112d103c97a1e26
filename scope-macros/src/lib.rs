//! Procedural macros of scopeflow: `#[scoped]` and `model!`.
//!
//! Use them through the `scopeflow` crate, which re-exports both. Each macro
//! is parse → check → expand; mistakes that TensorFlow reports at run time are
//! reported here at compile time, all at once, with a span on the token.

mod common;
// The runtime's table of names, initializers and dtypes, compiled here too so
// that both sides read one file. The macros need only part of it (not, e.g.,
// the op-name rule, which depends on where a name is used at run time).
#[allow(dead_code)]
#[path = "../../scope-runtime/src/base/lexicon.rs"]
mod lexicon;
mod model;
mod scoped;

use proc_macro::TokenStream;

/// Runs a function or method inside a variable scope (or a name scope).
///
/// | form | scope |
/// | --- | --- |
/// | `#[scoped]` | a fresh scope per call named after the function: `dense`, `dense_1`, … (TF `default_name`) |
/// | `#[scoped("encoder")]` | variable scope `encoder` (its ops in `encoder`, `encoder_1`, …) |
/// | `#[scoped("encoder", reuse = auto)]` | shared: every call gets or creates the same variables (`reuse = true`: must exist) |
/// | `#[scoped(scope = name)]` | the scope named by parameter `name` (`&str`, `String`, a captured `VariableScope`, or `Option` of one: `None` falls back to the function's name) |
/// | `#[scoped(name_scope)]`, `#[scoped(name_scope = "loss")]` | a name scope: groups ops only |
/// | `…, initializer = he_normal, dtype = f64` | defaults for the variables inside |
///
/// The function keeps its signature, docs and attributes; the scope is entered
/// at the start of the body and left when it returns, with `?`, or by a
/// panic. A function returning `Result<_, E>` with `E: From<scopeflow::Error>`
/// returns a failure to enter the scope; any other function panics on it.
///
/// ```
/// use scopeflow::prelude::*;
///
/// #[scoped]
/// fn dense(x: &Tensor, units: usize) -> Result<Tensor> {
///     let w = get_variable("kernel", [x.dim(1)?, units]).get()?;
///     matmul(x, &w)
/// }
///
/// #[scoped("encoder", reuse = auto)]
/// fn encode(x: &Tensor) -> Result<Tensor> {
///     dense(x, 4)
/// }
///
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(scopeflow::ndarray::Array2::<f32>::zeros((2, 3)))?;
/// assert_eq!(dense(&x, 4)?.name(), "dense/MatMul");
/// assert_eq!(dense(&x, 4)?.name(), "dense_1/MatMul");
/// encode(&x)?;
/// encode(&x)?; // shares encoder/dense/kernel
/// assert!(graph.variable("encoder/dense/kernel").is_some());
/// # Ok::<(), scopeflow::Error>(())
/// ```
///
/// Roughly, `#[scoped("encoder", reuse = auto)] fn encode(…) -> Result<T> { body }` becomes
///
/// ```text
/// fn encode(…) -> Result<T> {
///     let __scope = variable_scope("encoder").default_name("encode").reuse(Reuse::Auto).enter()?;
///     body
/// }
/// ```
#[proc_macro_attribute]
pub fn scoped(args: TokenStream, item: TokenStream) -> TokenStream {
    scoped::expand(args.into(), item.into()).into()
}

/// Declares variables in nested scope blocks and generates typed handles.
///
/// ```
/// use scopeflow::prelude::*;
///
/// model! {
///     /// A two-layer perceptron.
///     pub struct Mlp in "MLP" (initializer = he_normal) {
///         layer1 { kernel: [784, 64], bias: [64] = zeros }
///         layer2 { kernel: [64, 10], bias: [10] = zeros }
///     }
///     /// The same weights, shared (TF reuse=True).
///     pub struct Eval in "MLP" (reuse = true) {
///         layer1 { kernel: [784, 64] }
///     }
///     /// A layer with parameters, composed below.
///     pub struct Dense(inputs, units) {
///         kernel: [inputs, units],
///         bias: [units] = zeros,
///     }
///     pub struct Encoder in "encoder" {
///         hidden: Dense(8, 4),
///         out: Dense(4, 2),
///         steps: [] (dtype = i64, trainable = false),
///     }
/// }
///
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let mlp = Mlp::build()?;
/// assert_eq!(mlp.layer1.kernel.name(), "MLP/layer1/kernel");
/// assert_eq!(Eval::build()?.layer1.kernel, mlp.layer1.kernel);
/// assert_eq!(Mlp::VARIABLES, ["MLP/layer1/kernel", "MLP/layer1/bias", "MLP/layer2/kernel", "MLP/layer2/bias"]);
/// let enc = Encoder::build()?;
/// assert_eq!(enc.out.kernel.name(), "encoder/out/kernel");
/// assert_eq!(enc.out.kernel.shape(), &[4, 2]);
/// # Ok::<(), scopeflow::Error>(())
/// ```
///
/// Grammar: `[attrs] [vis] struct Name[(params)] [in "scope"] [(options)] { items }`,
/// where an item is a scope block `name [(options)] { items }`, a variable
/// `name: [dims] [= init] [(initializer = …, dtype = …, trainable = false, constraint = …)]`
/// (so `moving_mean: [c] = zeros (trainable = false)`), or
/// another model `name: Model(args)` built in scope `name`. Options are
/// `reuse = true | auto`, `initializer = …`, `dtype = …`; dimensions are integer
/// literals or parameters. Without `in "…"`, `build` opens a fresh
/// default-named scope (`dense`, `dense_1`, …).
///
/// Generated structs derive `Clone` and `Debug`. Each model gets `build(params)`, `build_in(scope, params)` and `VARIABLES`,
/// the variable names known at compile time; each scope block gets a struct
/// named after the model and the block (`MlpLayer1`). Fields are named as the
/// items, with one exception: a block may hold a variable and a scope block of
/// the same name, as TensorFlow lays out optimizer slots (variable `table`,
/// slot `table/Momentum`); the variable keeps the field `table` and the block's
/// field gets the suffix `_scope`. Declare the variable first (TensorFlow would
/// name it `table_1` after the scope took the name):
///
/// ```
/// # use scopeflow::prelude::*;
/// model! {
///     pub struct Embedding in "embedding" {
///         table: [10, 4],
///         table { Momentum: [10, 4] = zeros (trainable = false) }
///     }
/// }
/// # let graph = Graph::new();
/// # let _g = graph.as_default();
/// let e = Embedding::build()?;
/// assert_eq!(e.table.name(), "embedding/table");
/// assert_eq!(e.table_scope.Momentum.name(), "embedding/table/Momentum");
/// assert!(!e.table_scope.Momentum.trainable());
/// # Ok::<(), scopeflow::Error>(())
/// ```
///
/// `constraint = expr` takes any expression of type `Constraint`, evaluated
/// by each `build`; optimizers apply it after every update of the variable
/// (TF `get_variable(constraint=…)`):
///
/// ```
/// # use scopeflow::prelude::*;
/// use scopeflow::{constant, maximum, Constraint};
/// fn non_neg() -> Constraint {
///     Constraint::new(|w| maximum(w, &constant(0.0f32)?))
/// }
/// model! {
///     pub struct Scorer in "scorer" {
///         weights: [3] = ones (constraint = non_neg()),
///         bias: [] = zeros,
///     }
/// }
/// # let graph = Graph::new();
/// # let _g = graph.as_default();
/// let s = Scorer::build()?;
/// assert!(s.weights.constraint().is_some() && s.bias.constraint().is_none());
/// # Ok::<(), scopeflow::Error>(())
/// ```
///
/// At compile time it rejects a variable declared twice in one scope,
/// `reuse = true` on a variable the input never creates (with a "did you mean"),
/// a shared variable whose shape or dtype differs from its first declaration,
/// invalid scope names, unknown initializers, dtypes and reuse modes,
/// `reuse` on a model without a fixed scope name, and a variable declared
/// after the scope block of its name, a literal given as a `constraint`, and a
/// `constraint` under `reuse = true` (a shared variable keeps the constraint
/// it was created with, so it would be ignored). An input with mistakes still
/// generates its structs, `build`, `build_in` and `VARIABLES` (with bodies that
/// cannot run), so the compiler reports the mistakes and not every use.
#[proc_macro]
pub fn model(input: TokenStream) -> TokenStream {
    model::expand(input.into()).into()
}

#[cfg(test)]
mod fuzz_tests;
