//! `tf.Variable`: a variable made from a value under the current name scope,
//! and the helper names TensorFlow uses up with every variable.

use crate::base::names::{NamesInUse, is_valid_name, join};
use crate::base::{DType, Error, NameKind, Result, Value};
use crate::ops::OpKind;
use crate::scope::with_ctx;
use crate::variable::{Constraint, Init, Storage, Variable};
use std::panic::Location;
use std::sync::{Arc, RwLock};

impl Variable {
    /// Creates a variable from an initial value (TF `tf.Variable`): always a new
    /// variable, named under the current *name* scope and made unique
    /// (`Variable`, `Variable_1`, …). It is not in `get_variable`'s store.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{name_scope, Graph, Variable};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let _s = name_scope("s1").enter()?;
    /// let w = Variable::new(vec![1i32, 2, 3]).name("w").build()?;
    /// assert_eq!(w.name(), "s1/w");
    /// assert_eq!(Variable::new(0.1f32).build()?.name(), "s1/Variable");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)] // reads as `tf.Variable(value, name=…)`; `.build()` returns the Variable
    pub fn new<'a>(value: impl Into<Value>) -> NewVariable<'a> {
        NewVariable { value: value.into(), name: None, dtype: None, trainable: true, constraint: None }
    }
}

/// A `tf.Variable` being created; see [`Variable::new`].
#[must_use = "the variable is created by `.build()`"]
pub struct NewVariable<'a> {
    value: Value,
    name: Option<&'a str>,
    dtype: Option<DType>,
    trainable: bool,
    constraint: Option<Constraint>,
}

impl<'a> NewVariable<'a> {
    crate::base::setters! {
        /// The name (default `Variable`), made unique under the current name scope.
        name: &'a str => Some;
        /// Converts the initial value to this dtype.
        dtype: DType => Some;
        /// Whether it joins `trainable_variables` (default `true`).
        trainable: bool;
        /// What optimizers apply after each update (TF `constraint=`); see [`Constraint`].
        constraint: Constraint => Some;
    }

    /// Creates the variable.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::NoDefaultGraph`].
    #[track_caller]
    pub fn build(self) -> Result<Variable> {
        let caller = Location::caller();
        with_ctx(|ctx| {
            let name = self.name.unwrap_or("Variable");
            let nested = !ctx.stack.name_scope.is_empty();
            let valid = is_valid_name(name, nested);
            if !valid {
                return Err(Error::InvalidName { name: name.to_owned(), kind: NameKind::Op, nested });
            }
            // TensorFlow's `name_scope(name, "Variable")`: `""` resets to the root,
            // where the op takes its type name; a name ending in `/` is used as is.
            let full = if name.is_empty() {
                OpKind::Variable.def().type_name.to_owned()
            } else {
                join(ctx.stack.name_stack(), name)
            };
            let full = if name.ends_with('/') { name.to_owned() } else { full };
            let mut state = ctx.graph.write();
            // The name is used from here on, also if the value does not convert.
            let op_name = state.claim_node_name(&full)?;
            let value = match self.dtype {
                Some(d) => self.value.convert(d).map_err(|e| match e {
                    Error::ValueConversion { from, to, .. } => {
                        Error::ValueConversion { name: Some(op_name.to_string()), from, to }
                    }
                    other => other,
                })?,
                None => self.value,
            };
            let state = &mut *state;
            let read_name =
                mark_helper_names(&mut state.names, &mut state.scratch, &op_name, Some(Helper::InitialValue));
            let key = op_name.clone();
            let (shape, dtype) = (value.shape().to_vec(), value.dtype());
            let init = Init::Value(Arc::new(value.clone()));
            let storage = Storage::Single {
                init,
                full_shape: shape.clone(),
                seed: Default::default(),
                value: RwLock::new(Some(Arc::new(value))),
            };
            Ok(state.commit_variable(
                read_name,
                ctx.graph.id(),
                op_name,
                key,
                shape,
                dtype,
                storage,
                self.trainable,
                self.constraint,
                caller,
            ))
        })
    }
}

/// The first helper op TensorFlow builds under a new variable's name.
pub(crate) enum Helper {
    /// `get_variable`: `v/Initializer/<op>` (`zeros`, `random_uniform`, …).
    Initializer(&'static str),
    /// `tf.Variable`: `v/initial_value`.
    InitialValue,
}

/// Marks the names of the helper ops TensorFlow 1.x builds with a variable
/// (its initializer, `Assign` and `read`), so later names avoid them as there,
/// and returns the name of `read`, the one of them scopeflow builds. The
/// names are made in `buf`, scratch space whose contents are replaced.
pub(crate) fn mark_helper_names(names: &mut NamesInUse, buf: &mut String, op: &str, first: Option<Helper>) -> Arc<str> {
    let mut mark = |suffix: &str, then: Option<&str>| {
        buf.clear();
        buf.push_str(op);
        buf.push_str(suffix);
        names.unique_into(buf);
        if let Some(inner) = then {
            buf.push('/');
            buf.push_str(inner);
            names.unique_into(buf);
        }
    };
    match first {
        Some(Helper::Initializer(init_op)) => mark("/Initializer", Some(init_op)),
        Some(Helper::InitialValue) => mark("/initial_value", None),
        None => {}
    }
    mark("/Assign", None);
    mark("/read", None);
    Arc::from(buf.as_str())
}
