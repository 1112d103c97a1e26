//! The loops that drive a cell over time: `dynamic_rnn` (one `Scan` op,
//! time known or not until the graph runs) and `static_rnn` (unrolled).

use super::{RnnCell, State, last_dim, rnn_error, zero_state};
use scope_runtime::{
    DType, Result, Tensor, Value, cast, constant, less, scan, select, transpose, variable_scope, zeros_like,
};

/// TF `tf.compat.v1.nn.dynamic_rnn(cell, inputs)`: runs `cell` over the
/// time axis of `inputs` (`[batch, time, depth]`, or `[time, batch, depth]`
/// with `time_major`), batch and time possibly unknown until the graph
/// runs. Returns the outputs (`[batch, time, output_size]`) and the final
/// state. The cell's variables are made in variable scope `rnn` (TF's
/// default `scope`): `rnn/lstm_cell/kernel`.
///
/// The loop is one `Scan` op whose gradient runs backpropagation through
/// time. With `sequence_length`, as TF: past an example's length its
/// outputs are zeros and its state is carried unchanged, so the final state
/// is the state at its last step.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, BasicRNNCell, State};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(2)]))?;
/// let len = placeholder(DType::I32, Shape::from_dims([None]))?;
/// let (out, state) = rnn::dynamic_rnn(&BasicRNNCell::new(3), &x).sequence_length(&len).build()?;
/// let State::Tensor(h) = state else { unreachable!() };
/// let feeds = [(&x, &Value::from(ndarray::Array3::<f32>::ones((2, 4, 2)))), (&len, &Value::from(vec![4, 1]))];
/// let run = Session::new(&graph).run(&[&out, &h], &feeds)?;
/// let (o, h) = (run[0].to_f64_vec(), run[1].to_f64_vec());
/// assert_eq!(&o[12 + 3..24], &[0.0; 9]); // the second example stops after one step
/// assert_eq!(&h[3..], &o[12..15]); // its final state is its first output
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn dynamic_rnn<'a>(cell: &'a dyn RnnCell, inputs: &'a Tensor) -> DynamicRnn<'a> {
    DynamicRnn { cell, inputs, sequence_length: None, initial_state: None, time_major: false, scope: None }
}

/// The options of [`dynamic_rnn`]; `.build()` makes the loop.
#[must_use = "the loop is built by `.build()`"]
pub struct DynamicRnn<'a> {
    cell: &'a dyn RnnCell,
    inputs: &'a Tensor,
    sequence_length: Option<&'a Tensor>,
    initial_state: Option<State>,
    time_major: bool,
    scope: Option<String>,
}

impl<'a> DynamicRnn<'a> {
    /// Each example's length, an integer vector `[batch]` (TF `sequence_length`).
    pub fn sequence_length(mut self, lengths: &'a Tensor) -> Self {
        self.sequence_length = Some(lengths);
        self
    }

    /// The state before the first step (TF `initial_state`; default the cell's zero state).
    pub fn initial_state(mut self, state: State) -> Self {
        self.initial_state = Some(state);
        self
    }

    /// Whether inputs and outputs are `[time, batch, …]` (TF `time_major`, default false).
    pub fn time_major(mut self, time_major: bool) -> Self {
        self.time_major = time_major;
        self
    }

    /// The variable scope (TF `scope`, default `rnn`).
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_owned());
        self
    }

    /// Makes the loop; returns the outputs and the final state.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) when the inputs' rank is not 3
    /// or their depth is not known, or the initial state does not fit the
    /// cell; the errors of [`get_variable`](crate::get_variable) (such as
    /// [`Error::VariableExists`](crate::Error::VariableExists) for a second
    /// new cell of one kind in one scope) and of the ops.
    pub fn build(self) -> Result<(Tensor, State)> {
        let scope = self.scope.as_deref().unwrap_or("rnn");
        let _vs = variable_scope(scope).enter()?;
        let x = self.inputs;
        if x.shape().rank() != Some(3) {
            return Err(rnn_error(
                scope,
                format!("dynamic_rnn takes inputs of rank 3; `{}` has shape {}", x.name(), x.shape()),
            ));
        }
        let x = match self.time_major {
            true => x.clone(),
            false => transpose(x, Some(&[1, 0, 2]))?,
        };
        let (cell, dtype) = (self.cell, x.dtype());
        let weights = cell.build(last_dim(scope, &x)?, dtype)?;
        let initial = initial_state(scope, cell, self.initial_state.as_ref(), &x, 1, dtype)?;
        let lengths = self.sequence_length.map(|l| cast(l, DType::I32)).transpose()?;
        let mut captures: Vec<&Tensor> = weights.iter().collect();
        captures.extend(&lengths);
        let nw = weights.len();
        let out = scan(&initial.iter().collect::<Vec<_>>(), &[&x], &captures, |s| {
            let (output, new_state) = cell.step(&s.captures[..nw], &s.inputs[0], s.states)?;
            match s.captures.get(nw) {
                None => Ok((new_state, vec![output])),
                Some(lengths) => copy_through(s.time, lengths, &output, s.states, new_state),
            }
        })?;
        let outputs = match self.time_major {
            true => out.outputs[0].clone(),
            false => transpose(&out.outputs[0], Some(&[1, 0, 2]))?,
        };
        Ok((outputs, cell.pack_state(&out.final_states)?))
    }
}

