#!/usr/bin/env python3
"""Writes tests/data/tf1_written: a small TF1 checkpoint saved by TensorFlow
itself (tf.compat.v1.train.Saver, ref variables, global_step=7), the files
scopeflow's writer must reproduce byte for byte for the same variables
(tests/tf1_checkpoint.rs builds them with the same values):

  a/float32 [2, 3], a/float64 [2], b/int32 [3], b/int64 [2], c/bool [2, 2],
  scalar [] (float32), emb [5, 2] float32 in 3 parts along axis 0
  (fixed_size_partitioner(3)) and wide [2, 6] int64 in 2 parts along axis 1.

Output: model.ckpt-7.index, model.ckpt-7.data-00000-of-00001 and the
`checkpoint` state file.  Needs `pip install tensorflow-cpu`.

    python tools/make_tf1_written.py tests/data/tf1_written
"""
import os
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
tf.disable_resource_variables()
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
g = tf.Graph()
with g.as_default():
    with tf.variable_scope("a"):
        tf.get_variable("float32", initializer=(np.arange(6, dtype=np.float32).reshape(2, 3) - np.float32(2.5)) / np.float32(7))
        tf.get_variable("float64", initializer=np.array([1 / 3, -2.5e300], dtype=np.float64))
    with tf.variable_scope("b"):
        tf.get_variable("int32", initializer=np.array([-(2**31), 0, 2**31 - 1], dtype=np.int32))
        tf.get_variable("int64", initializer=np.array([-(2**63), 2**40 + 3], dtype=np.int64))
    tf.get_variable("c/bool", initializer=np.array([[True, False], [False, True]]))
    tf.get_variable("scalar", initializer=np.float32(0.5))
    partitioned = {
        "emb": (np.arange(10, dtype=np.float32).reshape(5, 2) / np.float32(3), tf.fixed_size_partitioner(3)),
        "wide": (np.arange(12, dtype=np.int64).reshape(2, 6) - 6, tf.fixed_size_partitioner(2, axis=1)),
    }
    assigns = []
    for name, (value, partitioner) in partitioned.items():
        whole = tf.get_variable(name, value.shape, tf.as_dtype(value.dtype), initializer=tf.zeros_initializer(), partitioner=partitioner)
        for part in whole:
            info = part._save_slice_info
            assigns.append(tf.assign(part, value[tuple(slice(o, o + n) for o, n in zip(info.var_offset, info.var_shape))]))
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(assigns)
        print(tf.train.Saver().save(sess, os.path.join(out, "model.ckpt"), global_step=7, write_meta_graph=False))
