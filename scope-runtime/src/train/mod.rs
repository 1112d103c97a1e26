//! Training: TF1's optimizers as graph builders. An optimizer turns a loss
//! into gradients (`compute_gradients`) and gradients into in-place variable
//! updates (`apply_gradients`), with TensorFlow's names: the updates under
//! `<optimizer>/update_<variable>/`, the step counted in `global_step`.

use crate::base::{DType, Error, Operation, Result, Tensor, Value};
use crate::graph::{CollectionItem, get_default_graph};
use crate::ops::{OpKind, apply_gradient_descent, apply_slots, assign, cast, gradients_gated, named};
use crate::scope::{control_dependencies, name_scope, variable_scope};
use crate::store::get_variable;
use crate::variable::{Init, Variable};
use rustc_hash::FxHashMap;
use std::sync::Mutex;

#[cfg(feature = "mpi")]
pub(crate) mod distributed;
mod schedules;

pub use schedules::{exponential_decay, piecewise_constant};

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

/// An optimizer's learning rate: a number, made the constant
/// `<optimizer>/learning_rate` as TF makes it, or a float scalar tensor
/// computed each step, such as a decay schedule on the global step
/// ([`exponential_decay`], [`piecewise_constant`]).
///
/// # Examples
///
/// ```
/// use scope_runtime::{constant, GradientDescentOptimizer, Graph, LearningRate};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let _fixed = GradientDescentOptimizer::new(0.1);
/// let _computed = GradientDescentOptimizer::new(&constant(0.1f32)?);
/// assert!(matches!(LearningRate::from(0.1), LearningRate::Constant(_)));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug, Clone)]
pub enum LearningRate {
    /// A fixed learning rate.
    Constant(f64),
    /// A float scalar tensor, read each step.
    Tensor(Tensor),
}

impl From<f64> for LearningRate {
    fn from(rate: f64) -> LearningRate {
        LearningRate::Constant(rate)
    }
}

impl From<Tensor> for LearningRate {
    fn from(rate: Tensor) -> LearningRate {
        LearningRate::Tensor(rate)
    }
}

impl From<&Tensor> for LearningRate {
    fn from(rate: &Tensor) -> LearningRate {
        LearningRate::Tensor(rate.clone())
    }
}

impl LearningRate {
    /// The learning rate as the updates read it, in the optimizer's scope
    /// (TF `_prepare`: `convert_to_tensor(lr, name="learning_rate")`).
    fn tensor(&self) -> Result<Tensor> {
        match self {
            LearningRate::Constant(rate) => hyperparameter("learning_rate", *rate),
            LearningRate::Tensor(t) if t.dtype.is_floating() && t.shape.rank() == Some(0) => Ok(t.clone()),
            LearningRate::Tensor(t) => Err(Error::LearningRate {
                name: t.name().to_owned(),
                problem: format!(
                    "it is {} of shape {}; a learning rate is a float scalar (cast or reshape it)",
                    t.dtype.name(),
                    t.shape
                ),
            }),
        }
    }
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

    /// Builds the op that ends a step, named `name`: by default a `NoOp`
    /// after `updates` (TF `_finish`; Adam also advances its beta powers).
    ///
    /// # Errors
    ///
    /// Those of the ops it builds.
    fn finish(&self, prepared: &Self::Prepared, updates: &[Operation], name: &str) -> Result<Operation> {
        let _ = prepared;
        named(name).group(&updates.iter().collect::<Vec<_>>())
    }

    /// The gradients of `loss` with respect to `var_list` (default: the
    /// graph's trainable variables), each released only once every gradient
    /// of the same op is computed, as TF's default `GATE_OP` (TF
    /// `compute_gradients`).
    ///
    /// # Errors
    ///
    /// [`Error::Optimizer`] for a loss that is not a float, no variables, or
    /// a variable that is not a float which a gradient reaches; those of
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
        get_default_graph()?.undo_on_error(|| compute_gradients(self, loss, var_list))
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
        get_default_graph()?.undo_on_error(|| apply_gradients(self, grads_and_vars, global_step))
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
        get_default_graph()?.undo_on_error(|| {
            let grads = self.compute_gradients(loss, var_list)?;
            self.apply_gradients(&grads, global_step)
        })
    }
}

