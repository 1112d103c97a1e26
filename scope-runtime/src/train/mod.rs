//! Training: TF1's optimizers as graph builders. An optimizer turns a loss
//! into gradients (`compute_gradients`) and gradients into in-place variable
//! updates (`apply_gradients`), with TensorFlow's names: the updates under
//! `<optimizer>/update_<variable>/`, the step counted in `global_step`.

use crate::base::{DType, Error, Operation, Result, Tensor, Value};
use crate::graph::{CollectionItem, get_default_graph};
use crate::ops::{apply_gradient_descent, apply_momentum, gradients_gated, named};
use crate::scope::{control_dependencies, name_scope, variable_scope};
use crate::store::get_variable;
use crate::variable::{Init, Variable};
use rustc_hash::FxHashMap;
use std::sync::Mutex;

/// The collection holding the global step (TF `GraphKeys.GLOBAL_STEP`).
pub const GLOBAL_STEP: &str = "global_step";

/// A gradient and the variable it updates; `None` where the loss does not
/// depend on the variable (TF's `(gradient, variable)` pairs).
pub type GradAndVar = (Option<Tensor>, Variable);

/// The step counter of the graph: the variable of the `global_step`
/// collection, else a new int64 scalar `global_step`, zero, not trainable
/// (TF `tf.train.get_or_create_global_step`). Optimizers add one to it per
/// step when given it.
///
/// # Errors
///
/// [`Error::NoDefaultGraph`], and those of [`get_variable`] (a variable
/// `global_step` of another shape or dtype exists).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_or_create_global_step, DType, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let step = get_or_create_global_step()?;
/// assert_eq!((step.name(), step.dtype(), step.trainable()), ("global_step", DType::I64, false));
/// assert_eq!(get_or_create_global_step()?, step);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn get_or_create_global_step() -> Result<Variable> {
    let graph = get_default_graph()?;
    let existing = graph.get_collection(GLOBAL_STEP, None)?.into_iter().find_map(|item| match item {
        CollectionItem::Variable(v) => Some(v),
        CollectionItem::Tensor(_) => None,
    });
    if let Some(step) = existing {
        return Ok(step);
    }
    let _root = name_scope(None).enter()?;
    let step =
        get_variable(GLOBAL_STEP, [0usize; 0]).dtype(DType::I64).initializer(Init::Zeros).trainable(false).get()?;
    graph.add_to_collection(GLOBAL_STEP, CollectionItem::Variable(step.clone()));
    Ok(step)
}

/// A TF1 optimizer: what differs between GradientDescent, Momentum, Adam…
/// is its name, the tensors it prepares once per `apply_gradients` and the
/// update of one variable; computing gradients, naming and counting steps are
/// shared (TF `tf.compat.v1.train.Optimizer`).
pub trait Optimizer {
    /// What [`prepare`](Self::prepare) builds for the updates to share.
    type Prepared;

    /// The name of the scope the updates go under (TF's `name`, such as `GradientDescent`).
    fn name(&self) -> &str;

