"""Record TF1 RNN cells' numbers: outputs, final states and gradients, for tests/rnn.rs.

    /work/tfenv/bin/python tools/record_rnn_numerics.py tests/data/rnn_numerics.json

Each case builds one cell (spec as in tests/tf_recorded/README.md, `rnn` steps)
under `tf.compat.v1.nn.dynamic_rnn` (inputs `[None, None, depth]`: batch and
time unknown) or `static_rnn` (a list of `[None, depth]`), sets every variable
to seeded uniform values in [-0.5, 0.5] (biases included, so they matter), runs
one batch with `sequence_length` where given, and records the inputs, the
variables by name, the outputs, the flattened final state, and the gradients
of `loss = sum(outputs * w) + sum_i sum(state_i * v_i)` with respect to every
variable and to the inputs (`w`, `v_i` recorded too).
"""
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
tf.get_logger().setLevel("ERROR")
R = tf.nn.rnn_cell

def cell(spec):
    spec = dict(spec)
    ty = spec.pop("type")
    if ty == "multi":
        return R.MultiRNNCell([cell(c) for c in spec.pop("cells")])
    return {"basic_rnn": R.BasicRNNCell, "basic_lstm": R.BasicLSTMCell, "lstm": R.LSTMCell, "gru": R.GRUCell}[ty](**spec)

CASES = [
    {"name": "basic_rnn_dynamic_lengths", "driver": "dynamic_rnn", "cell": {"type": "basic_rnn", "num_units": 4}, "lengths": [5, 2, 0]},
    {"name": "basic_lstm_dynamic", "driver": "dynamic_rnn", "cell": {"type": "basic_lstm", "num_units": 4}},
    {"name": "lstm_peepholes_clip_proj_dynamic_lengths", "driver": "dynamic_rnn",
     "cell": {"type": "lstm", "num_units": 4, "use_peepholes": True, "cell_clip": 0.5, "num_proj": 3, "proj_clip": 0.8, "forget_bias": 0.7},
     "lengths": [3, 5, 1]},
    {"name": "lstm_plain_dynamic", "driver": "dynamic_rnn", "cell": {"type": "lstm", "num_units": 5}},
    {"name": "gru_dynamic", "driver": "dynamic_rnn", "cell": {"type": "gru", "num_units": 4}},
    {"name": "multi_lstm_gru_dynamic_lengths", "driver": "dynamic_rnn",
     "cell": {"type": "multi", "cells": [{"type": "lstm", "num_units": 4}, {"type": "gru", "num_units": 3}]}, "lengths": [4, 5, 2]},
    {"name": "lstm_static_lengths", "driver": "static_rnn", "cell": {"type": "lstm", "num_units": 4, "use_peepholes": True}, "lengths": [5, 3, 1]},
    {"name": "gru_static", "driver": "static_rnn", "cell": {"type": "gru", "num_units": 3}},
]
BATCH, TIME, DEPTH = 3, 5, 3

def fl(a):
    return [float(x) for x in np.asarray(a, dtype=np.float32).ravel()]

def record(case, seed):
    rng = np.random.RandomState(seed)
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(seed)
        c = cell(case["cell"])
        x_val = rng.uniform(-1, 1, (BATCH, TIME, DEPTH)).astype(np.float32)
        lengths = case.get("lengths")
        feeds = {}
        kw = {}
        if lengths is not None:
            ln = tf.placeholder(tf.int32, [None], name="len")
            feeds[ln] = np.array(lengths, np.int32)
            kw["sequence_length"] = ln
        if case["driver"] == "dynamic_rnn":
            x = tf.placeholder(tf.float32, [None, None, DEPTH], name="x")
            feeds[x] = x_val
            out, state = tf.nn.dynamic_rnn(c, x, dtype=tf.float32, **kw)
            xs = [x]
        else:
            xs = [tf.placeholder(tf.float32, [None, DEPTH], name="x%d" % t) for t in range(TIME)]
            for t, p in enumerate(xs):
                feeds[p] = x_val[:, t, :]
            outs, state = tf.nn.static_rnn(c, xs, dtype=tf.float32, **kw)
            out = tf.stack(outs, 0)   # [time, batch, out]
        flat = tf.nest.flatten(state)
        sess = tf.Session(graph=g)
        sess.run(tf.global_variables_initializer())
        variables = {}
        for v in tf.global_variables():
            val = rng.uniform(-0.5, 0.5, v.shape.as_list()).astype(np.float32)
            v.load(val, sess)
            variables[v.op.name] = {"shape": v.shape.as_list(), "value": fl(val)}
        out_val = sess.run(out, feeds)
        w_val = rng.uniform(-1, 1, out_val.shape).astype(np.float32)
        state_vals = sess.run(flat, feeds)
        v_vals = [rng.uniform(-1, 1, s.shape).astype(np.float32) for s in state_vals]
        loss = tf.reduce_sum(out * w_val) + tf.add_n([tf.reduce_sum(s * v) for s, v in zip(flat, v_vals)])
        vs = tf.global_variables()
        grads = tf.gradients(loss, vs + xs)
        gv = sess.run(grads, feeds)
        loss_val = sess.run(loss, feeds)
    rec = dict(case)
    rec.update({
        "batch": BATCH, "time": TIME, "depth": DEPTH, "x": fl(x_val), "lengths": lengths,
        "variables": variables, "outputs": fl(out_val), "outputs_shape": list(out_val.shape),
        "state": [fl(s) for s in state_vals], "output_weights": fl(w_val), "state_weights": [fl(v) for v in v_vals],
        "loss": float(np.float32(loss_val)),
        "variable_grads": {v.op.name: fl(gr) for v, gr in zip(vs, gv[:len(vs)])},
        # dynamic: [batch, time, depth]; static: one [batch, depth] per step, stacked [time, batch, depth]
        "input_grads": fl(gv[len(vs)] if case["driver"] == "dynamic_rnn" else np.stack(gv[len(vs):], 0)),
    })
    return rec

if __name__ == "__main__":
    out = {"source": "tools/record_rnn_numerics.py, TensorFlow " + tf.__version__,
           "cases": [record(c, 100 + i) for i, c in enumerate(CASES)]}
    json.dump(out, open(sys.argv[1], "w"), indent=None, separators=(",", ":"))
    print("recorded", len(out["cases"]), "cases")