/// The body of [`Optimizer::compute_gradients`], which undoes it when it fails.
fn compute_gradients<O: Optimizer + ?Sized>(
    opt: &O,
    loss: &Tensor,
    var_list: Option<&[Variable]>,
) -> Result<Vec<GradAndVar>> {
    let fail = |problem: String| Error::Optimizer { optimizer: opt.name().to_owned(), problem };
    if !loss.dtype.is_floating() {
        return Err(fail(format!(
            "the loss `{}` is {}; gradients need a float loss (cast it)",
            loss.name(),
            loss.dtype.name()
        )));
    }
    if loss.shape.rank().is_some_and(|r| r > 0) {
        return Err(fail(format!(
            "the loss `{}` has shape {}; an optimizer minimizes a scalar (reduce it first, e.g. reduce_mean)",
            loss.name(),
            loss.shape
        )));
    }
    let vars = match var_list {
        Some(vars) => vars.to_vec(),
        None => get_default_graph()?.trainable_variables(None)?,
    };
    if vars.is_empty() {
        return Err(fail("there are no variables to optimize (no trainable variables and no var_list)".into()));
    }
    if let Some(v) = vars.iter().find(|v| v.partitions().is_some()) {
        return Err(fail(format!(
            "variable `{}` is partitioned; scopeflow's optimizers update whole variables",
            v.name()
        )));
    }
    let xs: Vec<&Tensor> = vars.iter().map(Variable::variable_tensor).collect();
    let grads = gradients_gated(&[loss], &xs, &[], None, true)?;
    // As TF, only variables a gradient reaches must be floats.
    if let Some((_, v)) = grads.iter().zip(&vars).find(|(g, v)| g.is_some() && !v.dtype().is_floating()) {
        return Err(fail(format!(
            "variable `{}` is {}; optimizers update float variables (leave it out of var_list)",
            v.name(),
            v.dtype().name()
        )));
    }
    Ok(grads.into_iter().zip(vars).collect())
}

/// The body of [`Optimizer::apply_gradients`], which undoes it when it fails.
fn apply_gradients<O: Optimizer + ?Sized>(
    opt: &O,
    grads_and_vars: &[GradAndVar],
    global_step: Option<&Variable>,
) -> Result<Operation> {
    let with_grads: Vec<(&Tensor, &Variable)> =
        grads_and_vars.iter().filter_map(|(g, v)| g.as_ref().map(|g| (g, v))).collect();
    if with_grads.is_empty() {
        let names: Vec<&str> = grads_and_vars.iter().map(|(_, v)| v.name()).collect();
        return Err(Error::Optimizer {
            optimizer: opt.name().to_owned(),
            problem: format!("no gradient reaches any of the variables {names:?}: the loss does not depend on them"),
        });
    }
    opt.create_slots(&with_grads.iter().map(|(_, v)| *v).collect::<Vec<_>>())?;
    let scope = name_scope(opt.name()).enter()?;
    let scope_name = scope.name().to_owned();
    let prepared = opt.prepare()?;
    let mut updates = Vec::with_capacity(with_grads.len());
    for (grad, var) in with_grads {
        let _update = name_scope(format!("update_{}", var.variable_tensor().name()).as_str()).enter()?;
        // A constrained variable's update ends in the `Assign` of its constraint, as TF's.
        let update = opt.apply_dense(&prepared, grad, var)?;
        updates.push(crate::ops::apply_constraint(var, update)?);
    }
    let Some(step) = global_step else {
        return opt.finish(&prepared, &updates, &scope_name);
    };
    let finished = opt.finish(&prepared, &updates, "update")?;
    let _after = control_dependencies(&[&finished]).enter()?;
    let one = named("value").constant(Value::filled(step.dtype(), &[], 1.0))?;
    Ok(named(&scope_name).assign_add(step, &one)?.op())
}

/// An optimizer struct's `with_name`, and `slot` for one with slots (its
/// `name` and `slots` fields).
macro_rules! naming {
    ($ty:ident, $default:literal $(, slots: $names:literal)?) => {
        impl $ty {
            #[doc = concat!("Names the optimizer's scope and its slots (default `", $default, "`).")]
            #[must_use]
            pub fn with_name(mut self, name: &str) -> $ty {
                name.clone_into(&mut self.name);
                self
            }
            $(
                #[doc = concat!("The slot `name` of `var` (", $names, "; TF `get_slot`), once `minimize` or `apply_gradients` created it.")]
                pub fn slot(&self, var: &Variable, name: &str) -> Option<Variable> {
                    self.slots.get(name, var)
                }
            )?
        }
    };
}

