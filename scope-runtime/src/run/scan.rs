//! `scan`: a loop over time as one op (`Scan`), its body a subgraph that a
//! session runs once per step, with a gradient (`ScanGrad`) that runs the
//! body's own gradient backwards through time.

use super::Session;
use crate::base::{DType, Error, Result, Shape, Tensor, Value};
use crate::graph::{Attr, Graph, LoopBody, LoopSignature, get_default_graph};
use crate::ops::{OpKind, build_op, gradients_with, named, zeros_like};
use std::sync::{Arc, Mutex};

/// What the body of a [`scan`] works on: placeholders in the body's own
/// graph, fed at each step.
#[derive(Debug)]
pub struct ScanStep<'a> {
    /// The step's index, an int32 scalar counting from 0.
    pub time: &'a Tensor,
    /// The states before the step.
    pub states: &'a [Tensor],
    /// The step's slice of each sequence (its first axis removed).
    pub inputs: &'a [Tensor],
    /// The captures: the same values at every step (weights, lengths).
    pub captures: &'a [Tensor],
}

/// What a [`scan`] makes: the states after the last step, and each output
/// of the body stacked over time (time-major).
#[derive(Clone, Debug)]
pub struct ScanOutput {
    /// The final states, one per initial state.
    pub final_states: Vec<Tensor>,
    /// The body's outputs, stacked along a new first axis of one entry per step.
    pub outputs: Vec<Tensor>,
}

/// A loop over the first axis of `sequences`, whose length may be known
/// only when the graph runs: one op `scan` (TF2's functional `Scan` /
/// `While` in spirit, not TF1's `Enter` / `Merge` / `Switch` / `Exit` plumbing).
///
/// `body` builds one step in a graph of its own, from placeholders for the
/// time index, the states, one slice of each sequence and the `captures`
/// (tensors of the outer graph that every step reads, such as weights); it
/// returns the new states (one per state, same dtype) and the step's
/// outputs. The gradient of the op (backpropagation through time) flows to
/// the initial states, the sequences and the captures: a loop over the
/// steps in reverse running the gradient of the body.
///
/// # Errors
///
/// [`Error::Layer`] when `sequences` is empty or the body returns another
/// number of states than it got, or states of another dtype; the body's
/// own errors. When the graph runs, a step that fails is an
/// [`Error::LoopStep`] naming the loop and the step, with the body's error.
///
/// # Examples
///
/// ```
/// use scope_runtime::{add, constant, gradients, mul, placeholder, scan, DType, Graph, Session, Shape, Value};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// // A running sum of `xs` scaled by `w`, over a time axis known only when it runs.
/// let xs = placeholder(DType::F32, Shape::from_dims([None, Some(2)]))?;
/// let w = constant(vec![2.0f32, 3.0])?;
/// let zero = constant(vec![0.0f32, 0.0])?;
/// let out = scan(&[&zero], &[&xs], &[&w], |s| {
///     let sum = add(&s.states[0], &mul(&s.inputs[0], &s.captures[0])?)?;
///     Ok((vec![sum.clone()], vec![sum]))
/// })?;
/// let dw = gradients(&[&out.final_states[0]], &[&w])?[0].clone().unwrap();
/// let feed = Value::from(ndarray::array![[1.0f32, 1.0], [2.0, 0.5], [3.0, 0.0]]);
/// let run = Session::new(&graph).run(&[&out.final_states[0], &out.outputs[0], &dw], &[(&xs, &feed)])?;
/// assert_eq!(run[0].to_f64_vec(), vec![12.0, 4.5]);
/// assert_eq!(run[1].shape(), &[3, 2]);
/// assert_eq!(run[2].to_f64_vec(), vec![6.0, 1.5]);
/// # Ok::<(), scope_runtime::Error>(())
/// ```
pub fn scan(
    initial: &[&Tensor],
    sequences: &[&Tensor],
    captures: &[&Tensor],
    body: impl FnOnce(&ScanStep<'_>) -> Result<(Vec<Tensor>, Vec<Tensor>)>,
) -> Result<ScanOutput> {
    let problem = |p: String| Error::Layer { layer: "scan".into(), problem: p };
    if sequences.is_empty() {
        return Err(problem("needs at least one sequence: its first axis is time".into()));
    }
    let outer = get_default_graph()?;
    let graph = Graph::with_seed(outer.seed());
    let (time, inputs, made) = {
        let _g = graph.as_default();
        let time = named("time").placeholder(DType::I32, Shape::scalar())?;
        let mut inputs = Vec::with_capacity(initial.len() + sequences.len() + captures.len());
        for (i, t) in initial.iter().enumerate() {
            inputs.push(named(&format!("state_{i}")).placeholder(t.dtype, t.shape.clone())?);
        }
        for (i, t) in sequences.iter().enumerate() {
            let step = match t.shape.dims() {
                Some([_, rest @ ..]) => Shape::from_dims(rest.iter().copied()),
                Some([]) => return Err(problem(format!("sequence `{}` is a scalar; it needs a time axis", t.name))),
                None => Shape::unknown(),
            };
            inputs.push(named(&format!("input_{i}")).placeholder(t.dtype, step)?);
        }
        for (i, t) in captures.iter().enumerate() {
            inputs.push(named(&format!("capture_{i}")).placeholder(t.dtype, t.shape.clone())?);
        }
        let (k, m) = (initial.len(), sequences.len());
        let step =
            ScanStep { time: &time, states: &inputs[..k], inputs: &inputs[k..k + m], captures: &inputs[k + m..] };
        let (states, outputs) = body(&step)?;
        if states.len() != k {
            return Err(problem(format!("the body returned {} states for {k}", states.len())));
        }
        if let Some((new, old)) = states.iter().zip(initial).find(|(new, old)| new.dtype != old.dtype) {
            return Err(problem(format!(
                "the body's new state `{}` is {:?} where the state `{}` is {:?}",
                new.name, new.dtype, old.name, old.dtype
            )));
        }
        (time, inputs, states.into_iter().chain(outputs).collect::<Vec<_>>())
    };
    let signature = LoopSignature {
        states: initial.len(),
        sequences: sequences.len(),
        captures: captures.len(),
        outputs: made.len() - initial.len(),
    };
    let specs = made.iter().map(|t| (t.shape.clone(), t.dtype)).collect();
    let session = Session::new(&graph);
    let body = Body { graph, session, time, inputs, made, specs, signature, gradient: Mutex::new(None) };
    let all: Vec<&Tensor> = initial.iter().chain(sequences).chain(captures).copied().collect();
    let built = build_op(OpKind::Scan, None, &all, &[], Attr::Loop(Arc::new(body)))?;
    let mut outputs = built.outputs.into_vec();
    outputs.truncate(signature.states + signature.outputs);
    let stacked = outputs.split_off(signature.states);
    Ok(ScanOutput { final_states: outputs, outputs: stacked })
}

/// A `scan`'s body: its graph, the placeholders fed at each step and what a
/// step fetches, and its gradient once built.
struct Body {
    graph: Graph,
    session: Session,
    time: Tensor,
    /// Placeholders: states, sequence slices, captures.
    inputs: Vec<Tensor>,
    /// New states, then outputs.
    made: Vec<Tensor>,
    specs: Vec<(Shape, DType)>,
    signature: LoopSignature,
    gradient: Mutex<Option<Arc<Backward>>>,
}

/// The body's gradient: placeholders for the gradients of what a step
/// makes, and the gradient of each of the step's inputs.
struct Backward {
    grad_made: Vec<Tensor>,
    grads: Vec<Tensor>,
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body").field("signature", &self.signature).finish_non_exhaustive()
    }
}

