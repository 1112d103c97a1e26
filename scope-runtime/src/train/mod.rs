//! Training: TF1's optimizers as graph builders. An optimizer turns a loss
//! into gradients (`compute_gradients`) and gradients into in-place variable
//! updates (`apply_gradients`), with TensorFlow's names: the updates under
//! `<optimizer>/update_<variable>/`, the step counted in `global_step`.

use crate::base::{DType, Error, Operation, Result, Tensor, Value};
use crate::graph::{CollectionItem, get_default_graph};
use crate::ops::{apply_gradient_descent, gradients_gated, named};
use crate::scope::{control_dependencies, name_scope};
use crate::store::get_variable;
use crate::variable::{Init, Variable};

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
    /// The name of the scope the updates go under (TF's `name`, such as `GradientDescent`).
    fn name(&self) -> &str;

    /// Builds, inside the optimizer's scope, what every update uses (TF
    /// `_prepare`: the learning rate as `<name>/learning_rate`, …).
    ///
    /// # Errors
    ///
    /// Those of the ops it builds.
    fn prepare(&self) -> Result<Prepared>;

    /// Builds the update of `var` by `grad`, inside `<name>/update_<var>/`
    /// (TF `_apply_dense`).
    ///
    /// # Errors
    ///
    /// Those of the ops it builds.
    fn apply_dense(&self, prepared: &Prepared, grad: &Tensor, var: &Variable) -> Result<Operation>;

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

/// What an optimizer's [`prepare`](Optimizer::prepare) built: the tensors its
/// updates share.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The learning rate tensor.
    pub learning_rate: Tensor,
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
    fn name(&self) -> &str {
        &self.name
    }

    fn prepare(&self) -> Result<Prepared> {
        Ok(Prepared { learning_rate: named("learning_rate").constant(self.learning_rate as f32)? })
    }

    fn apply_dense(&self, prepared: &Prepared, grad: &Tensor, var: &Variable) -> Result<Operation> {
        let rate = learning_rate_as(&prepared.learning_rate, var.dtype())?;
        Ok(apply_gradient_descent(var, &rate, grad)?.op())
    }
}

/// The learning rate in the variable's dtype (TF `math_ops.cast`, which adds
/// no node when the dtype is already right).
fn learning_rate_as(rate: &Tensor, dtype: DType) -> Result<Tensor> {
    if rate.dtype == dtype { Ok(rate.clone()) } else { crate::ops::cast(rate, dtype) }
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
