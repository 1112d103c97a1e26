//! Hand-rolled benchmark of one Adam training step run by a `Session`
//! against the same step written by hand with ndarray and the session's
//! product kernel on the same threads (no harness crate).
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench train
//! ```
//!
//! The model: a 784-256-256-10 ReLU MLP built with scopes
//! (`MLP/layer{1,2,3}/{kernel,bias}`, MatMul, BiasAdd), the mean sparse
//! softmax cross-entropy of its logits, and `AdamOptimizer::minimize` with a
//! global step; a step is one `Session::run_with_targets` fetching the loss
//! and running the train op. The floor: the forward pass, the backward pass
//! and Adam's update (TF's formulas, in place) written by hand with ndarray,
//! on a copy of the same weights; its products call the session's product
//! kernel (`scopeflow::matmul_into`) on as many threads as the session's
//! (`hand::Threads`: `SCOPEFLOW_NUM_THREADS`, else the machine's cores), and
//! its Adam is ndarray's `Zip` on one thread.
//!
//! Before timing, one step of each from the same weights is checked: the
//! losses and every updated weight agree within 1e-4. Then both keep training
//! on their own copies, interleaved sample by sample (median of 41 samples of
//! ~15 ms), at batch 32 and 256.
//!
//! The last lines printed are one-line summaries meant for scripts:
//! `train batch=B scopeflow_us=… ndarray_us=… ratio=…`.

mod hand;
mod harness;

use hand::{SEED, Threads, WIDTHS};
use harness::{Config, Routine, Stats, paired_ratio};
use scopeflow::ndarray::{Array, Array1, Array2, Axis, Dimension, Ix1, Ix2, Zip};
use scopeflow::prelude::*;
use scopeflow::{
    AdamOptimizer, Operation, Optimizer, Session, get_or_create_global_step, placeholder,
    sparse_softmax_cross_entropy_with_logits,
};
use std::hint::black_box;
use std::time::{Duration, Instant};

const CONFIG: Config = Config { samples: 41, target: Duration::from_millis(15), shared_iters: false };
const BATCHES: [usize; 2] = [32, 256];
const LEARNING_RATE: f32 = 1e-3;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPSILON: f32 = 1e-8;
const TOLERANCE: f64 = 1e-4;

/// The scoped model and its train op.
struct Model {
    graph: Graph,
    x: Tensor,
    labels: Tensor,
    loss: Tensor,
    train: Operation,
    layers: Vec<(Variable, Variable)>,
}

fn build() -> Result<Model> {
    let graph = Graph::with_seed(SEED);
    let _g = graph.as_default();
    let (x, logits, layers) = hand::mlp()?;
    let labels = placeholder(DType::I32, Shape::from_dims([None]))?;
    let loss = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&labels, &logits)?, None, false)?;
    let step = get_or_create_global_step()?;
    let train = AdamOptimizer::new(f64::from(LEARNING_RATE)).minimize(&loss, None, Some(&step))?;
    Ok(Model { graph, x, labels, loss, train, layers })
}

/// The same model and Adam state as plain arrays.
struct Hand<'t> {
    w: Vec<Array2<f32>>,
    b: Vec<Array1<f32>>,
    m: Vec<(Array2<f32>, Array1<f32>)>,
    v: Vec<(Array2<f32>, Array1<f32>)>,
    powers: (f32, f32),
    threads: &'t Threads,
}

