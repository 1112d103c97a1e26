//! Data-parallel training on MPI equals training on one process.
//!
//! `cargo test --features mpi --test mpi` runs this file's `main`, which
//! checks what holds for a process started alone, then starts itself under
//! `mpirun -np 2` (Open MPI's launcher must be on the PATH): there each rank
//! trains with half of every batch and checks the variables after the steps
//! against a one-process run with the whole batches, for SGD and Adam, with
//! gradients fused in one buffer and in many; that ranks which built different
//! graphs fail with an error naming the variable and the ranks; and a second
//! job whose rank 1 dies mid-training must end, with an error, not hang.
//! It closes with `mpi: N passed, 0 failed`.

use scopeflow::mpi::{DistributedOptimizer, World};
use scopeflow::prelude::*;
use scopeflow::{
    AdamOptimizer, GradientDescentOptimizer, Optimizer, cast, get_or_create_global_step,
    sparse_softmax_cross_entropy_with_logits,
};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Rows of the data set, features per row, classes.
const ROWS: usize = 96;
const FEATURES: usize = 6;
const CLASSES: usize = 3;
/// The whole batch of one step (each of 2 ranks takes half), and the steps.
const BATCH: usize = 8;
const STEPS: usize = 12;
const SEED: u64 = 7;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Sgd,
    Adam,
}

/// The data: smooth features and a class per row, the same in every process.
fn data(rows: &[usize]) -> (Value, Value) {
    let x: Vec<f32> =
        rows.iter().flat_map(|&i| (0..FEATURES).map(move |j| ((i * 7 + j * 3) as f32 * 0.37).sin())).collect();
    let y: Vec<i32> = rows.iter().map(|&i| ((i * 5) % CLASSES) as i32).collect();
    (Value::from(ndarray::Array2::from_shape_vec((rows.len(), FEATURES), x).expect("shape")), Value::from(y))
}

/// What a run built: the graph, its inputs, loss and train op.
struct Model {
    graph: Graph,
    x: Tensor,
    y: Tensor,
    train: Operation,
}

/// A small MLP with a float64 variable too (gradients of two dtypes), and
/// `optimizer` (plain, or wrapped for `world`). `wide` changes one shape:
/// what a rank that built another graph does.
fn build(seed: u64, kind: Kind, world: Option<(&World, usize)>, hidden: usize, name: &str) -> Result<Model> {
    let graph = Graph::with_seed(seed);
    let model = graph.with_default(|| {
        let x = placeholder(DType::F32, Shape::from_dims([None, Some(FEATURES)]))?;
        let y = placeholder(DType::I32, Shape::from_dims([None]))?;
        let h = variable_scope("mlp").with(|_| {
            let w1 = get_variable(name, [FEATURES, hidden]).get()?;
            let b1 = get_variable("b1", [hidden]).initializer(Init::Zeros).get()?;
            let h = relu(&add(&matmul(&x, &w1)?, &b1)?)?;
            let w2 = get_variable("w2", [hidden, CLASSES]).get()?;
            let scale = get_variable("scale", [1]).dtype(DType::F64).initializer(Init::Ones).get()?;
            mul(&matmul(&h, &w2)?, &cast(&scale, DType::F32)?)
        })?;
        let loss = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&y, &h)?, None, false)?;
        let step = get_or_create_global_step()?;
        let train = match (kind, world) {
            (Kind::Sgd, None) => GradientDescentOptimizer::new(0.5).minimize(&loss, None, Some(&step))?,
            (Kind::Adam, None) => AdamOptimizer::new(0.05).minimize(&loss, None, Some(&step))?,
            (Kind::Sgd, Some((w, fusion))) => DistributedOptimizer::new(w, GradientDescentOptimizer::new(0.5))
                .fusion_threshold(fusion)
                .minimize(&loss, None, Some(&step))?,
            (Kind::Adam, Some((w, fusion))) => DistributedOptimizer::new(w, AdamOptimizer::new(0.05))
                .fusion_threshold(fusion)
                .minimize(&loss, None, Some(&step))?,
        };
        Ok::<_, Error>((x, y, train))
    })?;
    let (x, y, train) = model;
    Ok(Model { graph, x, y, train })
}

/// Runs `STEPS` steps, each on `rows_of(step)`, and returns every global
/// variable's name and value.
fn train(model: &Model, rows_of: impl Fn(usize) -> Vec<usize>) -> Result<Vec<(String, Value)>> {
    let session = Session::new(&model.graph);
    for step in 0..STEPS {
        let (x, y) = data(&rows_of(step));
        session.run_targets(&[&model.train], &[(&model.x, &x), (&model.y, &y)])?;
    }
    values(&model.graph)
}

