//! Restores a TF1 checkpoint written by TensorFlow itself
//! (`../shared/fixtures/tf1_mlp`) into a model declared with `model!`, by
//! name, and reproduces TensorFlow's forward pass and embedding lookups.
//!
//! Run: `cargo run --example tf1_checkpoint [CHECKPOINT_PREFIX]`

use scopeflow::prelude::*;
use scopeflow::{RestoreOptions, Saver, Session, bias_add, embedding_lookup};
use std::io::Write;
use std::path::{Path, PathBuf};

model! {
    /// The MLP the checkpoint holds.
    pub struct Mlp in "MLP" {
        layer1 { kernel: [784, 32], bias: [32] }
        layer2 { kernel: [32, 10], bias: [10] }
    }
    /// The shared embedding table.
    pub struct TextEmbedding in "text_embedding" (reuse = auto) {
        matrix: [50, 8]
    }
}

/// The fixture's checkpoint prefix.
pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tf1_mlp/model.ckpt")
}

/// The fixture's input batch: `x[i][j] = ((((i*784 + j) * 37) mod 65) - 32) / 64`.
pub fn input() -> Value {
    Value::from(ndarray::Array2::from_shape_fn((2, 784), |(i, j)| (((i * 784 + j) * 37 % 65) as f32 - 32.0) / 64.0))
}

/// Restores the checkpoint and returns the MLP output and the two lookups.
pub fn run_model(prefix: &Path, out: &mut impl Write) -> Result<(Value, Value, Value)> {
    let graph = Graph::new();
    let _g = graph.as_default();
    let mlp = Mlp::build()?;
    let emb = TextEmbedding::build()?;
    let report = Saver::new(&graph).restore_tf1(prefix, &RestoreOptions { strict: true, ..Default::default() })?;
    writeln!(out, "restored {:?}", report.applied).expect("writable");

    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(784)]))?;
    let hidden = relu(&bias_add(&x.matmul(&mlp.layer1.kernel)?, &mlp.layer1.bias)?)?;
    let output = bias_add(&hidden.matmul(&mlp.layer2.kernel)?, &mlp.layer2.bias)?;
    let rows_a = embedding_lookup(&TextEmbedding::build()?.matrix, &constant(vec![0i32, 7, 49])?)?;
    let rows_b = embedding_lookup(&emb.matrix, &constant(vec![7i32, 3])?)?;
    writeln!(out, "output {} {}", output.name(), output.shape()).expect("writable");
    let mut values = Session::new(&graph).run(&[&output, &rows_a, &rows_b], &[(&x, &input())])?.into_iter();
    let mut next = || values.next().expect("three fetches");
    Ok((next(), next(), next()))
}

fn main() -> Result<()> {
    let prefix = std::env::args().nth(1).map_or_else(fixture, PathBuf::from);
    let mut stdout = std::io::stdout().lock();
    let (output, a, b) = run_model(&prefix, &mut stdout)?;
    writeln!(stdout, "output row 0: {:.6?}", &output.to_f64_vec()[..10]).expect("writable");
    writeln!(stdout, "lookup shapes {:?} {:?}", a.shape(), b.shape()).expect("writable");
    Ok(())
}