impl<'t> Hand<'t> {
    fn read(model: &Model, threads: &'t Threads) -> Hand<'t> {
        let get = |v: &Variable| v.value().expect("value").as_array::<f32>().expect("f32").clone();
        let w: Vec<Array2<f32>> =
            model.layers.iter().map(|(k, _)| get(k).into_dimensionality::<Ix2>().expect("matrix")).collect();
        let b: Vec<Array1<f32>> =
            model.layers.iter().map(|(_, b)| get(b).into_dimensionality::<Ix1>().expect("vector")).collect();
        let zeros: Vec<(Array2<f32>, Array1<f32>)> =
            w.iter().zip(&b).map(|(w, b)| (Array2::zeros(w.raw_dim()), Array1::zeros(b.raw_dim()))).collect();
        Hand { w, b, m: zeros.clone(), v: zeros, powers: (BETA1, BETA2), threads }
    }

    /// One step: forward, mean cross-entropy, backward, Adam. Returns the loss.
    fn step(&mut self, x: &Array2<f32>, labels: &[usize]) -> f32 {
        let n = x.nrows();
        let mut acts = vec![x.clone()];
        for i in 0..self.w.len() {
            let mut z = self.threads.dot(&acts[i].view(), &self.w[i].view()) + &self.b[i];
            if i + 1 < self.w.len() {
                z.mapv_inplace(|v| v.max(0.0));
            }
            acts.push(z);
        }
        // Softmax cross-entropy and its gradient, mean over the batch.
        let mut grad = acts.pop().expect("logits");
        let mut loss = 0.0;
        for (mut row, &label) in grad.rows_mut().into_iter().zip(labels) {
            let max = row.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            let sum: f32 = row.iter().map(|&v| (v - max).exp()).sum();
            loss += sum.ln() - (row[label] - max);
            row.mapv_inplace(|v| (v - max).exp() / sum);
            row[label] -= 1.0;
        }
        grad /= n as f32;
        let alpha = LEARNING_RATE * (1.0 - self.powers.1).sqrt() / (1.0 - self.powers.0);
        for i in (0..self.w.len()).rev() {
            let dw = self.threads.dot(&acts[i].t(), &grad.view());
            let db = grad.sum_axis(Axis(0));
            if i > 0 {
                let mut below = self.threads.dot(&grad.view(), &self.w[i].t());
                below.zip_mut_with(&acts[i], |g, &a| {
                    if a <= 0.0 {
                        *g = 0.0;
                    }
                });
                grad = below;
            }
            adam(&mut self.w[i], &mut self.m[i].0, &mut self.v[i].0, &dw, alpha);
            adam(&mut self.b[i], &mut self.m[i].1, &mut self.v[i].1, &db, alpha);
        }
        self.powers = (self.powers.0 * BETA1, self.powers.1 * BETA2);
        loss / n as f32
    }
}

/// TF's ApplyAdam on one array, in place (on one thread, as the session's kernel).
fn adam<D: Dimension>(
    w: &mut Array<f32, D>,
    m: &mut Array<f32, D>,
    v: &mut Array<f32, D>,
    g: &Array<f32, D>,
    alpha: f32,
) {
    let update = |w: &mut f32, m: &mut f32, v: &mut f32, &g: &f32| {
        *m += (g - *m) * (1.0 - BETA1);
        *v += (g * g - *v) * (1.0 - BETA2);
        *w -= (*m * alpha) / (v.sqrt() + EPSILON);
    };
    Zip::from(w).and(m).and(v).and(g).for_each(update);
}

fn input(batch: usize) -> (Array2<f32>, Vec<usize>) {
    let x = Array2::from_shape_fn((batch, WIDTHS[0]), |(r, c)| {
        let h = ((r * WIDTHS[0] + c) as u64 ^ 0x9e37_79b9_7f4a_7c15).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        ((h >> 40) as f32) / ((1u64 << 24) as f32)
    });
    (x, (0..batch).map(|i| (i * 7) % WIDTHS[3]).collect())
}

fn routine<'a, R>(mut f: impl FnMut() -> R + 'a) -> Routine<'a> {
    Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        start.elapsed()
    })
}

fn bench(batch: usize, threads: &Threads) -> Result<Vec<Stats>> {
    let model = build()?;
    let mut hand = Hand::read(&model, threads);
    let (x, labels) = input(batch);
    let feed_x = Value::from(x.clone());
    let feed_y = Value::from(labels.iter().map(|&l| l as i32).collect::<Vec<_>>());
    let feeds = [(&model.x, &feed_x), (&model.labels, &feed_y)];
    let session = Session::with_options(&model.graph, threads.options());

    // One step of each from the same weights agrees.
    let got = session.run_with_targets(&[&model.loss], &feeds, &[&model.train])?[0].to_f64_vec()[0];
    let want = f64::from(hand.step(&x, &labels));
    let mut diff = (got - want).abs();
    for (i, (k, b)) in model.layers.iter().enumerate() {
        for (var, hand) in [(k, hand.w[i].as_slice().expect("standard")), (b, hand.b[i].as_slice().expect("standard"))]
        {
            let value = var.value()?.to_f64_vec();
            diff = value.iter().zip(hand).map(|(a, &b)| (a - f64::from(b)).abs()).fold(diff, f64::max);
        }
    }
    assert!(diff <= TOLERANCE, "train batch={batch}: scopeflow and by hand differ by {diff:e}");
    println!("  check train batch={batch}: loss and updated weights agree (max |diff| = {diff:.2e})");

    Ok(CONFIG.interleaved(vec![
        (
            format!("scopeflow Adam step (batch {batch})"),
            routine(|| session.run_with_targets(&[&model.loss], black_box(&feeds), &[&model.train]).expect("run")),
        ),
        (format!("ndarray Adam step by hand (batch {batch})"), routine(|| hand.step(black_box(&x), &labels))),
    ]))
}

fn main() -> Result<()> {
    let started = Instant::now();
    println!("scopeflow training benchmark: median of {} samples, ~{:?} per sample,", CONFIG.samples, CONFIG.target);
    println!("one Adam step of the 784-256-256-10 MLP, interleaved with the same step written by hand");
    println!();
    let threads = Threads::of_sessions();
    println!("threads={}", threads.count);
    println!();
    let mut lines = Vec::new();
    for batch in BATCHES {
        let stats = bench(batch, &threads)?;
        println!("Adam step, batch {batch}:");
        for s in &stats {
            s.print();
        }
        let (s, h) = (stats[0].median() / 1e3, stats[1].median() / 1e3);
        println!(
            "  -> scopeflow / hand = {:.3}x (median of per-sample ratios {:.3}x)",
            s / h,
            paired_ratio(&stats[0], &stats[1])
        );
        println!();
        lines.push(format!("train batch={batch} scopeflow_us={s:.3} ndarray_us={h:.3} ratio={:.3}", s / h));
    }
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!();
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