naming!(GradientDescentOptimizer, "GradientDescent");
naming!(MomentumOptimizer, "Momentum", slots: "`\"momentum\"`");
naming!(AdamOptimizer, "Adam", slots: "`\"m\"`, `\"v\"`");
naming!(RMSPropOptimizer, "RMSProp", slots: "`\"rms\"`, `\"momentum\"`, centered `\"mg\"`");
naming!(AdagradOptimizer, "Adagrad", slots: "`\"accumulator\"`");

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
    learning_rate: LearningRate,
    name: String,
}

impl GradientDescentOptimizer {
    /// Descends by `learning_rate` times the gradient each step.
    pub fn new(learning_rate: impl Into<LearningRate>) -> GradientDescentOptimizer {
        GradientDescentOptimizer { learning_rate: learning_rate.into(), name: "GradientDescent".to_owned() }
    }
}

impl Optimizer for GradientDescentOptimizer {
    /// The learning rate, `<name>/learning_rate`.
    type Prepared = Tensor;

    fn name(&self) -> &str {
        &self.name
    }

    fn prepare(&self) -> Result<Tensor> {
        self.learning_rate.tensor()
    }

    fn apply_dense(&self, learning_rate: &Tensor, grad: &Tensor, var: &Variable) -> Result<Operation> {
        Ok(apply_gradient_descent(var, &cast(learning_rate, var.dtype())?, grad)?.op())
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
    learning_rate: LearningRate,
    momentum: f64,
    nesterov: bool,
    name: String,
    slots: Slots,
}

impl MomentumOptimizer {
    /// Momentum SGD with `learning_rate` and `momentum`.
    pub fn new(learning_rate: impl Into<LearningRate>, momentum: f64) -> MomentumOptimizer {
        MomentumOptimizer {
            learning_rate: learning_rate.into(),
            momentum,
            nesterov: false,
            name: "Momentum".to_owned(),
            slots: Slots::default(),
        }
    }

    /// Uses Nesterov momentum (TF `use_nesterov=True`).
    #[must_use]
    pub fn nesterov(mut self, nesterov: bool) -> MomentumOptimizer {
        self.nesterov = nesterov;
        self
    }
}

impl Optimizer for MomentumOptimizer {
    /// The learning rate and the momentum, `<name>/learning_rate` and `<name>/momentum`.
    type Prepared = [Tensor; 2];

    fn name(&self) -> &str {
        &self.name
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        vars.iter().try_for_each(|v| self.slots.make("momentum", v, &self.name, Init::Zeros))
    }

    fn prepare(&self) -> Result<[Tensor; 2]> {
        Ok([self.learning_rate.tensor()?, hyperparameter("momentum", self.momentum)?])
    }

    fn apply_dense(&self, [learning_rate, momentum]: &[Tensor; 2], grad: &Tensor, var: &Variable) -> Result<Operation> {
        let accum = self.slots.require(&self.name, "momentum", var)?;
        let rest = [&cast(learning_rate, var.dtype())?, grad, &cast(momentum, var.dtype())?];
        Ok(apply_slots(OpKind::ApplyMomentum, &[var, &accum], &rest, self.nesterov)?.op())
    }
}

/// Adam (TF `tf.compat.v1.train.AdamOptimizer`): per variable the moments
/// `<var>/Adam` and `<var>/Adam_1` (zeros), and once per graph the powers
/// `beta1_power` and `beta2_power` (in the name scope `minimize` is called
/// in; `beta1`, `beta2` at first), which each step
/// multiplies by `beta1` and `beta2` after the updates; defaults as TF
/// (`beta1` 0.9, `beta2` 0.999, `epsilon` 1e-8).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, mul, reduce_sum, AdamOptimizer, Graph, Init, Optimizer, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = get_variable("w", [1]).initializer(Init::Ones).get()?;
/// let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
/// let train = AdamOptimizer::new(0.1).minimize(&loss, None, None)?;
/// let names: Vec<String> = graph.global_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
/// assert_eq!(names, ["w", "beta1_power", "beta2_power", "w/Adam", "w/Adam_1"]);
/// Session::new(&graph).run_targets(&[&train], &[])?;
/// // The first step moves by the learning rate, whatever the gradient's size.
/// assert!((w.value()?.to_f64_vec()[0] - 0.9).abs() < 1e-6);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct AdamOptimizer {
    learning_rate: LearningRate,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    name: String,
    slots: Slots,
    powers: Mutex<FxHashMap<u64, [Variable; 2]>>,
}

