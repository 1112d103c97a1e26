//! The MLP TensorFlow trained in `../shared/fixtures/tf1_train`, rebuilt
//! through the public API and restored from TF's initial checkpoint: the
//! loss and `gradients` of the loss at step 0 equal TensorFlow's, and an
//! optimizer's ten steps follow TensorFlow's trajectory to its final values.

use scopeflow::prelude::*;
use scopeflow::{
    AdagradOptimizer, AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer, RMSPropOptimizer,
    RestoreOptions, Saver, add_n, get_or_create_global_step, gradients, reduce_mean,
    sparse_softmax_cross_entropy_with_logits,
};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tf1_train")
}

fn expected() -> Json {
    serde_json::from_str(&std::fs::read_to_string(fixture().join("expected.json")).expect("fixture")).expect("json")
}

fn floats(v: &Json) -> Vec<f64> {
    match v {
        Json::Array(items) => items.iter().flat_map(floats).collect(),
        Json::Number(n) => vec![n.as_f64().expect("number")],
        other => panic!("not a number: {other}"),
    }
}

/// Step `step`'s batch, by the fixture's formula.
fn batch(step: usize, rows: usize, cols: usize, classes: usize) -> (Value, Value) {
    let x = ndarray::Array2::from_shape_fn((rows, cols), |(i, j)| {
        ((((i * cols + j) + 131 * step) * 37 % 97) as f32 - 48.0) / 32.0
    });
    let y: Vec<i32> = (0..rows).map(|i| ((7 * i + 3 * step) % classes) as i32).collect();
    (Value::from(x), Value::from(y))
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-6 + 1e-5 * w.abs(), "{what}[{k}]: got {g}, TensorFlow {w}");
    }
}

/// The fixture's sizes: batch, inputs, hidden units, classes, steps.
fn sizes(expected: &Json) -> [usize; 5] {
    let dims = &expected["shapes"];
    ["batch", "in", "hidden", "classes", "steps"].map(|k| dims[k].as_u64().expect("a dimension") as usize)
}

/// `gen.py`'s model, restored from TF's initial checkpoint.
struct Mlp {
    x: Tensor,
    y: Tensor,
    logits: Tensor,
    loss: Tensor,
    vars: [Variable; 4],
}

fn build_mlp(expected: &Json) -> Result<Mlp> {
    let [_, inputs, hidden, classes, _] = sizes(expected);
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, Some(inputs)]))?;
    let y = named("y").placeholder(DType::I32, Shape::from_dims([None]))?;
    let (logits, vars) = {
        let _mlp = variable_scope("MLP").regularizer(Regularizer::L2(1e-3)).enter()?;
        let (h, w1, b1) = {
            let _l = variable_scope("layer1").enter()?;
            let w = get_variable("kernel", [inputs, hidden]).get()?;
            let b = get_variable("bias", [hidden]).get()?;
            (relu(&(&x.matmul(&w)? + &b)?)?, w, b)
        };
        let _l = variable_scope("layer2").enter()?;
        let w2 = get_variable("kernel", [hidden, classes]).get()?;
        let b2 = get_variable("bias", [classes]).initializer(Init::Zeros).get()?;
        ((&h.matmul(&w2)? + &b2)?, [w1, b1, w2, b2])
    };
    let xent = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&y, &logits)?, None, false)?;
    let regularization = scopeflow::get_default_graph()?.regularization_losses(None)?;
    let loss = (&xent + &add_n(&regularization.iter().collect::<Vec<_>>())?)?;
    Ok(Mlp { x, y, logits, loss, vars })
}

fn restore_init(graph: &Graph) -> Result<()> {
    let restore = RestoreOptions { strict: true, ..Default::default() };
    Saver::for_variables(graph, &graph.trainable_variables(None)?)
        .restore_tf1(fixture().join("init/model.ckpt"), &restore)?;
    Ok(())
}

