"""Records a small CNN trained by TensorFlow 1.x, written the way TF1 users wrote
it, for tests/tf1_cnn.rs: tests/data/tf1_cnn/.

    TF_USE_LEGACY_KERAS=1 /work/tfenv/bin/python tools/record_tf1_cnn.py tests/data/tf1_cnn

The model (graph seed 1; x [batch, 8, 8, 1], y [batch] int32, `training` a bool placeholder):

    h = tf.layers.conv2d(x, 4, 3, padding="same", use_bias=False)  # conv2d/kernel
    h = tf.layers.batch_normalization(h, training=training)     # fused (TF's default for 4-D input)
    h = tf.nn.relu(h)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.flatten(h)
    h = tf.layers.dense(h, 8, activation=tf.nn.relu)
    h = tf.layers.dropout(h, rate=0.25, training=training)
    logits = tf.layers.dense(h, 3)                                # dense_1/...
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
        train = tf.train.AdamOptimizer(0.01).minimize(loss, global_step=global_step)

Trained 5 steps (training=True, step s on batch s), saved by the default
`tf.train.Saver()` as `model.ckpt-5` (with the `checkpoint` state file, no meta
graph), then trained 5 more steps. The convolution has no bias: batch norm in
training removes it, so its gradient is round-off alone, which Adam (dividing
by the gradient's own scale) turns into steps of size `lr` in a direction set by
round-off: no port could follow that, and batch norm's `beta` does its job. Dropout's random values are TF's Philox
draws; each step's draw (`dropout/cond/dropout/random_uniform/RandomUniform:0`)
is recorded so that a port can feed the same masks.

expected.json holds: the batch formula's sizes, the saved names, at the
checkpoint: every saved variable's values, on an evaluation batch (batch 100)
the logits in inference mode and in training mode (with the recorded uniform
draw `eval_uniform`) and the training-mode loss; then per continued step
(5..9): the uniform draw, the loss before the step, and the moving mean and
variance after it; and every saved variable's values after step 9.
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
os.makedirs(OUT, exist_ok=True)
B, H, W, C, CLASSES, FIRST, MORE = 8, 8, 8, 1, 3, 5, 5
UNIFORM = "dropout/cond/dropout/random_uniform/RandomUniform:0"


def batch(step):
    """x[b, i, j, 0] = (((b*64 + i*8 + j) + 131*step) * 37 % 97 - 48) / 32; y[b] = (7b + 3*step) % 3."""
    i = np.arange(B * H * W * C, dtype=np.int64).reshape(B, H, W, C)
    x = ((((i + 131 * step) * 37) % 97) - 48).astype(np.float32) / 32.0
    y = ((np.arange(B) * 7 + 3 * step) % CLASSES).astype(np.int32)
    return x, y


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float64).ravel()]


g = tf.Graph()
with g.as_default():
    tf.set_random_seed(1)
    x = tf.placeholder(tf.float32, [None, H, W, C], name="x")
    y = tf.placeholder(tf.int32, [None], name="y")
    training = tf.placeholder(tf.bool, [], name="training")
    h = tf.layers.conv2d(x, 4, 3, padding="same", use_bias=False)
    h = tf.layers.batch_normalization(h, training=training)
    h = tf.nn.relu(h)
    h = tf.layers.max_pooling2d(h, 2, 2)
    h = tf.layers.flatten(h)
    h = tf.layers.dense(h, 8, activation=tf.nn.relu)
    h = tf.layers.dropout(h, rate=0.25, training=training)
    logits = tf.layers.dense(h, CLASSES)
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    global_step = tf.train.get_or_create_global_step()
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    with tf.control_dependencies(update_ops):
        train = tf.train.AdamOptimizer(0.01).minimize(loss, global_step=global_step)
    uniform = g.get_tensor_by_name(UNIFORM)
    # The draw sits in dropout's `cond`, which TF marks unfetchable; in
    # training mode its branch runs, so fetching it is sound.
    g._unfetchable_ops.discard(uniform.op)
    bn_ops = sorted({op.type for op in g.get_operations() if op.name.startswith("batch_normalization/")})
    assert "FusedBatchNormV3" in bn_ops, bn_ops
    saver = tf.train.Saver()
    names = sorted(v.op.name for v in tf.global_variables())
    moving = [g.get_tensor_by_name("batch_normalization/moving_mean:0"),
              g.get_tensor_by_name("batch_normalization/moving_variance:0")]

    def values(sess):
        return {v.op.name: flat(sess.run(v)) for v in tf.global_variables()}

    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        first_losses = []
        for step in range(FIRST):
            xv, yv = batch(step)
            l, _ = sess.run([loss, train], {x: xv, y: yv, training: True})
            first_losses.append(float(l))
        for f in os.listdir(OUT):
            os.remove(os.path.join(OUT, f))
        path = saver.save(sess, os.path.join(OUT, "model.ckpt"), global_step=global_step, write_meta_graph=False)

        xe, ye = batch(100)
        eval_inference = sess.run(logits, {x: xe, training: False})
        eval_uniform, eval_training, eval_loss = sess.run([uniform, logits, loss], {x: xe, y: ye, training: True})

        steps = []
        for step in range(FIRST, FIRST + MORE):
            xv, yv = batch(step)
            u, l, _ = sess.run([uniform, loss, train], {x: xv, y: yv, training: True})
            mm, mv = sess.run(moving)
            steps.append({"step": step, "uniform": flat(u), "loss": float(l),
                          "moving_mean": flat(mm), "moving_variance": flat(mv)})
        final = values(sess)

expected = {
    "sizes": {"batch": B, "height": H, "width": W, "channels": C, "classes": CLASSES},
    "tensorflow": tf.__version__,
    "checkpoint": os.path.basename(path),
    "train_op_name": train.name,
    "update_ops": [op.name for op in update_ops],
    "batch_normalization_op_types": bn_ops,
    "saved_names": names,
    "first_losses": first_losses,
    "eval_batch": 100,
    "eval_inference_logits": flat(eval_inference),
    "eval_uniform": flat(eval_uniform),
    "eval_training_logits": flat(eval_training),
    "eval_training_loss": float(eval_loss),
    "steps": steps,
    "final": final,
}
with open(os.path.join(OUT, "expected.json"), "w") as f:
    json.dump(expected, f, separators=(",", ":"))
print("wrote", OUT, "with", len(names), "variables;", "losses", first_losses + [s["loss"] for s in steps])
