//! The CNN TensorFlow trained in `tests/data/tf1_cnn` (recorded by
//! `tools/record_tf1_cnn.py`), ported with the public `layers` as a TF1 user
//! would write it: TF's checkpoint restores strictly (optimizer slots and
//! all), the restored model gives TensorFlow's outputs in inference and in
//! training mode within 1e-5, and five more Adam steps follow TensorFlow's
//! trajectory.
//!
//! Dropout's noise is TF's Philox draw; scopeflow draws the same values from
//! the same seeds, but TF's op had already run (five steps, an evaluation)
//! where the restored port starts its stream afresh: the recorder saved each
//! step's draw and the test feeds it in place of the port's `random_uniform`
//! (any tensor can be fed).
//!
//! The trajectory's tolerance, `|ours - TF| <= 1e-7 + 1e-6 |TF|` for every
//! loss, moving average and saved variable (slots included), is float32
//! round-off and no more: our kernels add in another order than Eigen's
//! (512 positions per channel in batch norm, 64 inputs per unit in `dense`),
//! which moves a sum by a few ulps (an ulp of 1.0 is 1.2e-7); Adam's step
//! `lr * m / sqrt(v)` does not grow relative errors of the gradient, so five
//! steps of `lr = 0.01` move variables by about `5 * 0.01 * 1e-6`. Measured
//! (TF 2.21): losses within 1.2e-7, variables and slots within 6e-8, logits
//! within 7e-7. The tolerance is tight enough to see a real difference: the
//! unfused batch norm (`fused(false)`), which updates the moving variance by
//! the biased batch variance where TF's fused op uses the unbiased one, is
//! off by 6e-6 after one step and fails.

use scopeflow::prelude::*;
use scopeflow::{
    AdamOptimizer, CollectionItem, Optimizer, RestoreOptions, RestoreReport, UPDATE_OPS, control_dependencies,
    get_or_create_global_step, latest_checkpoint, layers, sparse_softmax_cross_entropy_with_logits,
};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf1_cnn")
}

fn expected() -> Json {
    serde_json::from_str(&std::fs::read_to_string(data().join("expected.json")).expect("expected.json")).expect("json")
}

fn floats(v: &Json) -> Vec<f64> {
    match v {
        Json::Array(items) => items.iter().flat_map(floats).collect(),
        Json::Number(n) => vec![n.as_f64().expect("number")],
        other => panic!("not a number: {other}"),
    }
}

/// Batch `step` by the recorder's formula: `x[b, i, j, 0] = (((b*64 + i*8 + j)
/// + 131*step) * 37 % 97 - 48) / 32`, `y[b] = (7b + 3*step) % 3`.
fn batch(step: usize) -> (Value, Value) {
    let x = ndarray::Array4::from_shape_fn((8, 8, 8, 1), |(b, i, j, _)| {
        ((((b * 64 + i * 8 + j) + 131 * step) * 37 % 97) as f32 - 48.0) / 32.0
    });
    let y: Vec<i32> = (0..8).map(|b| ((7 * b + 3 * step) % 3) as i32).collect();
    (Value::from(x), Value::from(y))
}

/// The draw of dropout's uniform noise TensorFlow made, fed in its place.
fn uniform(v: &Json) -> Value {
    let u: Vec<f32> = floats(v).into_iter().map(|u| u as f32).collect();
    Value::from(ndarray::Array2::from_shape_vec((8, 8), u).expect("an [8, 8] draw"))
}

/// `|got - want| <= atol + rtol * |want|` for every element.
fn assert_close(what: &str, got: &[f64], want: &[f64], atol: f64, rtol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= atol + rtol * w.abs(), "{what}[{k}]: got {g}, TensorFlow {w}");
    }
}

/// The port of `tools/record_tf1_cnn.py`'s model, line for line.
struct Cnn {
    x: Tensor,
    y: Tensor,
    training: Tensor,
    logits: Tensor,
    loss: Tensor,
    train: Operation,
    /// Dropout's `random_uniform` draw, which the test feeds with TF's.
    noise: Tensor,
}

