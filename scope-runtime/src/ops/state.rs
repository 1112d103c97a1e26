//! Constructors of ops run for their effect: assignments to variables,
//! control dependencies, groups and no-ops.

use super::{OpKind, build_op};
use crate::base::{Error, Operation, Result, Shape, Tensor};
use crate::graph::Attr;
use crate::variable::Variable;

fn assignment(kind: OpKind, name: Option<&str>, var: &Variable, value: &Tensor) -> Result<Tensor> {
    if var.partitions().is_some() {
        return Err(Error::PartitionedAssign { name: var.name().to_owned() });
    }
    let built = build_op(kind, name, &[var.variable_tensor(), value], &[], Attr::Variable(var.clone()))?;
    Ok(built.outputs.into_iter().next().expect("the op table gives assignments one output"))
}

/// What an optimizer builds after `update`, the update of `var`, when `var`
/// has a constraint (TF `_RefVariableProcessor.update_op`): under
/// `control_dependencies([update])`, the constraint's ops on `var` and an
/// `Assign` of their result, whose op is returned; else `update` itself.
pub(crate) fn apply_constraint(var: &Variable, update: Operation) -> Result<Operation> {
    let Some(constraint) = var.constraint() else { return Ok(update) };
    let _after = crate::scope::control_dependencies(&[&update]).enter()?;
    let value = constraint.apply(var)?;
    if value.dtype != var.dtype() || !value.shape.is_compatible_with(&Shape::from(var.shape())) {
        return Err(Error::ConstraintOutput {
            name: var.name().to_owned(),
            expected_shape: var.shape().to_vec(),
            expected_dtype: var.dtype(),
            shape: Box::new(value.shape.clone()),
            dtype: value.dtype,
        });
    }
    Ok(assignment(OpKind::Assign, None, var, &value)?.op())
}

/// `var -= alpha * delta` when run (TF `training_ops.apply_gradient_descent`,
/// op `ApplyGradientDescent`): the update of [`GradientDescentOptimizer`](crate::GradientDescentOptimizer).
pub(crate) fn apply_gradient_descent(var: &Variable, alpha: &Tensor, delta: &Tensor) -> Result<Tensor> {
    if var.partitions().is_some() {
        return Err(Error::PartitionedAssign { name: var.name().to_owned() });
    }
    let inputs = [var.variable_tensor(), alpha, delta];
    let built = build_op(OpKind::ApplyGradientDescent, None, &inputs, &[], Attr::Variable(var.clone()))?;
    Ok(built.outputs.into_iter().next().expect("the op table gives updates one output"))
}

/// An optimizer's in-place update (TF's `training_ops.apply_*`): the op
/// `kind` on `vars` (the variable, then its slots, all changed in place), then
/// `rest` (hyperparameters, …, the gradient), with TF's `use_nesterov`.
pub(crate) fn apply_slots(kind: OpKind, vars: &[&Variable], rest: &[&Tensor], nesterov: bool) -> Result<Tensor> {
    if let Some(v) = vars.iter().find(|v| v.partitions().is_some()) {
        return Err(Error::PartitionedAssign { name: v.name().to_owned() });
    }
    let inputs: Vec<&Tensor> = vars.iter().map(|v| v.variable_tensor()).chain(rest.iter().copied()).collect();
    let attr = Attr::Apply { vars: vars.iter().map(|&v| v.clone()).collect(), nesterov };
    let built = build_op(kind, None, &inputs, &[], attr)?;
    Ok(built.outputs.into_iter().next().expect("the op table gives updates one output"))
}