#[test]
fn the_step0_loss_and_gradients_equal_tensorflows() -> Result<()> {
    let expected = expected();
    let [batch_size, inputs, _, classes, _] = sizes(&expected);
    let graph = Graph::new();
    let _g = graph.as_default();
    let Mlp { x, y, logits, loss, vars } = build_mlp(&expected)?;
    let xs: Vec<&Tensor> = vars.iter().map(|v| v.tensor()).collect();
    let grads: Vec<Tensor> = gradients(&[&loss], &xs)?.into_iter().map(|g| g.expect("every variable")).collect();

    restore_init(&graph)?;
    let (xv, yv) = batch(0, batch_size, inputs, classes);
    let mut fetches: Vec<&Tensor> = vec![&loss, &logits];
    fetches.extend(&grads);
    let got = Session::new(&graph).run(&fetches, &[(&x, &xv), (&y, &yv)])?;

    assert_close("loss", &got[0].to_f64_vec(), &[expected["loss_step0"].as_f64().expect("loss")]);
    assert_close("logits", &got[1].to_f64_vec(), &floats(&expected["logits_step0"]));
    for (var, g) in vars.iter().zip(&got[2..]) {
        assert_close(var.name(), &g.to_f64_vec(), &floats(&expected["gradients_step0"][var.name()]));
    }
    // The gradient graph holds the nodes TensorFlow's did, but for TF 2.21
    // naming its regularizers' ops `l2_regularizer_1` (see tests/tf_gradients/README.md).
    let ours: std::collections::BTreeSet<String> =
        graph.nodes().into_iter().map(|n| n.name).filter(|n| n.starts_with("gradients/")).collect();
    for name in expected["gradient_node_names"].as_array().expect("names") {
        let name = name.as_str().expect("a name").replace("l2_regularizer_1", "l2_regularizer");
        assert!(ours.contains(&name), "TensorFlow's gradient graph has {name}; ours: {ours:?}");
    }
    Ok(())
}

/// Restores `init`, trains ten steps with `optimizer` on the fixture's
/// batches, and checks every loss, the variables the Saver writes and their
/// final values against TensorFlow's run `run`.
fn follows_tensorflows_trajectory(run: &str, optimizer: &impl Optimizer) -> Result<()> {
    let expected = expected();
    let want = &expected["runs"][run];
    let [batch_size, inputs, _, classes, steps] = sizes(&expected);
    let graph = Graph::new();
    let _g = graph.as_default();
    let mlp = build_mlp(&expected)?;
    let global_step = get_or_create_global_step()?;
    let train = optimizer.minimize(&mlp.loss, None, Some(&global_step))?;
    assert_eq!(train.name(), want["train_op_name"].as_str().expect("a name"));
    let mut saved: Vec<String> = graph.global_variables(None)?.iter().map(|v| v.name().to_owned()).collect();
    saved.sort();
    let want_saved: Vec<&str> = want["saved_names"].as_array().expect("names").iter().flat_map(Json::as_str).collect();
    assert_eq!(saved, want_saved);

    restore_init(&graph)?;
    let session = Session::new(&graph);
    let want_losses = floats(&want["losses"]);
    for (step, want_loss) in want_losses.iter().enumerate().take(steps) {
        let (xv, yv) = batch(step, batch_size, inputs, classes);
        let got = session.run_with_targets(&[&mlp.loss], &[(&mlp.x, &xv), (&mlp.y, &yv)], &[&train])?;
        assert_close(&format!("{run} loss before step {step}"), &got[0].to_f64_vec(), &[*want_loss]);
    }
    let globals = graph.global_variables(None)?;
    for name in want_saved {
        let var = globals.iter().find(|v| v.name() == name).expect("a saved variable");
        assert_close(&format!("{run} final {name}"), &var.value()?.to_f64_vec(), &floats(&want["final_values"][name]));
    }
    Ok(())
}

#[test]
fn gradient_descent_follows_tensorflows_trajectory() -> Result<()> {
    follows_tensorflows_trajectory("sgd", &GradientDescentOptimizer::new(0.1))
}

#[test]
fn momentum_follows_tensorflows_trajectory() -> Result<()> {
    follows_tensorflows_trajectory("momentum", &MomentumOptimizer::new(0.1, 0.9))
}

#[test]
fn nesterov_momentum_follows_tensorflows_trajectory() -> Result<()> {
    follows_tensorflows_trajectory("nesterov", &MomentumOptimizer::new(0.1, 0.9).nesterov(true))
}

#[test]
fn adam_follows_tensorflows_trajectory() -> Result<()> {
    follows_tensorflows_trajectory("adam", &AdamOptimizer::new(0.01))
}