    /// Creates the slot variables each of `vars` needs, once per optimizer
    /// and variable (TF `_create_slots`); none by default.
    ///
    /// # Errors
    ///
    /// Those of [`get_variable`].
    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let _ = vars;
        Ok(())
    }

    /// Builds, inside the optimizer's scope, what every update uses (TF
    /// `_prepare`: the learning rate as `<name>/learning_rate`, …).
    ///
    /// # Errors
    ///
    /// Those of the ops it builds.
    fn prepare(&self) -> Result<Self::Prepared>;

    /// Builds the update of `var` by `grad`, inside `<name>/update_<var>/`
    /// (TF `_apply_dense`).
    ///
    /// # Errors
    ///
    /// Those of the ops it builds.
    fn apply_dense(&self, prepared: &Self::Prepared, grad: &Tensor, var: &Variable) -> Result<Operation>;

    /// The gradients of `loss` with respect to `var_list` (default: the
    /// graph's trainable variables), each released only once every gradient
    /// of the same op is computed, as TF's default `GATE_OP` (TF
    /// `compute_gradients`).
    ///
    /// # Errors
    ///
    /// [`Error::Optimizer`] for a loss that is not a float scalar-or-tensor,
    /// no variables, or a variable that is not a float; those of
    /// [`gradients`](crate::gradients).
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_variable, mul, reduce_sum, GradientDescentOptimizer, Graph, Init, Optimizer};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
    /// let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
    /// let pairs = GradientDescentOptimizer::new(0.1).compute_gradients(&loss, None)?;
    /// assert_eq!(pairs[0].1, w);
    /// assert!(pairs[0].0.as_ref().unwrap().name().starts_with("gradients/"));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn compute_gradients(&self, loss: &Tensor, var_list: Option<&[Variable]>) -> Result<Vec<GradAndVar>> {
        let fail = |problem: String| Error::Optimizer { optimizer: self.name().to_owned(), problem };
        if !loss.dtype.is_floating() {
            return Err(fail(format!(
                "the loss `{}` is {}; gradients need a float loss (cast it)",
                loss.name(),
                loss.dtype.name()
            )));
        }
        let vars = match var_list {
            Some(vars) => vars.to_vec(),
            None => get_default_graph()?.trainable_variables(None)?,
        };
        if vars.is_empty() {
            return Err(fail("there are no variables to optimize (no trainable variables and no var_list)".into()));
        }
        if let Some(v) = vars.iter().find(|v| !v.dtype().is_floating()) {
            return Err(fail(format!(
                "variable `{}` is {}; optimizers update float variables (leave it out of var_list)",
                v.name(),
                v.dtype().name()
            )));
        }
        if let Some(v) = vars.iter().find(|v| v.partitions().is_some()) {
            return Err(fail(format!(
                "variable `{}` is partitioned; scopeflow's optimizers update whole variables",
                v.name()
            )));
        }
        let xs: Vec<&Tensor> = vars.iter().map(Variable::variable_tensor).collect();
        let grads = gradients_gated(&[loss], &xs, &[], None, true)?;
        Ok(grads.into_iter().zip(vars).collect())
    }

    /// The op that updates every variable by its gradient and then adds one
    /// to `global_step` when given (the op is then the `AssignAdd` named after
    /// the optimizer's scope; else a `NoOp` of that name) (TF `apply_gradients`).
    ///
    /// # Errors
    ///
    /// [`Error::Optimizer`] when no pair has a gradient; those of the ops it
    /// builds. A failed call may leave ops in the graph (TF's does too).
    fn apply_gradients(&self, grads_and_vars: &[GradAndVar], global_step: Option<&Variable>) -> Result<Operation> {
        let with_grads: Vec<(&Tensor, &Variable)> =
            grads_and_vars.iter().filter_map(|(g, v)| g.as_ref().map(|g| (g, v))).collect();
        if with_grads.is_empty() {
            let names: Vec<&str> = grads_and_vars.iter().map(|(_, v)| v.name()).collect();
            return Err(Error::Optimizer {
                optimizer: self.name().to_owned(),
                problem: format!(
                    "no gradient reaches any of the variables {names:?}: the loss does not depend on them"
                ),
            });
        }
        self.create_slots(&with_grads.iter().map(|(_, v)| *v).collect::<Vec<_>>())?;
        let scope = name_scope(self.name()).enter()?;
        let scope_name = scope.name().to_owned();
        let prepared = self.prepare()?;
        let mut updates = Vec::with_capacity(with_grads.len());
        for (grad, var) in with_grads {
            let _update = name_scope(format!("update_{}", var.variable_tensor().name()).as_str()).enter()?;
            updates.push(self.apply_dense(&prepared, grad, var)?);
        }
        let update_refs: Vec<&Operation> = updates.iter().collect();
        let Some(step) = global_step else {
            return named(&scope_name).group(&update_refs);
        };
        let finished = named("update").group(&update_refs)?;
        let _after = control_dependencies(&[&finished]).enter()?;
        let one = named("value").constant(Value::filled(step.dtype(), &[], 1.0))?;
        Ok(named(&scope_name).assign_add(step, &one)?.op())
    }

    /// [`compute_gradients`](Self::compute_gradients) then
    /// [`apply_gradients`](Self::apply_gradients): one training step as one op
    /// (TF `minimize`).
    ///
    /// # Errors
    ///
    /// Those of both.
    ///
    /// # Examples
    ///
    /// ```
    /// use scope_runtime::{get_or_create_global_step, get_variable, mul, reduce_sum};
    /// use scope_runtime::{GradientDescentOptimizer, Graph, Init, Optimizer, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let w = get_variable("w", [2]).initializer(Init::Ones).get()?;
    /// let loss = reduce_sum(&mul(&w, &w)?, None, false)?; // d/dw = 2w
    /// let step = get_or_create_global_step()?;
    /// let train = GradientDescentOptimizer::new(0.25).minimize(&loss, None, Some(&step))?;
    /// assert_eq!(train.name(), "GradientDescent");
    /// Session::new(&graph).run_targets(&[&train], &[])?;
    /// assert_eq!(w.value()?.to_f64_vec(), vec![0.5, 0.5]);
    /// assert_eq!(step.value()?.to_f64_vec(), vec![1.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn minimize(
        &self,
        loss: &Tensor,
        var_list: Option<&[Variable]>,
        global_step: Option<&Variable>,
    ) -> Result<Operation> {
        let grads = self.compute_gradients(loss, var_list)?;
        self.apply_gradients(&grads, global_step)
    }
}

