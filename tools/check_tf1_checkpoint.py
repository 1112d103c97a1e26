#!/usr/bin/env python3
"""TensorFlow restores a TF1 checkpoint scopeflow wrote, with the same names
and bit-identical values, for every dtype and partitioned variables.

    cargo run --example tf1_save -- DIR
    python tools/check_tf1_checkpoint.py DIR

DIR holds what examples/tf1_save.rs wrote: the `checkpoint` state file,
model.ckpt-42.{index,data-00000-of-00001} and expected.safetensors (the
same values; partitioned variables whole). The checks:

1. `tf.train.latest_checkpoint(DIR)` reads the state file: model.ckpt-42.
2. `tf.train.load_checkpoint` lists exactly the saved names, dtypes and
   shapes, and every tensor (partitioned ones assembled from their slices)
   equals the expected value bit for bit.
3. `tf.compat.v1.train.Saver().restore` fills a TF1 graph of the same
   variables (ref variables; `net/emb` and `net/wide` partitioned as
   scopeflow partitioned them) with the same bits.
4. TensorFlow's own Saver, saving that restored graph, writes the same
   .index and .data bytes as scopeflow did.

Needs `pip install tensorflow-cpu` (numpy comes with it).
"""
import json
import os
import struct
import sys
import tempfile

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
tf.disable_resource_variables()

# How examples/tf1_save.rs partitions its variables: (shards, axis).
PARTITIONED = {"net/emb": (3, 0), "net/wide": (2, 1)}
DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_}


def read_safetensors(path):
    """The tensors of a safetensors file, read with numpy alone."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def same_bits(got, want, what):
    got = np.asarray(got)
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.tobytes() == want.tobytes(), f"{what}: values differ\n{got}\n{want}"


def main():
    ckpt_dir = os.path.abspath(sys.argv[1])
    expected = read_safetensors(os.path.join(ckpt_dir, "expected.safetensors"))
    prefix = tf.train.latest_checkpoint(ckpt_dir)
    assert prefix == os.path.join(ckpt_dir, "model.ckpt-42"), prefix

    reader = tf.train.load_checkpoint(prefix)
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    assert sorted(shapes) == sorted(expected), (sorted(shapes), sorted(expected))
    kinds = set()
    for name, want in expected.items():
        assert shapes[name] == list(want.shape), (name, shapes[name])
        assert dtypes[name].as_numpy_dtype == want.dtype, (name, dtypes[name])
        same_bits(reader.get_tensor(name), want, f"load_checkpoint {name}")
        kinds.add(want.dtype.name)
    assert kinds == {"float32", "float64", "int32", "int64", "bool"}, kinds

    graph = tf.Graph()
    with graph.as_default():
        variables = {}
        for name, want in sorted(expected.items()):
            partitioner = None
            if name in PARTITIONED:
                shards, axis = PARTITIONED[name]
                partitioner = tf.fixed_size_partitioner(shards, axis=axis)
            variables[name] = tf.get_variable(
                name, want.shape, tf.as_dtype(want.dtype), initializer=tf.zeros_initializer(), partitioner=partitioner
            )
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            saver.restore(sess, prefix)
            for name, var in variables.items():
                value = var.as_tensor() if name in PARTITIONED else var
                same_bits(sess.run(value), expected[name], f"Saver.restore {name}")
            again = os.path.join(tempfile.mkdtemp(), "model.ckpt-42")
            saver.save(sess, again, write_meta_graph=False, write_state=False)
    for suffix in [".index", ".data-00000-of-00001"]:
        ours, theirs = open(prefix + suffix, "rb").read(), open(again + suffix, "rb").read()
        assert ours == theirs, f"{suffix}: scopeflow wrote {len(ours)} bytes, TensorFlow {len(theirs)}, and they differ"
    print(
        f"TF1 checkpoint: TensorFlow restores all {len(expected)} variables "
        f"({', '.join(sorted(kinds))}; {len(PARTITIONED)} partitioned) bit for bit, "
        "and its own Saver writes the same bytes"
    )


if __name__ == "__main__":
    main()
