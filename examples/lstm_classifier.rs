//! A TF1 LSTM classifier ported with `scopeflow::rnn`, handed back to
//! TensorFlow: restores the checkpoint TensorFlow trained and saved
//! (`tests/data/tf1_lstm`), trains five more Adam steps, saves a TF1
//! checkpoint into OUT and writes the logits it computes on one batch to
//! OUT/logits.json; `tools/check_tf1_lstm.py OUT` then restores it in
//! TensorFlow's own `dynamic_rnn` model and checks TF computes the same
//! logits, and that the values are those TF reached itself.
//!
//! Run: `cargo run --example lstm_classifier -- OUT`

use scopeflow::prelude::*;
use scopeflow::rnn::{self, LSTMCell, State};
use scopeflow::{
    AdamOptimizer, Optimizer, RestoreOptions, get_or_create_global_step, latest_checkpoint, layers,
    sparse_softmax_cross_entropy_with_logits,
};
use std::path::Path;

/// Batch `s` of `tools/record_tf1_lstm.py`: inputs [4, 6, 4], lengths, labels.
fn batch(s: usize) -> [Value; 3] {
    let (b, t, d) = (4, 6, 4);
    let x = ndarray::Array3::from_shape_fn((b, t, d), |(i, j, k)| {
        ((((i * t + j) * d + k + 53 * s) * 37 % 101) as f32 - 50.0) / 40.0
    });
    let y: Vec<i32> = (0..b).map(|i| ((5 * i + 2 * s) % 3) as i32).collect();
    [Value::from(x), Value::from(vec![6, 3, 5, 1]), Value::from(y)]
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "target/lstm_classifier".into());
    let graph = Graph::new();
    let _g = graph.as_default();
    let x = named("x").placeholder(DType::F32, Shape::from_dims([None, None, Some(4)]))?;
    let lengths = named("lengths").placeholder(DType::I32, Shape::from_dims([None]))?;
    let y = named("y").placeholder(DType::I32, Shape::from_dims([None]))?;
    let logits = variable_scope("classifier").with(|_| -> Result<Tensor> {
        let cell = LSTMCell::new(8);
        let (_, state) = rnn::dynamic_rnn(&cell, &x).sequence_length(&lengths).build()?;
        let State::Lstm(state) = state else { unreachable!("an LSTM's state") };
        layers::dense(&state.h, 3).name("logits").build()
    })?;
    let loss = reduce_mean(&sparse_softmax_cross_entropy_with_logits(&y, &logits)?, None, false)?;
    let train = AdamOptimizer::new(0.01).minimize(&loss, None, Some(&get_or_create_global_step()?))?;

    let saver = Saver::new(&graph);
    let tf_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tf1_lstm");
    let prefix = latest_checkpoint(&tf_dir)?.expect("tests/data/tf1_lstm has a checkpoint file");
    saver.restore_with(&prefix, &RestoreOptions { strict: true, ..Default::default() })?;
    let session = Session::new(&graph);
    for s in 5..10 {
        let [xv, lv, yv] = batch(s);
        let l = session.run_with_targets(&[&loss], &[(&x, &xv), (&lengths, &lv), (&y, &yv)], &[&train])?;
        println!("step {s}: loss={:.6}", l[0].to_f64_vec()[0]);
    }
    std::fs::create_dir_all(&out)?;
    let prefix = Path::new(&out).join("model.ckpt");
    saver.save(&prefix)?;
    let [xv, lv, _] = batch(100);
    let got = session.run(&[&logits], &[(&x, &xv), (&lengths, &lv)])?.remove(0).to_f64_vec();
    let json = format!("{{\"logits\": {got:?}}}\n");
    std::fs::write(Path::new(&out).join("logits.json"), json)?;
    println!("saved {} and logits.json", prefix.display());
    Ok(())
}