fn build_cnn() -> Result<Cnn> {
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(8), Some(8), Some(1)]))?;
    let y = named("y").placeholder(DType::I32, Shape::from_dims([None]))?;
    let training = named("training").placeholder(DType::Bool, Shape::scalar())?;
    let h = layers::conv2d(&x, 4, 3).padding("same").use_bias(false).build()?;
    let h = layers::batch_normalization(&h).training(&training).build()?;
    let h = relu(&h)?;
    let h = layers::max_pooling2d(&h, 2, 2).build()?;
    let h = layers::flatten(&h).build()?;
    let h = layers::dense(&h, 8).activation(relu).build()?;
    let h = layers::dropout(&h).rate(0.25).training(&training).build()?;
    let logits = layers::dense(&h, 3).build()?;
    let loss = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&y, &logits)?, None, false)?;
    let global_step = get_or_create_global_step()?;
    let graph = scopeflow::get_default_graph()?;
    let update_ops: Vec<Operation> = graph.get_collection(UPDATE_OPS, None)?.iter().map(CollectionItem::op).collect();
    let update_refs: Vec<&Operation> = update_ops.iter().collect();
    let train = control_dependencies(&update_refs)
        .with(|| AdamOptimizer::new(0.01).minimize(&loss, None, Some(&global_step)))?;
    let noise = graph.tensor("dropout/dropout/random_uniform/RandomUniform:0").expect("dropout's noise");
    Ok(Cnn { x, y, training, logits, loss, train, noise })
}

/// Restores TF's checkpoint (found through its `checkpoint` state file) strictly.
fn restore(graph: &Graph) -> Result<RestoreReport> {
    let path = latest_checkpoint(data())?.expect("tests/data/tf1_cnn/checkpoint names a checkpoint");
    scopeflow::Saver::new(graph).restore_tf1(path, &RestoreOptions { strict: true, ..Default::default() })
}

#[test]
fn the_port_has_tensorflows_variables_and_restores_its_checkpoint_strictly() -> Result<()> {
    let expected = expected();
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let cnn = build_cnn()?;
    assert_eq!(cnn.train.name(), expected["train_op_name"].as_str().expect("a name"));
    let updates: Vec<String> = graph.get_collection(UPDATE_OPS, None)?.iter().map(|u| u.name().to_owned()).collect();
    assert_eq!(updates, names_of(&expected["update_ops"]));
    let mut ours: Vec<String> = graph.global_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    ours.sort();
    assert_eq!(ours, names_of(&expected["saved_names"]));
    let report = restore(&graph)?;
    assert_eq!(report.applied.len(), ours.len(), "{report:?}");
    assert!(report.missing.is_empty() && report.unexpected.is_empty() && report.not_needed.is_empty(), "{report:?}");
    Ok(())
}

fn names_of(v: &Json) -> Vec<String> {
    v.as_array().expect("a list").iter().map(|s| s.as_str().expect("a name").to_owned()).collect()
}

#[test]
fn the_restored_port_gives_tensorflows_outputs_in_inference_and_training_mode() -> Result<()> {
    let expected = expected();
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let cnn = build_cnn()?;
    restore(&graph)?;
    let session = Session::new(&graph);
    let (x, y) = batch(expected["eval_batch"].as_u64().expect("a batch") as usize);
    let inference = session.run(&[&cnn.logits], &[(&cnn.x, &x), (&cnn.training, &Value::from(false))])?;
    assert_close(
        "inference logits",
        &inference[0].to_f64_vec(),
        &floats(&expected["eval_inference_logits"]),
        1e-5,
        0.0,
    );
    let noise = uniform(&expected["eval_uniform"]);
    let feeds = [(&cnn.x, &x), (&cnn.y, &y), (&cnn.training, &Value::from(true)), (&cnn.noise, &noise)];
    let training = session.run(&[&cnn.logits, &cnn.loss], &feeds)?;
    assert_close("training logits", &training[0].to_f64_vec(), &floats(&expected["eval_training_logits"]), 1e-5, 0.0);
    assert_close(
        "training loss",
        &training[1].to_f64_vec(),
        &[expected["eval_training_loss"].as_f64().expect("a loss")],
        1e-5,
        0.0,
    );
    Ok(())
}

