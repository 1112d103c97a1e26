//! Hand-rolled benchmark: the code `#[scoped]` and `model!` generate against
//! the same runtime calls written by hand (no harness crate).
//!
//! Run with:
//!
//! ```text
//! cargo bench --bench macros
//! ```
//!
//! What it measures (median per-iteration time over 101 samples; each sample
//! times a batch sized to last ~8 ms; every subject's samples alternate with
//! those of its hand-written twin, so both see the same machine noise):
//!
//! 1. `scoped`: a call of `#[scoped("dense", reuse = auto)] fn dense(x)`
//!    (kernel `[16, 16]`, zero bias, MatMul, Add, Relu) against a function
//!    that enters `variable_scope("dense").default_name("dense")
//!    .reuse(Reuse::Auto)` itself, then runs the same body. Each sample uses a
//!    fresh graph (one per version) whose variables the first, untimed call
//!    creates; every timed call shares them and adds three ops.
//! 2. `model`: `Mlp::build()` of a `model!` struct (`MLP/layer{1,2}/{kernel,
//!    bias}`) in a fresh graph against the same `variable_scope` /
//!    `get_variable` calls building plain structs by hand. Graphs are made and
//!    dropped untimed.
//! 3. `model_reuse`: `Eval::build()`, the `reuse = true` twin sharing all four
//!    variables of an already-built `Mlp`, against the same by hand.
//!
//! Before timing, each pair is checked to build the same graph: the same
//! nodes (names, op types, inputs, shapes, dtypes) and the same variables
//! (names, shapes, dtypes, trainable, seeded initial values).
//!
//! The last lines printed are one-line summaries meant for scripts.

mod harness;

use harness::{Config, Routine, Stats, paired_ratio};
use scopeflow::prelude::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// 101 samples of ~8 ms; subject and baseline both run the baseline's
/// calibrated iteration count.
const CONFIG: Config = Config { samples: 101, target: Duration::from_millis(8), shared_iters: true };
/// The graph seed of the equivalence checks (random initial values then
/// depend only on it and the variable's name).
const SEED: u64 = 7;

/// Measures a subject and its baseline with their samples interleaved (see
/// [`Config::shared_iters`] for the iteration counts).
fn interleaved_pair(subject: (&'static str, Routine<'_>), baseline: (&'static str, Routine<'_>)) -> (Stats, Stats) {
    let mut stats = CONFIG.interleaved(vec![subject, baseline]).into_iter();
    (stats.next().expect("subject stats"), stats.next().expect("baseline stats"))
}

/// What a graph holds, for comparing two builds: every node, and every
/// variable with its seeded initial value.
fn fingerprint(graph: &Graph) -> Vec<String> {
    let mut out: Vec<String> = graph
        .nodes()
        .iter()
        .map(|n| format!("node {} {} {:?} {:?} {:?}", n.name, n.op_type, n.inputs, n.shape, n.dtype))
        .collect();
    for v in graph.global_variables(None).expect("global_variables") {
        let value = v.value().expect("variable value").to_f64_vec();
        out.push(format!("var {} {:?} {:?} trainable={} {value:?}", v.name(), v.shape(), v.dtype(), v.trainable()));
    }
    out
}

/// The names of a graph's variables, in creation order.
fn variable_names(graph: &Graph) -> Vec<String> {
    graph.global_variables(None).expect("global_variables").iter().map(|v| v.name().to_owned()).collect()
}

// ---------------------------------------------------------------- 1. #[scoped]

/// The subject: the scope comes from the attribute.
#[scoped("dense", reuse = auto)]
fn dense(x: &Tensor) -> Result<Tensor> {
    let kernel = get_variable("kernel", [16, 16]).get()?;
    let bias = get_variable("bias", [16]).initializer(Init::Zeros).get()?;
    let z = matmul(x, &kernel)?;
    let z = add(&z, &bias)?;
    relu(&z)
}

/// The twin: the scope the attribute enters, entered by hand.
fn dense_by_hand(x: &Tensor) -> Result<Tensor> {
    let _s = variable_scope("dense").default_name("dense").reuse(Reuse::Auto).enter()?;
    let kernel = get_variable("kernel", [16, 16]).get()?;
    let bias = get_variable("bias", [16]).initializer(Init::Zeros).get()?;
    let z = matmul(x, &kernel)?;
    let z = add(&z, &bias)?;
    relu(&z)
}

/// The input of the dense layer, in the current default graph.
fn input() -> Tensor {
    constant(scopeflow::ndarray::Array2::<f32>::zeros((1, 16))).expect("constant")
}

