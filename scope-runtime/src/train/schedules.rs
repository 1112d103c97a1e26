//! Learning-rate schedules on the global step (TF `tf.compat.v1.train.*_decay`,
//! `piecewise_constant`): float32 scalars computed each step, to give an
//! optimizer as its [`LearningRate`](super::LearningRate).

use crate::base::{DType, Error, Result, Tensor, Value};
use crate::ops::{cast, constant, floor, greater, named, pow, select};
use crate::scope::name_scope;

/// `learning_rate * decay_rate ^ (global_step / decay_steps)`, the exponent
/// floored with `staircase` (TF `tf.compat.v1.train.exponential_decay`, node
/// for node: the result is `ExponentialDecay`).
///
/// # Errors
///
/// [`Error::LearningRate`] for `decay_steps` 0 or a `global_step` that is
/// not a number; those of the ops it builds.
///
/// # Examples
///
/// ```
/// use scope_runtime::{exponential_decay, get_or_create_global_step, Graph, Session, AdamOptimizer};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let step = get_or_create_global_step()?;
/// let lr = exponential_decay(0.1, &step, 100, 0.96, true)?;
/// assert_eq!(lr.name(), "ExponentialDecay");
/// assert!((Session::new(&graph).run(&[&lr], &[])?[0].to_f64_vec()[0] - 0.1).abs() < 1e-7);
/// let _adam = AdamOptimizer::new(&lr);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn exponential_decay(
    learning_rate: f64,
    global_step: &Tensor,
    decay_steps: u64,
    decay_rate: f64,
    staircase: bool,
) -> Result<Tensor> {
    let fail = |problem: String| Error::LearningRate { name: "ExponentialDecay".to_owned(), problem };
    if decay_steps == 0 {
        return Err(fail("decay_steps is 0; the step is divided by it (give at least 1)".to_owned()));
    }
    if !matches!(global_step.dtype, DType::I32 | DType::I64 | DType::F32 | DType::F64) {
        return Err(fail(format!(
            "the global step `{}` is {}, not a number",
            global_step.name(),
            global_step.dtype.name()
        )));
    }
    let scope = name_scope("ExponentialDecay").enter()?;
    let name = scope.name().to_owned();
    let initial = named("initial_learning_rate").constant(learning_rate as f32)?;
    // TF's `cast(python number, float32)`: the number as `Cast/x`, cast when it is an integer.
    let decay_steps = {
        let cast_scope = name_scope("Cast").enter()?;
        let op = cast_scope.name().to_owned();
        let steps = match i32::try_from(decay_steps) {
            Ok(n) => named("x").constant(n)?,
            Err(_) => named("x").constant(decay_steps as i64)?,
        };
        named(&op).cast(&steps, DType::F32)?
    };
    let decay_rate = {
        let _cast = name_scope("Cast").enter()?;
        named("x").constant(decay_rate as f32)?
    };
    let step = cast(global_step, DType::F32)?;
    let mut exponent = named("truediv").div(&step, &decay_steps)?;
    if staircase {
        exponent = floor(&exponent)?;
    }
    named(&name).mul(&initial, &pow(&decay_rate, &exponent)?)
}

/// `values[0]` while `x <= boundaries[0]`, `values[i]` while
/// `boundaries[i - 1] < x <= boundaries[i]`, and the last value after the
/// last boundary (TF `tf.compat.v1.train.piecewise_constant`), as float32,
/// in the name scope `PiecewiseConstant`. TF builds it with `tf.case`
/// (control flow); scopeflow with a `Greater` and a `Select` per boundary:
/// the values are TF's, the node names are not.
///
/// # Errors
///
/// [`Error::LearningRate`] unless there is one more value than boundaries
/// and the boundaries increase; those of the ops it builds.
///
/// # Examples
///
/// ```
/// use scope_runtime::{assign, constant, get_or_create_global_step, piecewise_constant, Graph, Session};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let step = get_or_create_global_step()?;
/// let lr = piecewise_constant(&step, &[10, 20], &[1.0, 0.5, 0.1])?;
/// let session = Session::new(&graph);
/// let mut seen = Vec::new();
/// for at in [0i64, 10, 11, 20, 21] {
///     session.run_targets(&[&assign(&step, &constant(at)?)?.op()], &[])?;
///     seen.push(session.run(&[&lr], &[])?[0].to_f64_vec()[0]);
/// }
/// assert_eq!(seen, [1.0, 1.0, 0.5, 0.5, 0.10000000149011612]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn piecewise_constant(x: &Tensor, boundaries: &[i64], values: &[f64]) -> Result<Tensor> {
    let fail = |problem: String| Error::LearningRate { name: "PiecewiseConstant".to_owned(), problem };
    if values.len() != boundaries.len() + 1 {
        return Err(fail(format!(
            "{} values for {} boundaries; give one value more than boundaries",
            values.len(),
            boundaries.len()
        )));
    }
    if boundaries.windows(2).any(|w| w[0] >= w[1]) {
        return Err(fail(format!("the boundaries {boundaries:?} do not increase")));
    }
    if !matches!(x.dtype, DType::I32 | DType::I64 | DType::F32 | DType::F64) {
        return Err(fail(format!("`{}` is {}, not a number", x.name(), x.dtype.name())));
    }
    let _s = name_scope("PiecewiseConstant").enter()?;
    let mut rate = constant(values[0] as f32)?;
    for (&boundary, &value) in boundaries.iter().zip(&values[1..]) {
        let boundary = constant(Value::filled(x.dtype, &[], boundary as f64))?;
        rate = select(&greater(x, &boundary)?, &constant(value as f32)?, &rate)?;
    }
    Ok(rate)
}
