"""Times TensorFlow 1.x (tf.compat.v1 graph mode) on the work of scopeflow's
benchmarks, for the comparison lines of `scripts/bench_vs_tf.sh`.

    python tools/bench_tf1.py [--threads N]

The same models as `benches/session.rs` and `benches/train.rs`: the MLP
784-256-256-10 (ReLU on the hidden layers) forward at batch 1, 32 and 256;
one Adam step of it on sparse softmax cross-entropy at batch 32 and 256;
conv2d 3x3x1x32 SAME on [32, 28, 28, 1]. Each is `sess.run` of the output
(or the train op) with the input fed from NumPy, as a TF1 program runs it.
Medians of 41 samples of about 15 ms each, after a warm-up. Threads: intra-
and inter-op parallelism both N (default: the machine's cores, as scopeflow).

The last lines are for scripts: `tf1 mlp batch=B us=…`, `tf1 train batch=B
us=…`, `tf1 conv batch=32 us=…`. TensorFlow is the reference here, never a
dependency of scopeflow; CI does not run this.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow.compat.v1 as tf  # noqa: E402

tf.disable_eager_execution()

WIDTHS = [784, 256, 256, 10]


def median_us(run, samples=41, target_s=0.015):
    for _ in range(20):
        run()
    start = time.perf_counter()
    calls = 0
    while time.perf_counter() - start < target_s:
        run()
        calls += 1
    per_sample = max(1, calls)
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        for _ in range(per_sample):
            run()
        times.append((time.perf_counter() - start) / per_sample * 1e6)
    return statistics.median(times)


def mlp(x):
    h = x
    with tf.variable_scope("MLP"):
        for i in range(3):
            with tf.variable_scope(f"layer{i + 1}"):
                kernel = tf.get_variable("kernel", [WIDTHS[i], WIDTHS[i + 1]])
                bias = tf.get_variable("bias", [WIDTHS[i + 1]], initializer=tf.random_normal_initializer(0.0, 0.1))
                h = tf.nn.bias_add(tf.matmul(h, kernel), bias)
                if i < 2:
                    h = tf.nn.relu(h)
    return h


def session(graph, threads):
    config = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
    return tf.Session(graph=graph, config=config)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    threads = parser.parse_args().threads
    rng = np.random.default_rng(7)
    lines = []

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(7)
        x = tf.placeholder(tf.float32, [None, WIDTHS[0]], name="x")
        labels = tf.placeholder(tf.int32, [None], name="labels")
        logits = mlp(x)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
        train = tf.train.AdamOptimizer(1e-3).minimize(loss)
        init = tf.global_variables_initializer()
    with session(graph, threads) as sess:
        sess.run(init)
        for batch in [1, 32, 256]:
            feed = {x: rng.random((batch, WIDTHS[0]), dtype=np.float32)}
            us = median_us(lambda: sess.run(logits, feed))
            lines.append(f"tf1 mlp batch={batch} us={us:.3f}")
        for batch in [32, 256]:
            feed = {
                x: rng.random((batch, WIDTHS[0]), dtype=np.float32),
                labels: rng.integers(0, WIDTHS[-1], batch).astype(np.int32),
            }
            us = median_us(lambda: sess.run(train, feed))
            lines.append(f"tf1 train batch={batch} us={us:.3f}")

    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, [None, 28, 28, 1], name="images")
        with tf.variable_scope("conv"):
            kernel = tf.get_variable("kernel", [3, 3, 1, 32], initializer=tf.initializers.he_normal())
            y = tf.nn.conv2d(images, kernel, [1, 1, 1, 1], "SAME")
        init = tf.global_variables_initializer()
    with session(graph, threads) as sess:
        sess.run(init)
        feed = {images: rng.random((32, 28, 28, 1), dtype=np.float32)}
        us = median_us(lambda: sess.run(y, feed))
        lines.append(f"tf1 conv batch=32 us={us:.3f}")

    print(f"TensorFlow {tf.__version__ if hasattr(tf, '__version__') else ''} threads={threads}")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
