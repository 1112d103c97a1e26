//! Hand-rolled benchmark of `Session::run` against the same computation
//! written by hand with ndarray and the `gemm` crate on the same threads
//! (no harness crate).
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench session
//! ```
//!
//! What it measures (median per-iteration time over 41 samples; each sample
//! times a batch sized to last ~15 ms; every subject's samples alternate with
//! those of its hand-written floor, so both see the same machine noise):
//!
//! 1. `mlp`: a 784-256-256-10 ReLU MLP built with scopes
//!    (`MLP/layer{1,2,3}/{kernel,bias}`, MatMul, BiasAdd, Relu on the hidden
//!    layers only), its input fed through a `[None, 784]` placeholder, at
//!    batch 1, 32 and 256, against `x.dot(&w1) + &b1` then `mapv_into(relu)`
//!    … on the same weights, read once with `Variable::value()` before timing;
//!    the products by hand call `gemm` on as many threads as the session, split
//!    by the same rule (`hand::Threads`), so the ratio measures the executor.
//!    At batch 1 a third, informational routine runs the one-row product as a
//!    sum of scaled rows (the algorithm the MatMul kernel picks for one row),
//!    to separate the kernel's choice from the session's overhead.
//! 2. `conv`: `conv2d` of a `[32, 28, 28, 1]` feed with a `[3, 3, 1, 32]`
//!    variable filter, SAME, stride 1, against a hand-written im2col and one
//!    matrix product (`gemm`, same threads). Here the ratio includes the
//!    kernel's choice: the session computes a patch this small directly.
//! 3. `overhead`: one `run` of `x + 1` on a one-element f32 feed, the fixed
//!    cost of a run (plan lookup, slots, one kernel call, the output `Vec`),
//!    shown beside ndarray's `&x + 1.0` on the same one-element array.
//!
//! 4. `gemm`: the MLP's products through `gemm` alone on one thread and on
//!    the session's threads, to place the line above which the MatMul kernel
//!    splits a product; `gemm gflops=…` is the rate reached on the largest.
//!
//! Threads: `SCOPEFLOW_NUM_THREADS`, else the machine's cores (the line
//! `threads=N` says which); `SCOPEFLOW_NUM_THREADS=1` gives one-thread figures.
//!
//! Before timing, each subject's output is checked against its hand-written
//! twin (largest absolute difference at most 1e-4).
//!
//! The last lines printed are one-line summaries meant for scripts.

mod hand;
mod harness;

use hand::{SEED, Threads, WIDTHS};
use harness::{Config, Routine, Stats, paired_ratio};
use scopeflow::ndarray::{Array1, Array2, Array4, ArrayD, Ix2, Ix4};
use scopeflow::prelude::*;
use scopeflow::{Padding, Session, conv2d, placeholder};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// 41 samples of ~15 ms, each routine calibrated on its own.
const CONFIG: Config = Config { samples: 41, target: Duration::from_millis(15), shared_iters: false };
/// Largest absolute difference allowed between scopeflow and by hand.
const TOLERANCE: f64 = 1e-4;
/// Batch sizes of the MLP measurement.
const BATCHES: [usize; 3] = [1, 32, 256];
/// Convolution: batch, height, width, input channels, filter size, output channels.
const CONV: (usize, usize, usize, usize, usize, usize) = (32, 28, 28, 1, 3, 32);

/// A routine calling `f` `n` times, each result passed to `black_box`.
fn routine<'a, R>(mut f: impl FnMut() -> R + 'a) -> Routine<'a> {
    Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        start.elapsed()
    })
}

