//! The loop kernels: a body subgraph run once per time step, forwards
//! (`Scan`) and backwards through time (`ScanGrad`).

use crate::base::value::each_array;
use crate::base::{Element, Value};
use crate::graph::{Arg, Args, Attr, KernelResult, LoopBody, LoopFailure};
use ndarray::Axis;
use std::sync::Arc;

/// The loop body of a `Scan` or `ScanGrad` op.
fn body(attr: &Attr) -> KernelResult<&Arc<dyn LoopBody>> {
    match attr {
        Attr::Loop(body) => Ok(body),
        _ => Err("missing loop body"),
    }
}

/// Step `t` of a time-major value: its slice at `t` along the first axis.
fn at(v: &Value, t: usize) -> Value {
    each_array!(v, |a| Element::wrap(a.index_axis(Axis(0), t).to_owned()))
}

/// Values of one shape stacked along a new first axis.
fn stacked(parts: &[Value]) -> KernelResult<Value> {
    let refs: Vec<&Value> = parts.iter().collect();
    Value::join(&refs, 0, true).ok_or("the steps of a loop made values of different shapes or dtypes")
}

/// The number of steps: the length of the sequences, all the same and at least 1.
fn steps(sequences: &[&Value]) -> KernelResult<usize> {
    let steps = sequences
        .first()
        .and_then(|v| v.shape().first().copied())
        .ok_or("a scan needs a sequence of rank 1 or more")?;
    if sequences.iter().any(|v| v.shape().first() != Some(&steps)) {
        return Err("the sequences of a scan have different lengths");
    }
    if steps == 0 {
        return Err("a scan needs at least one time step");
    }
    Ok(steps)
}

/// `Scan`: inputs are the initial states, the time-major sequences and the
/// captures; outputs the final states, each step output stacked over time,
/// and each state as it was before each step, stacked (for the gradient).
pub(crate) fn scan_kernel(attr: &Attr, args: Args<'_>) -> Result<Vec<Value>, LoopFailure> {
    let body = body(attr)?;
    let s = body.signature();
    let values: Vec<&Value> = args.iter().map(Arg::value).collect();
    if values.len() != s.states + s.sequences + s.captures {
        return Err("a scan has another number of inputs than its body takes".into());
    }
    let (states, rest) = values.split_at(s.states);
    let (sequences, captures) = rest.split_at(s.sequences);
    let steps = steps(sequences)?;
    let mut state: Vec<Value> = states.iter().map(|v| (*v).clone()).collect();
    let mut outputs: Vec<Vec<Value>> = (0..s.outputs).map(|_| Vec::with_capacity(steps)).collect();
    let mut history: Vec<Vec<Value>> = (0..s.states).map(|_| Vec::with_capacity(steps)).collect();
    for t in 0..steps {
        let slices: Vec<Value> = sequences.iter().map(|v| at(v, t)).collect();
        let inputs: Vec<&Value> = state.iter().chain(&slices).chain(captures.iter().copied()).collect();
        let mut made = body
            .step(&Value::from(t as i32), &inputs)
            .map_err(|error| LoopFailure::Step { step: t, error: Box::new(error) })?;
        if made.len() != s.states + s.outputs {
            return Err("a loop body made another number of values than it declares".into());
        }
        let step_outputs = made.split_off(s.states);
        for (old, h) in std::mem::replace(&mut state, made).into_iter().zip(&mut history) {
            h.push(old);
        }
        for (v, o) in step_outputs.into_iter().zip(&mut outputs) {
            o.push(v);
        }
    }
    let mut out = state;
    for o in &outputs {
        out.push(stacked(o)?);
    }
    for h in &history {
        out.push(stacked(h)?);
    }
    Ok(out)
}

/// `a + b` for accumulating gradients of captures; bools are kept.
fn accumulate(a: Value, b: &Value) -> KernelResult<Value> {
    fn sum<T: Element + Copy + crate::kernels::Num>(a: Value, b: &Value) -> KernelResult<Value> {
        let (Some(x), Some(y)) = (a.as_array::<T>(), b.as_array::<T>()) else {
            return Err("gradients of different dtypes");
        };
        if x.shape() != y.shape() {
            return Err("the gradients of a capture have different shapes at different steps");
        }
        let mut x = x.clone();
        x.zip_mut_with(y, |p, &q| *p = crate::kernels::Num::add(*p, q));
        Ok(T::wrap(x))
    }
    match a {
        Value::F32(_) => sum::<f32>(a, b),
        Value::F64(_) => sum::<f64>(a, b),
        Value::I32(_) => sum::<i32>(a, b),
        Value::I64(_) => sum::<i64>(a, b),
        Value::Bool(_) => Ok(a),
    }
}

/// `ScanGrad`, backpropagation through time: inputs are the sequences, the
/// captures, the states before each step (stacked, from `Scan`), the
/// gradients of the final states and of the stacked outputs; outputs the
/// gradients of the initial states, the sequences and the captures.
pub(crate) fn scan_grad_kernel(attr: &Attr, args: Args<'_>) -> Result<Vec<Value>, LoopFailure> {
    let body = body(attr)?;
    let s = body.signature();
    let values: Vec<&Value> = args.iter().map(Arg::value).collect();
    if values.len() != s.sequences + s.captures + 2 * s.states + s.outputs {
        return Err("a scan's gradient has another number of inputs than its body takes".into());
    }
    let (sequences, rest) = values.split_at(s.sequences);
    let (captures, rest) = rest.split_at(s.captures);
    let (history, rest) = rest.split_at(s.states);
    let (d_final, d_outputs) = rest.split_at(s.states);
    let steps = steps(sequences)?;
    if history.iter().chain(d_outputs).any(|v| v.shape().first() != Some(&steps)) {
        return Err("the stacked states and output gradients of a scan have another length than its sequences".into());
    }
    let mut d_state: Vec<Value> = d_final.iter().map(|v| (*v).clone()).collect();
    let mut d_sequences: Vec<Vec<Value>> = (0..s.sequences).map(|_| Vec::with_capacity(steps)).collect();
    let mut d_captures: Vec<Option<Value>> = vec![None; s.captures];
    for t in (0..steps).rev() {
        let state: Vec<Value> = history.iter().map(|v| at(v, t)).collect();
        let slices: Vec<Value> = sequences.iter().map(|v| at(v, t)).collect();
        let d_out: Vec<Value> = d_outputs.iter().map(|v| at(v, t)).collect();
        let inputs: Vec<&Value> =
            state.iter().chain(&slices).chain(captures.iter().copied()).chain(&d_state).chain(&d_out).collect();
        let mut grads = body
            .gradient_step(&Value::from(t as i32), &inputs)
            .map_err(|error| LoopFailure::Step { step: t, error: Box::new(error) })?;
        if grads.len() != s.states + s.sequences + s.captures {
            return Err("a loop body's gradient made another number of values than it declares".into());
        }
        let rest = grads.split_off(s.states);
        d_state = grads;
        let mut rest = rest.into_iter();
        for d in &mut d_sequences {
            d.push(rest.next().ok_or("missing gradient")?);
        }
        for (acc, g) in d_captures.iter_mut().zip(rest) {
            *acc = Some(match acc.take() {
                None => g,
                Some(a) => accumulate(a, &g)?,
            });
        }
    }
    let mut out = d_state;
    for mut d in d_sequences {
        d.reverse();
        out.push(stacked(&d)?);
    }
    for d in d_captures {
        out.push(d.ok_or("missing gradient")?);
    }
    Ok(out)
}
