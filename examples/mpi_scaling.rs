//! Measures data-parallel training on MPI on this machine: the step time of
//! an MLP of 784-320-10 (1.02 MB of float32 gradients) at a fixed batch per
//! rank, and what averaging its gradients costs: inside the steps, as the
//! `MpiAllreduce` op alone, and as one plain MPI allreduce of the same bytes.
//! Medians over the steps; run it at 1 and at 2 ranks and divide the
//! images per second for the scaling efficiency
//! (`images_per_s(2) / (2 * images_per_s(1))`).
//!
//! Build: `cargo build --release --features mpi --example mpi_scaling`
//! Run:   `mpirun -np 2 target/release/examples/mpi_scaling [STEPS]` (as root
//! with `--allow-run-as-root`); and `target/release/examples/mpi_scaling` alone for 1 rank.
//! Rank 0 prints one line, `mpi_scaling: ranks=2 …`.

use scopeflow::mpi::{DistributedOptimizer, World};
use scopeflow::prelude::*;
use scopeflow::{AdamOptimizer, GradAndVar, Optimizer, sparse_softmax_cross_entropy_with_logits};
use std::time::{Duration, Instant};

const PIXELS: usize = 784;
const HIDDEN: usize = 320;
const CLASSES: usize = 10;
const BATCH_PER_RANK: usize = 64;

fn main() {
    let steps: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    if let Err(e) = run(steps) {
        eprintln!("mpi_scaling: {e}");
        std::process::exit(1);
    }
}

fn run(steps: usize) -> Result<()> {
    let world = World::init()?;
    let graph = Graph::with_seed(0);
    let _g = graph.as_default();
    let images = placeholder(DType::F32, Shape::from_dims([None, Some(PIXELS)]))?;
    let labels = placeholder(DType::I32, Shape::from_dims([None]))?;
    let dense = |x: &Tensor, units: usize, name: &str| -> Result<Tensor> {
        let _s = variable_scope(name).enter()?;
        let kernel = get_variable("kernel", [x.dim(1)?, units]).get()?;
        let bias = get_variable("bias", [units]).initializer(Init::Zeros).get()?;
        bias_add(&matmul(x, &kernel)?, &bias)
    };
    let logits = dense(&relu(&dense(&images, HIDDEN, "hidden")?)?, CLASSES, "logits")?;
    let loss = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&labels, &logits)?, None, false)?;
    let optimizer = DistributedOptimizer::new(&world, AdamOptimizer::new(1e-3));
    let train = optimizer.minimize(&loss, None, None)?;
    world.broadcast_variables(&graph)?;
    let params: usize = graph.trainable_variables(None)?.iter().map(|v| v.shape().iter().product::<usize>()).sum();

    // Each rank its own fixed batch.
    let seed = world.rank() as f32;
    let x = ndarray::Array2::from_shape_fn((BATCH_PER_RANK, PIXELS), |(i, j)| {
        ((i * 31 + j * 7) as f32 * 0.01 + seed).sin() * 0.5 + 0.5
    });
    let (x, y) = (Value::from(x), Value::from((0..BATCH_PER_RANK).map(|i| (i % CLASSES) as i32).collect::<Vec<_>>()));
    let session = Session::new(&graph);
    let warmup = steps / 10;
    let (mut step_times, mut in_step) = (Vec::new(), Vec::new());
    world.barrier();
    let started = Instant::now();
    for step in 0..warmup + steps {
        if step == warmup {
            world.barrier();
        }
        let began = Instant::now();
        session.run_targets(&[&train], &[(&images, &x), (&labels, &y)])?;
        if step >= warmup {
            step_times.push(began.elapsed());
            in_step.push(world.allreduce_stats().last);
        }
    }
    let elapsed = started.elapsed();
    let images_per_s = (BATCH_PER_RANK * world.size() * (warmup + steps)) as f64 / elapsed.as_secs_f64();

    // The op alone, fed the gradients' shapes, every rank starting together.
    let vars = graph.trainable_variables(None)?;
    let fed: Vec<(Tensor, Value)> = vars
        .iter()
        .map(|v| {
            let shape = Shape::from(v.shape());
            Ok((placeholder(DType::F32, shape)?, Value::filled(DType::F32, v.shape(), 0.5)))
        })
        .collect::<Result<_>>()?;
    let pairs: Vec<GradAndVar> = fed.iter().zip(&vars).map(|((t, _), v)| (Some(t.clone()), v.clone())).collect();
    let averaged: Vec<Tensor> = optimizer.average_gradients(pairs)?.into_iter().filter_map(|(g, _)| g).collect();
    let fetches: Vec<&Tensor> = averaged.iter().collect();
    let feeds: Vec<(&Tensor, &Value)> = fed.iter().map(|(t, v)| (t, v)).collect();
    let mut op_times = Vec::new();
    for _ in 0..warmup + steps {
        world.barrier();
        let began = Instant::now();
        session.run(&fetches, &feeds)?;
        op_times.push(began.elapsed());
    }

    // MPI alone: one allreduce of the same bytes, every rank starting together.
    let mut buffer = vec![0.5f32; params];
    let mut plain = Vec::new();
    for _ in 0..warmup + steps {
        world.barrier();
        let began = Instant::now();
        world.average_f32(&mut buffer);
        plain.push(began.elapsed());
    }
    if world.is_root() {
        println!(
            "mpi_scaling: ranks={} params={params} gradient_bytes={} batch_per_rank={BATCH_PER_RANK} steps={steps} \
             step_ms_median={:.3} images_per_s={images_per_s:.0} allreduce_in_step_ms_median={:.3} \
             allreduce_op_ms_median={:.3} plain_mpi_allreduce_ms_median={:.3}",
            world.size(),
            params * 4,
            millis(&mut step_times),
            millis(&mut in_step),
            millis(&mut op_times[warmup..]),
            millis(&mut plain[warmup..]),
        );
    }
    Ok(())
}

/// The median, in milliseconds.
fn millis(times: &mut [Duration]) -> f64 {
    times.sort_unstable();
    times.get(times.len() / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}
