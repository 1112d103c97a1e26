//! TF1's recurrent cells and the loops that drive them
//! (`tf.compat.v1.nn.rnn_cell`, `tf.compat.v1.nn.dynamic_rnn`,
//! `tf.compat.v1.nn.static_rnn`), with TensorFlow's variable names, gate
//! layouts, initializers and defaults, so that a TF1 checkpoint of an RNN
//! restores without renaming.
//!
//! | TensorFlow 1.x | scopeflow |
//! | --- | --- |
//! | `tf.nn.rnn_cell.BasicRNNCell(n)` | [`BasicRNNCell::new(n)`](BasicRNNCell) — `basic_rnn_cell/kernel`, `bias` |
//! | `tf.nn.rnn_cell.BasicLSTMCell(n, forget_bias=1.0)` | [`BasicLSTMCell::new(n)`](BasicLSTMCell) — `basic_lstm_cell/kernel`, `bias` (gates i, j, f, o) |
//! | `tf.nn.rnn_cell.LSTMCell(n, use_peepholes, cell_clip, num_proj, …)` | [`LSTMCell::new(n)`](LSTMCell)`.use_peepholes(true).cell_clip(3.0).num_proj(p)` — `lstm_cell/kernel`, `bias`, `w_f_diag`, `w_i_diag`, `w_o_diag`, `projection/kernel` |
//! | `tf.nn.rnn_cell.GRUCell(n)` | [`GRUCell::new(n)`](GRUCell) — `gru_cell/gates/kernel`, `gates/bias` (ones), `candidate/kernel`, `candidate/bias` |
//! | `tf.nn.rnn_cell.MultiRNNCell([a, b])` | [`MultiRNNCell::new(vec![…])`](MultiRNNCell) — `multi_rnn_cell/cell_0/…` |
//! | `tf.nn.rnn_cell.DropoutWrapper(cell, output_keep_prob=0.5)` | [`DropoutWrapper::new(cell)`](DropoutWrapper)`.output_keep_prob(0.5)` |
//! | `tf.nn.dynamic_rnn(cell, x, sequence_length=len, dtype=tf.float32)` | [`dynamic_rnn(&cell, &x)`](dynamic_rnn)`.sequence_length(&len).build()?` |
//! | `tf.nn.static_rnn(cell, xs, dtype=tf.float32)` | [`static_rnn(&cell, &xs)`](static_rnn)`.build()?` |
//!
//! ```
//! use scopeflow::prelude::*;
//! use scopeflow::rnn::{self, LSTMCell, State};
//!
//! let graph = Graph::with_seed(0);
//! let _g = graph.as_default();
//! // Batch and time known only when the graph runs.
//! let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
//! let cell = LSTMCell::new(4);
//! let (outputs, state) = rnn::dynamic_rnn(&cell, &x).build()?;
//! let names: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
//! assert_eq!(names, ["rnn/lstm_cell/kernel", "rnn/lstm_cell/bias"]);
//! assert_eq!(outputs.shape().to_string(), "(None, None, 4)");
//! let State::Lstm(s) = state else { unreachable!() };
//! let run = Session::new(&graph).run(&[&outputs, &s.h], &[(&x, &Value::from(ndarray::Array3::<f32>::ones((2, 5, 3))))])?;
//! assert_eq!((run[0].shape(), run[1].shape()), (&[2, 5, 4][..], &[2, 4][..]));
//! # Ok::<(), scopeflow::Error>(())
//! ```
//!
//! Each cell creates its variables once, on its first use, in a fresh
//! default-named scope (`lstm_cell`, or its `name`) inside the loop's
//! `rnn` scope, as TF's `Layer` does; later uses share them. As in TF, a
//! second `dynamic_rnn` in the same scope with a new cell of the same kind
//! fails with "variable `rnn/lstm_cell/kernel` already exists" (give it
//! another `scope`). [`dynamic_rnn`] runs its loop as one `Scan` op (see
//! [`scan`](crate::scan)), so time may be unknown until the graph runs and
//! gradients flow through it; [`static_rnn`] unrolls.
//!
//! Differences from TensorFlow: the ops of the loop are not TF's
//! `while/Enter`, `Merge`, `Switch`, `Exit` nodes; only
//! `state_is_tuple = True` states; `DropoutWrapper` without
//! `variational_recurrent`.

