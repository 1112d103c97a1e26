//! The cells of `tf.compat.v1.nn.rnn_cell`: `BasicRNNCell`, `BasicLSTMCell`,
//! `LSTMCell`, `GRUCell`, with TF's variables, gate layouts and defaults.

use super::{CellActivation, LSTMStateTuple, RnnCell, State, Weights, expect_parts};
use scope_runtime::{
    DType, Init, Result, Shape, Tensor, Value, add, bias_add, clip_by_value, concat, constant, get_variable, matmul,
    mul, sigmoid, split, sub, tanh,
};

/// A weight of a cell in the current scope: `get_variable(name, shape)` of
/// the inputs' dtype, with `init` if given (else the scope's, glorot_uniform
/// by default, as TF's `add_weight`).
#[track_caller]
fn weight(name: &str, shape: &[usize], dtype: DType, init: Option<Init>) -> Result<Tensor> {
    let mut v = get_variable(name, Shape::from(shape.to_vec())).dtype(dtype);
    if let Some(i) = init {
        v = v.initializer(i);
    }
    let v = v.get()?;
    Ok(Tensor::clone(&v))
}

/// A scalar of `like`'s dtype.
fn scalar(like: &Tensor, x: f64) -> Result<Tensor> {
    constant(Value::filled(like.dtype(), &[], x))
}

/// The most basic RNN cell, TF `BasicRNNCell(num_units, activation=tanh)`:
/// `output = new_state = activation([inputs, state] · kernel + bias)`;
/// variables `basic_rnn_cell/kernel` `[depth + num_units, num_units]`
/// (glorot_uniform unless the scope sets one) and `basic_rnn_cell/bias` (zeros).
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, BasicRNNCell};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let xs: Vec<Tensor> = (0..3).map(|_| placeholder(DType::F32, Shape::from_dims([Some(2), Some(5)]))).collect::<Result<_>>()?;
/// let (outputs, _) = rnn::static_rnn(&BasicRNNCell::new(4), &xs).build()?;
/// assert_eq!(outputs.len(), 3);
/// assert_eq!(graph.variable("rnn/basic_rnn_cell/kernel").unwrap().shape().to_vec(), vec![9, 4]);
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub struct BasicRNNCell {
    num_units: usize,
    activation: CellActivation,
    name: Option<String>,
    weights: Weights,
}

impl BasicRNNCell {
    /// A cell of `num_units` units.
    pub fn new(num_units: usize) -> BasicRNNCell {
        BasicRNNCell { num_units, activation: tanh, name: None, weights: Weights::default() }
    }

    /// The activation (TF `activation`, default `tanh`).
    pub fn activation(mut self, activation: CellActivation) -> Self {
        self.activation = activation;
        self
    }

    /// The cell's scope name (TF `name`; default `basic_rnn_cell`, made unique).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

#[crate::scoped(scope = name)]
#[track_caller]
fn basic_rnn_cell(units: usize, depth: usize, dtype: DType, name: Option<&str>) -> Result<Vec<Tensor>> {
    Ok(vec![
        weight("kernel", &[depth + units, units], dtype, None)?,
        weight("bias", &[units], dtype, Some(Init::Zeros))?,
    ])
}

impl RnnCell for BasicRNNCell {
    fn state_size(&self) -> Vec<usize> {
        vec![self.num_units]
    }

    fn output_size(&self) -> usize {
        self.num_units
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        self.weights.get_or_build(|| basic_rnn_cell(self.num_units, input_depth, dtype, self.name.as_deref()))
    }

