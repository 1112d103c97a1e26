//! The MLP TensorFlow trained in `../shared/fixtures/tf1_train`, rebuilt
//! through the public API and restored from TF's initial checkpoint: the
//! loss and `gradients` of the loss at step 0 equal TensorFlow's.

use scopeflow::prelude::*;
use scopeflow::{RestoreOptions, Saver, add_n, gradients, reduce_mean, sparse_softmax_cross_entropy_with_logits};
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

#[test]
fn the_step0_loss_and_gradients_equal_tensorflows() -> Result<()> {
    let expected = expected();
    let dims = &expected["shapes"];
    let dim = |k: &str| dims[k].as_u64().expect("a dimension") as usize;
    let (batch_size, inputs, hidden, classes) = (dim("batch"), dim("in"), dim("hidden"), dim("classes"));

    let graph = Graph::new();
    let _g = graph.as_default();
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
    let regularization = graph.regularization_losses(None)?;
    let loss = (&xent + &add_n(&regularization.iter().collect::<Vec<_>>())?)?;
    let xs: Vec<&Tensor> = vars.iter().map(|v| v.tensor()).collect();
    let grads: Vec<Tensor> = gradients(&[&loss], &xs)?.into_iter().map(|g| g.expect("every variable")).collect();

    let restore = RestoreOptions { strict: true, ..Default::default() };
    Saver::new(&graph).restore_tf1(fixture().join("init/model.ckpt"), &restore)?;
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
