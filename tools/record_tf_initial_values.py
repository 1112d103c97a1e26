"""Records TensorFlow's initial values of TF1 variables, for tests/initial_values.rs:
tests/data/tf_initial_values.json.

    TF_USE_LEGACY_KERAS=1 /work/tfenv/bin/python tools/record_tf_initial_values.py tests/data/tf_initial_values.json

Each case builds a small TF1 graph (tf.compat.v1, graph mode) under a graph
seed (`tf.set_random_seed`), with `get_variable` and each initializer, in f32
and f64, `tf.layers.dense` / `conv2d` kernels, variables created after other
ops, partitioned variables, an op-level seed, and a graph without a seed; then
runs the initializers once and stores every variable's initial value bit for
bit (f32 as u32 hex, f64 as u64 hex, ints as numbers), in creation order, with
the `seed` / `seed2` attributes of each random op (TF derives them in
`random_seed.get_seed` from the graph seed and a per-graph count of the random
ops created without a seed) and the number of ops in the graph when each variable was created (TF 2 graphs have no `_last_id`).
Some cases also run a random op (`tf.random.uniform`, `normal`, `truncated_normal`,
training-mode dropout)
several times and store each run's values: each run draws the op's next values.

A case's `steps` say what the Rust replay builds, in order; the replay in
tests/initial_values.rs reads them.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
OUT = sys.argv[1]


def bits(a):
    a = np.asarray(a)
    if a.dtype == np.float32:
        return [format(int(b), "08x") for b in a.reshape(-1).view(np.uint32)]
    if a.dtype == np.float64:
        return [format(int(b), "016x") for b in a.reshape(-1).view(np.uint64)]
    return [int(v) for v in a.reshape(-1)]


DTYPES = {"f32": tf.float32, "f64": tf.float64, "i32": tf.int32, "i64": tf.int64}


def initializer(spec):
    """spec: [kind, params...]; the initializer TF1 code would pass."""
    kind, *p = spec
    seed = None
    if p and isinstance(p[-1], dict):
        seed = p.pop()["seed"]
    if kind == "default":
        return None
    if kind == "zeros":
        return tf.zeros_initializer()
    if kind == "random_uniform":
        return tf.random_uniform_initializer(p[0], p[1], seed=seed)
    if kind == "random_normal":
        return tf.random_normal_initializer(p[0], p[1], seed=seed)
    if kind == "truncated_normal":
        return tf.truncated_normal_initializer(p[0], p[1], seed=seed)
    if kind == "glorot_uniform":
        return tf.glorot_uniform_initializer(seed=seed)
    if kind == "glorot_normal":
        return tf.glorot_normal_initializer(seed=seed)
    if kind == "he_normal":
        return tf.initializers.he_normal(seed=seed)
    if kind == "he_uniform":
        return tf.initializers.he_uniform(seed=seed)
    if kind == "variance_scaling":
        return tf.variance_scaling_initializer(scale=p[0], mode=p[1], distribution=p[2], seed=seed)
    raise ValueError(kind)


def run_case(case):
    graph = tf.Graph()
    record = {"name": case["name"], "graph_seed": case.get("graph_seed"), "steps": case["steps"]}
    variables, op_seeds, runs, ops_before = [], [], [], {}
    with graph.as_default():
        if case.get("graph_seed") is not None:
            tf.set_random_seed(case["graph_seed"])
        fetch_runs = []
        for step in case["steps"]:
            kind = step[0]
            ops = len(graph.get_operations())
            if kind == "var":
                _, name, shape, dtype, init = step[:5]
                part = step[5] if len(step) > 5 else None
                kw = {}
                if part:
                    kw["partitioner"] = tf.fixed_size_partitioner(part)
                tf.get_variable(name, shape, dtype=DTYPES[dtype], initializer=initializer(init), **kw)
                ops_before[name] = ops
            elif kind == "const":
                # ops that are not random: they count in the graph's ops, not in the seeds
                tf.add(tf.constant(np.ones(step[1], np.float32)), 1.0)
            elif kind == "dense":
                x = tf.placeholder(tf.float32, [None, step[1]])
                tf.layers.dense(x, step[2])
            elif kind == "conv2d":
                x = tf.placeholder(tf.float32, [None, 5, 5, step[1]])
                tf.layers.conv2d(x, step[2], step[3])
            elif kind == "uniform":
                # tf.random.uniform(shape) run step[2] times
                t = tf.random.uniform(step[1], dtype=DTYPES[step[3]], seed=step[4] if len(step) > 4 else None)
                fetch_runs.append((t, step[2]))
            elif kind in ("normal", "truncated"):
                # tf.random.normal / truncated_normal(tf.shape(x), mean, stddev, dtype) run step[2] times
                x = tf.placeholder_with_default(np.zeros(step[1], np.float32), [None] * len(step[1]))
                op = tf.random.normal if kind == "normal" else tf.random.truncated_normal
                t = op(tf.shape(x), step[4], step[5], dtype=DTYPES[step[3]])
                fetch_runs.append((t, step[2]))
            elif kind == "dropout":
                x = tf.constant(np.ones(step[1], np.float32))
                t = tf.layers.dropout(x, rate=step[2], training=True)
                fetch_runs.append((t, step[3]))
            else:
                raise ValueError(kind)
        for op in graph.get_operations():
            if op.type in ("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt"):
                op_seeds.append({"op": op.name, "type": op.type, "seed": op.get_attr("seed"), "seed2": op.get_attr("seed2")})
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for var in graph.get_collection(tf.GraphKeys.GLOBAL_VARIABLES):
                value = sess.run(var)
                name = var.op.name
                dtype = {np.float32: "f32", np.float64: "f64", np.int32: "i32", np.int64: "i64"}[value.dtype.type]
                v = {"name": name, "dtype": dtype, "shape": list(value.shape), "values": bits(value)}
                if name in ops_before:
                    v["ops_before"] = ops_before[name]
                variables.append(v)
            for t, n in fetch_runs:
                runs.append({"tensor": t.name, "runs": [bits(sess.run(t)) for _ in range(n)]})
    record["variables"] = variables
    record["random_ops"] = op_seeds
    record["runs"] = runs
    record["nodes"] = [op.name for op in graph.get_operations()] if case.get("nodes") else None
    return record


INITS = [
    ("uniform", ["random_uniform", -0.5, 1.5]),
    ("normal", ["random_normal", 0.1, 2.0]),
    ("truncated", ["truncated_normal", 0.0, 1.0]),
    ("truncated_shifted", ["truncated_normal", 1.0, 0.5]),
    ("default", ["default"]),
    ("glorot_uniform", ["glorot_uniform"]),
    ("glorot_normal", ["glorot_normal"]),
    ("he_normal", ["he_normal"]),
    ("he_uniform", ["he_uniform"]),
    ("vs_fan_out_uniform", ["variance_scaling", 0.5, "fan_out", "uniform"]),
    ("vs_fan_avg_truncated", ["variance_scaling", 3.0, "fan_avg", "truncated_normal"]),
    ("vs_untruncated", ["variance_scaling", 2.0, "fan_in", "untruncated_normal"]),
    ("vs_normal_is_truncated", ["variance_scaling", 1.0, "fan_in", "normal"]),
]

CASES = []
for dtype in ("f32", "f64"):
    steps = []
    for i, (name, init) in enumerate(INITS):
        # shapes of 2 and 4 dims, with sizes that are and are not multiples of 4
        shape = [[3, 5], [4, 6], [2, 3, 2, 4], [7], [25, 20]][i % 5]
        steps.append(["var", name, shape, dtype, init])
    CASES.append({"name": f"every_initializer_{dtype}", "graph_seed": 1, "steps": steps})

CASES.append({
    "name": "big_truncated_and_odd_sizes",
    "graph_seed": 123456789,
    "steps": [
        ["var", "t32", [41, 13], "f32", ["truncated_normal", 0.0, 1.0]],
        ["var", "t64", [41, 13], "f64", ["truncated_normal", 0.0, 1.0]],
        ["var", "n32", [1], "f32", ["random_normal", 0.0, 1.0]],
        ["var", "n64", [3], "f64", ["random_normal", 0.0, 1.0]],
        ["var", "u64", [5], "f64", ["random_uniform", 0.0, 1.0]],
        ["var", "scalar", [], "f32", ["default"]],
    ],
})
CASES.append({
    "name": "integers",
    "graph_seed": 5,
    "steps": [
        ["var", "i32", [9], "i32", ["random_uniform", 0, 10]],
        ["var", "i32_negative", [6], "i32", ["random_uniform", -7, 3]],
        ["var", "i64", [5], "i64", ["random_uniform", -100, 1000]],
    ],
})
CASES.append({
    "name": "after_other_ops",
    "graph_seed": 7,
    "steps": [
        ["const", [2, 2]],
        ["var", "a", [2, 3], "f32", ["default"]],
        ["var", "zeros", [3], "f32", ["zeros"]],
        ["const", [3]],
        ["const", [3]],
        ["var", "b", [3, 2], "f32", ["default"]],
        ["var", "c", [4], "f64", ["random_normal", 0.0, 1.0]],
    ],
})
CASES.append({
    "name": "op_level_seed",
    "graph_seed": 7,
    "steps": [
        ["var", "a", [2, 3], "f32", ["default"]],
        ["var", "seeded", [2, 3], "f32", ["random_uniform", 0.0, 1.0, {"seed": 5}]],
        ["var", "seeded_glorot", [3, 3], "f32", ["glorot_uniform", {"seed": 5}]],
        ["var", "b", [2, 3], "f32", ["default"]],
    ],
})
CASES.append({
    "name": "op_level_seed_without_graph_seed",
    "graph_seed": None,
    "steps": [
        ["var", "seeded", [2, 3], "f32", ["random_normal", 0.0, 1.0, {"seed": 11}]],
        ["var", "seeded_0", [5], "f32", ["random_uniform", 0.0, 1.0, {"seed": 0}]],
    ],
})
CASES.append({
    "name": "graph_seed_0",
    "graph_seed": 0,
    "steps": [
        ["var", "first", [2, 3], "f32", ["default"]],
        ["var", "second", [2, 3], "f32", ["default"]],
    ],
})
CASES.append({
    "name": "partitioned",
    "graph_seed": 3,
    "steps": [
        ["var", "p", [6, 4], "f32", ["default"], 2],
        ["var", "q", [5, 2], "f32", ["truncated_normal", 0.0, 1.0], 3],
    ],
})
CASES.append({
    "name": "layers",
    "graph_seed": 42,
    "steps": [
        ["dense", 4, 3],
        ["conv2d", 2, 3, 2],
        ["dense", 3, 5],
    ],
})
CASES.append({
    "name": "random_ops_run_twice",
    "graph_seed": 9,
    "steps": [
        ["var", "a", [2, 3], "f32", ["default"]],
        ["uniform", [3, 5], 3, "f32"],
        ["uniform", [3], 2, "f64"],
        ["dropout", [4, 6], 0.5, 2],
        ["uniform", [2, 2], 2, "f32", 17],
        ["var", "b", [2], "f32", ["default"]],
    ],
})

CASES.append({
    "name": "normal_ops",
    "graph_seed": 11,
    "nodes": True,
    "steps": [
        ["normal", [3, 5], 2, "f32", 0.5, 2.0],
        ["truncated", [7, 3], 2, "f32", 0.0, 1.0],
        ["normal", [5], 2, "f64", 0.0, 1.0],
        ["truncated", [3, 3], 2, "f64", -1.0, 0.5],
    ],
})

records = [run_case(c) for c in CASES]
with open(OUT, "w") as f:
    json.dump({"tensorflow": tf.__version__, "cases": records}, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"{len(records)} cases -> {OUT}")
