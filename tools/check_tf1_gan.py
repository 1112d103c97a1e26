"""TensorFlow restores the GAN scopeflow trained on from TF's checkpoint (tests/tf1_gan.rs).

    SCOPEFLOW_TF1_GAN_OUT=OUT cargo test --test tf1_gan
    python tools/check_tf1_gan.py OUT          # needs tensorflow (tf-keras for TF 2.16+)

Builds tools/record_tf1_gan.py's GAN in TF1 graph mode, restores the checkpoint
OUT's `checkpoint` file names with the default `tf.compat.v1.train.Saver()`
(every variable by its name: both optimizers' slots, `beta1_power_1`,
`global_step`), and checks: every restored value equals what TF itself reached
after the same 10 alternating steps (tests/data/tf1_gan/expected.json) within
1e-5; global_step is 10. Exits 1 on any difference.
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
tf.get_logger().setLevel("ERROR")
from record_tf1_gan import build_gan


def main(out):
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    expected = json.load(open(os.path.join(root, "tests/data/tf1_gan/expected.json")))
    g = tf.Graph()
    with g.as_default():
        build_gan()
        saver = tf.train.Saver()
        path = tf.train.latest_checkpoint(out)
        if path is None:
            print("check_tf1_gan: no checkpoint state file in", out)
            return 1
        failures = []
        with tf.Session() as sess:
            saver.restore(sess, path)
            for v in tf.global_variables():
                got = np.asarray(sess.run(v), np.float64).ravel()
                want = np.asarray(expected["final"][v.op.name], np.float64)
                if got.shape != want.shape or np.max(np.abs(got - want)) > 1e-5:
                    failures.append("%s: restored %s, TensorFlow reached %s" % (v.op.name, got[:4], want[:4]))
            step = int(sess.run(tf.train.get_global_step()))
            if step != 10:
                failures.append("global_step is %d, not 10" % step)
    for f in failures:
        print("check_tf1_gan:", f)
    if failures:
        return 1
    print("check_tf1_gan: TensorFlow restored", path, "- every variable within 1e-5 of TF's own after 10 steps")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
