//! Hand-rolled benchmark of scopeflow's hot paths (no harness crate).
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench scopes
//! ```
//!
//! What it measures (median per-iteration time over 31 samples; each sample
//! times a batch sized to last ~3 ms, so timer overhead is negligible):
//!
//! 1. `lookup`: `get_variable("kernel", [16, 16]).get()` of an existing
//!    variable inside three nested `reuse = auto` variable scopes, against a
//!    baseline of a std `HashMap<String, Arc<Variable>>` lookup whose key is
//!    joined from the same segments on every iteration. Subject and baseline
//!    samples alternate, so both see the same machine noise.
//! 2. `scope`: entering and leaving `variable_scope("layer")`, and
//!    `name_scope("n")`, per enter+exit pair (a fresh graph per sample, as
//!    every entry takes a new unique op name scope `layer_1`, `layer_2`, …).
//! 3. `default_name`: `variable_scope(None).default_name("dense")` enter+exit,
//!    over the first 1000 entries of a fresh graph and over 1000 entries after
//!    10 000 earlier ones; equal times show the per-entry cost does not grow
//!    with use (TensorFlow's scans every earlier suffix).
//! 4. `build`: a 500-layer scoped MLP (`layer{i}/kernel`, `layer{i}/bias`,
//!    MatMul, Add, Relu) in a fresh graph, reported per layer.
//!
//! The last lines printed are one-line summaries meant for scripts.

mod harness;

use harness::{Config, Routine, Stats, paired_ratio};
use scopeflow::{
    Graph, Reuse, Tensor, Variable, add, constant, get_variable, matmul, name_scope, relu, variable_scope,
};
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// 31 samples of ~3 ms, each routine calibrated on its own.
const CONFIG: Config = Config { samples: 31, target: Duration::from_millis(3), shared_iters: false };
/// Layers of the MLP built by the `build` measurement.
const LAYERS: usize = 500;
/// Entries per timed batch of the `default_name` measurement.
const DEFAULT_NAME_BATCH: usize = 1000;
/// Entries before the late batch of the `default_name` measurement.
const DEFAULT_NAME_BEFORE: usize = 10_000;

/// 1. `get_variable` on an existing variable vs. a raw `HashMap` lookup.
fn bench_lookup() -> (Stats, Stats) {
    let graph = Graph::new();
    let _default = graph.as_default();
    let _a = variable_scope("encoder").reuse(Reuse::Auto).enter().expect("enter encoder");
    let _b = variable_scope("block").reuse(Reuse::Auto).enter().expect("enter block");
    let _c = variable_scope("dense").reuse(Reuse::Auto).enter().expect("enter dense");
    let kernel = get_variable("kernel", [16, 16]).get().expect("create kernel");
    assert_eq!(kernel.name(), "encoder/block/dense/kernel");
    let shared = get_variable("kernel", [16, 16]).get().expect("share kernel");
    assert_eq!(shared, kernel, "reuse = auto must share the variable");

    let mut map: HashMap<String, Arc<Variable>> = HashMap::new();
    map.insert(kernel.name().to_owned(), Arc::new(kernel.clone()));
    let segments = ["encoder", "block", "dense"];
    let found = {
        let [a, b, c] = segments;
        map.get(&[a, b, c, "kernel"].join("/")).cloned()
    };
    assert!(found.is_some_and(|v| *v == kernel));

    let subject: Routine<'_> = Box::new(|n| {
        let start = Instant::now();
        for _ in 0..n {
            let v = get_variable(black_box("kernel"), black_box([16, 16])).get().expect("get_variable");
            black_box(v);
        }
        start.elapsed()
    });
    let baseline: Routine<'_> = Box::new(|n| {
        let start = Instant::now();
        for _ in 0..n {
            let [a, b, c] = black_box(segments);
            let key = [a, b, c, black_box("kernel")].join("/");
            let v = black_box(&map).get(&key).cloned();
            black_box(v);
        }
        start.elapsed()
    });
    let mut stats = CONFIG
        .interleaved(vec![
            ("get_variable (3 nested reuse=auto scopes)", subject),
            ("HashMap<String, Arc<_>> + join key", baseline),
        ])
        .into_iter();
    let subject = stats.next().expect("subject stats");
    let baseline = stats.next().expect("baseline stats");
    (subject, baseline)
}

/// 2. Entering and leaving a variable scope, and a name scope.
fn bench_enter_exit() -> (Stats, Stats) {
    {
        // The measured pattern names scopes as TensorFlow does.
        let graph = Graph::new();
        let _default = graph.as_default();
        let names: Vec<String> = (0..3)
            .map(|_| {
                let g = variable_scope("layer").enter().expect("enter");
                g.original_name_scope().to_owned()
            })
            .collect();
        assert_eq!(names, ["layer/", "layer_1/", "layer_2/"]);
        let g = name_scope("n").enter().expect("enter");
        assert_eq!(g.name(), "n/");
    }

    let variable: Routine<'_> = Box::new(|n| {
        let graph = Graph::new();
        let _default = graph.as_default();
        let start = Instant::now();
        for _ in 0..n {
            let g = variable_scope(black_box("layer")).enter().expect("variable_scope");
            drop(black_box(g));
        }
        start.elapsed()
    });
    let name: Routine<'_> = Box::new(|n| {
        let graph = Graph::new();
        let _default = graph.as_default();
        let start = Instant::now();
        for _ in 0..n {
            let g = name_scope(black_box("n")).enter().expect("name_scope");
            drop(black_box(g));
        }
        start.elapsed()
    });
    let mut stats = CONFIG
        .interleaved(vec![("variable_scope(\"layer\") enter+exit", variable), ("name_scope(\"n\") enter+exit", name)])
        .into_iter();
    let variable = stats.next().expect("variable stats");
    let name = stats.next().expect("name stats");
    (variable, name)
}