    fn step(&self, w: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let (w, state) =
            (expect_parts("basic_rnn_cell", "weight", w, 2)?, expect_parts("basic_rnn_cell", "state", state, 1)?);
        let gate = bias_add(&matmul(&concat(&[inputs, &state[0]], 1)?, &w[0])?, &w[1])?;
        let out = (self.activation)(&gate)?;
        Ok((out.clone(), vec![out]))
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        Ok(State::Tensor(expect_parts("cell", "state", flat, 1)?[0].clone()))
    }
}

/// TF `BasicLSTMCell(num_units, forget_bias=1.0, activation=tanh)`: gates
/// `i, j, f, o = split([inputs, h] · kernel + bias, 4)`,
/// `c' = c·σ(f + forget_bias) + σ(i)·tanh(j)`, `h' = tanh(c')·σ(o)`;
/// variables `basic_lstm_cell/kernel` `[depth + num_units, 4·num_units]`
/// (glorot_uniform unless the scope sets one) and `basic_lstm_cell/bias`
/// (zeros); state [`LSTMStateTuple`] `(c, h)`.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, BasicLSTMCell};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, Some(6), Some(2)]))?;
/// rnn::dynamic_rnn(&BasicLSTMCell::new(3).forget_bias(0.0), &x).build()?;
/// assert_eq!(graph.variable("rnn/basic_lstm_cell/kernel").unwrap().shape().to_vec(), vec![5, 12]);
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub struct BasicLSTMCell {
    num_units: usize,
    forget_bias: f64,
    activation: CellActivation,
    name: Option<String>,
    weights: Weights,
}

impl BasicLSTMCell {
    /// A cell of `num_units` units.
    pub fn new(num_units: usize) -> BasicLSTMCell {
        BasicLSTMCell { num_units, forget_bias: 1.0, activation: tanh, name: None, weights: Weights::default() }
    }

    /// Added to the forget gate's input (TF `forget_bias`, default 1.0).
    pub fn forget_bias(mut self, forget_bias: f64) -> Self {
        self.forget_bias = forget_bias;
        self
    }

    /// The activation of the cell input and state (TF `activation`, default `tanh`).
    pub fn activation(mut self, activation: CellActivation) -> Self {
        self.activation = activation;
        self
    }

    /// The cell's scope name (TF `name`; default `basic_lstm_cell`, made unique).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

#[crate::scoped(scope = name)]
#[track_caller]
fn basic_lstm_cell(units: usize, depth: usize, dtype: DType, name: Option<&str>) -> Result<Vec<Tensor>> {
    Ok(vec![
        weight("kernel", &[depth + units, 4 * units], dtype, None)?,
        weight("bias", &[4 * units], dtype, Some(Init::Zeros))?,
    ])
}

impl RnnCell for BasicLSTMCell {
    fn state_size(&self) -> Vec<usize> {
        vec![self.num_units, self.num_units]
    }

    fn output_size(&self) -> usize {
        self.num_units
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        self.weights.get_or_build(|| basic_lstm_cell(self.num_units, input_depth, dtype, self.name.as_deref()))
    }

