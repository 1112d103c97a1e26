//! What the hand-written baselines of `session` and `train` share: the
//! scoped MLP they both build, and the kernels a careful hand-written
//! program would call — the `gemm` crate's product on the same number of
//! threads as the session, split by the same rule — so that a ratio
//! measures the executor, not a kernel choice.

use scopeflow::ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};
use scopeflow::prelude::*;
use scopeflow::{Session, SessionOptions, bias_add};

/// Layer widths of the MLP.
pub const WIDTHS: [usize; 4] = [784, 256, 256, 10];
/// The graph seed (initial values then depend only on it and the names).
pub const SEED: u64 = 7;

/// Multiply-adds from which a product is split across threads (the
/// session's MatMul kernel uses the same line).
const PARALLEL_MULTIPLY_ADDS: usize = 1 << 23;
/// Products with this many output columns are cut into column blocks, each
/// thread packing the whole left matrix and its share of the right one;
/// narrower ones into row blocks. Column blocks measured faster for the
/// MLP's products (rows made each thread pack all of a wide right matrix).
const SPLIT_COLUMNS_FROM: usize = 64;

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
/// or the machine's cores) and a pool of that many for the hand-written code.
pub struct Threads {
    pub count: usize,
    pool: Option<rayon::ThreadPool>,
}

impl Threads {
    /// As many threads as a default `Session` uses.
    pub fn of_sessions() -> Threads {
        Threads::new(Session::new(&Graph::new()).num_threads())
    }

    pub fn new(count: usize) -> Threads {
        let pool = (count > 1).then(|| {
            rayon::ThreadPoolBuilder::new().num_threads(count).build().expect("the benchmark's threads start")
        });
        Threads { count, pool }
    }

    /// Session options with this many threads.
    pub fn options(&self) -> SessionOptions {
        SessionOptions::default().num_threads(self.count)
    }

    /// `a b` through `gemm`, split across the threads when the product is large.
    pub fn dot(&self, a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>) -> Array2<f32> {
        let mut out = Array2::zeros((a.nrows(), b.ncols()));
        self.dot_into(a, b, &mut out, a.nrows() * a.ncols() * b.ncols() >= PARALLEL_MULTIPLY_ADDS);
        out
    }

    /// `out = a b` through `gemm`: when `split`, one block of output columns
    /// (rows when narrow) per thread, as the MatMul kernel cuts it; else on this thread.
    pub fn dot_into(&self, a: &ArrayView2<'_, f32>, b: &ArrayView2<'_, f32>, out: &mut Array2<f32>, split: bool) {
        let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
        assert!(b.nrows() == k && out.dim() == (m, n), "shapes of a product");
        let Some(pool) = self.pool.as_ref().filter(|_| split && m * n > 0) else {
            return gemm_into(a.view(), b.view(), out.view_mut());
        };
        let axis = if n >= SPLIT_COLUMNS_FROM { Axis(1) } else { Axis(0) };
        let block = out.len_of(axis).div_ceil(self.count).next_multiple_of(16);
        let inputs: Vec<(ArrayView2<'_, f32>, ArrayView2<'_, f32>)> = match axis {
            Axis(1) => b.axis_chunks_iter(axis, block).map(|b| (a.view(), b)).collect(),
            _ => a.axis_chunks_iter(axis, block).map(|a| (a, b.view())).collect(),
        };
        let mut blocks: Vec<_> = inputs.into_iter().zip(out.axis_chunks_iter_mut(axis, block)).collect();
        let ((a0, b0), out0) = blocks.remove(0);
        pool.in_place_scope(|scope| {
            for ((a, b), out) in blocks {
                scope.spawn(move |_| gemm_into(a, b, out));
            }
            gemm_into(a0, b0, out0);
        });
    }
}

/// `out = a b` through `gemm` on this thread.
fn gemm_into(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>, mut out: ArrayViewMut2<'_, f32>) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    // SAFETY: pointers and strides of live views of the shapes the caller
    // checked; `out` is distinct from both and only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            out.strides()[1],
            out.strides()[0],
            false,
            a.as_ptr(),
            a.strides()[1],
            a.strides()[0],
            b.as_ptr(),
            b.strides()[1],
            b.strides()[0],
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}
