#!/usr/bin/env python3
"""Writes tests/data/tf1_many: a TF1 checkpoint made by TensorFlow itself
(tf.compat.v1.train.Saver, ref variables) with 320 variables in nested scopes,
every dtype scopeflow holds, scalars and one large tensor, so that its index
spans several table blocks; and expected.json with each tensor's dtype, shape,
first values and sum.  Needs `pip install tensorflow-cpu`.

    python tools/make_tf1_checkpoint.py tests/data/tf1_many
"""
import json
import os
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
dtypes = [tf.float32, tf.float64, tf.int32, tf.int64, tf.bool]
g = tf.Graph()
with g.as_default():
    rng = np.random.RandomState(0)
    for i in range(320):
        dtype = dtypes[i % 5]
        shape = [] if i % 7 == 0 else [1 + i % 4, 1 + i % 3]
        value = rng.uniform(-100, 100, size=shape)
        if dtype == tf.bool:
            value = value > 0
        with tf.variable_scope("block%02d" % (i // 32)), tf.variable_scope("unit%d" % (i % 32 // 8)):
            tf.get_variable("v%03d" % i, initializer=tf.constant(value, dtype=dtype))
    with tf.variable_scope("big"):
        tf.get_variable("matrix", initializer=tf.constant(rng.standard_normal((300, 300)), dtype=tf.float32))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        tf.train.Saver().save(sess, os.path.join(out, "model.ckpt"), write_meta_graph=False, write_state=False)
        expected = []
        for v in tf.global_variables():
            a = sess.run(v)
            expected.append({
                "name": v.op.name,
                "dtype": v.dtype.base_dtype.name,
                "shape": list(a.shape),
                "first5": [float(x) for x in np.asarray(a).ravel()[:5]],
                "sum": float(np.asarray(a, dtype=np.float64).sum()),
            })
json.dump(sorted(expected, key=lambda e: e["name"]), open(os.path.join(out, "expected.json"), "w"), indent=0)
print("wrote", len(expected), "variables")