    fn step(&self, w: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let (w, state) =
            (expect_parts("basic_lstm_cell", "weight", w, 2)?, expect_parts("basic_lstm_cell", "state", state, 2)?);
        let (c, h) = (&state[0], &state[1]);
        let gates = bias_add(&matmul(&concat(&[inputs, h], 1)?, &w[0])?, &w[1])?;
        let [i, j, f, o]: [Tensor; 4] = split(&gates, 4, 1)?.try_into().expect("split makes 4 parts");
        let forget = sigmoid(&add(&f, &scalar(&f, self.forget_bias)?)?)?;
        let new_c = add(&mul(c, &forget)?, &mul(&sigmoid(&i)?, &(self.activation)(&j)?)?)?;
        let new_h = mul(&(self.activation)(&new_c)?, &sigmoid(&o)?)?;
        Ok((new_h.clone(), vec![new_c, new_h]))
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        let flat = expect_parts("lstm cell", "state", flat, 2)?;
        Ok(State::Lstm(LSTMStateTuple { c: flat[0].clone(), h: flat[1].clone() }))
    }
}

/// TF `LSTMCell(num_units, use_peepholes=False, cell_clip=None,
/// initializer=None, num_proj=None, proj_clip=None, forget_bias=1.0,
/// activation=tanh)`: [`BasicLSTMCell`]'s gates `i, j, f, o`, with
/// peepholes `w_f_diag`, `w_i_diag`, `w_o_diag` (`[num_units]`), the cell
/// state clipped to `±cell_clip`, and the output projected by
/// `projection/kernel` `[num_units, num_proj]` (then clipped to
/// `±proj_clip`). Variables in TF's order: `lstm_cell/kernel`
/// `[depth + h, 4·num_units]` (`h` is `num_proj` or `num_units`),
/// `lstm_cell/bias` (zeros), the peepholes, the projection; all but the
/// bias from `initializer` (default: the scope's, glorot_uniform).
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, LSTMCell};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
/// let cell = LSTMCell::new(4).use_peepholes(true).cell_clip(1.0).num_proj(2);
/// let (out, _) = rnn::dynamic_rnn(&cell, &x).build()?;
/// assert_eq!(out.shape().to_string(), "(None, None, 2)");
/// let names: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
/// assert_eq!(names, ["rnn/lstm_cell/kernel", "rnn/lstm_cell/bias", "rnn/lstm_cell/w_f_diag",
///     "rnn/lstm_cell/w_i_diag", "rnn/lstm_cell/w_o_diag", "rnn/lstm_cell/projection/kernel"]);
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub struct LSTMCell {
    num_units: usize,
    use_peepholes: bool,
    cell_clip: Option<f64>,
    initializer: Option<Init>,
    num_proj: Option<usize>,
    proj_clip: Option<f64>,
    forget_bias: f64,
    activation: CellActivation,
    name: Option<String>,
    weights: Weights,
}

impl LSTMCell {
    /// A cell of `num_units` units, TF's defaults otherwise.
    pub fn new(num_units: usize) -> LSTMCell {
        LSTMCell {
            num_units,
            use_peepholes: false,
            cell_clip: None,
            initializer: None,
            num_proj: None,
            proj_clip: None,
            forget_bias: 1.0,
            activation: tanh,
            name: None,
            weights: Weights::default(),
        }
    }

    /// Diagonal peephole connections (TF `use_peepholes`, default false).
    pub fn use_peepholes(mut self, use_peepholes: bool) -> Self {
        self.use_peepholes = use_peepholes;
        self
    }

    /// Clips the cell state to `±cell_clip` (TF `cell_clip`, default none).
    pub fn cell_clip(mut self, cell_clip: f64) -> Self {
        self.cell_clip = Some(cell_clip);
        self
    }

    /// The initializer of the kernel, peepholes and projection (TF `initializer`; default: the scope's).
    pub fn initializer(mut self, initializer: Init) -> Self {
        self.initializer = Some(initializer);
        self
    }

    /// Projects the output to `num_proj` units (TF `num_proj`, default none).
    pub fn num_proj(mut self, num_proj: usize) -> Self {
        self.num_proj = Some(num_proj);
        self
    }

    /// Clips the projected output to `±proj_clip` (TF `proj_clip`, default none).
    pub fn proj_clip(mut self, proj_clip: f64) -> Self {
        self.proj_clip = Some(proj_clip);
        self
    }

    /// Added to the forget gate's input (TF `forget_bias`, default 1.0).
    pub fn forget_bias(mut self, forget_bias: f64) -> Self {
        self.forget_bias = forget_bias;
        self
    }

    /// The activation of the cell input and state (TF `activation`, default `tanh`).
    pub fn activation(mut self, activation: CellActivation) -> Self {
        self.activation = activation;
        self
    }

