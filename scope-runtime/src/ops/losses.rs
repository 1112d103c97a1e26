//! TF `tf.losses` (`tf.compat.v1.losses`): losses reduced to a scalar the way
//! TF's `compute_weighted_loss` reduces them, added to the `LOSSES`
//! collection, and the sums of a graph's losses.

use super::{
    OpKind, Side, constant, mul, named, ones_like, reduce_sum, scoped_op, select, squared_difference, with_number,
    zeros_like,
};
use crate::base::{DType, Error, Operation, Result, Tensor, Value};
use crate::graph::{CollectionItem, LOSSES, REGULARIZATION_LOSSES, get_default_graph};
use crate::scope::{control_dependencies, name_scope};

api! {
    /// The mean of `(predictions - labels)²` over every element (TF
    /// `tf.compat.v1.losses.mean_squared_error` with its defaults: weight 1,
    /// reduction `SUM_BY_NONZERO_WEIGHTS`), as float32, under the name scope
    /// `mean_squared_error`; the loss (`mean_squared_error/value`) joins the
    /// [`LOSSES`] collection.
    ///
    /// ```
    /// use scope_runtime::{constant, losses, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let labels = constant(vec![1.0f32, 2.0])?;
    /// let loss = losses::mean_squared_error(&labels, &constant(vec![2.0f32, 4.0])?)?;
    /// assert_eq!(loss.name(), "mean_squared_error/value");
    /// assert_eq!(Session::new(&graph).run(&[&loss], &[])?[0].to_f64_vec(), vec![2.5]);
    /// assert_eq!(losses::get_losses(None)?[0].name(), loss.name());
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn mean_squared_error(labels: &Tensor, predictions: &Tensor) -> Tensor |name| {
        scoped_op(name, "mean_squared_error", |scope| {
            let predictions = super::cast(predictions, DType::F32)?;
            let labels = super::cast(labels, DType::F32)?;
            if !predictions.shape.is_compatible_with(&labels.shape) {
                return Err(Error::OpShape {
                    op: scope.trim_end_matches('/').to_owned(),
                    op_type: "mean_squared_error",
                    shapes: vec![labels.shape.clone(), predictions.shape.clone()],
                    rule: "the labels and the predictions have one shape",
                });
            }
            let losses = squared_difference(&predictions, &labels)?;
            let loss = sum_by_nonzero_weights(&losses)?;
            get_default_graph()?.add_to_collection(LOSSES, CollectionItem::Tensor(loss.clone()));
            Ok(loss)
        })
    };
}

/// TF `compute_weighted_loss(losses, weights=1.0)` with reduction
/// `SUM_BY_NONZERO_WEIGHTS`, in the current name scope: the sum of the
/// losses over the number of nonzero weights, node for node as TF builds it.
fn sum_by_nonzero_weights(losses: &Tensor) -> Result<Tensor> {
    let weight = Value::from(1.0f32);
    let check = scalar_weight_check(Weights::Value(weight.clone()), losses)?;
    control_dependencies(&[&check]).with(|| {
        let weights = {
            // TF's `cast(1.0, float32)` converts the number inside a `Cast` scope.
            let _cast = name_scope("Cast").enter()?;
            named("x").constant(weight)?
        };
        let total = reduce_sum(&mul(losses, &weights)?, None, false)?;
        let present = num_present(losses, &weights)?;
        let total = reduce_sum(&total, None, false)?;
        named("value").div_no_nan(&total, &present)
    })
}

/// The weights `assert_broadcastable` checks: a number it converts, or a tensor.
enum Weights<'a> {
    Value(Value),
    Tensor(&'a Tensor),
}

/// TF `weights_broadcast_ops.assert_broadcastable` for scalar weights and
/// values of a known rank: the shape and rank nodes TF makes, then the
/// `static_scalar_check_success` no-op everything after it waits for.
fn scalar_weight_check(weights: Weights<'_>, values: &Tensor) -> Result<Operation> {
    let _s = name_scope("assert_broadcastable").enter()?;
    {
        let scope = name_scope("weights").enter()?;
        let weights = match weights {
            Weights::Value(v) => named(scope.name()).constant(v)?,
            Weights::Tensor(t) => t.clone(),
        };
        named("shape").shape(&weights)?;
        named("rank").constant(0i32)?;
    }
    {
        let _v = name_scope("values").enter()?;
        named("shape").shape(values)?;
        let rank = values.shape.rank().ok_or_else(|| Error::OpShape {
            op: "assert_broadcastable".to_owned(),
            op_type: "assert_broadcastable",
            shapes: vec![values.shape.clone()],
            rule: "the losses have a known rank",
        })?;
        named("rank").constant(rank as i32)?;
    }
    named("static_scalar_check_success").no_op()
}