fn values(graph: &Graph) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for v in graph.global_variables(None)? {
        out.push((v.name().to_owned(), v.value()?));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The rows of step `step`'s whole batch.
fn batch(step: usize) -> Vec<usize> {
    (0..BATCH).map(|k| (step * BATCH + k) % ROWS).collect()
}

/// Whether `got` equals `want` within float round-off (sums in another order).
fn close(got: &[(String, Value)], want: &[(String, Value)], tolerance: f64) -> std::result::Result<(), String> {
    if got.iter().map(|g| &g.0).ne(want.iter().map(|w| &w.0)) {
        return Err(format!("other variables: {:?}", got.iter().map(|g| &g.0).collect::<Vec<_>>()));
    }
    for ((name, g), (_, w)) in got.iter().zip(want) {
        let worst =
            g.to_f64_vec().iter().zip(w.to_f64_vec()).map(|(a, b)| (a - b).abs() / (1.0 + b.abs())).fold(0.0, f64::max);
        if worst > tolerance || g.shape() != w.shape() {
            return Err(format!("`{name}` differs from one process by {worst:e} (tolerance {tolerance:e})"));
        }
    }
    Ok(())
}

/// FNV-1a of every value's bytes: equal on every rank when the variables are equal bit for bit.
fn fingerprint(values: &[(String, Value)]) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (_, v) in values {
        for x in v.to_f64_vec() {
            for b in x.to_le_bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    // Exact in an f64 (53 bits), for `World::average`.
    (h >> 11) as f64
}

type Case = fn(&World) -> std::result::Result<(), String>;

/// Training on every rank with its half of each batch, from rank 0's
/// initial values (the ranks' seeds differ), equals one process with whole batches.
fn equals_one_process(world: &World, kind: Kind, fusion: usize, tolerance: f64) -> std::result::Result<(), String> {
    let fail = |e: Error| e.to_string();
    let reference = train(&build(SEED, kind, None, 8, "w1").map_err(fail)?, batch).map_err(fail)?;
    let model = build(SEED + 100 * world.rank() as u64, kind, Some((world, fusion)), 8, "w1").map_err(fail)?;
    world.broadcast_variables(&model.graph).map_err(fail)?;
    let got = train(&model, |step| batch(step)[world.shard(BATCH)].to_vec()).map_err(fail)?;
    close(&got, &reference, tolerance)?;
    // Every rank ends with the very same bits.
    let mine = fingerprint(&got);
    let mut all = [mine];
    world.average(&mut all);
    if all[0] != mine {
        return Err("the ranks' variables differ after training".into());
    }
    let stats = world.allreduce_stats();
    if stats.runs == 0 || stats.bytes == 0 {
        return Err(format!("no gradient was averaged: {stats:?}"));
    }
    Ok(())
}

/// A rank whose graph differs: `mlp/w1` of another shape on rank 1, or
/// named otherwise, or another fusion threshold. Broadcasting and the first
/// step fail on every rank, naming what differs and where.
fn differing(
    world: &World,
    hidden: usize,
    name: &str,
    fusion: usize,
    expect: &[&str],
) -> std::result::Result<(), String> {
    let fail = |e: Error| e.to_string();
    let model = build(SEED, Kind::Sgd, Some((world, fusion)), hidden, name).map_err(fail)?;
    let (x, y) = data(&batch(0)[world.shard(BATCH)]);
    let mut errors = Vec::new();
    if fusion == 64 << 20 {
        errors.push(world.broadcast_variables(&model.graph).err().ok_or("the broadcast did not fail")?);
    }
    let step = Session::new(&model.graph).run_targets(&[&model.train], &[(&model.x, &x), (&model.y, &y)]);
    errors.push(step.err().ok_or("the first step did not fail")?);
    for e in errors {
        let message = e.to_string();
        if let Some(missing) = expect.iter().find(|want| !message.contains(*want)) {
            return Err(format!("the error does not say `{missing}`: {message}"));
        }
    }
    Ok(())
}

const CASES: &[(&str, Case)] = &[
    ("sgd_on_two_ranks_equals_one_process", |w| equals_one_process(w, Kind::Sgd, 64 << 20, 1e-5)),
    ("adam_on_two_ranks_equals_one_process", |w| equals_one_process(w, Kind::Adam, 64 << 20, 1e-4)),
    ("adam_with_gradients_fused_in_64_byte_buffers_equals_one_process", |w| {
        equals_one_process(w, Kind::Adam, 64, 1e-4)
    }),
    ("a_shape_that_differs_is_an_error_naming_the_variable_and_ranks", |w| {
        let hidden = if w.rank() == 1 { 5 } else { 8 };
        // `mlp/b1` comes first by name.
        differing(w, hidden, "w1", 64 << 20, &["`mlp/b1`", "float32 of shape (8,) on rank 0", "(5,) on rank 1"])
    }),
    ("a_variable_named_otherwise_is_an_error_naming_it_and_the_ranks", |w| {
        let name = if w.rank() == 1 { "w1_renamed" } else { "w1" };
        differing(w, 8, name, 64 << 20, &["`mlp/w1`", "on rank 0, missing on rank 1"])
    }),
    ("another_fusion_threshold_is_an_error", |w| {
        let fusion = if w.rank() == 1 { 1024 } else { 2048 };
        differing(w, 8, "w1", fusion, &["fusion threshold", "2048 on rank 0, 1024 on rank 1"])
    }),
];

/// One rank of the job: every case in order, a line each.
fn rank_main(mode: &str) -> i32 {
    let world = match World::init() {
        Ok(w) => w,
        Err(e) => {
            eprintln!("rank ?: {e}");
            return 1;
        }
    };
    if mode == "die" {
        // Rank 1 dies at its sixth step; rank 0 must not wait for it forever.
        let model = build(SEED, Kind::Sgd, Some((&world, 64 << 20)), 8, "w1").expect("model");
        let session = Session::new(&model.graph);
        for step in 0.. {
            if world.rank() == 1 && step == 5 {
                eprintln!("rank 1: dying at step {step}");
                std::process::exit(3);
            }
            let (x, y) = data(&batch(step)[world.shard(BATCH)]);
            if let Err(e) = session.run_targets(&[&model.train], &[(&model.x, &x), (&model.y, &y)]) {
                eprintln!("rank {}: {e}", world.rank());
                return 1;
            }
            if step > 100_000 {
                println!("rank {}: trained on without rank 1", world.rank());
                return 0;
            }
        }
    }
    for (name, case) in CASES {
        match case(&world) {
            Ok(()) => println!("rank {}: ok {name}", world.rank()),
            Err(e) => println!("rank {}: FAILED {name}: {e}", world.rank()),
        }
    }
    0
}

/// Runs `mpirun -np 2` on this test binary, giving up after `limit`.
fn mpirun(mode: &str, limit: Duration) -> std::result::Result<(bool, String), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new("mpirun")
        .args(["--allow-run-as-root", "--oversubscribe", "-np", "2"])
        .arg(&exe)
        .arg(mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start mpirun (install openmpi-bin): {e}"))?;
    loop {
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("mpirun {mode} still ran after {limit:?}: a hang"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ok((out.status.success(), text))
}

/// A process started alone is rank 0 of 1, and its distributed optimizer
/// trains exactly as the optimizer it wraps.
fn alone() -> std::result::Result<(), String> {
    let fail = |e: Error| e.to_string();
    let world = World::init().map_err(fail)?;
    if (world.rank(), world.size()) != (0, 1) {
        return Err(format!("rank {} of {} without mpirun", world.rank(), world.size()));
    }
    for kind in [Kind::Sgd, Kind::Adam] {
        let want = train(&build(SEED, kind, None, 8, "w1").map_err(fail)?, batch).map_err(fail)?;
        let model = build(SEED, kind, Some((&world, 64)), 8, "w1").map_err(fail)?;
        world.broadcast_variables(&model.graph).map_err(fail)?;
        let got = train(&model, batch).map_err(fail)?;
        if got != want {
            return Err(format!("{kind:?} alone differs from the optimizer it wraps"));
        }
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("", String::as_str);
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        std::process::exit(rank_main(mode));
    }
    let (mut passed, mut failed) = (0, 0);
    let mut report = |name: &str, result: std::result::Result<(), String>| match result {
        Ok(()) => {
            println!("test {name} ... ok");
            passed += 1;
        }
        Err(e) => {
            println!("test {name} ... FAILED\n  {e}");
            failed += 1;
        }
    };
    report("a_process_started_alone_trains_as_one_rank", alone());
    match mpirun("cases", Duration::from_secs(300)) {
        Ok((success, text)) => {
            for (name, _) in CASES {
                let result = (0..2)
                    .map(|rank| {
                        let ok = format!("rank {rank}: ok {name}\n");
                        if text.contains(&ok) {
                            Ok(())
                        } else {
                            let failed = format!("rank {rank}: FAILED {name}: ");
                            Err(text.lines().find(|l| l.starts_with(&failed)).map_or_else(
                                || format!("rank {rank} did not report; mpirun said:\n{text}"),
                                str::to_owned,
                            ))
                        }
                    })
                    .collect::<std::result::Result<Vec<()>, String>>()
                    .map(drop);
                report(name, result);
            }
            report("the_job_ends_cleanly", if success { Ok(()) } else { Err(format!("mpirun failed:\n{text}")) });
        }
        Err(e) => report("mpirun_runs_the_cases", Err(e)),
    }
    let died = mpirun("die", Duration::from_secs(120)).and_then(|(success, text)| {
        if success || text.contains("trained on without rank 1") {
            Err(format!("the job went on without rank 1:\n{text}"))
        } else {
            Ok(())
        }
    });
    report("a_rank_that_dies_ends_the_job_with_an_error", died);
    println!("mpi: {passed} passed, {failed} failed");
    if failed > 0 {
        std::process::exit(1);
    }
}