/// Deterministic inputs in `[0, 1)` (a hash of the flat index).
fn input_value(i: usize) -> f32 {
    let h = (i as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    ((h >> 40) as f32) / ((1u64 << 24) as f32)
}

/// The largest absolute difference between two values' elements; panics when
/// their shapes differ.
fn max_abs_diff(got: &Value, want: &[f32], want_shape: &[usize]) -> f64 {
    assert_eq!(got.shape(), want_shape, "output shapes differ");
    got.to_f64_vec().iter().zip(want).map(|(g, &w)| (g - f64::from(w)).abs()).fold(0.0, f64::max)
}

fn check(what: &str, diff: f64) {
    assert!(diff <= TOLERANCE, "{what}: scopeflow and by hand differ by {diff:e} (> {TOLERANCE:e})");
    println!("  check {what}: outputs agree (max |diff| = {diff:.2e})");
}

fn relu_f32(x: f32) -> f32 {
    x.max(0.0)
}

/// A variable's value as a 2-D array, read once.
fn matrix(v: &Variable) -> Array2<f32> {
    let value = v.value().expect("variable value");
    let a = value.as_array::<f32>().expect("f32 variable").clone();
    a.into_dimensionality::<Ix2>().expect("rank 2")
}

/// A variable's value as a 1-D array, read once.
fn vector(v: &Variable) -> Array1<f32> {
    let value = v.value().expect("variable value");
    let a = value.as_array::<f32>().expect("f32 variable").clone();
    a.into_dimensionality().expect("rank 1")
}

// --------------------------------------------------------------------- 1. MLP

/// The scoped MLP: its graph, input placeholder, output and variables.
struct Mlp {
    graph: Graph,
    x: Tensor,
    y: Tensor,
    /// `(kernel, bias)` of each layer.
    layers: Vec<(Variable, Variable)>,
}

fn build_mlp() -> Result<Mlp> {
    let graph = Graph::with_seed(SEED);
    let (x, y, layers) = graph.with_default(hand::mlp)?;
    assert_eq!(y.name(), "MLP/layer3/BiasAdd");
    let names: Vec<String> = layers.iter().flat_map(|(k, b)| [k.name().to_owned(), b.name().to_owned()]).collect();
    let expected: Vec<String> =
        (1..WIDTHS.len()).flat_map(|i| [format!("MLP/layer{i}/kernel"), format!("MLP/layer{i}/bias")]).collect();
    assert_eq!(names, expected);
    Ok(Mlp { graph, x, y, layers })
}

/// The MLP's weights as plain ndarray arrays.
struct HandMlp<'t> {
    w: [Array2<f32>; 3],
    b: [Array1<f32>; 3],
    threads: &'t Threads,
}

