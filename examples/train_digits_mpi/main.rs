//! Trains `train_digits`' classifier data-parallel on MPI, as Horovod trains
//! TF1 models: every rank builds the same towers, rank 0's initial values
//! are broadcast, each rank takes its share of every batch, and Adam's
//! gradients are averaged over the ranks by variable name before each
//! update. With the same seed and batches as `train_digits`, it learns the
//! same model whatever the number of ranks (up to float round-off). Only
//! rank 0 prints, writes TensorBoard events and saves the checkpoint.
//!
//! Build: `cargo build --release --features mpi --example train_digits_mpi`
//! Run:   `mpirun -np 2 target/release/examples/train_digits_mpi [--fashion-mnist DIR] [--epochs N] [--logdir DIR]`
//! (as root add `--allow-run-as-root`, and `--oversubscribe` for more ranks
//! than cores; several machines: `mpirun --hostfile hosts -np 8 …`, see the README).
//! Started without `mpirun` it trains alone, as one rank. It ends with
//! `test accuracy=0.xxxx`, after the line `mpi: ranks=… step_ms_median=…`.

#[allow(dead_code)] // its `main` and `run`: this example has its own
#[path = "../train_digits/main.rs"]
mod train_digits;

use indicatif::{ProgressBar, ProgressStyle};
use scopeflow::mpi::{DistributedOptimizer, World};
use scopeflow::prelude::*;
use scopeflow::{AdamOptimizer, EventWriter, Optimizer, get_or_create_global_step};
use std::error::Error;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use train_digits::data::Shuffle;
use train_digits::{Options, SEED, Tower, scalar};

const USAGE: &str = "usage: mpirun -np N target/release/examples/train_digits_mpi \
                     [--fashion-mnist DIR] [--epochs N] [--logdir DIR]";

fn main() {
    if std::env::args().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return;
    }
    let mut options = Options::parse(std::env::args().skip(1)).unwrap_or_else(|problem| {
        eprintln!("{problem}\n{USAGE}");
        std::process::exit(2);
    });
    if options.logdir == Options::default().logdir {
        options.logdir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/train_digits_mpi").into();
    }
    let world = World::init().unwrap_or_else(|e| {
        eprintln!("train_digits_mpi: {e}");
        std::process::exit(1);
    });
    // Rank 0 prints; the others write into a sink.
    let result = if world.is_root() {
        run(&world, &mut std::io::stdout().lock(), &options)
    } else {
        run(&world, &mut std::io::sink(), &options)
    };
    if let Err(e) = result {
        // An error on one rank ends the job: `mpirun` stops the others.
        eprintln!("train_digits_mpi: rank {} of {}: {e}", world.rank(), world.size());
        std::process::exit(1);
    }
}

/// Trains on `world`, evaluating on rank 0 after each epoch; returns the
/// final test accuracy (on rank 0; 0 elsewhere).
fn run(world: &World, out: &mut impl Write, options: &Options) -> Result<f64, Box<dyn Error>> {
    let (data, settings) = train_digits::load(options)?;
    let epochs = options.epochs.unwrap_or(settings.epochs);
    writeln!(
        out,
        "{}: {} training and {} test images; batches of {} over {} ranks",
        data.name,
        data.train.len(),
        data.test.len(),
        settings.batch,
        world.size()
    )?;

    let graph = Graph::with_seed(SEED);
    let _g = graph.as_default();
    let train = Tower::build("train", data.pixels(), settings.hidden, Reuse::Inherit)?;
    let eval = Tower::build("eval", data.pixels(), settings.hidden, Reuse::True)?;
    let global_step = get_or_create_global_step()?;
    let optimizer = DistributedOptimizer::new(world, AdamOptimizer::new(settings.learning_rate));
    let train_op = optimizer.minimize(&train.loss, None, Some(&global_step))?;
    // Every rank starts from rank 0's values (a restore on rank 0 would go just before).
    world.broadcast_variables(&graph)?;

    let mut events = if world.is_root() { Some(EventWriter::create(&options.logdir)?) } else { None };
    if let Some(events) = &mut events {
        events.add_graph(&graph)?;
    }
    let session = Session::new(&graph);
    let batches = data.train.len().div_ceil(settings.batch);
    let bar = if world.is_root() && options.progress && std::io::stderr().is_terminal() {
        ProgressBar::new((epochs * batches) as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(ProgressStyle::with_template("epoch {prefix} {bar:30} {pos}/{len} {msg} [{elapsed}]")?);
    let test = data.test.all();
    // The same shuffle on every rank: each takes its share of the same batches.
    let mut shuffle = Shuffle::new(SEED);
    let (mut step, mut test_accuracy) = (0, 0.0);
    let (mut step_times, mut allreduce_times) = (Vec::new(), Vec::new());
    let started = Instant::now();
    for epoch in 1..=epochs {
        bar.set_prefix(format!("{epoch}/{epochs}"));
        // This rank's sums over the epoch: loss and hits weighted by rows, rows.
        let mut sums = [0.0; 3];
        for batch in shuffle.permutation(data.train.len()).chunks(settings.batch) {
            let rows = &batch[world.shard(batch.len())];
            let (images, labels) = data.train.batch(rows);
            let began = Instant::now();
            let got = session.run_with_targets(
                &[&train.loss, &train.accuracy],
                &[(&train.images, &images), (&train.labels, &labels)],
                &[&train_op],
            )?;
            step_times.push(began.elapsed());
            allreduce_times.push(world.allreduce_stats().last);
            step += 1;
            let n = rows.len() as f64;
            sums[0] += scalar(&got[0]) * n;
            sums[1] += scalar(&got[1]) * n;
            sums[2] += n;
            bar.inc(1);
        }
        // Means over every rank's rows (Horovod's MetricAverageCallback).
        world.average(&mut sums);
        let (loss, accuracy) = (sums[0] / sums[2], sums[1] / sums[2]);
        if let Some(events) = &mut events {
            let (test_loss, accuracy_now) = eval.evaluate(&session, &test)?;
            test_accuracy = accuracy_now;
            events.add_scalar("train/loss", loss as f32, step)?;
            events.add_scalar("train/accuracy", accuracy as f32, step)?;
            events.add_scalar("test/loss", test_loss as f32, step)?;
            events.add_scalar("test/accuracy", test_accuracy as f32, step)?;
            bar.suspend(|| {
                writeln!(
                    out,
                    "epoch {epoch}/{epochs}: train loss {loss:.4} accuracy {accuracy:.4}, \
                     test loss {test_loss:.4} accuracy {test_accuracy:.4}"
                )
            })?;
        }
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if let Some(mut events) = events {
        events.flush()?;
        let checkpoint = options.logdir.join("model.safetensors");
        Saver::new(&graph).save(&checkpoint)?;
        writeln!(out, "{step} steps; checkpoint {}", checkpoint.display())?;
    }
    let images = data.train.len() * epochs;
    writeln!(
        out,
        "mpi: ranks={} steps={step} step_ms_median={:.3} allreduce_ms_median={:.3} images_per_s={:.0}",
        world.size(),
        millis(median(&mut step_times)),
        millis(median(&mut allreduce_times)),
        images as f64 / elapsed.as_secs_f64(),
    )?;
    writeln!(out, "test accuracy={test_accuracy:.4}")?;
    Ok(test_accuracy)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
