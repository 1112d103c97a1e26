"""TensorFlow restores the LSTM classifier scopeflow trained and saved (examples/lstm_classifier.rs).

    cargo run --example lstm_classifier -- OUT
    python tools/check_tf1_lstm.py OUT          # needs tensorflow (tf-keras for TF 2.16+)

Builds tools/record_tf1_lstm.py's model in TF1 graph mode, restores OUT/model.ckpt
with the default `tf.compat.v1.train.Saver()` (every variable by its name, Adam's
slots and global_step included), and checks: the logits TF computes on batch 100
equal scopeflow's (OUT/logits.json) within 1e-5; every restored value equals what
TF itself reached after the same 10 steps (tests/data/tf1_lstm/expected.json)
within 1e-5; global_step is 10. Exits 1 on any difference.
"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
tf.get_logger().setLevel("ERROR")
from record_tf1_lstm import B, T, D, H, C, batch

def main(out):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    expected = json.load(open(os.path.join(root, "tests/data/tf1_lstm/expected.json")))
    ours = json.load(open(os.path.join(out, "logits.json")))["logits"]
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, None, D], name="x")
        lengths = tf.placeholder(tf.int32, [None], name="lengths")
        y = tf.placeholder(tf.int32, [None], name="y")
        with tf.variable_scope("classifier"):
            cell = tf.nn.rnn_cell.LSTMCell(H)
            _, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
            logits = tf.layers.dense(state.h, C, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        tf.train.AdamOptimizer(0.01).minimize(loss, global_step=tf.train.get_or_create_global_step())
        with tf.Session(graph=g) as sess:
            tf.train.Saver().restore(sess, os.path.join(out, "model.ckpt"))
            xv, lv, _ = batch(100)
            got = sess.run(logits, {x: xv, lengths: lv}).ravel()
            values = {v.op.name: sess.run(v) for v in tf.global_variables()}
    bad = []
    if not np.allclose(got, ours, rtol=1e-5, atol=1e-5):
        bad.append("logits: TensorFlow %s, scopeflow %s" % (got.tolist(), ours))
    for name, want in expected["final_values"].items():
        have = np.asarray(values[name], np.float64).ravel()
        if not np.allclose(have, want, rtol=1e-5, atol=1e-5):
            bad.append("%s: restored %s, TensorFlow reached %s" % (name, have[:4].tolist(), want[:4]))
    if int(values["global_step"]) != 10:
        bad.append("global_step %s, expected 10" % values["global_step"])
    if bad:
        print("\n".join(bad))
        sys.exit(1)
    print("TensorFlow restored %d variables and computes scopeflow's logits" % len(values))

if __name__ == "__main__":
    main(sys.argv[1])