impl<'t> HandMlp<'t> {
    fn read(mlp: &Mlp, threads: &'t Threads) -> HandMlp<'t> {
        let l = &mlp.layers;
        HandMlp {
            w: [matrix(&l[0].0), matrix(&l[1].0), matrix(&l[2].0)],
            b: [vector(&l[0].1), vector(&l[1].1), vector(&l[2].1)],
            threads,
        }
    }

    /// The forward pass as one would write it with ndarray and `gemm`.
    fn forward(&self, x: &Array2<f32>) -> Array2<f32> {
        let dot = |a: &Array2<f32>, w: &Array2<f32>| self.threads.dot(&a.view(), &w.view());
        let h = (dot(x, &self.w[0]) + &self.b[0]).mapv_into(relu_f32);
        let h = (dot(&h, &self.w[1]) + &self.b[1]).mapv_into(relu_f32);
        dot(&h, &self.w[2]) + &self.b[2]
    }

    /// One row times a matrix as a sum of scaled rows (what the MatMul kernel
    /// does for one row), plus bias and ReLU, on 1-D arrays.
    fn forward_one_row(&self, x: &Array1<f32>) -> Array1<f32> {
        fn layer(x: &Array1<f32>, w: &Array2<f32>, b: &Array1<f32>) -> Array1<f32> {
            let mut y = b.clone();
            for (&xi, row) in x.iter().zip(w.rows()) {
                y.scaled_add(xi, &row);
            }
            y
        }
        let h = layer(x, &self.w[0], &self.b[0]).mapv_into(relu_f32);
        let h = layer(&h, &self.w[1], &self.b[1]).mapv_into(relu_f32);
        layer(&h, &self.w[2], &self.b[2])
    }
}

fn bench_mlp(mlp: &Mlp, hand: &HandMlp<'_>, batch: usize) -> Vec<Stats> {
    let x = Array2::from_shape_fn((batch, WIDTHS[0]), |(r, c)| input_value(r * WIDTHS[0] + c));
    let feed = Value::from(x.clone());
    let session = Session::with_options(&mlp.graph, hand.threads.options());
    let (mx, my) = (&mlp.x, &mlp.y);

    let got = session.run(&[my], &[(mx, &feed)]).expect("Session::run").remove(0);
    let want = hand.forward(&x);
    let want_slice = want.as_slice().expect("standard layout");
    check(&format!("mlp batch={batch}"), max_abs_diff(&got, want_slice, want.shape()));

    let mut routines: Vec<(String, Routine<'_>)> = vec![
        (
            format!("scopeflow Session::run (batch {batch})"),
            routine(|| session.run(black_box(&[my]), black_box(&[(mx, &feed)])).expect("Session::run")),
        ),
        (format!("ndarray by hand (batch {batch})"), routine(|| hand.forward(black_box(&x)))),
    ];
    if batch == 1 {
        let row = x.row(0).to_owned();
        let one_row = hand.forward_one_row(&row);
        let diff = max_abs_diff(&got, one_row.as_slice().expect("contiguous"), &[1, WIDTHS[3]]);
        check("mlp batch=1 one-row by hand", diff);
        routines.push((
            "ndarray by hand, one-row axpy (info)".to_owned(),
            routine(move || hand.forward_one_row(black_box(&row))),
        ));
    }
    CONFIG.interleaved(routines)
}

// -------------------------------------------------------------------- 2. conv

/// NHWC SAME convolution with stride 1 as im2col and one matrix product.
fn conv_by_hand(x: &Array4<f32>, f: &Array2<f32>, k: usize, threads: &Threads) -> Array4<f32> {
    let (n, h, w, cin) = x.dim();
    let pad = (k - 1) / 2;
    let xs = x.as_slice().expect("standard layout");
    let patch = k * k * cin;
    let mut cols = Array2::<f32>::zeros((n * h * w, patch));
    let cs = cols.as_slice_mut().expect("standard layout");
    for b in 0..n {
        for oy in 0..h {
            for ox in 0..w {
                let row = ((b * h + oy) * w + ox) * patch;
                for ky in 0..k {
                    let iy = oy + ky;
                    if iy < pad || iy - pad >= h {
                        continue;
                    }
                    for kx in 0..k {
                        let ix = ox + kx;
                        if ix < pad || ix - pad >= w {
                            continue;
                        }
                        let src = ((b * h + iy - pad) * w + ix - pad) * cin;
                        let dst = row + (ky * k + kx) * cin;
                        cs[dst..dst + cin].copy_from_slice(&xs[src..src + cin]);
                    }
                }
            }
        }
    }
    let y = threads.dot(&cols.view(), &f.view());
    let cout = f.ncols();
    y.into_shape_with_order((n, h, w, cout)).expect("output shape")
}

fn bench_conv(threads: &Threads) -> Result<Vec<Stats>> {
    let (n, h, w, cin, k, cout) = CONV;
    let graph = Graph::with_seed(SEED);
    let (x, y, filter) = graph.with_default(|| -> Result<_> {
        let x = named("images").placeholder(DType::F32, Shape::from_dims([None, Some(h), Some(w), Some(cin)]))?;
        let _s = variable_scope("conv").enter()?;
        let filter = get_variable("kernel", [k, k, cin, cout]).initializer(Init::HeNormal).get()?;
        let y = conv2d(&x, &filter, [1, 1], Padding::Same)?;
        Ok((x, y, filter))
    })?;
    assert_eq!((y.name(), filter.name()), ("conv/Conv2D", "conv/kernel"));
    let images = Array4::from_shape_fn((n, h, w, cin), |(b, r, c, ch)| input_value(((b * h + r) * w + c) * cin + ch));
    let feed = Value::from(images.clone());
    let f: Array2<f32> = {
        let v = filter.value()?;
        let a: ArrayD<f32> = v.as_array::<f32>().expect("f32 filter").clone();
        let a = a.into_dimensionality::<Ix4>().expect("rank 4");
        a.into_shape_with_order((k * k * cin, cout)).expect("filter as a matrix")
    };
    let session = Session::with_options(&graph, threads.options());

    let got = session.run(&[&y], &[(&x, &feed)])?.remove(0);
    let want = conv_by_hand(&images, &f, k, threads);
    check(&format!("conv batch={n}"), max_abs_diff(&got, want.as_slice().expect("standard layout"), want.shape()));

    Ok(CONFIG.interleaved(vec![
        (
            format!("scopeflow Session::run conv2d (batch {n})"),
            routine(|| session.run(black_box(&[&y]), black_box(&[(&x, &feed)])).expect("Session::run")),
        ),
        (
            format!("ndarray im2col + dot by hand (batch {n})"),
            routine(|| conv_by_hand(black_box(&images), &f, k, threads)),
        ),
    ]))
}

// ---------------------------------------------------------------- 3. overhead

fn bench_overhead(threads: &Threads) -> Result<Vec<Stats>> {
    let graph = Graph::new();
    let (x, y) = graph.with_default(|| -> Result<_> {
        let x = placeholder(DType::F32, Shape::from_dims([None]))?;
        let y = (&x + &constant(1.0f32)?)?;
        Ok((x, y))
    })?;
    let feed = Value::from(vec![2.0f32]);
    let array = feed.as_array::<f32>().expect("f32").clone();
    let session = Session::with_options(&graph, threads.options());
    let got = session.run(&[&y], &[(&x, &feed)])?.remove(0);
    assert_eq!(got.to_f64_vec(), [3.0]);
    check("overhead x + 1", max_abs_diff(&got, &[3.0], &[1]));

    Ok(CONFIG.interleaved(vec![
        (
            "scopeflow Session::run x + 1 (1 element)".to_owned(),
            routine(|| session.run(black_box(&[&y]), black_box(&[(&x, &feed)])).expect("Session::run")),
        ),
        ("ndarray &x + 1.0 (1 element, info)".to_owned(), routine(|| black_box(&array) + 1.0)),
    ]))
}

// -------------------------------------------------------------------- 4. gemm

/// The products of the MLP's forward pass, `[m, k] x [k, n]`, and a square one.
const PRODUCTS: [(usize, usize, usize); 6] =
    [(1, 784, 256), (32, 784, 256), (32, 256, 256), (256, 256, 256), (256, 784, 256), (512, 512, 512)];

/// Each product on one thread and on all, interleaved: `(m, k, n, one, all)`.
fn bench_gemm(threads: &Threads) -> Vec<(usize, usize, usize, Stats, Stats)> {
    PRODUCTS
        .iter()
        .map(|&(m, k, n)| {
            let a = Array2::from_shape_fn((m, k), |(r, c)| input_value(r * k + c));
            let b = Array2::from_shape_fn((k, n), |(r, c)| input_value(r * n + c + 1));
            let mut out = Array2::zeros((m, n));
            let mut out2 = Array2::zeros((m, n));
            let mut stats = CONFIG
                .interleaved(vec![
                    (
                        format!("gemm {m}x{k}x{n}, 1 thread"),
                        routine(|| threads.dot_into(&a.view(), &b.view(), black_box(&mut out), false)),
                    ),
                    (
                        format!("gemm {m}x{k}x{n}, {} threads", threads.count),
                        routine(|| threads.dot_into(&a.view(), &b.view(), black_box(&mut out2), true)),
                    ),
                ])
                .into_iter();
            let (one, all) = (stats.next().expect("one thread"), stats.next().expect("all threads"));
            (m, k, n, one, all)
        })
        .collect()
}

/// A measurement's median in microseconds.
fn us(stats: &Stats) -> f64 {
    stats.median() / 1e3
}

fn report(title: &str, stats: &[Stats]) {
    println!("{title}:");
    for s in stats {
        s.print();
    }
    let (subject, hand) = (&stats[0], &stats[1]);
    println!(
        "  -> scopeflow / hand = {:.3}x (ratio of medians; median of per-sample ratios {:.3}x)",
        subject.median() / hand.median(),
        paired_ratio(subject, hand)
    );
    if let Some(third) = stats.get(2) {
        println!(
            "  -> scopeflow / {} = {:.3}x (median of per-sample ratios {:.3}x)",
            third.label,
            subject.median() / third.median(),
            paired_ratio(subject, third)
        );
    }
    println!();
}

fn main() -> Result<()> {
    let started = Instant::now();
    println!("scopeflow session benchmarks: median of {} samples, ~{:?} per sample,", CONFIG.samples, CONFIG.target);
    println!("each Session::run interleaved with the same computation written by hand with ndarray");
    println!();

    let threads = Threads::of_sessions();
    println!("threads={}", threads.count);
    println!();
    let mlp = build_mlp()?;
    let hand = HandMlp::read(&mlp, &threads);
    let mut mlp_stats = Vec::new();
    for batch in BATCHES {
        let stats = bench_mlp(&mlp, &hand, batch);
        report(&format!("MLP 784-256-256-10 forward, batch {batch}"), &stats);
        mlp_stats.push((batch, stats));
    }

    let conv = bench_conv(&threads)?;
    report("conv2d 3x3x1x32 SAME stride 1 on [32, 28, 28, 1]", &conv);

    let overhead = bench_overhead(&threads)?;
    report("fixed cost of one run (x + 1 on a one-element feed)", &overhead);

    let gemm = bench_gemm(&threads);
    println!("gemm alone, one thread against {} (the MatMul kernel splits from 2^19 multiply-adds):", threads.count);
    for (_, _, _, one, all) in &gemm {
        one.print();
        all.print();
    }
    println!();

    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!();
    for (batch, stats) in &mlp_stats {
        let (s, h) = (us(&stats[0]), us(&stats[1]));
        println!("mlp batch={batch} scopeflow_us={s:.3} ndarray_us={h:.3} ratio={:.3}", s / h);
    }
    let (s, h) = (us(&conv[0]), us(&conv[1]));
    println!("conv batch={} scopeflow_us={s:.3} ndarray_us={h:.3} ratio={:.3}", CONV.0, s / h);
    println!("overhead run_us={:.3}", us(&overhead[0]));
    for (m, k, n, one, all) in &gemm {
        let (one, all) = (us(one), us(all));
        println!("gemm m={m} k={k} n={n} one_us={one:.3} threads_us={all:.3} speedup={:.3}", one / all);
    }
    if let Some((m, k, n, one, all)) = gemm.iter().find(|g| (g.0, g.1, g.2) == (256, 784, 256)) {
        let best = one.median().min(all.median());
        println!("gemm gflops={:.1} product={m}x{k}x{n} threads={}", 2.0 * (m * k * n) as f64 / best, threads.count);
    }
    Ok(())
}