/// Enters and leaves `count` default-named scopes; returns the time taken.
fn default_name_batch(count: usize) -> Duration {
    let start = Instant::now();
    for _ in 0..count {
        let g = variable_scope(None).default_name(black_box("dense")).enter().expect("default_name scope");
        drop(black_box(g));
    }
    start.elapsed()
}

/// 3. Default-name uniquification early and late in a graph's life. Both
///    batches of a sample come from the same graph, back to back.
fn bench_default_name() -> (Stats, Stats) {
    let per_entry = |t: Duration| t.as_nanos() as f64 / DEFAULT_NAME_BATCH as f64;
    let mut first = Vec::with_capacity(CONFIG.samples);
    let mut late = Vec::with_capacity(CONFIG.samples);
    for s in 0..=CONFIG.samples {
        let graph = Graph::new();
        let _default = graph.as_default();
        let t_first = default_name_batch(DEFAULT_NAME_BATCH);
        default_name_batch(DEFAULT_NAME_BEFORE - DEFAULT_NAME_BATCH);
        let t_late = default_name_batch(DEFAULT_NAME_BATCH);
        let next = variable_scope(None).default_name("dense").enter().expect("default_name scope");
        let expected = format!("dense_{}", DEFAULT_NAME_BEFORE + DEFAULT_NAME_BATCH);
        assert_eq!(next.name(), expected);
        if s > 0 {
            // Sample 0 is warm-up.
            first.push(per_entry(t_first));
            late.push(per_entry(t_late));
        }
    }
    let iters = DEFAULT_NAME_BATCH as u64;
    (
        Stats::new("default_name(\"dense\") first 1000", iters, first),
        Stats::new("default_name(\"dense\") 1000 after 10k", iters, late),
    )
}

/// Builds the scoped MLP in the current default graph.
fn build_mlp(layer_names: &[String]) -> Tensor {
    let mut h = constant(ndarray::Array2::<f32>::zeros((1, 16))).expect("constant");
    for name in layer_names {
        let _scope = variable_scope(name.as_str()).enter().expect("layer scope");
        let kernel = get_variable("kernel", [16, 16]).get().expect("kernel");
        let bias = get_variable("bias", [16]).get().expect("bias");
        let z = matmul(&h, &kernel).expect("matmul");
        let z = add(&z, &bias).expect("add");
        h = relu(&z).expect("relu");
    }
    h
}

/// 4. Building a 500-layer MLP in a fresh graph; graphs are dropped untimed.
fn bench_build() -> Stats {
    let layer_names: Vec<String> = (0..LAYERS).map(|i| format!("layer{i}")).collect();
    {
        let graph = Graph::new();
        let out = graph.with_default(|| build_mlp(&layer_names));
        assert_eq!(out.name(), format!("layer{}/Relu", LAYERS - 1));
        assert_eq!(graph.trainable_variables(None).expect("vars").len(), 2 * LAYERS);
    }
    let build: Routine<'_> = Box::new(|n| {
        let graphs: Vec<Graph> = (0..n).map(|_| Graph::new()).collect();
        let start = Instant::now();
        for graph in &graphs {
            let _default = graph.as_default();
            black_box(build_mlp(black_box(&layer_names)));
        }
        let t = start.elapsed();
        drop(graphs);
        t
    });
    CONFIG.interleaved(vec![("build 500-layer MLP (per graph)", build)]).pop().expect("build stats")
}

fn main() {
    let started = Instant::now();
    println!("scopeflow scope benchmarks: median of {} samples, ~{:?} per sample", CONFIG.samples, CONFIG.target);
    println!();

    println!("lookup of an existing variable (subject and baseline interleaved):");
    let (get_var, raw) = bench_lookup();
    get_var.print();
    raw.print();
    let ratio = get_var.median() / raw.median();
    println!(
        "  -> get_variable / raw lookup = {ratio:.2}x (ratio of medians; median of per-sample ratios {:.2}x)",
        paired_ratio(&get_var, &raw)
    );
    println!();

    println!("scope enter+exit (fresh graph per sample):");
    let (var_scope, name_scope) = bench_enter_exit();
    var_scope.print();
    name_scope.print();
    println!();

    println!("default_name uniquification (fresh graph per sample):");
    let (first, late) = bench_default_name();
    first.print();
    late.print();
    println!("  -> late / first = {:.2}x (about 1x or less: no growth with use)", late.median() / first.median());
    println!();

    println!("graph building ({LAYERS}-layer scoped MLP, fresh graph per sample):");
    let build = bench_build();
    build.print();
    let per_layer_us = build.median() / LAYERS as f64 / 1e3;
    println!("  -> {per_layer_us:.3} us per layer (2 get_variable, 1 variable scope, 3 ops)");
    println!();

    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!();
    println!("lookup get_variable_ns={:.1} raw_ns={:.1} ratio={ratio:.2}", get_var.median(), raw.median());
    println!("scope enter_exit_ns={:.1}", var_scope.median());
    println!("scope name_scope_enter_exit_ns={:.1}", name_scope.median());
    println!("default_name first_ns={:.1} after_10k_ns={:.1}", first.median(), late.median());
    println!("build per_layer_us={per_layer_us:.3}");
}
