//! Two towers of a siamese network sharing one set of weights: every call of
//! `tower` opens scope `tower` with `reuse = auto`, so the second call shares
//! `tower/…` while its ops go to `tower_1/`.
//!
//! Run: `cargo run --example siamese`

use scopeflow::prelude::*;
use std::io::Write;

#[scoped("tower", reuse = auto)]
fn tower(x: &Tensor) -> Result<Tensor> {
    let w1 = get_variable("fc1/kernel", [8, 16]).get()?;
    let w2 = get_variable("fc2/kernel", [16, 4]).get()?;
    matmul(&relu(&matmul(x, &w1)?)?, &w2)
}

#[scoped(name_scope = "distance")]
fn distance(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let d = sub(a, b)?;
    mul(&d, &d)
}

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// Builds both towers and prints what they share and where their ops went.
pub fn run(out: &mut impl Write) -> Result<()> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let left = named("left").constant(ndarray::Array2::<f32>::zeros((2, 8)))?;
    let right = named("right").constant(ndarray::Array2::<f32>::ones((2, 8)))?;
    let a = tower(&left)?;
    let b = tower(&right)?;
    let d = distance(&a, &b)?;
    let mut w = |line: String| writeln!(out, "{line}").expect("stdout is writable");
    w(format!("left tower output {}", a.name()));
    w(format!("right tower output {}", b.name()));
    w(format!("distance {}", d.name()));
    let names: Vec<String> = graph.trainable_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    w(format!("shared variables {names:?}"));
    // Same weights, same input: the distance between a tower and itself is zero.
    let same = distance(&tower(&left)?, &a)?;
    let out = scopeflow::Session::new(&graph).run(&[&d, &same], &[])?;
    w(format!("distance {:?}, to itself all zero: {}", out[0].shape(), out[1].to_f64_vec().iter().all(|v| *v == 0.0)));
    Ok(())
}
