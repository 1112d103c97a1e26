//! TF's `clip_ops`: clipping by value and by global norm, node for node.

use super::{OpKind, Side, build, constant, l2_loss, named, reduce_sum, scoped_op, stack, with_number};
use crate::base::{Error, Result, Tensor, Value};
use crate::graph::Attr;
use crate::scope::name_scope;

api! {
    /// `t` with every element clipped into `[min, max]` (TF `tf.clip_by_value`:
    /// a `Minimum` with `max`, then a `Maximum` with `min` named `clip_by_value`).
    /// Gradients flow where the element was not clipped.
    ///
    /// ```
    /// use scope_runtime::{clip_by_value, constant, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let c = clip_by_value(&constant(vec![-2.0f32, 0.5, 3.0])?, -1.0, 2.5)?;
    /// assert_eq!(c.name(), "clip_by_value");
    /// assert_eq!(Session::new(&graph).run(&[&c], &[])?[0].to_f64_vec(), vec![-1.0, 0.5, 2.5]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn clip_by_value(t: &Tensor, min: f64, max: f64) -> Tensor |name| {
        scoped_op(name, "clip_by_value", |op| {
            if min > max {
                return Err(Error::OpShape {
                    op: op.trim_end_matches('/').to_owned(),
                    op_type: "clip_by_value",
                    shapes: vec![t.shape.clone()],
                    rule: "the clip range's minimum is at most its maximum",
                });
            }
            let below_max = with_number(OpKind::Minimum, "Minimum", max, Side::Right, t)?;
            let min = named("y").constant(Value::filled(t.dtype, &[], min))?;
            build(OpKind::Maximum, Some(op), &[&below_max, &min], Attr::None)
        })
    };
    /// `sqrt(sum of sum(t²) over t_list)`, the `None`s skipped (TF
    /// `tf.linalg.global_norm`; the result is `global_norm/global_norm`).
    ///
    /// ```
    /// use scope_runtime::{constant, global_norm, Graph, Session};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let (a, b) = (constant(vec![3.0f32])?, constant(vec![0.0f32, 4.0])?);
    /// let n = global_norm(&[Some(a), None, Some(b)])?;
    /// assert_eq!(n.name(), "global_norm/global_norm");
    /// assert_eq!(Session::new(&graph).run(&[&n], &[])?[0].to_f64_vec(), vec![5.0]);
    /// # Ok::<(), scope_runtime::Error>(())
    /// ```
    fn global_norm(t_list: &[Option<Tensor>]) -> Tensor |name| {
        scoped_op(name, "global_norm", |op| {
            let halves = t_list.iter().flatten().map(l2_loss).collect::<Result<Vec<_>>>()?;
            if halves.is_empty() {
                return Err(Error::OpShape {
                    op: op.trim_end_matches('/').to_owned(),
                    op_type: "global_norm",
                    shapes: Vec::new(),
                    rule: "the norm is of at least one tensor",
                });
            }
            let half_squared = reduce_sum(&stack(&halves.iter().collect::<Vec<_>>(), 0)?, None, false)?;
            let two = constant(Value::filled(half_squared.dtype, &[], 2.0))?;
            named("global_norm").sqrt(&(&half_squared * &two)?)
        })
    };
}

/// Scales the tensors of `t_list` by `clip_norm / max(global_norm, clip_norm)`
/// so that their global norm is at most `clip_norm`, and returns them with
/// the global norm before clipping (TF `tf.clip_by_global_norm`, node for
/// node: `global_norm/global_norm`, then `clip_by_global_norm/…`; the `None`s
/// stay `None`). A norm that is infinite or NaN makes every value NaN, as in
/// TF.
///
/// # Errors
///
/// [`Error::OpShape`] when `t_list` holds no tensor; those of the ops it builds.
///
/// # Examples
///
/// ```
/// use scope_runtime::{clip_by_global_norm, constant, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let grads = [Some(constant(vec![3.0f32])?), Some(constant(vec![0.0f32, 4.0])?)];
/// let (clipped, norm) = clip_by_global_norm(&grads, 2.5)?;
/// let clipped: Vec<_> = clipped.into_iter().flatten().collect();
/// assert_eq!(clipped[0].name(), "clip_by_global_norm/clip_by_global_norm/_0");
/// let out = Session::new(&graph).run(&[&clipped[0], &clipped[1], &norm], &[])?;
/// assert_eq!(out.iter().map(|v| v.to_f64_vec()).collect::<Vec<_>>(), [vec![1.5], vec![0.0, 2.0], vec![5.0]]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn clip_by_global_norm(t_list: &[Option<Tensor>], clip_norm: f64) -> Result<(Vec<Option<Tensor>>, Tensor)> {
    let norm = global_norm(t_list)?;
    let scope = name_scope("clip_by_global_norm").enter()?;
    // TF names each output `"%s_%d" % (scope, i)`: the scope's full name, so
    // relative to the scope itself (`clip_by_global_norm/clip_by_global_norm/_0`).
    let name = scope.name().to_owned();
    let inverse_norm = with_number(OpKind::Div, "truediv", 1.0, Side::Left, &norm)?;
    let one = constant(Value::filled(norm.dtype, &[], 1.0))?;
    let inverse_clip = with_number(OpKind::Div, "truediv", clip_norm, Side::Right, &one)?;
    let smaller = build(OpKind::Minimum, None, &[&inverse_norm, &inverse_clip], Attr::None)?;
    let scale_for_finite = with_number(OpKind::Mul, "mul", clip_norm, Side::Left, &smaller)?;
    // `norm - norm` is 0 for a finite norm and NaN otherwise.
    #[allow(clippy::eq_op)]
    let nan_unless_finite = (&norm - &norm)?;
    let scale = (&scale_for_finite + &nan_unless_finite)?;
    let mut index = 0;
    let clipped = t_list
        .iter()
        .map(|t| {
            let Some(t) = t else { return Ok(None) };
            let scaled = (t * &scale)?;
            let out = named(&format!("{name}_{index}")).identity(&scaled)?;
            index += 1;
            Ok(Some(out))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((clipped, norm))
}