#[test]
fn rmsprop_follows_tensorflows_trajectory() -> Result<()> {
    follows_tensorflows_trajectory("rmsprop", &RMSPropOptimizer::new(0.01).decay(0.9).epsilon(1e-10))
}

#[test]
fn adagrad_follows_tensorflows_trajectory() -> Result<()> {
    follows_tensorflows_trajectory("adagrad", &AdagradOptimizer::new(0.1).initial_accumulator_value(0.1))
}

#[test]
fn an_inference_model_restores_a_training_checkpoint_strictly() -> Result<()> {
    let expected = expected();
    let graph = Graph::new();
    let _g = graph.as_default();
    let mlp = build_mlp(&expected)?;
    let strict = RestoreOptions { strict: true, ..Default::default() };
    let report = Saver::new(&graph).restore_tf1(fixture().join("adam/model.ckpt"), &strict)?;
    assert_eq!(report.applied.len(), 4);
    assert!(report.unexpected.is_empty() && report.missing.is_empty(), "{report:?}");
    let mut not_needed = report.not_needed.clone();
    not_needed.sort();
    let want = &expected["runs"]["adam"];
    let saved: Vec<&str> = want["saved_names"].as_array().expect("names").iter().flat_map(Json::as_str).collect();
    let optimizer_state: Vec<&str> = saved.into_iter().filter(|n| !report.applied.iter().any(|a| a == n)).collect();
    assert_eq!(not_needed, optimizer_state);
    for var in &mlp.vars {
        assert_close(var.name(), &var.value()?.to_f64_vec(), &floats(&want["final_values"][var.name()]));
    }
    // A name that is neither the model's nor training state still fails a strict restore.
    let _extra = variable_scope("other").enter()?;
    get_variable("w", [1]).get()?;
    assert!(Saver::new(&graph).restore_tf1(fixture().join("adam/model.ckpt"), &strict).is_err());
    Ok(())
}

/// Trains `steps` steps with Adam, starting from the checkpoint at `start`
/// (TF's initial one, or one TF wrote after training), and returns every
/// global variable's value by name.
fn adam_from(start: &Path, first_step: usize, steps: usize) -> Result<Vec<(String, Vec<f64>)>> {
    let expected = expected();
    let [batch_size, inputs, _, classes, _] = sizes(&expected);
    let graph = Graph::new();
    let _g = graph.as_default();
    let mlp = build_mlp(&expected)?;
    let global_step = get_or_create_global_step()?;
    let train = AdamOptimizer::new(0.01).minimize(&mlp.loss, None, Some(&global_step))?;
    let strict = RestoreOptions { strict: true, ..Default::default() };
    if first_step == 0 {
        Saver::for_variables(&graph, &graph.trainable_variables(None)?).restore_tf1(start, &strict)?;
    } else {
        // Everything TF's Saver wrote: the model, Adam's slots and powers, global_step.
        let report = Saver::new(&graph).restore_tf1(start, &strict)?;
        assert!(report.not_needed.is_empty(), "{report:?}");
        assert_eq!(global_step.value()?.to_f64_vec(), vec![first_step as f64]);
    }
    let session = Session::new(&graph);
    for step in first_step..first_step + steps {
        let (xv, yv) = batch(step, batch_size, inputs, classes);
        session.run_targets(&[&train], &[(&mlp.x, &xv), (&mlp.y, &yv)])?;
    }
    graph.global_variables(None)?.iter().map(|v| Ok((v.name().to_owned(), v.value()?.to_f64_vec()))).collect()
}

#[test]
fn training_resumes_from_tensorflows_checkpoint_on_its_trajectory() -> Result<()> {
    // One more step from the checkpoint TF wrote after ten steps equals an
    // eleventh step of the same training run from TF's initial checkpoint.
    let resumed = adam_from(&fixture().join("adam/model.ckpt"), 10, 1)?;
    let through = adam_from(&fixture().join("init/model.ckpt"), 0, 11)?;
    assert_eq!(resumed.iter().map(|(n, _)| n).collect::<Vec<_>>(), through.iter().map(|(n, _)| n).collect::<Vec<_>>());
    for ((name, got), (_, want)) in resumed.iter().zip(&through) {
        assert_close(&format!("{name} after step 11"), got, want);
    }
    Ok(())
}