/// TF's `_rnn_step` past an example's length: its output zeros, its state the previous one.
fn copy_through(
    time: &Tensor,
    lengths: &Tensor,
    output: &Tensor,
    old: &[Tensor],
    new: Vec<Tensor>,
) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
    let running = less(time, lengths)?;
    let output = select(&running, output, &zeros_like(output)?)?;
    let state = new.iter().zip(old).map(|(n, o)| select(&running, n, o)).collect::<Result<_>>()?;
    Ok((state, vec![output]))
}

/// The given initial state, checked against the cell, or its zero state.
fn initial_state(
    scope: &str,
    cell: &dyn RnnCell,
    given: Option<&State>,
    like: &Tensor,
    batch_axis: usize,
    dtype: DType,
) -> Result<Vec<Tensor>> {
    match given {
        None => zero_state(cell, like, batch_axis, dtype),
        Some(s) => {
            let flat = s.flatten();
            if flat.len() != cell.state_size().len() {
                return Err(rnn_error(
                    scope,
                    format!(
                        "the initial state has {} tensors where the cell's state has {}",
                        flat.len(),
                        cell.state_size().len()
                    ),
                ));
            }
            Ok(flat)
        }
    }
}

/// TF `tf.compat.v1.nn.static_rnn(cell, inputs)`: the cell unrolled over a
/// list of inputs `[batch, depth]`, one per step, in variable scope `rnn`;
/// returns one output per step and the final state. With
/// `sequence_length`, as [`dynamic_rnn`].
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, GRUCell};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let xs: Vec<Tensor> = (0..4).map(|_| placeholder(DType::F32, Shape::from_dims([None, Some(3)]))).collect::<Result<_>>()?;
/// let (outputs, _) = rnn::static_rnn(&GRUCell::new(2), &xs).build()?;
/// assert_eq!(outputs[3].shape().to_string(), "(None, 2)");
/// assert!(graph.variable("rnn/gru_cell/gates/kernel").is_some());
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub fn static_rnn<'a>(cell: &'a dyn RnnCell, inputs: &'a [Tensor]) -> StaticRnn<'a> {
    StaticRnn { cell, inputs, sequence_length: None, initial_state: None, scope: None }
}

/// The options of [`static_rnn`]; `.build()` unrolls the cell.
#[must_use = "the loop is built by `.build()`"]
pub struct StaticRnn<'a> {
    cell: &'a dyn RnnCell,
    inputs: &'a [Tensor],
    sequence_length: Option<&'a Tensor>,
    initial_state: Option<State>,
    scope: Option<String>,
}

impl<'a> StaticRnn<'a> {
    /// Each example's length, an integer vector `[batch]` (TF `sequence_length`).
    pub fn sequence_length(mut self, lengths: &'a Tensor) -> Self {
        self.sequence_length = Some(lengths);
        self
    }

    /// The state before the first step (TF `initial_state`; default the cell's zero state).
    pub fn initial_state(mut self, state: State) -> Self {
        self.initial_state = Some(state);
        self
    }

    /// The variable scope (TF `scope`, default `rnn`).
    pub fn scope(mut self, scope: &str) -> Self {
        self.scope = Some(scope.to_owned());
        self
    }

    /// Unrolls the cell; returns the outputs and the final state.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`](crate::Error::Layer) for no inputs, inputs whose
    /// depth is not known, or an initial state that does not fit the cell;
    /// the errors of [`get_variable`](crate::get_variable) and of the ops.
    pub fn build(self) -> Result<(Vec<Tensor>, State)> {
        let scope = self.scope.as_deref().unwrap_or("rnn");
        let _vs = variable_scope(scope).enter()?;
        let first = self.inputs.first().ok_or_else(|| rnn_error(scope, "static_rnn needs at least one input"))?;
        let (cell, dtype) = (self.cell, first.dtype());
        let weights = cell.build(last_dim(scope, first)?, dtype)?;
        let mut state = initial_state(scope, cell, self.initial_state.as_ref(), first, 0, dtype)?;
        let lengths = self.sequence_length.map(|l| cast(l, DType::I32)).transpose()?;
        let mut outputs = Vec::with_capacity(self.inputs.len());
        for (t, x) in self.inputs.iter().enumerate() {
            let (output, new_state) = cell.step(&weights, x, &state)?;
            let (new_state, output) = match &lengths {
                None => (new_state, output),
                Some(l) => {
                    let time = constant(Value::from(t as i32))?;
                    let (s, mut o) = copy_through(&time, l, &output, &state, new_state)?;
                    (s, o.remove(0))
                }
            };
            outputs.push(output);
            state = new_state;
        }
        Ok((outputs, cell.pack_state(&state)?))
    }
}