#[test]
fn the_restored_port_continues_on_tensorflows_training_trajectory() -> Result<()> {
    let expected = expected();
    let graph = Graph::with_seed(1);
    let _g = graph.as_default();
    let cnn = build_cnn()?;
    restore(&graph)?;
    let session = Session::new(&graph);
    let moving_mean = graph.variable("batch_normalization/moving_mean").expect("moving_mean");
    let moving_variance = graph.variable("batch_normalization/moving_variance").expect("moving_variance");
    let mut worst = 0.0f64;
    for want in expected["steps"].as_array().expect("steps") {
        let step = want["step"].as_u64().expect("a step") as usize;
        let (x, y) = batch(step);
        let noise = uniform(&want["uniform"]);
        let feeds = [(&cnn.x, &x), (&cnn.y, &y), (&cnn.training, &Value::from(true)), (&cnn.noise, &noise)];
        let got = session.run_with_targets(&[&cnn.loss], &feeds, &[&cnn.train])?;
        let want_loss = want["loss"].as_f64().expect("a loss");
        worst = worst.max((got[0].to_f64_vec()[0] - want_loss).abs());
        assert_close(
            &format!("loss before step {step}"),
            &got[0].to_f64_vec(),
            &[want_loss],
            TRAJECTORY_ATOL,
            TRAJECTORY_RTOL,
        );
        assert_close(
            &format!("moving_mean after step {step}"),
            &moving_mean.value()?.to_f64_vec(),
            &floats(&want["moving_mean"]),
            TRAJECTORY_ATOL,
            TRAJECTORY_RTOL,
        );
        assert_close(
            &format!("moving_variance after step {step}"),
            &moving_variance.value()?.to_f64_vec(),
            &floats(&want["moving_variance"]),
            TRAJECTORY_ATOL,
            TRAJECTORY_RTOL,
        );
    }
    for var in graph.global_variables(None)? {
        let want = floats(&expected["final"][var.name()]);
        let got = var.value()?.to_f64_vec();
        for (g, w) in got.iter().zip(&want) {
            worst = worst.max((g - w).abs());
        }
        assert_close(&format!("final {}", var.name()), &got, &want, TRAJECTORY_ATOL, TRAJECTORY_RTOL);
    }
    eprintln!("largest difference from TensorFlow over the trajectory: {worst:e}");

    // Handed back: the Saver writes a TF1 checkpoint with TF's names (and
    // global_step's suffix), holding exactly what the graph holds.
    let dir = std::env::temp_dir().join(format!("scopeflow-tf1-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let step = scopeflow::SaveOptions { global_step: Some(10), ..Default::default() };
    let prefix = scopeflow::Saver::new(&graph).save_with(dir.join("model.ckpt"), &step)?;
    assert_eq!(latest_checkpoint(&dir)?, Some(prefix.clone()));
    let written = scopeflow::read_tf1_checkpoint(&prefix)?;
    let names: Vec<String> = written.keys().cloned().collect();
    assert_eq!(names, names_of(&expected["saved_names"]));
    for var in graph.global_variables(None)? {
        match &written[var.name()] {
            scopeflow::Stored::Value(v) => assert_eq!(v, &var.value()?, "{} as written", var.name()),
            other => panic!("{} written as {other:?}", var.name()),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Tolerances of the continued trajectory: see the module doc.
const TRAJECTORY_ATOL: f64 = 1e-7;
const TRAJECTORY_RTOL: f64 = 1e-6;