impl AdamOptimizer {
    /// Adam with `learning_rate` and TF's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdamOptimizer {
        AdamOptimizer {
            learning_rate: learning_rate.into(),
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            name: "Adam".to_owned(),
            slots: Slots::default(),
            powers: Mutex::default(),
        }
    }

    crate::base::setters! {
        /// The decay of the first moment (default 0.9).
        beta1: f64;
        /// The decay of the second moment (default 0.999).
        beta2: f64;
        /// Added to the root of the second moment (default 1e-8).
        epsilon: f64;
    }

    /// `beta1_power` and `beta2_power` of the default graph, once created.
    fn powers(&self) -> Result<[Variable; 2]> {
        let graph = get_default_graph()?.id();
        self.powers.lock().unwrap_or_else(|e| e.into_inner()).get(&graph).cloned().ok_or_else(|| Error::Optimizer {
            optimizer: self.name.clone(),
            problem: "its beta powers do not exist in this graph: create_slots was not called".into(),
        })
    }
}

impl Optimizer for AdamOptimizer {
    /// `<name>/learning_rate`, `beta1`, `beta2` and `epsilon`.
    type Prepared = [Tensor; 4];

    fn name(&self) -> &str {
        &self.name
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let graph = get_default_graph()?.id();
        {
            let mut powers = self.powers.lock().unwrap_or_else(|e| e.into_inner());
            // Made again when a failed call took them out of the graph.
            if powers.get(&graph).is_none_or(|made| !made.iter().all(in_default_graph)) {
                // TF `_create_non_slot_variable`: plain variables in the current name scope.
                let make = |name, value: f64| Variable::new(value as f32).name(name).trainable(false).build();
                powers.insert(graph, [make("beta1_power", self.beta1)?, make("beta2_power", self.beta2)?]);
            }
        }
        for v in vars {
            self.slots.make("m", v, &self.name, Init::Zeros)?;
            self.slots.make("v", v, &self.name, Init::Zeros)?;
        }
        Ok(())
    }

    fn prepare(&self) -> Result<[Tensor; 4]> {
        Ok([
            self.learning_rate.tensor()?,
            hyperparameter("beta1", self.beta1)?,
            hyperparameter("beta2", self.beta2)?,
            hyperparameter("epsilon", self.epsilon)?,
        ])
    }

    fn apply_dense(&self, prepared: &[Tensor; 4], grad: &Tensor, var: &Variable) -> Result<Operation> {
        let [beta1_power, beta2_power] = self.powers()?;
        let (m, v) = (self.slots.require(&self.name, "m", var)?, self.slots.require(&self.name, "v", var)?);
        let [lr, beta1, beta2, epsilon] = prepared;
        let mut rest = Vec::with_capacity(7);
        for t in [beta1_power.tensor(), beta2_power.tensor(), lr, beta1, beta2, epsilon] {
            rest.push(cast(t, var.dtype())?);
        }
        rest.push(grad.clone());
        Ok(apply_slots(OpKind::ApplyAdam, &[var, &m, &v], &rest.iter().collect::<Vec<_>>(), false)?.op())
    }

    fn finish(&self, prepared: &[Tensor; 4], updates: &[Operation], name: &str) -> Result<Operation> {
        let [beta1_power, beta2_power] = self.powers()?;
        let _after = control_dependencies(&updates.iter().collect::<Vec<_>>()).enter()?;
        let advance1 = assign(&beta1_power, &named("mul").mul(beta1_power.tensor(), &prepared[1])?)?.op();
        let advance2 = assign(&beta2_power, &named("mul").mul(beta2_power.tensor(), &prepared[2])?)?.op();
        let all: Vec<&Operation> = updates.iter().chain([&advance1, &advance2]).collect();
        named(name).group(&all)
    }
}

/// RMSProp (TF `tf.compat.v1.train.RMSPropOptimizer`): per variable the mean
/// square `<var>/RMSProp` (ones), with `centered` the mean `<var>/RMSProp_1`,
/// and the momentum (`<var>/RMSProp_1`, or `_2` when centered; zeros);
/// defaults as TF (`decay` 0.9, `momentum` 0, `epsilon` 1e-10).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, mul, reduce_sum, Graph, Init, Optimizer, RMSPropOptimizer};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = get_variable("w", [1]).initializer(Init::Ones).get()?;
/// let loss = reduce_sum(&mul(&w, &w)?, None, false)?;
/// RMSPropOptimizer::new(0.01).centered(true).minimize(&loss, None, None)?;
/// assert!(["w/RMSProp", "w/RMSProp_1", "w/RMSProp_2"].iter().all(|n| graph.variable(n).is_some()));
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct RMSPropOptimizer {
    learning_rate: LearningRate,
    decay: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
    name: String,
    slots: Slots,
}