api! {
    /// Stores `value` in `var` when run; its output is the new value (TF
    /// `tf.assign`, op `Assign`). Each assignment is atomic: concurrent runs and
    /// restores see the variable before or after it, never in between.
    ///
    /// ```
    /// use scope_runtime::{assign, constant, get_variable, Graph, Init, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", [2]).initializer(Init::Zeros).get()?;
    /// let set = assign(&v, &constant(vec![1.0f32, 2.0])?)?;
    /// Session::new(&graph).run_targets(&[&set.op()], &[])?;
    /// assert_eq!(v.value()?.to_f64_vec(), vec![1.0, 2.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn assign(var: &Variable, value: &Tensor) -> Tensor |name| assignment(OpKind::Assign, name, var, value);
    /// Adds `delta` to `var` when run, atomically (TF `tf.assign_add`).
    ///
    /// ```
    /// use scope_runtime::{assign_add, constant, get_variable, Graph, Init, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let step = get_variable("step", [1]).initializer(Init::Zeros).get()?;
    /// let inc = assign_add(&step, &constant(vec![1.0f32])?)?;
    /// let session = Session::new(&graph);
    /// for _ in 0..3 {
    ///     session.run(&[&inc], &[])?;
    /// }
    /// assert_eq!(step.value()?.to_f64_vec(), vec![3.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn assign_add(var: &Variable, delta: &Tensor) -> Tensor |name| assignment(OpKind::AssignAdd, name, var, delta);
    /// Subtracts `delta` from `var` when run, atomically (TF `tf.assign_sub`).
    ///
    /// ```
    /// use scope_runtime::{assign_sub, constant, get_variable, Graph, Init};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", [1]).initializer(Init::Ones).get()?;
    /// assert_eq!(assign_sub(&v, &constant(vec![1.0f32])?)?.name(), "AssignSub");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn assign_sub(var: &Variable, delta: &Tensor) -> Tensor |name| assignment(OpKind::AssignSub, name, var, delta);
    /// An op that does nothing (TF `tf.no_op`); give it control inputs with [`group`].
    ///
    /// ```
    /// use scope_runtime::{no_op, Graph};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// assert_eq!(no_op()?.name(), "NoOp");
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn no_op() -> Operation |name| Ok(build_op(OpKind::NoOp, name, &[], &[], Attr::None)?.op);
    /// One op that runs all of `ops` (TF `tf.group`: a `NoOp` named
    /// `group_deps` with them as control inputs).
    ///
    /// ```
    /// use scope_runtime::{assign_add, constant, get_variable, group, Graph, Init, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let a = get_variable("a", [1]).initializer(Init::Zeros).get()?;
    /// let b = get_variable("b", [1]).initializer(Init::Zeros).get()?;
    /// let one = constant(vec![1.0f32])?;
    /// let step = group(&[&assign_add(&a, &one)?.op(), &assign_add(&b, &one)?.op()])?;
    /// Session::new(&graph).run_targets(&[&step], &[])?;
    /// assert_eq!((a.value()?.to_f64_vec(), b.value()?.to_f64_vec()), (vec![1.0], vec![1.0]));
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn group(ops: &[&Operation]) -> Operation |name| {
        Ok(build_op(OpKind::NoOp, Some(name.unwrap_or("group_deps")), &[], ops, Attr::None)?.op)
    };
    /// `output`, computed only after every op of `dependencies` ran (TF
    /// `tf.control_dependencies` + `identity`, as `with_dependencies`; the
    /// identity is named `control_dependency`). A variable read this way sees
    /// the assignments it depends on.
    ///
    /// ```
    /// use scope_runtime::{assign, constant, get_variable, with_dependencies, Graph, Init, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let v = get_variable("v", [1]).initializer(Init::Zeros).get()?;
    /// let set = assign(&v, &constant(vec![5.0f32])?)?;
    /// let after = with_dependencies(&[&set.op()], &v)?;
    /// assert_eq!(after.name(), "control_dependency");
    /// assert_eq!(Session::new(&graph).run(&[&after], &[])?[0].to_f64_vec(), vec![5.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn with_dependencies(dependencies: &[&Operation], output: &Tensor) -> Tensor |name| {
        let name = Some(name.unwrap_or("control_dependency"));
        let built = build_op(OpKind::Identity, name, &[output], dependencies, Attr::None)?;
        Ok(built.outputs.into_iter().next().expect("the op table gives Identity one output"))
    };
}
