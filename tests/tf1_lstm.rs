//! The LSTM classifier TensorFlow trained five steps and saved
//! (`tests/data/tf1_lstm`, by `tools/record_tf1_lstm.py`), ported with
//! `scopeflow::rnn` and `scopeflow::layers` as a TF1 user would write it:
//! the default Saver's checkpoint restores strictly by TF's names (slots
//! included), the model reproduces TF's outputs, final state and logits
//! within 1e-5, and Adam's next five steps follow TF's losses to its final
//! values.

use scopeflow::prelude::*;
use scopeflow::rnn::{self, LSTMCell, State};
use scopeflow::{
    AdamOptimizer, Optimizer, RestoreOptions, get_or_create_global_step, latest_checkpoint, layers,
    sparse_softmax_cross_entropy_with_logits,
};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf1_lstm")
}

fn floats(v: &Json) -> Vec<f64> {
    v.as_array().expect("a list").iter().map(|x| x.as_f64().expect("a number")).collect()
}

fn assert_close(what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{what}[{k}]: got {g}, TensorFlow {w}");
    }
}

const B: usize = 4;
const T: usize = 6;
const D: usize = 4;

/// Batch `s`, by the recorder's formula.
fn batch(s: usize) -> [Value; 3] {
    let x = ndarray::Array3::from_shape_fn((B, T, D), |(b, t, d)| {
        ((((b * T + t) * D + d + 53 * s) * 37 % 101) as f32 - 50.0) / 40.0
    });
    let y: Vec<i32> = (0..B).map(|b| ((5 * b + 2 * s) % 3) as i32).collect();
    [Value::from(x), Value::from(vec![6, 3, 5, 1]), Value::from(y)]
}

#[test]
fn a_tf1_lstm_classifier_restores_reproduces_and_trains_on() -> Result<()> {
    let expected: Json =
        serde_json::from_str(&std::fs::read_to_string(dir().join("expected.json")).expect("fixture")).expect("json");
    let graph = Graph::new();
    let _g = graph.as_default();
    // The TF1 program, line for line.
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, None, Some(D)]))?;
    let lengths = named("lengths").placeholder(DType::I32, Shape::from_dims([None]))?;
    let y = named("y").placeholder(DType::I32, Shape::from_dims([None]))?;
    let (outputs, state, logits) = variable_scope("classifier").with(|_| {
        let cell = LSTMCell::new(8);
        let (outputs, state) = rnn::dynamic_rnn(&cell, &x).sequence_length(&lengths).build()?;
        let State::Lstm(state) = state else { unreachable!("an LSTM's state") };
        let logits = layers::dense(&state.h, 3).name("logits").build()?;
        Ok::<_, scopeflow::Error>((outputs, state, logits))
    })?;
    let loss = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&y, &logits)?, None, false)?;
    let global_step = get_or_create_global_step()?;
    let train = AdamOptimizer::new(0.01).minimize(&loss, None, Some(&global_step))?;

    // TF's default Saver checkpoint, found through its `checkpoint` file, restores every variable strictly.
    let prefix = latest_checkpoint(dir())?.expect("a checkpoint state file");
    let strict = RestoreOptions { strict: true, ..Default::default() };
    let report = Saver::new(&graph).restore_with(&prefix, &strict)?;
    let mut names = report.applied.clone();
    names.sort();
    let want: Vec<&String> = expected["final_values"].as_object().expect("values").keys().collect();
    assert_eq!(names.iter().collect::<Vec<_>>(), want);

    let session = Session::new(&graph);
    let feeds = |[xv, lv, yv]: &[Value; 3]| -> Vec<(Tensor, Value)> {
        vec![(x.clone(), xv.clone()), (lengths.clone(), lv.clone()), (y.clone(), yv.clone())]
    };
    let run = |fetches: &[&Tensor], f: &[(Tensor, Value)], targets: &[&Operation]| -> Result<Vec<Value>> {
        let f: Vec<(&Tensor, &Value)> = f.iter().map(|(t, v)| (t, v)).collect();
        session.run_with_targets(fetches, &f, targets)
    };
    let got = run(&[&logits, &outputs, &state.c, &state.h], &feeds(&batch(100)), &[])?;
    for (i, key) in ["logits", "outputs", "final_c", "final_h"].into_iter().enumerate() {
        assert_close(key, &got[i].to_f64_vec(), &floats(&expected[key]));
    }
    // Five more Adam steps on TF's trajectory.
    for (k, want) in floats(&expected["losses_after_save"]).into_iter().enumerate() {
        let got = run(&[&loss], &feeds(&batch(5 + k)), &[&train])?;
        assert_close(&format!("loss before step {}", 5 + k), &got[0].to_f64_vec(), &[want]);
    }
    for v in graph.global_variables(None)? {
        assert_close(
            &format!("final {}", v.name()),
            &v.value()?.to_f64_vec(),
            &floats(&expected["final_values"][v.name()]),
        );
    }
    Ok(())
}
