#!/usr/bin/env python3
"""Check that TensorBoard reads scopeflow's events file as it reads TensorFlow's.

    python tools/check_tensorboard.py LOGDIR

Runs ../shared/fixtures/tensorboard/read_events.py (TensorBoard's own loader,
after a strict check of every record's framing and CRCs) on LOGDIR and on the
fixture TensorFlow wrote for the same graph, and requires the same variables,
the same tutorial ops, and the same scalars. Helper nodes of TensorFlow's
variable implementation (Assign, read, initializers) may differ.
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "shared", "fixtures", "tensorboard")
READER = os.path.join(FIXTURES, "read_events.py")
REQUIRED = ["scope_vars/a", "b", "scope_name/c", "scope_name/Add", "scope_name/res"]


def read(path):
    out = subprocess.run([sys.executable, READER, "--json", path], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("read_events.py failed on %s:\n%s%s" % (path, out.stdout, out.stderr))
    got = json.loads(out.stdout)
    return got, dict(zip(got["nodes"], got["node_ops"]))


def main():
    ours, our_ops = read(sys.argv[1])
    theirs, their_ops = read(FIXTURES)
    problems = []
    for name in REQUIRED:
        if our_ops.get(name) != their_ops.get(name):
            problems.append("node %s: ours %s, TensorFlow's %s" % (name, our_ops.get(name), their_ops.get(name)))
    if ours["scalars"] != theirs["scalars"]:
        problems.append("scalars: ours %s, TensorFlow's %s" % (ours["scalars"], theirs["scalars"]))
    if ours["file_version"] != theirs["file_version"]:
        problems.append("file_version: ours %s, TensorFlow's %s" % (ours["file_version"], theirs["file_version"]))
    if problems:
        sys.exit("TensorBoard reads scopeflow's events differently:\n  " + "\n  ".join(problems))
    print("tensorboard: %d nodes and %d scalar series read back as TensorFlow's" % (len(REQUIRED), len(ours["scalars"])))


if __name__ == "__main__":
    main()