/// A routine calling `layer` `n` times in a fresh graph, after one untimed
/// call that creates the variables.
fn layer_routine<'a>(layer: impl Fn(&Tensor) -> Result<Tensor> + 'a) -> Routine<'a> {
    Box::new(move |n| {
        let graph = Graph::new();
        let t = {
            let _default = graph.as_default();
            let x = input();
            black_box(layer(&x).expect("first call"));
            let start = Instant::now();
            for _ in 0..n {
                black_box(layer(black_box(&x)).expect("layer"));
            }
            start.elapsed()
        };
        drop(graph);
        t
    })
}

fn bench_scoped() -> (Stats, Stats) {
    let build = |layer: fn(&Tensor) -> Result<Tensor>| {
        let graph = Graph::with_seed(SEED);
        let outputs: Vec<String> = graph.with_default(|| {
            let x = input();
            (0..3).map(|_| layer(&x).expect("layer").name().to_owned()).collect()
        });
        (graph, outputs)
    };
    let (macro_graph, macro_outputs) = build(dense);
    let (hand_graph, hand_outputs) = build(dense_by_hand);
    assert_eq!(macro_outputs, ["dense/Relu", "dense_1/Relu", "dense_2/Relu"]);
    assert_eq!(macro_outputs, hand_outputs);
    assert_eq!(variable_names(&macro_graph), ["dense/kernel", "dense/bias"]);
    assert_eq!(variable_names(&macro_graph), variable_names(&hand_graph));
    assert_eq!(fingerprint(&macro_graph), fingerprint(&hand_graph), "#[scoped] and by hand build different graphs");

    interleaved_pair(
        ("#[scoped] dense(x) (shared vars, 3 ops)", layer_routine(dense)),
        ("by hand dense_by_hand(x)", layer_routine(dense_by_hand)),
    )
}

// ------------------------------------------------------------------ 2. model!

model! {
    /// A two-layer perceptron.
    pub struct Mlp in "MLP" (initializer = he_normal) {
        layer1 { kernel: [784, 64], bias: [64] = zeros }
        layer2 { kernel: [64, 10], bias: [10] = zeros }
    }
    /// The same weights, shared (TF reuse=True).
    pub struct Eval in "MLP" (reuse = true) {
        layer1 { kernel: [784, 64], bias: [64] }
        layer2 { kernel: [64, 10], bias: [10] }
    }
}

/// A layer's variables, as a hand-written model would hold them.
struct HandLayer {
    kernel: Variable,
    bias: Variable,
}

/// [`Mlp`] by hand.
struct HandMlp {
    layer1: HandLayer,
    layer2: HandLayer,
}

/// `Mlp::build()` by hand: the same scopes and `get_variable` calls.
fn build_mlp_by_hand() -> Result<HandMlp> {
    let _s = variable_scope("MLP").initializer(Init::HeNormal).enter()?;
    let layer1 = {
        let _s = variable_scope("layer1").enter()?;
        HandLayer {
            kernel: get_variable("kernel", [784, 64]).get()?,
            bias: get_variable("bias", [64]).initializer(Init::Zeros).get()?,
        }
    };
    let layer2 = {
        let _s = variable_scope("layer2").enter()?;
        HandLayer {
            kernel: get_variable("kernel", [64, 10]).get()?,
            bias: get_variable("bias", [10]).initializer(Init::Zeros).get()?,
        }
    };
    Ok(HandMlp { layer1, layer2 })
}

/// `Eval::build()` by hand: every variable of `MLP`, shared.
fn build_eval_by_hand() -> Result<HandMlp> {
    let _s = variable_scope("MLP").reuse(Reuse::True).enter()?;
    let layer1 = {
        let _s = variable_scope("layer1").enter()?;
        HandLayer { kernel: get_variable("kernel", [784, 64]).get()?, bias: get_variable("bias", [64]).get()? }
    };
    let layer2 = {
        let _s = variable_scope("layer2").enter()?;
        HandLayer { kernel: get_variable("kernel", [64, 10]).get()?, bias: get_variable("bias", [10]).get()? }
    };
    Ok(HandMlp { layer1, layer2 })
}

/// A routine building a model in each of `n` fresh graphs (made and dropped
/// untimed).
fn build_routine<'a, M>(build: impl Fn() -> Result<M> + 'a) -> Routine<'a> {
    Box::new(move |n| {
        let graphs: Vec<Graph> = (0..n).map(|_| Graph::new()).collect();
        let start = Instant::now();
        for graph in &graphs {
            let _default = graph.as_default();
            black_box(build().expect("build"));
        }
        let t = start.elapsed();
        drop(graphs);
        t
    })
}