impl RMSPropOptimizer {
    /// RMSProp with `learning_rate` and TF's other defaults.
    pub fn new(learning_rate: impl Into<LearningRate>) -> RMSPropOptimizer {
        RMSPropOptimizer {
            learning_rate: learning_rate.into(),
            decay: 0.9,
            momentum: 0.0,
            epsilon: 1e-10,
            centered: false,
            name: "RMSProp".to_owned(),
            slots: Slots::default(),
        }
    }

    crate::base::setters! {
        /// The decay of the mean square (default 0.9).
        decay: f64;
        /// The momentum (default 0).
        momentum: f64;
        /// Added to the mean square under the root (default 1e-10).
        epsilon: f64;
        /// Divides by the variance instead of the mean square (default `false`).
        centered: bool;
    }
}

impl Optimizer for RMSPropOptimizer {
    /// `<name>/learning_rate`, `decay`, `momentum` and `epsilon`.
    type Prepared = [Tensor; 4];

    fn name(&self) -> &str {
        &self.name
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        for v in vars {
            self.slots.make("rms", v, &self.name, Init::Ones)?;
            if self.centered {
                self.slots.make("mg", v, &self.name, Init::Zeros)?;
            }
            self.slots.make("momentum", v, &self.name, Init::Zeros)?;
        }
        Ok(())
    }

    fn prepare(&self) -> Result<[Tensor; 4]> {
        Ok([
            self.learning_rate.tensor()?,
            hyperparameter("decay", self.decay)?,
            hyperparameter("momentum", self.momentum)?,
            hyperparameter("epsilon", self.epsilon)?,
        ])
    }

    fn apply_dense(&self, prepared: &[Tensor; 4], grad: &Tensor, var: &Variable) -> Result<Operation> {
        let rms = self.slots.require(&self.name, "rms", var)?;
        let mom = self.slots.require(&self.name, "momentum", var)?;
        let mut rest = Vec::with_capacity(5);
        for t in prepared {
            rest.push(cast(t, var.dtype())?);
        }
        rest.push(grad.clone());
        let rest: Vec<&Tensor> = rest.iter().collect();
        let op = if self.centered {
            let mg = self.slots.require(&self.name, "mg", var)?;
            apply_slots(OpKind::ApplyCenteredRMSProp, &[var, &mg, &rms, &mom], &rest, false)?
        } else {
            apply_slots(OpKind::ApplyRMSProp, &[var, &rms, &mom], &rest, false)?
        };
        Ok(op.op())
    }
}

/// Adagrad (TF `tf.compat.v1.train.AdagradOptimizer`): per variable the
/// accumulator of squared gradients `<var>/Adagrad`, starting at
/// `initial_accumulator_value` (default 0.1).
///
/// # Examples
///
/// ```
/// use scope_runtime::{get_variable, mul, reduce_sum, AdagradOptimizer, Graph, Init, Optimizer, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let w = get_variable("w", [1]).initializer(Init::Ones).get()?;
/// let loss = reduce_sum(&mul(&w, &w)?, None, false)?; // gradient 2
/// let opt = AdagradOptimizer::new(0.5).initial_accumulator_value(0.25);
/// let train = opt.minimize(&loss, None, None)?;
/// Session::new(&graph).run_targets(&[&train], &[])?; // accum 4.25, w = 1 - 0.5 * 2 / sqrt(4.25)
/// assert!((w.value()?.to_f64_vec()[0] - (1.0 - 1.0 / 4.25f64.sqrt())).abs() < 1e-6);
/// assert_eq!(opt.slot(&w, "accumulator").unwrap().value()?.to_f64_vec(), vec![4.25]);
/// assert!(AdagradOptimizer::new(0.5).initial_accumulator_value(0.0).minimize(&loss, None, None).is_err());
/// # Ok::<(), scope_runtime::Error>(())
/// ```
#[derive(Debug)]
pub struct AdagradOptimizer {
    learning_rate: LearningRate,
    initial_accumulator_value: f64,
    name: String,
    slots: Slots,
}

impl AdagradOptimizer {
    /// Adagrad with `learning_rate` and TF's initial accumulator 0.1.
    pub fn new(learning_rate: impl Into<LearningRate>) -> AdagradOptimizer {
        AdagradOptimizer {
            learning_rate: learning_rate.into(),
            initial_accumulator_value: 0.1,
            name: "Adagrad".to_owned(),
            slots: Slots::default(),
        }
    }

