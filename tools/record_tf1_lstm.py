"""Train a small TF1 LSTM classifier a few steps and save it, for tests/tf1_lstm.rs.

    /work/tfenv/bin/python tools/record_tf1_lstm.py tests/data/tf1_lstm

The model, as TF1 users wrote it (graph mode, ref variables, TF_USE_LEGACY_KERAS=1):

    x = placeholder(float32, [None, None, 4]); lengths = placeholder(int32, [None]); y = placeholder(int32, [None])
    with variable_scope("classifier"):
        cell = nn.rnn_cell.LSTMCell(8)
        outputs, state = nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=float32)
        logits = layers.dense(state.h, 3, name="logits")
    loss = reduce_mean(sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    train = train.AdamOptimizer(0.01).minimize(loss, global_step=get_or_create_global_step())

Graph seed 7. Batch `s` (formula in `batch` below, also in the test) has 4
sequences of length 6 and lengths [6, 3, 5, 1]. Writes into OUT:

- `model.ckpt.index`, `model.ckpt.data-00000-of-00001`, `checkpoint`: what the
  default `tf.compat.v1.train.Saver()` saved after 5 training steps (batches 0-4;
  `write_meta_graph=False`): the variables, Adam's slots, `beta1_power`,
  `beta2_power`, `global_step`.
- `expected.json`: `losses_before_save` (loss before each of steps 0-4), at the
  saved values on batch 100: `logits`, `outputs` ([4, 6, 8], zeros past each
  length), `final_c`, `final_h`; then 5 more steps (batches 5-9): `losses_after_save`
  and `final_values` of every saved variable after step 10.
"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
tf.get_logger().setLevel("ERROR")

B, T, D, H, C = 4, 6, 4, 8, 3
LENGTHS = [6, 3, 5, 1]

def batch(s):
    x = np.array([[[(((b * T + t) * D + d + 53 * s) * 37 % 101 - 50) / 40.0 for d in range(D)]
                   for t in range(T)] for b in range(B)], np.float32)
    y = np.array([(5 * b + 2 * s) % C for b in range(B)], np.int32)
    return x, np.array(LENGTHS, np.int32), y

def fl(a):
    return [float(v) for v in np.asarray(a, np.float32).ravel()]

def main(out):
    os.makedirs(out, exist_ok=True)
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(7)
        x = tf.placeholder(tf.float32, [None, None, D], name="x")
        lengths = tf.placeholder(tf.int32, [None], name="lengths")
        y = tf.placeholder(tf.int32, [None], name="y")
        with tf.variable_scope("classifier"):
            cell = tf.nn.rnn_cell.LSTMCell(H)
            outputs, state = tf.nn.dynamic_rnn(cell, x, sequence_length=lengths, dtype=tf.float32)
            logits = tf.layers.dense(state.h, C, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        global_step = tf.train.get_or_create_global_step()
        train = tf.train.AdamOptimizer(0.01).minimize(loss, global_step=global_step)
        saver = tf.train.Saver()
        feed = lambda s: dict(zip((x, lengths, y), batch(s)))
        with tf.Session(graph=g) as sess:
            sess.run(tf.global_variables_initializer())
            before = [float(sess.run([loss, train], feed(s))[0]) for s in range(5)]
            saver.save(sess, os.path.join(os.path.abspath(out), "model.ckpt"), write_meta_graph=False)
            lo, ou, c, h = sess.run([logits, outputs, state.c, state.h], feed(100))
            after = [float(sess.run([loss, train], feed(s))[0]) for s in range(5, 10)]
            final = {v.op.name: fl(sess.run(v)) for v in tf.global_variables()}
    # The state file names the checkpoint by the path given to save; keep it relative.
    with open(os.path.join(out, "checkpoint"), "w") as f:
        f.write('model_checkpoint_path: "model.ckpt"\nall_model_checkpoint_paths: "model.ckpt"\n')
    json.dump({"source": "tools/record_tf1_lstm.py, TensorFlow " + tf.__version__,
               "sizes": {"batch": B, "time": T, "depth": D, "units": H, "classes": C}, "lengths": LENGTHS,
               "losses_before_save": before, "logits": fl(lo), "outputs": fl(ou), "final_c": fl(c), "final_h": fl(h),
               "losses_after_save": after, "final_values": final},
              open(os.path.join(out, "expected.json"), "w"), indent=None, separators=(",", ":"))
    print("saved", sorted(final))

if __name__ == "__main__":
    main(sys.argv[1])
