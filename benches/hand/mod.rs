//! What the hand-written baselines of `session` and `train` share: the
//! scoped MLP they both build, and the kernels a careful hand-written
//! program would call — the session's own product kernel
//! (`scopeflow::matmul_into`) on the same number of threads, split by the
//! same rule — so that a ratio measures the executor, not a kernel choice.

use scopeflow::ndarray::{Array2, ArrayView2};
use scopeflow::prelude::*;
use scopeflow::{Session, SessionOptions, bias_add, matmul_into};

/// Layer widths of the MLP.
pub const WIDTHS: [usize; 4] = [784, 256, 256, 10];
/// The graph seed (initial values then depend only on it and the names).
pub const SEED: u64 = 7;

/// A layer's `(kernel, bias)`.
pub type Layer = (Variable, Variable);

/// The scoped MLP 784-256-256-10 (`MLP/layer{1,2,3}/{kernel,bias}`, MatMul,
/// BiasAdd, Relu on the hidden layers), on a `[None, 784]` placeholder `x`,
/// built in the current default graph. Returns `x`, the logits and each
/// layer's `(kernel, bias)`.
pub fn mlp() -> Result<(Tensor, Tensor, Vec<Layer>)> {
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(WIDTHS[0])]))?;
    let _s = variable_scope("MLP").enter()?;
    let mut h = x.clone();
    let mut layers = Vec::new();
    for (i, w) in WIDTHS.windows(2).enumerate() {
        let _l = variable_scope(format!("layer{}", i + 1).as_str()).enter()?;
        let kernel = get_variable("kernel", [w[0], w[1]]).get()?;
        let bias = get_variable("bias", [w[1]]).initializer(Init::RandomNormal { mean: 0.0, stddev: 0.1 }).get()?;
        h = bias_add(&h.matmul(&kernel)?, &bias)?;
        if i + 2 < WIDTHS.len() {
            h = relu(&h)?;
        }
        layers.push((kernel, bias));
    }
    Ok((x, h, layers))
}

/// The threads of a benchmark run: the session's count (`SCOPEFLOW_NUM_THREADS`
/// or the machine's cores), which the hand-written products use too.
pub struct Threads {
    pub count: usize,
}

impl Threads {
    /// As many threads as a default `Session` uses.
    pub fn of_sessions() -> Threads {
        Threads::new(Session::new(&Graph::new()).num_threads())
    }

    pub fn new(count: usize) -> Threads {
        Threads { count }
    }

    /// Session options with this many threads.
    pub fn options(&self) -> SessionOptions {
        SessionOptions::default().num_threads(self.count)
    }

    /// `a b` through the session's product kernel on these threads.
    pub fn dot(&self, a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f32> {
        let mut out = Array2::zeros((a.nrows(), b.ncols()));
        self.dot_into(a, b, &mut out, true);
        out
    }

    /// `out = a b` through the session's product kernel (`matmul_into`):
    /// on these threads when `split` (large products are cut into blocks, as
    /// the MatMul kernel cuts them), else on this thread.
    pub fn dot_into(&self, a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, out: &mut Array2<f32>, split: bool) {
        let threads = if split { self.count } else { 1 };
        matmul_into(a.view(), b.view(), out.view_mut(), threads).expect("shapes of a product");
    }
}