    /// The cell's scope name (TF `name`; default `lstm_cell`, made unique).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

#[crate::scoped(scope = name)]
#[track_caller]
fn lstm_cell(cell: &LSTMCell, depth: usize, dtype: DType, name: Option<&str>) -> Result<Vec<Tensor>> {
    let (units, init) = (cell.num_units, cell.initializer.clone());
    let h = cell.num_proj.unwrap_or(units);
    let mut w = vec![
        weight("kernel", &[depth + h, 4 * units], dtype, init.clone())?,
        weight("bias", &[4 * units], dtype, Some(Init::Zeros))?,
    ];
    if cell.use_peepholes {
        for diag in ["w_f_diag", "w_i_diag", "w_o_diag"] {
            w.push(weight(diag, &[units], dtype, init.clone())?);
        }
    }
    if let Some(p) = cell.num_proj {
        w.push(weight("projection/kernel", &[units, p], dtype, init)?);
    }
    Ok(w)
}

impl RnnCell for LSTMCell {
    fn state_size(&self) -> Vec<usize> {
        vec![self.num_units, self.output_size()]
    }

    fn output_size(&self) -> usize {
        self.num_proj.unwrap_or(self.num_units)
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        self.weights.get_or_build(|| lstm_cell(self, input_depth, dtype, self.name.as_deref()))
    }

    fn step(&self, w: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let weights = 2 + 3 * usize::from(self.use_peepholes) + usize::from(self.num_proj.is_some());
        let (w, state) =
            (expect_parts("lstm_cell", "weight", w, weights)?, expect_parts("lstm_cell", "state", state, 2)?);
        let (c_prev, m_prev) = (&state[0], &state[1]);
        let lstm_matrix = bias_add(&matmul(&concat(&[inputs, m_prev], 1)?, &w[0])?, &w[1])?;
        let [i, j, f, o]: [Tensor; 4] = split(&lstm_matrix, 4, 1)?.try_into().expect("split makes 4 parts");
        let act = self.activation;
        let forget = add(&f, &scalar(&f, self.forget_bias)?)?;
        let mut c = if self.use_peepholes {
            let (wf, wi) = (&w[2], &w[3]);
            add(
                &mul(&sigmoid(&add(&forget, &mul(wf, c_prev)?)?)?, c_prev)?,
                &mul(&sigmoid(&add(&i, &mul(wi, c_prev)?)?)?, &act(&j)?)?,
            )?
        } else {
            add(&mul(&sigmoid(&forget)?, c_prev)?, &mul(&sigmoid(&i)?, &act(&j)?)?)?
        };
        if let Some(clip) = self.cell_clip {
            c = clip_by_value(&c, -clip, clip)?;
        }
        let mut m = if self.use_peepholes {
            mul(&sigmoid(&add(&o, &mul(&w[4], &c)?)?)?, &act(&c)?)?
        } else {
            mul(&sigmoid(&o)?, &act(&c)?)?
        };
        if self.num_proj.is_some() {
            m = matmul(&m, &w[weights - 1])?;
            if let Some(clip) = self.proj_clip {
                m = clip_by_value(&m, -clip, clip)?;
            }
        }
        Ok((m.clone(), vec![c, m]))
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        let flat = expect_parts("lstm cell", "state", flat, 2)?;
        Ok(State::Lstm(LSTMStateTuple { c: flat[0].clone(), h: flat[1].clone() }))
    }
}

/// TF `GRUCell(num_units, activation=tanh, kernel_initializer=None,
/// bias_initializer=None)`: `r, u = split(σ([inputs, h] · gates/kernel +
/// gates/bias), 2)`, `c = tanh([inputs, r·h] · candidate/kernel +
/// candidate/bias)`, `h' = u·h + (1 - u)·c`. Variables
/// `gru_cell/gates/kernel` `[depth + n, 2n]`, `gru_cell/gates/bias` (ones,
/// TF's `constant_initializer(1.0)`), `gru_cell/candidate/kernel`
/// `[depth + n, n]`, `gru_cell/candidate/bias` (zeros); the kernels from
/// `kernel_initializer` (default: the scope's), both biases from
/// `bias_initializer` when set.
///
/// # Examples
///
/// ```
/// use scopeflow::prelude::*;
/// use scopeflow::rnn::{self, GRUCell};
/// let graph = Graph::new();
/// let _g = graph.as_default();
/// let x = placeholder(DType::F32, Shape::from_dims([None, None, Some(3)]))?;
/// rnn::dynamic_rnn(&GRUCell::new(4), &x).build()?;
/// assert_eq!(graph.variable("rnn/gru_cell/gates/bias").unwrap().value()?.to_f64_vec(), vec![1.0; 8]);
/// # Ok::<(), scopeflow::Error>(())
/// ```
pub struct GRUCell {
    num_units: usize,
    activation: CellActivation,
    kernel_initializer: Option<Init>,
    bias_initializer: Option<Init>,
    name: Option<String>,
    weights: Weights,
}

impl GRUCell {
    /// A cell of `num_units` units.
    pub fn new(num_units: usize) -> GRUCell {
        GRUCell {
            num_units,
            activation: tanh,
            kernel_initializer: None,
            bias_initializer: None,
            name: None,
            weights: Weights::default(),
        }
    }