    crate::base::setters! {
        /// The accumulators' starting value (default 0.1).
        initial_accumulator_value: f64;
    }
}

impl Optimizer for AdagradOptimizer {
    /// `<name>/learning_rate`.
    type Prepared = Tensor;

    fn name(&self) -> &str {
        &self.name
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        if self.initial_accumulator_value.is_nan() || self.initial_accumulator_value <= 0.0 {
            return Err(Error::Optimizer {
                optimizer: self.name.clone(),
                problem: format!(
                    "initial_accumulator_value must be positive, got {} (a zero accumulator divides by zero)",
                    self.initial_accumulator_value
                ),
            });
        }
        let init = Init::Constant(self.initial_accumulator_value);
        vars.iter().try_for_each(|v| self.slots.make("accumulator", v, &self.name, init.clone()))
    }

    fn prepare(&self) -> Result<Tensor> {
        self.learning_rate.tensor()
    }

    fn apply_dense(&self, learning_rate: &Tensor, grad: &Tensor, var: &Variable) -> Result<Operation> {
        let accum = self.slots.require(&self.name, "accumulator", var)?;
        Ok(apply_slots(OpKind::ApplyAdagrad, &[var, &accum], &[&cast(learning_rate, var.dtype())?, grad], false)?.op())
    }
}

/// An optimizer's slot variables, by variable (its graph and name) and slot
/// name, each created once (TF's `_slots[slot][var]`).
#[derive(Debug, Default)]
struct Slots(Mutex<FxHashMap<(u64, String), SlotsOf>>);

/// One variable's slots by slot name.
type SlotsOf = FxHashMap<&'static str, Variable>;

impl Slots {
    fn key(var: &Variable) -> (u64, String) {
        (var.variable_tensor().graph_id, var.name().to_owned())
    }

    fn get(&self, slot: &str, var: &Variable) -> Option<Variable> {
        let table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        table.get(&Self::key(var)).and_then(|slots| slots.get(slot)).cloned()
    }

    /// The slot `slot` of `var`, failing when `create_slots` did not make it.
    fn require(&self, optimizer: &str, slot: &'static str, var: &Variable) -> Result<Variable> {
        self.get(slot, var).ok_or_else(|| Error::Optimizer {
            optimizer: optimizer.to_owned(),
            problem: format!("variable `{}` has no `{slot}` slot: create_slots was not called for it", var.name()),
        })
    }

    /// Creates `var`'s slot `slot` unless it exists, as TF's
    /// `slot_creator.create_slot_with_initializer`: outside every name scope,
    /// in a fresh variable scope `<var>/<op_name>` (made unique: `<var>/<op_name>_1`
    /// for a second slot or optimizer of that name), `get_variable("")` of the
    /// variable's shape and dtype, not trainable.
    fn make(&self, slot: &'static str, var: &Variable, op_name: &str, init: Init) -> Result<()> {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let slots = table.entry(Self::key(var)).or_default();
        // Made again when a failed call took it out of the graph.
        if slots.get(slot).is_some_and(in_default_graph) {
            return Ok(());
        }
        if crate::scope::current_variable_scope()?.partitioner().is_some() {
            return Err(Error::Optimizer {
                optimizer: op_name.to_owned(),
                problem: format!(
                    "the slot of `{}` would be partitioned by the current variable scope's partitioner \
                     (TF turns it off for slots; scopeflow does not yet): build the optimizer outside that scope",
                    var.name()
                ),
            });
        }
        let _root = name_scope(None).enter()?;
        let default = format!("{}/{op_name}", var.variable_tensor().name());
        let _scope = variable_scope(None).default_name(&default).enter()?;
        let made = get_variable("", var.shape()).dtype(var.dtype()).initializer(init).trainable(false).get()?;
        slots.insert(slot, made);
        Ok(())
    }
}

/// Whether `var` is still the default graph's variable of its name (a failed
/// call that made it has taken it out; see `Graph::undo_on_error`).
fn in_default_graph(var: &Variable) -> bool {
    get_default_graph().and_then(|g| g.global_variables(None)).is_ok_and(|all| all.contains(var))
}

/// A hyperparameter as TF's `_prepare` converts a Python float: a float32
/// constant named `name` in the optimizer's scope.
fn hyperparameter(name: &str, value: f64) -> Result<Tensor> {
    named(name).constant(value as f32)
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