/// Plain gradient descent, `var -= learning_rate * grad` (TF
/// `tf.compat.v1.train.GradientDescentOptimizer`; one `ApplyGradientDescent`
/// per variable, no slots).
///
/// # Examples
///
/// ```
/// use scope_runtime::{GradientDescentOptimizer, Optimizer};
/// assert_eq!(GradientDescentOptimizer::new(0.1).name(), "GradientDescent");
/// assert_eq!(GradientDescentOptimizer::new(0.1).with_name("sgd").name(), "sgd");
/// ```
#[derive(Debug, Clone)]
pub struct GradientDescentOptimizer {
    learning_rate: f64,
    name: String,
}

impl GradientDescentOptimizer {
    /// Descends by `learning_rate` times the gradient each step.
    pub fn new(learning_rate: f64) -> GradientDescentOptimizer {
        GradientDescentOptimizer { learning_rate, name: "GradientDescent".to_owned() }
    }

    /// Names the optimizer's scope (default `GradientDescent`).
    #[must_use]
    pub fn with_name(mut self, name: &str) -> GradientDescentOptimizer {
        name.clone_into(&mut self.name);
        self
    }
}

impl Optimizer for GradientDescentOptimizer {
    /// The learning rate, `<name>/learning_rate`.
    type Prepared = Tensor;

    fn name(&self) -> &str {
        &self.name
    }

    fn prepare(&self) -> Result<Tensor> {
        hyperparameter("learning_rate", self.learning_rate)
    }

    fn apply_dense(&self, learning_rate: &Tensor, grad: &Tensor, var: &Variable) -> Result<Operation> {
        Ok(apply_gradient_descent(var, &cast_to(learning_rate, var)?, grad)?.op())
    }
}

/// Momentum SGD: `accum = momentum * accum + grad; var -= learning_rate * accum`,
/// or with Nesterov `var -= learning_rate * (grad + momentum * accum)` (TF
/// `tf.compat.v1.train.MomentumOptimizer`; one slot per variable,
/// `<var>/Momentum`, zeros, not trainable).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, mul, reduce_sum, Graph, Init, MomentumOptimizer, Optimizer, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = get_variable("w", [1]).initializer(Init::Ones).get()?;
/// let loss = reduce_sum(&mul(&w, &w)?, None, false)?; // d/dw = 2w
/// let train = MomentumOptimizer::new(0.25, 0.5).minimize(&loss, None, None)?;
/// assert_eq!(train.name(), "Momentum");
/// assert!(graph.variable("w/Momentum").is_some_and(|slot| !slot.trainable()));
/// let session = Session::new(&graph);
/// session.run_targets(&[&train], &[])?; // accum = 2, w = 1 - 0.5
/// session.run_targets(&[&train], &[])?; // accum = 0.5 * 2 + 1, w = 0.5 - 0.5
/// assert_eq!(w.value()?.to_f64_vec(), vec![0.0]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct MomentumOptimizer {
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    name: String,
    slots: SlotTable,
}

