#!/usr/bin/env python3
"""Round trips between scopeflow and Python's safetensors package.

    python tools/check_safetensors.py PATH_TO_SCOPEFLOW_BINARY

1. scopeflow converts TensorFlow's TF1 checkpoint (../shared/fixtures/tf1_mlp)
   to safetensors; Python reads it and finds TensorFlow's values bit for bit.
2. Python writes every dtype scopeflow holds (and a scalar); scopeflow lists
   them (`inspect --json`) and converts the file; Python reads the result back
   unchanged.
Needs `pip install safetensors numpy`.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "..", "shared", "fixtures", "tf1_mlp")


def main():
    exe = sys.argv[1]
    tmp = tempfile.mkdtemp()
    converted = os.path.join(tmp, "mlp.safetensors")
    subprocess.run([exe, "convert", os.path.join(FIXTURE, "model.ckpt"), converted], check=True, capture_output=True)
    loaded = load_file(converted)
    expected = json.load(open(os.path.join(FIXTURE, "expected.json")))
    for var in expected["variables"]:
        a = loaded[var["name"]]
        assert list(a.shape) == var["shape"] and a.dtype.name == var["dtype"], var["name"]
        assert [float(x) for x in a.ravel()[:5]] == var["first5"], var["name"]
        assert abs(float(a.astype("float64").sum()) - var["sum"]) < 1e-9, var["name"]

    original = {
        "f32/w": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
        "f64/w": np.array([[1.5, -2.25]], dtype=np.float64),
        "i32/ids": np.array([3, -1, 2**31 - 1], dtype=np.int32),
        "i64/steps": np.array([2**40, -5], dtype=np.int64),
        "bool/mask": np.array([[True, False], [False, True]]),
        "scalar": np.array(0.5, dtype=np.float32),
    }
    written = os.path.join(tmp, "python.safetensors")
    save_file(original, written)
    listed = json.loads(subprocess.run([exe, "inspect", "--json", written], check=True, capture_output=True, text=True).stdout)
    assert [(t["name"], t["dtype"], t["shape"]) for t in listed] == [
        (n, {"float32": "float32", "float64": "float64", "int32": "int32", "int64": "int64", "bool": "bool"}[a.dtype.name], list(a.shape))
        for n, a in sorted(original.items())
    ], listed
    back = os.path.join(tmp, "back.safetensors")
    subprocess.run([exe, "convert", written, back], check=True, capture_output=True)
    again = load_file(back)
    for name, a in original.items():
        assert again[name].dtype == a.dtype and np.array_equal(again[name], a), name
    print("safetensors: TF1 -> scopeflow -> Python and Python -> scopeflow -> Python agree bit for bit")


if __name__ == "__main__":
    main()