/// A routine running the `reuse = true` build `n` times in one fresh graph
/// that `setup` (untimed) filled with the variables.
fn reuse_routine<'a, S: 'a, M>(setup: fn() -> Result<S>, build: impl Fn() -> Result<M> + 'a) -> Routine<'a> {
    Box::new(move |n| {
        let graph = Graph::new();
        let t = {
            let _default = graph.as_default();
            let built = setup().expect("setup");
            let start = Instant::now();
            for _ in 0..n {
                black_box(build().expect("shared build"));
            }
            let t = start.elapsed();
            drop(built);
            t
        };
        drop(graph);
        t
    })
}

fn bench_model() -> (Stats, Stats) {
    let macro_graph = Graph::with_seed(SEED);
    let mlp = macro_graph.with_default(Mlp::build).expect("Mlp::build");
    let hand_graph = Graph::with_seed(SEED);
    let hand = hand_graph.with_default(build_mlp_by_hand).expect("build_mlp_by_hand");
    assert_eq!(variable_names(&macro_graph), Mlp::VARIABLES);
    assert_eq!(variable_names(&macro_graph), variable_names(&hand_graph));
    let names = |l1k: &Variable, l1b: &Variable, l2k: &Variable, l2b: &Variable| {
        [l1k.name(), l1b.name(), l2k.name(), l2b.name()].map(str::to_owned)
    };
    assert_eq!(
        names(&mlp.layer1.kernel, &mlp.layer1.bias, &mlp.layer2.kernel, &mlp.layer2.bias),
        names(&hand.layer1.kernel, &hand.layer1.bias, &hand.layer2.kernel, &hand.layer2.bias),
    );
    assert_eq!(fingerprint(&macro_graph), fingerprint(&hand_graph), "model! and by hand build different graphs");

    interleaved_pair(
        ("model! Mlp::build() (4 vars, fresh graph)", build_routine(|| Mlp::build())),
        ("by hand build_mlp_by_hand()", build_routine(build_mlp_by_hand)),
    )
}

fn bench_model_reuse() -> (Stats, Stats) {
    let macro_graph = Graph::with_seed(SEED);
    let (mlp, eval) = macro_graph.with_default(|| (Mlp::build(), Eval::build()));
    let (mlp, eval) = (mlp.expect("Mlp::build"), eval.expect("Eval::build"));
    let hand_graph = Graph::with_seed(SEED);
    let (hand, hand_eval) = hand_graph.with_default(|| (build_mlp_by_hand(), build_eval_by_hand()));
    let (hand, hand_eval) = (hand.expect("build_mlp_by_hand"), hand_eval.expect("build_eval_by_hand"));
    assert_eq!(Eval::VARIABLES, Mlp::VARIABLES);
    assert!(eval.layer1.kernel == mlp.layer1.kernel && eval.layer1.bias == mlp.layer1.bias);
    assert!(eval.layer2.kernel == mlp.layer2.kernel && eval.layer2.bias == mlp.layer2.bias);
    assert!(hand_eval.layer1.kernel == hand.layer1.kernel && hand_eval.layer1.bias == hand.layer1.bias);
    assert!(hand_eval.layer2.kernel == hand.layer2.kernel && hand_eval.layer2.bias == hand.layer2.bias);
    assert_eq!(variable_names(&macro_graph), Mlp::VARIABLES);
    assert_eq!(fingerprint(&macro_graph), fingerprint(&hand_graph), "model! and by hand share differently");

    interleaved_pair(
        ("model! Eval::build() (reuse = true, 4 vars)", reuse_routine(Mlp::build, || Eval::build())),
        ("by hand build_eval_by_hand()", reuse_routine(build_mlp_by_hand, build_eval_by_hand)),
    )
}

fn main() {
    let started = Instant::now();
    println!("scopeflow macro benchmarks: median of {} samples, ~{:?} per sample,", CONFIG.samples, CONFIG.target);
    println!("each subject interleaved with the same runtime calls written by hand");
    println!();

    let report = |title: &str, (subject, hand): &(Stats, Stats)| {
        println!("{title}:");
        subject.print();
        hand.print();
        println!(
            "  -> macro / hand = {:.3}x (ratio of medians; median of per-sample ratios {:.3}x)",
            subject.median() / hand.median(),
            paired_ratio(subject, hand)
        );
        println!();
    };

    let scoped = bench_scoped();
    report("#[scoped(\"dense\", reuse = auto)] layer call (fresh graphs per sample)", &scoped);
    let model = bench_model();
    report("model! build (fresh graph per build)", &model);
    let model_reuse = bench_model_reuse();
    report("model! reuse = true build (sharing a built MLP, fresh graph per sample)", &model_reuse);

    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!();
    let line = |key: &str, hand_key: &str, scale: f64, (subject, hand): &(Stats, Stats)| {
        let (s, h) = (subject.median() / scale, hand.median() / scale);
        let digits = if scale > 1.0 { 3 } else { 1 };
        println!("macros {key}={s:.digits$} {hand_key}={h:.digits$} ratio={:.3}", s / h);
    };
    line("scoped_ns", "hand_ns", 1.0, &scoped);
    line("model_us", "hand_us", 1e3, &model);
    line("model_reuse_ns", "hand_ns", 1.0, &model_reuse);
}