impl MomentumOptimizer {
    /// Momentum SGD with `learning_rate` and `momentum`.
    pub fn new(learning_rate: f64, momentum: f64) -> MomentumOptimizer {
        MomentumOptimizer {
            learning_rate,
            momentum,
            nesterov: false,
            name: "Momentum".to_owned(),
            slots: SlotTable::default(),
        }
    }

    /// Uses Nesterov momentum (TF `use_nesterov=True`).
    #[must_use]
    pub fn nesterov(mut self, nesterov: bool) -> MomentumOptimizer {
        self.nesterov = nesterov;
        self
    }

    /// Names the optimizer's scope and its slots (default `Momentum`).
    #[must_use]
    pub fn with_name(mut self, name: &str) -> MomentumOptimizer {
        name.clone_into(&mut self.name);
        self
    }

    /// The accumulator of `var` (TF `get_slot(var, "momentum")`), once
    /// `minimize` or `apply_gradients` has created it.
    pub fn slot(&self, var: &Variable) -> Option<Variable> {
        self.slots.get(var)
    }
}

impl Optimizer for MomentumOptimizer {
    /// The learning rate and the momentum, `<name>/learning_rate` and `<name>/momentum`.
    type Prepared = [Tensor; 2];

    fn name(&self) -> &str {
        &self.name
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        vars.iter().try_for_each(|v| self.slots.zeros(v, &self.name).map(drop))
    }

    fn prepare(&self) -> Result<[Tensor; 2]> {
        Ok([hyperparameter("learning_rate", self.learning_rate)?, hyperparameter("momentum", self.momentum)?])
    }

    fn apply_dense(&self, [learning_rate, momentum]: &[Tensor; 2], grad: &Tensor, var: &Variable) -> Result<Operation> {
        let accum = self.slots.get(var).ok_or_else(|| Error::Optimizer {
            optimizer: self.name.clone(),
            problem: format!("variable `{}` has no slot: create_slots was not called for it", var.name()),
        })?;
        let hyper = [&cast_to(learning_rate, var)?, grad, &cast_to(momentum, var)?];
        Ok(apply_momentum(var, &accum, hyper, self.nesterov)?.op())
    }
}

/// One kind of slot of an optimizer: each variable's own slot variable,
/// created once (TF's `_slots[name][var]`).
#[derive(Debug, Default)]
struct SlotTable(Mutex<FxHashMap<String, Variable>>);

impl SlotTable {
    fn get(&self, var: &Variable) -> Option<Variable> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(var.name()).cloned()
    }

    /// `var`'s slot, or a new one of zeros (TF `slot_creator.create_zeros_slot`):
    /// outside every name scope, in a fresh variable scope `<var>/<name>`
    /// (made unique: `<var>/<name>_1` for a second optimizer of that name),
    /// not trainable.
    fn zeros(&self, var: &Variable, name: &str) -> Result<Variable> {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = table.get(var.name()) {
            return Ok(slot.clone());
        }
        let _root = name_scope(None).enter()?;
        let default = format!("{}/{name}", var.variable_tensor().name());
        let _scope = variable_scope(None).default_name(&default).enter()?;
        let slot = get_variable("", var.shape()).dtype(var.dtype()).initializer(Init::Zeros).trainable(false).get()?;
        table.insert(var.name().to_owned(), slot.clone());
        Ok(slot)
    }
}

/// A hyperparameter as TF's `_prepare` converts a Python float: a float32
/// constant named `name` in the optimizer's scope.
fn hyperparameter(name: &str, value: f64) -> Result<Tensor> {
    named(name).constant(value as f32)
}

/// A hyperparameter in the variable's dtype (TF `math_ops.cast`, which adds
/// no node when the dtype is already right).
fn cast_to(t: &Tensor, var: &Variable) -> Result<Tensor> {
    if t.dtype == var.dtype() { Ok(t.clone()) } else { crate::ops::cast(t, var.dtype()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GLOBAL_VARIABLES;

    #[test]
    fn global_variables_hold_the_global_step() -> Result<()> {
        let graph = crate::graph::Graph::new();
        let _g = graph.as_default();
        let step = get_or_create_global_step()?;
        assert!(graph.get_collection(GLOBAL_VARIABLES, None)?.iter().any(|i| i.name() == step.name()));
        Ok(())
    }
}