/// TF `_num_present(losses, weights)` for a scalar weight: the number of
/// losses whose weight is not 0, as float32, named `num_present`.
fn num_present(losses: &Tensor, weights: &Tensor) -> Result<Tensor> {
    scoped_op(None, "num_present", |scope| {
        let is_zero = with_number(OpKind::Equal, "Equal", 0.0, Side::Right, weights)?;
        let present = select(&is_zero, &zeros_like(weights)?, &ones_like(weights)?)?;
        let present = scoped_op(None, "broadcast_weights", |name| {
            if present.shape.is_fully_defined() && losses.shape.is_fully_defined() && present.shape == losses.shape {
                return Ok(present.clone());
            }
            let check = scalar_weight_check(Weights::Tensor(&present), losses)?;
            control_dependencies(&[&check]).with(|| named(name).mul(&present, &ones_like(losses)?))
        })?;
        named(scope).reduce_sum(&present, None, false)
    })
}

/// The losses `tf.losses` functions added to the [`LOSSES`] collection, kept
/// when `scope` (a regular expression) matches the start of their name (TF
/// `tf.losses.get_losses`).
///
/// ```
/// use scope_runtime::{constant, losses, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(vec![1.0f32])?;
/// losses::mean_squared_error(&x, &x)?;
/// assert_eq!(losses::get_losses(None)?.len(), 1);
/// assert!(losses::get_losses(Some("other"))?.is_empty());
/// # Ok::<(), scope_runtime::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::NoDefaultGraph`]; [`Error::InvalidFilter`] for a bad `scope` pattern.
pub fn get_losses(scope: Option<&str>) -> Result<Vec<Tensor>> {
    get_default_graph()?.tensors_in(LOSSES, scope)
}

/// The regularization losses of the variables whose names `scope` matches
/// at the start (all with `None`), as tensors to compute with (TF
/// `tf.losses.get_regularization_losses`, converted).
///
/// TensorFlow 2.21 keeps a variable's regularization loss as a lazy tensor
/// that builds a fresh copy of its ops each time it is used as a tensor:
/// `w/Regularizer/l2_regularizer_1`, `_2`, …. This does the same, so a graph
/// built with it has TensorFlow's node names; the value is the same as that
/// of the collection's tensor. Losses added to the collection by hand are
/// returned as they are.
///
/// ```
/// use scope_runtime::{get_variable, losses, Graph, Regularizer};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// get_variable("w", [2]).regularizer(Regularizer::L2(0.1)).get()?;
/// assert_eq!(graph.regularization_losses(None)?[0].name(), "w/Regularizer/l2_regularizer");
/// assert_eq!(losses::get_regularization_losses(None)?[0].name(), "w/Regularizer/l2_regularizer_1");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::NoDefaultGraph`]; [`Error::InvalidFilter`] for a bad `scope` pattern.
pub fn get_regularization_losses(scope: Option<&str>) -> Result<Vec<Tensor>> {
    let graph = get_default_graph()?;
    graph
        .tensors_in(REGULARIZATION_LOSSES, scope)?
        .into_iter()
        .map(|loss| {
            let lazy = graph.read().regularizers.get(&loss.node).cloned();
            match lazy {
                None => Ok(loss),
                Some(lazy) => {
                    let _s = name_scope(&*lazy.scope).enter()?;
                    scoped_op(None, "l2_regularizer", |op| {
                        let scale = named("scale").constant(Value::filled(lazy.variable.dtype, &[], lazy.scale))?;
                        named(op).mul(&scale, &super::l2_loss(&lazy.variable)?)
                    })
                }
            }
        })
        .collect()
}

/// The sum of the regularization losses of `scope` (all with `None`), named
/// `total_regularization_loss`, or a constant 0 when there are none (TF
/// `tf.losses.get_regularization_loss`).
///
/// ```
/// use scope_runtime::{get_variable, losses, variable_scope, Graph, Regularizer};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// variable_scope("d").regularizer(Regularizer::L2(1e-3)).with(|_| get_variable("w", [2]).get())?;
/// assert_eq!(losses::get_regularization_loss(Some("d"))?.name(), "total_regularization_loss");
/// assert_eq!(losses::get_regularization_loss(Some("g"))?.name(), "Const");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::NoDefaultGraph`]; [`Error::InvalidFilter`] for a bad `scope` pattern.
pub fn get_regularization_loss(scope: Option<&str>) -> Result<Tensor> {
    let losses = get_regularization_losses(scope)?;
    if losses.is_empty() {
        return constant(0.0f32);
    }
    named("total_regularization_loss").add_n(&losses.iter().collect::<Vec<_>>())
}

/// The sum of the [`LOSSES`] collection and the regularization losses, named
/// `total_loss` (TF `tf.losses.get_total_loss`).
///
/// ```
/// use scope_runtime::{constant, losses, Graph};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = constant(vec![1.0f32])?;
/// losses::mean_squared_error(&x, &x)?;
/// assert_eq!(losses::get_total_loss()?.name(), "total_loss");
/// # Ok::<(), scope_runtime::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::NoLosses`] when the graph holds no loss at all; [`Error::NoDefaultGraph`].
pub fn get_total_loss() -> Result<Tensor> {
    let mut all = get_losses(None)?;
    all.extend(get_regularization_losses(None)?);
    if all.is_empty() {
        return Err(Error::NoLosses);
    }
    named("total_loss").add_n(&all.iter().collect::<Vec<_>>())
}
