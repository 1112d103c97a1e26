//! Options of new variables: how to partition them, what loss they add,
//! what constrains them after each update, and the getters that make them.

use crate::base::{DType, Result, Reuse, Shape, Tensor};
use crate::variable::{Init, Variable};
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

/// A projection an optimizer applies to a variable after each update (TF's
/// `constraint=`): a function that builds, from the variable's value, the
/// tensor to store back. As TF, `apply_gradients` builds, in
/// `<optimizer>/update_<var>/` and after the update op, the constraint's ops
/// and an `Assign` of their result. It is not applied when the variable is
/// assigned otherwise, and it must keep the variable's shape and dtype.
///
/// # Examples
///
/// A non-negativity constraint (keras' `NonNeg`) on the variables of a scope:
///
/// ```
/// use scope_runtime::{constant, get_variable, maximum, mul, reduce_sum, variable_scope};
/// use scope_runtime::{Constraint, GradientDescentOptimizer, Graph, Init, Optimizer, Session};
/// let non_neg = Constraint::new(|w| maximum(w, &constant(0.0f32)?));
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = variable_scope("s").constraint(non_neg).with(|_| get_variable("w", [2]).initializer(Init::Ones).get())?;
/// assert!(w.constraint().is_some());
/// let loss = reduce_sum(&mul(&w, &constant(vec![4.0f32, -1.0])?)?, None, false)?; // gradient (4, -1)
/// let train = GradientDescentOptimizer::new(0.5).minimize(&loss, None, None)?;
/// Session::new(&graph).run_targets(&[&train], &[])?;
/// assert_eq!(w.value()?.to_f64_vec(), vec![0.0, 1.5]); // -1 clipped to 0
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct Constraint(Arc<ConstraintFn>);

/// What a [`Constraint`] wraps: from the variable (read as a tensor) to its constrained value.
pub type ConstraintFn = dyn Fn(&Tensor) -> Result<Tensor> + Send + Sync;

impl Constraint {
    /// A constraint that builds `f(variable)` with the usual op constructors.
    pub fn new(f: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static) -> Constraint {
        Constraint(Arc::new(f))
    }

    /// Builds the constrained value of `value`, in the current name scope.
    ///
    /// # Errors
    ///
    /// Whatever the function returns.
    pub fn apply(&self, value: &Tensor) -> Result<Tensor> {
        (self.0)(value)
    }

    /// Whether both are the same function (clones of one constraint).
    pub fn ptr_eq(&self, other: &Constraint) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Constraint(..)")
    }
}

/// A `get_variable` call as a custom getter sees it (TF's getter arguments):
/// the full name and the options with the variable scope's defaults applied.
/// A getter may change any of them before passing the request on.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VariableRequest {
    /// The full name, `scope/name`.
    pub name: String,
    /// The requested shape (unknown when sharing without restating it).
    pub shape: Shape,
    /// The dtype.
    pub dtype: DType,
    /// The initializer of a new variable (`None`: the dtype's default).
    pub initializer: Option<Init>,
    /// The regularizer of a new variable.
    pub regularizer: Option<Regularizer>,
    /// The partitioner of a new variable.
    pub partitioner: Option<Partitioner>,
    /// The constraint of a new variable.
    pub constraint: Option<Constraint>,
    /// Whether a new variable joins `trainable_variables`.
    pub trainable: bool,
    /// The reuse mode in force (`Reuse::Inherit` when nothing set one: TF's
    /// `reuse=False`, creating only).
    pub reuse: Reuse,
}

/// The getter a [`CustomGetter`] is handed: the next getter out (an outer
/// scope's custom getter, or in the end TF's "true getter", which shares or
/// creates the variable the request names).
pub type Getter<'a> = dyn Fn(&VariableRequest) -> Result<Variable> + 'a;

/// What a [`CustomGetter`] wraps.
pub type CustomGetterFn = dyn Fn(&Getter<'_>, &VariableRequest) -> Result<Variable> + Send + Sync;

/// Code that runs in place of `get_variable` in a variable scope (TF
/// `variable_scope(custom_getter=…)`): it is given the next getter and the
/// request, and returns a variable, usually by calling the getter, maybe with
/// a changed request. It runs on every `get_variable` call, sharing or not.
/// A scope's getter wraps the enclosing scope's (for a re-entered scope, the
/// captured scope's): the inner one is called first, and its `getter` calls
/// the outer one, as TF's `_maybe_wrap_custom_getter`.
/// A `get_variable` called from inside a getter goes through the scope's
/// getters again, as in TF. Getters run holding no lock.
///
/// # Examples
///
/// A getter that makes every variable of a scope non-trainable:
///
/// ```
/// use scope_runtime::{get_variable, variable_scope, CustomGetter, Graph};
/// let frozen = CustomGetter::new(|getter, request| {
///     let mut request = request.clone();
///     request.trainable = false;
///     getter(&request)
/// });
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = variable_scope("frozen").custom_getter(frozen).with(|_| get_variable("w", [2]).get())?;
/// assert_eq!((w.name(), w.trainable()), ("frozen/w", false));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Clone)]
pub struct CustomGetter(Arc<CustomGetterFn>);

impl CustomGetter {
    /// A custom getter running `f(getter, request)`.
    pub fn new(f: impl Fn(&Getter<'_>, &VariableRequest) -> Result<Variable> + Send + Sync + 'static) -> CustomGetter {
        CustomGetter(Arc::new(f))
    }

    /// Runs the getter on `request` with `getter` as the next one out.
    ///
    /// # Errors
    ///
    /// Whatever the getter returns.
    pub fn call(&self, getter: &Getter<'_>, request: &VariableRequest) -> Result<Variable> {
        (self.0)(getter, request)
    }

    /// `inner` wrapping `outer`: `inner` is called with a getter that calls
    /// `outer` with the original getter (TF `_maybe_wrap_custom_getter`).
    pub(crate) fn wrapping(inner: &CustomGetter, outer: &CustomGetter) -> CustomGetter {
        let (inner, outer) = (inner.clone(), outer.clone());
        CustomGetter::new(move |getter, request| inner.call(&|r: &VariableRequest| outer.call(getter, r), request))
    }
}

impl std::fmt::Debug for CustomGetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomGetter(..)")
    }
}