    /// The candidate's activation (TF `activation`, default `tanh`).
    pub fn activation(mut self, activation: CellActivation) -> Self {
        self.activation = activation;
        self
    }

    /// The kernels' initializer (TF `kernel_initializer`; default: the scope's).
    pub fn kernel_initializer(mut self, init: Init) -> Self {
        self.kernel_initializer = Some(init);
        self
    }

    /// Both biases' initializer (TF `bias_initializer`; default ones for the gates, zeros for the candidate).
    pub fn bias_initializer(mut self, init: Init) -> Self {
        self.bias_initializer = Some(init);
        self
    }

    /// The cell's scope name (TF `name`; default `gru_cell`, made unique).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }
}

#[crate::scoped(scope = name)]
#[track_caller]
fn gru_cell(cell: &GRUCell, depth: usize, dtype: DType, name: Option<&str>) -> Result<Vec<Tensor>> {
    let n = cell.num_units;
    let (k, b) = (&cell.kernel_initializer, &cell.bias_initializer);
    Ok(vec![
        weight("gates/kernel", &[depth + n, 2 * n], dtype, k.clone())?,
        weight("gates/bias", &[2 * n], dtype, Some(b.clone().unwrap_or(Init::Constant(1.0))))?,
        weight("candidate/kernel", &[depth + n, n], dtype, k.clone())?,
        weight("candidate/bias", &[n], dtype, Some(b.clone().unwrap_or(Init::Zeros)))?,
    ])
}

impl RnnCell for GRUCell {
    fn state_size(&self) -> Vec<usize> {
        vec![self.num_units]
    }

    fn output_size(&self) -> usize {
        self.num_units
    }

    fn build(&self, input_depth: usize, dtype: DType) -> Result<Vec<Tensor>> {
        self.weights.get_or_build(|| gru_cell(self, input_depth, dtype, self.name.as_deref()))
    }

    fn step(&self, w: &[Tensor], inputs: &Tensor, state: &[Tensor]) -> Result<(Tensor, Vec<Tensor>)> {
        let (w, state) = (expect_parts("gru_cell", "weight", w, 4)?, expect_parts("gru_cell", "state", state, 1)?);
        let h = &state[0];
        let gates = sigmoid(&bias_add(&matmul(&concat(&[inputs, h], 1)?, &w[0])?, &w[1])?)?;
        let [r, u]: [Tensor; 2] = split(&gates, 2, 1)?.try_into().expect("split makes 2 parts");
        let r_state = mul(&r, h)?;
        let candidate = bias_add(&matmul(&concat(&[inputs, &r_state], 1)?, &w[2])?, &w[3])?;
        let c = (self.activation)(&candidate)?;
        let new_h = add(&mul(&u, h)?, &mul(&sub(&scalar(&u, 1.0)?, &u)?, &c)?)?;
        Ok((new_h.clone(), vec![new_h]))
    }

    fn pack_state(&self, flat: &[Tensor]) -> Result<State> {
        Ok(State::Tensor(expect_parts("cell", "state", flat, 1)?[0].clone()))
    }
}