mod cells;
mod driver;
mod wrappers;

pub use cells::{BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell};
pub use driver::{DynamicRnn, StaticRnn, dynamic_rnn, static_rnn};
pub use wrappers::{DropoutWrapper, MultiRNNCell};

use scope_runtime::{DType, Error, Result, Shape, Tensor, Value, constant, fill_to, get_item, shape, stack};
use std::cell::RefCell;

/// An activation a cell applies (TF `activation=tf.tanh`).
pub type CellActivation = fn(&Tensor) -> Result<Tensor>;

/// A recurrent cell, TF's `RNNCell`: the sizes of its state and output,
/// the variables it makes once, and one step.
///
/// The loops call [`build`](RnnCell::build) in the scope they open, then
/// [`step`](RnnCell::step) with the weights it returned (or, inside a
/// [`dynamic_rnn`] loop, with their stand-ins in the loop's body).
pub trait RnnCell {
    /// The size of each part of the state, flattened (TF `state_size`; an LSTM's is `[c, h]`).
    fn state_size(&self) -> Vec<usize>;

    /// The size of the output (TF `output_size`).
    fn output_size(&self) -> usize;

    /// Makes the cell's variables in the current variable scope on the first
    /// call, for inputs of depth `input_depth`; returns them (the same ones on
    /// later calls).
    ///
    /// # Errors
    ///
    /// The errors of [`get_variable`](crate::get_variable).
    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>>;

    /// One step: the output and the new state (flattened) from `inputs`
    /// `[batch, depth]` and the state, with `weights` as `build` returned them.
    ///
    /// # Errors
    ///
    /// The errors of the ops.
    fn step(&self, weights: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)>;

    /// The flattened state in the cell's structure.
    ///
    /// # Errors
    ///
    /// [`Error::Layer`] when `flat` has another number of tensors than
    /// [`state_size`](RnnCell::state_size).
    fn pack_state(&self, flat: &[Tensor]) -> Result<State>;
}

/// A cell behind a reference is that cell (a wrapper of a borrowed cell shares its variables).
impl<C: RnnCell + ?Sized> RnnCell for &C {
    fn state_size(&self) -> Vec<usize> {
        (**self).state_size()
    }

    fn output_size(&self) -> usize {
        (**self).output_size()
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        (**self).build(input_depth, dtype)
    }

    fn step(&self, weights: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        (**self).step(weights, inputs, state)
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        (**self).pack_state(flat)
    }
}

/// A boxed cell is a cell (for [`MultiRNNCell`]'s cells and wrappers of them).
impl<C: RnnCell + ?Sized> RnnCell for Box<C> {
    fn state_size(&self) -> Vec<usize> {
        (**self).state_size()
    }

    fn output_size(&self) -> usize {
        (**self).output_size()
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        (**self).build(input_depth, dtype)
    }

    fn step(&self, weights: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        (**self).step(weights, inputs, state)
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        (**self).pack_state(flat)
    }
}

/// A cell's state as TensorFlow nests it: a tensor, an LSTM's `(c, h)`, or
/// a tuple (`MultiRNNCell`).
#[derive(Clone, Debug)]
pub enum State {
    /// One tensor (`BasicRNNCell`, `GRUCell`).
    Tensor(Tensor),
    /// An LSTM's cell and hidden state.
    Lstm(LSTMStateTuple),
    /// One state per cell (`MultiRNNCell`).
    Tuple(Vec<State>),
}

/// TF's `LSTMStateTuple(c, h)`.
#[derive(Clone, Debug)]
pub struct LSTMStateTuple {
    /// The cell state `[batch, num_units]`.
    pub c: Tensor,
    /// The hidden state, also the output (`[batch, num_proj]` with a projection).
    pub h: Tensor,
}

