//! One RNN cell reused over time steps (`reuse = auto`: the first step creates
//! `rnn/cell/…`, later steps share it), and the error TensorFlow gives when a
//! cell meant to share is called from a different scope.
//!
//! Run: `cargo run --example rnn`

use scopeflow::prelude::*;
use std::io::Write;

/// `h' = relu(x W + h U + b)`, sharing its weights across calls.
#[scoped("cell", reuse = auto)]
fn cell(x: &Tensor, h: &Tensor) -> Result<Tensor> {
    let units = h.dim(1)?;
    let w = get_variable("W", [x.dim(1)?, units]).get()?;
    let u = get_variable("U", [units, units]).get()?;
    let b = get_variable("b", [units]).initializer(Init::Zeros).get()?;
    relu(&add(&add(&matmul(x, &w)?, &matmul(h, &u)?)?, &b)?)
}

/// The same cell for inference: it must find existing weights.
#[scoped("cell", reuse = true)]
fn shared_cell(x: &Tensor, h: &Tensor) -> Result<Tensor> {
    let units = h.dim(1)?;
    let w = get_variable("W", [x.dim(1)?, units]).get()?;
    let u = get_variable("U", [units, units]).get()?;
    relu(&add(&matmul(x, &w)?, &matmul(h, &u)?)?)
}

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// Unrolls four steps and prints the op and variable names, then the error.
pub fn run(out: &mut impl Write) -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let mut w = |line: String| writeln!(out, "{line}").expect("stdout is writable");
    let _rnn = variable_scope("rnn").enter()?;
    let mut h = named("h0").constant(ndarray::Array2::<f32>::zeros((1, 4)))?;
    let x = named("x").constant(ndarray::Array2::<f32>::ones((1, 3)))?;
    for t in 0..4 {
        h = cell(&x, &h)?;
        w(format!("step {t}: {}", h.name()));
    }
    let names: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    w(format!("variables {names:?}"));
    let state = scopeflow::Session::new(&graph).run(&[&h], &[])?.remove(0);
    w(format!("final state {:?}, non-negative: {}", state.shape(), state.to_f64_vec().iter().all(|v| *v >= 0.0)));
    // The inference cell finds rnn/cell/W inside `rnn`, but not from `decoder`.
    w(format!("shared from rnn: {}", shared_cell(&x, &h).map(|t| t.name().to_owned())?));
    drop(_rnn);
    let _decoder = variable_scope("decoder").enter()?;
    if let Err(e) = shared_cell(&x, &h) {
        w(format!("from decoder: {e}"));
    }
    Ok(())
}
