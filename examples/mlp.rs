//! The TF1 `dense_layer` idiom: layers that take their scope as an argument,
//! called inside an `MLP` scope; then the same weights declared with `model!`
//! and shared for evaluation with `reuse = true`.
//!
//! Run: `cargo run --example mlp`

use scopeflow::prelude::*;
use std::io::Write;

/// `def dense_layer(x, units, scope=None): with tf.variable_scope(scope, default_name="dense_layer"): …`
#[scoped(scope = scope)]
fn dense_layer(x: &Tensor, units: usize, scope: Option<&str>) -> Result<Tensor> {
    let w = get_variable("kernel", [x.dim(1)?, units]).get()?;
    let b = get_variable("bias", [units]).initializer(Init::Zeros).get()?;
    relu(&add(&matmul(x, &w)?, &b)?)
}

#[scoped("MLP", initializer = he_normal)]
fn mlp(x: &Tensor) -> Result<Tensor> {
    let h = dense_layer(x, 64, Some("layer1"))?;
    let h = dense_layer(&h, 32, None)?;
    dense_layer(&h, 10, Some("layer2"))
}

model! {
    /// The evaluation graph's view of the weights `mlp` created.
    pub struct Eval in "MLP" (reuse = true) {
        layer1 { kernel: [784, 64], bias: [64] }
        layer2 { kernel: [32, 10], bias: [10] }
    }
}

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// Builds the MLP, prints its variables and ops, then shares them.
pub fn run(out: &mut impl Write) -> Result<()> {
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(784)]))?;
    let y = mlp(&x)?;
    let mut w = |line: String| writeln!(out, "{line}").expect("stdout is writable");
    for v in graph.trainable_variables(None)? {
        w(format!("variable {} {:?}", v.name(), v.shape()));
    }
    w(format!("output {} {}", y.name(), y.shape()));
    let eval = Eval::build()?;
    w(format!(
        "eval shares {}: {}",
        eval.layer1.kernel.name(),
        Some(&eval.layer1.kernel) == graph.variable("MLP/layer1/kernel").as_ref()
    ));
    w(format!("compile-time names {:?}", Eval::VARIABLES));
    let batch = Value::from(ndarray::Array2::from_shape_fn((32, 784), |(i, j)| ((i * 7 + j) % 11) as f32 / 11.0));
    let out = scopeflow::Session::new(&graph).run(&[&y], &[(&x, &batch)])?.remove(0);
    let values = out.to_f64_vec();
    w(format!(
        "output values for a batch of 32: shape {:?}, all >= 0: {}",
        out.shape(),
        values.iter().all(|v| *v >= 0.0)
    ));
    w(format!("first row: {:.4?}", &values[..10]));
    Ok(())
}