impl Body {
    fn backward(&self) -> Result<Arc<Backward>> {
        let mut slot = self.gradient.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = &*slot {
            return Ok(b.clone());
        }
        let _g = self.graph.as_default();
        let grad_made: Vec<Tensor> = self
            .made
            .iter()
            .enumerate()
            .map(|(i, t)| named(&format!("grad_{i}")).placeholder(t.dtype, t.shape.clone()))
            .collect::<Result<_>>()?;
        let float = |t: &&Tensor| t.dtype.is_floating();
        let ys: Vec<&Tensor> = self.made.iter().filter(float).collect();
        let grad_ys: Vec<Option<&Tensor>> =
            self.made.iter().zip(&grad_made).filter(|(y, _)| y.dtype.is_floating()).map(|(_, g)| Some(g)).collect();
        let xs: Vec<&Tensor> = self.inputs.iter().filter(float).collect();
        let mut found = gradients_with(&ys, &xs, &grad_ys, None)?.into_iter();
        let mut grads = Vec::with_capacity(self.inputs.len());
        for x in &self.inputs {
            let g = if x.dtype.is_floating() { found.next().flatten() } else { None };
            grads.push(match g {
                Some(g) => g,
                None => zeros_like(x)?,
            });
        }
        let b = Arc::new(Backward { grad_made, grads });
        *slot = Some(b.clone());
        Ok(b)
    }
}

impl LoopBody for Body {
    fn signature(&self) -> LoopSignature {
        self.signature
    }

    fn step_outputs(&self) -> &[(Shape, DType)] {
        &self.specs
    }

    fn step(&self, time: &Value, inputs: &[&Value]) -> Result<Vec<Value>> {
        let feeds: Vec<(&Tensor, &Value)> =
            std::iter::once((&self.time, time)).chain(self.inputs.iter().zip(inputs.iter().copied())).collect();
        self.session.run(&self.made.iter().collect::<Vec<_>>(), &feeds)
    }

    fn prepare_gradient(&self) -> Result<()> {
        self.backward().map(drop)
    }

    fn gradient_step(&self, time: &Value, inputs: &[&Value]) -> Result<Vec<Value>> {
        let b = self.backward()?;
        let placeholders = self.inputs.iter().chain(&b.grad_made);
        let feeds: Vec<(&Tensor, &Value)> =
            std::iter::once((&self.time, time)).chain(placeholders.zip(inputs.iter().copied())).collect();
        self.session.run(&b.grads.iter().collect::<Vec<_>>(), &feeds)
    }
}
