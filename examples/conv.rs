//! A small CNN with `#[scoped]` conv layers (`conv`, `conv_1`, as TF's
//! default names), pooling and a softmax classifier, run on a seeded graph.
//!
//! Run: `cargo run --example conv`

use scopeflow::prelude::*;
use scopeflow::{Padding, Session, bias_add, conv2d, max_pool, reshape, softmax};
use std::io::Write;

/// 3x3 convolution, SAME padding, bias and ReLU; a fresh `conv` scope per call.
#[scoped(initializer = he_normal)]
fn conv(x: &Tensor, filters: usize) -> Result<Tensor> {
    let kernel = get_variable("kernel", [3, 3, x.dim(3)?, filters]).get()?;
    let bias = get_variable("bias", [filters]).initializer(Init::Zeros).get()?;
    relu(&bias_add(&conv2d(x, &kernel, [1, 1], Padding::Same)?, &bias)?)
}

#[scoped]
fn classifier(x: &Tensor, classes: usize) -> Result<Tensor> {
    let w = get_variable("kernel", [x.dim(1)?, classes]).get()?;
    let b = get_variable("bias", [classes]).initializer(Init::Zeros).get()?;
    softmax(&bias_add(&x.matmul(&w)?, &b)?)
}

fn main() -> Result<()> {
    run(&mut std::io::stdout().lock())
}

/// Builds the CNN, prints its names, and classifies a batch of 4 images.
pub fn run(out: &mut impl Write) -> Result<()> {
    let graph = Graph::with_seed(7);
    let _g = graph.as_default();
    let images = named("images").placeholder(DType::F32, Shape::from_dims([None, Some(28), Some(28), Some(1)]))?;
    let probs = variable_scope("cnn").with(|_| {
        let h = conv(&images, 8)?;
        let h = max_pool(&h, [2, 2], [2, 2], Padding::Same)?;
        let h = conv(&h, 16)?;
        let h = max_pool(&h, [2, 2], [2, 2], Padding::Same)?;
        classifier(&reshape(&h, &[-1, 7 * 7 * 16])?, 10)
    })?;
    let mut w = |line: String| writeln!(out, "{line}").expect("stdout is writable");
    for v in graph.trainable_variables(None)? {
        w(format!("variable {} {:?}", v.name(), v.shape()));
    }
    w(format!("output {} {}", probs.name(), probs.shape()));
    let batch = Value::from(ndarray::Array4::from_shape_fn((4, 28, 28, 1), |(n, y, x, _)| {
        ((n + 1) * (y * 28 + x) % 17) as f32 / 17.0
    }));
    let p = Session::new(&graph).run(&[&probs], &[(&images, &batch)])?.remove(0);
    let rows: Vec<f64> = p.to_f64_vec().chunks(10).map(|r| r.iter().sum()).collect();
    w(format!("probabilities {:?}, each row sums to 1: {}", p.shape(), rows.iter().all(|s| (s - 1.0).abs() < 1e-5)));
    Ok(())
}