impl State {
    /// The state's tensors in TF's `nest.flatten` order (an LSTM's `c` then `h`).
    ///
    /// # Examples
    ///
    /// ```
    /// use scopeflow::prelude::*;
    /// use scopeflow::rnn::{LSTMStateTuple, State};
    /// let graph = Graph::new();
    /// let _g = graph.as_default();
    /// let (c, h) = (constant(vec![1.0f32])?, constant(vec![2.0f32])?);
    /// let s = State::Tuple(vec![State::Lstm(LSTMStateTuple { c: c.clone(), h: h.clone() }), State::Tensor(h.clone())]);
    /// let names: Vec<String> = s.flatten().iter().map(|t| t.name().to_owned()).collect();
    /// assert_eq!(names, ["Const", "Const_1", "Const_1"]);
    /// # Ok::<(), scopeflow::Error>(())
    /// ```
    pub fn flatten(&self) -> Vec<Tensor> {
        match self {
            State::Tensor(t) => vec![t.clone()],
            State::Lstm(s) => vec![s.c.clone(), s.h.clone()],
            State::Tuple(parts) => parts.iter().flat_map(State::flatten).collect(),
        }
    }
}

/// A cell's variables, made on its first build and shared after.
#[derive(Default)]
struct Weights(RefCell<Option<Vec<Tensor>>>);

impl Weights {
    fn get_or_build(&self, build: impl FnOnce() -> Result<Vec<Tensor>>) -> Result<Vec<Tensor>> {
        if let Some(w) = &*self.0.borrow() {
            return Ok(w.clone());
        }
        let w = build()?;
        *self.0.borrow_mut() = Some(w.clone());
        Ok(w)
    }
}

/// An [`Error::Layer`] for the cell or loop `what`.
fn rnn_error(what: &str, problem: impl Into<String>) -> Error {
    Error::Layer { layer: what.to_owned(), problem: problem.into() }
}

/// Checks that a cell was handed `want` tensors of `what` (weights, state parts).
fn expect_parts<'a>(cell: &str, what: &str, got: &'a [Tensor], want: usize) -> Result<&'a [Tensor]> {
    match got.len() == want {
        true => Ok(got),
        false => Err(rnn_error(
            cell,
            format!(
                "its step takes {want} {what} tensors, not {}; pass what `build` and `zero_state` return",
                got.len()
            ),
        )),
    }
}

/// The static last dimension of `x`, which a cell needs.
fn last_dim(what: &str, x: &Tensor) -> Result<usize> {
    x.shape().dims().and_then(|d| d.last().copied().flatten()).ok_or_else(|| {
        rnn_error(what, format!("the last dimension of its inputs `{}` (shape {}) must be known", x.name(), x.shape()))
    })
}

/// TF `cell.zero_state(batch_size, dtype)`: zeros `[batch, size]` for each
/// part of the state, the batch taken from axis `batch_axis` of `like`.
fn zero_state(cell: &dyn RnnCell, like: &Tensor, batch_axis: usize, dtype: DType) -> Result<Vec<Tensor>> {
    let known = like.shape().dims().and_then(|d| d.get(batch_axis).copied().flatten());
    let batch = match known {
        Some(_) => None,
        None => Some(get_item(&shape(like)?, batch_axis as i64)?),
    };
    cell.state_size()
        .into_iter()
        .map(|size| match (&batch, known) {
            (_, Some(b)) => scope_runtime::fill(&[b, size], Value::filled(dtype, &[], 0.0)),
            (Some(b), None) => {
                let dims = stack(&[b, &constant(size as i32)?], 0)?;
                fill_to(&dims, &Shape::from_dims([None, Some(size)]), Value::filled(dtype, &[], 0.0))
            }
            (None, None) => unreachable!("the batch is known or computed"),
        })
        .collect()
}
