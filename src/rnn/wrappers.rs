//! Cells made of cells: `MultiRNNCell` (stacked) and `DropoutWrapper`.

use super::{RnnCell, State, Weights, expect_parts, rnn_error};
use crate::layers;
use scope_runtime::{DType, Result, Tensor, variable_scope};
use std::cell::RefCell;

/// TF `MultiRNNCell(cells)`: the cells stacked, each one's output the next
/// one's input; the state is a tuple of theirs. Variables under
/// `multi_rnn_cell/cell_0/<cell>/…`, `multi_rnn_cell/cell_1/…`.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, GRUCell, MultiRNNCell, State};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
/// let cell = MultiRNNCell::new(vec![Box::new(GRUCell::new(4)), Box::new(GRUCell::new(5))]);
/// let (out, state) = rnn::dynamic_rnn(&cell, &x).build()?;
/// assert_eq!(out.shape().to_string(), "(None, None, 5)");
/// assert!(matches!(&state, State::Tuple(s) if s.len() == 2));
/// assert!(graph.variable("rnn/multi_rnn_cell/cell_1/gru_cell/candidate/kernel").is_some());
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub struct MultiRNNCell {
    cells: Vec<Box<dyn RnnCell>>,
    /// How many weights each cell built.
    counts: RefCell<Vec<usize>>,
    weights: Weights,
}

impl MultiRNNCell {
    /// The cells, bottom first.
    pub fn new(cells: Vec<Box<dyn RnnCell>>) -> MultiRNNCell {
        MultiRNNCell { cells, counts: RefCell::default(), weights: Weights::default() }
    }
}

#[crate::scoped(scope = name)]
#[track_caller]
fn multi_rnn_cell(
    cells: &[Box<dyn RnnCell>],
    depth: usize,
    dtype: DType,
    name: Option<&str>,
) -> Result<(Vec<Tensor>, Vec<usize>)> {
    let (mut all, mut counts, mut depth) = (Vec::new(), Vec::new(), depth);
    for (i, cell) in cells.iter().enumerate() {
        let w = variable_scope(format!("cell_{i}").as_str()).with(|_| cell.build(depth, dtype))?;
        counts.push(w.len());
        all.extend(w);
        depth = cell.output_size();
    }
    Ok((all, counts))
}

impl RnnCell for MultiRNNCell {
    fn state_size(&self) -> Vec<usize> {
        self.cells.iter().flat_map(|c| c.state_size()).collect()
    }

    fn output_size(&self) -> usize {
        self.cells.last().map_or(0, |c| c.output_size())
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        if self.cells.is_empty() {
            return Err(rnn_error("multi_rnn_cell", "needs at least one cell"));
        }
        self.weights.get_or_build(|| {
            let (w, counts) = multi_rnn_cell(&self.cells, input_depth, dtype, None)?;
            *self.counts.borrow_mut() = counts;
            Ok(w)
        })
    }

    fn step(&self, weights: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let counts = self.counts.borrow();
        let weights = expect_parts("multi_rnn_cell", "weight", weights, counts.iter().sum())?;
        let state = expect_parts("multi_rnn_cell", "state", state, self.state_size().len())?;
        let (mut x, mut new_state) = (inputs.clone(), Vec::with_capacity(state.len()));
        // `expect_parts` checked the lengths: the cells' counts and state sizes add up to them.
        let (mut w_at, mut s_at) = (0, 0);
        for (cell, &count) in self.cells.iter().zip(counts.iter()) {
            let parts = cell.state_size().len();
            let (out, s) = cell.step(&weights[w_at..w_at + count], &x, &state[s_at..s_at + parts])?;
            new_state.extend(s);
            x = out;
            w_at += count;
            s_at += parts;
        }
        Ok((x, new_state))
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        let flat = expect_parts("multi_rnn_cell", "state", flat, self.state_size().len())?;
        let mut at = 0;
        let states = self.cells.iter().map(|c| {
            let n = c.state_size().len();
            at += n;
            c.pack_state(&flat[at - n..at])
        });
        Ok(State::Tuple(states.collect::<Result<_>>()?))
    }
}

/// TF `DropoutWrapper(cell, input_keep_prob=1.0, output_keep_prob=1.0,
/// state_keep_prob=1.0)`: dropout (TF `nn.dropout` with `rate = 1 -
/// keep_prob`, drawn from the graph's seed) on the cell's inputs, outputs
/// and new states (an LSTM's `c` is never dropped, as TF's default
/// `dropout_state_filter_visitor`); a keep probability of 1 adds no ops.
/// The wrapped cell's variables keep their names.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, DropoutWrapper, LSTMCell};
/// let graph = Graph::with_seed(1);
/// let _g = graph.as_default();
/// let xs: Vec<Tensor> = (0..2).map(|_| placeholder(DType::F32, Shape::from_dims([Some(2), Some(3)]))).collect::<Result<_>>()?;
/// let cell = DropoutWrapper::new(LSTMCell::new(4)).output_keep_prob(0.5);
/// rnn::static_rnn(&cell, &xs).build()?;
/// assert!(graph.variable("rnn/lstm_cell/kernel").is_some());
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub struct DropoutWrapper<C> {
    cell: C,
    input_keep_prob: f64,
    output_keep_prob: f64,
    state_keep_prob: f64,
}

impl<C: RnnCell> DropoutWrapper<C> {
    /// `cell` with every keep probability 1.
    pub fn new(cell: C) -> DropoutWrapper<C> {
        DropoutWrapper { cell, input_keep_prob: 1.0, output_keep_prob: 1.0, state_keep_prob: 1.0 }
    }

    /// The probability of keeping each input (TF `input_keep_prob`).
    pub fn input_keep_prob(mut self, p: f64) -> Self {
        self.input_keep_prob = p;
        self
    }

    /// The probability of keeping each output (TF `output_keep_prob`).
    pub fn output_keep_prob(mut self, p: f64) -> Self {
        self.output_keep_prob = p;
        self
    }

    /// The probability of keeping each new state (TF `state_keep_prob`; not an LSTM's `c`).
    pub fn state_keep_prob(mut self, p: f64) -> Self {
        self.state_keep_prob = p;
        self
    }
}

/// TF `nn.dropout(x, rate = 1 - keep)`, nothing when `keep` is 1.
fn drop(x: &Tensor, keep: f64) -> Result<Tensor> {
    if keep == 1.0 {
        return Ok(x.clone());
    }
    if !(keep > 0.0 && keep <= 1.0) {
        return Err(rnn_error("DropoutWrapper", format!("keep probability {keep} is outside (0, 1]")));
    }
    layers::dropout(x).rate(1.0 - keep).training(true).build()
}

impl<C: RnnCell> RnnCell for DropoutWrapper<C> {
    fn state_size(&self) -> Vec<usize> {
        self.cell.state_size()
    }

    fn output_size(&self) -> usize {
        self.cell.output_size()
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        self.cell.build(input_depth, dtype)
    }

    fn step(&self, weights: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let x = drop(inputs, self.input_keep_prob)?;
        let (out, new_state) = self.cell.step(weights, &x, state)?;
        // TF drops every state tensor but an LSTMStateTuple's `c`.
        let keep_c = matches!(self.cell.pack_state(&new_state)?, State::Lstm(_));
        let new_state = new_state
            .iter()
            .enumerate()
            .map(|(i, s)| if keep_c && i == 0 { Ok(s.clone()) } else { drop(s, self.state_keep_prob) })
            .collect::<Result<_>>()?;
        Ok((drop(&out, self.output_keep_prob)?, new_state))
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        self.cell.pack_state(flat)
    }
}
