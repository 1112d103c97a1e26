"""Records a small GAN trained by TensorFlow 1.x, written the way TF1 users wrote
it, for tests/tf1_gan.rs: tests/data/tf1_gan/.

    TF_USE_LEGACY_KERAS=1 /work/tfenv/bin/python tools/record_tf1_gan.py tests/data/tf1_gan

The model (graph seed 3; z [batch, 4] noise, x [batch, 2] real points):

    def generator(z):
        with tf.variable_scope("generator"):
            h = tf.layers.dense(z, 8, activation=tf.nn.leaky_relu)   # generator/dense/...
            return tf.layers.dense(h, 2, activation=tf.nn.tanh)      # generator/dense_1/...

    def discriminator(x):
        with tf.variable_scope("discriminator", reuse=tf.AUTO_REUSE):
            h = tf.layers.dense(x, 8, activation=tf.nn.leaky_relu, name="hidden")
            return tf.layers.dense(h, 1, name="logits")

    fake = generator(z)
    d_real, d_fake = discriminator(x), discriminator(fake)           # one set of variables
    d_loss = mean(sigmoid_ce(labels=ones_like(d_real), logits=d_real))
           + mean(sigmoid_ce(labels=zeros_like(d_fake), logits=d_fake))
    g_loss = mean(softplus(-d_fake))                                 # the non-saturating loss
    d_vars = get_collection(TRAINABLE_VARIABLES, scope="discriminator")
    g_vars = get_collection(TRAINABLE_VARIABLES, scope="generator")
    d_train = AdamOptimizer(0.01, beta1=0.5).minimize(d_loss, var_list=d_vars)
    g_train = AdamOptimizer(0.01, beta1=0.5).minimize(g_loss, var_list=g_vars, global_step=global_step)

Both optimizers keep TF's default name "Adam": the second one's beta powers are
uniquified (`beta1_power_1`, `beta2_power_1`) and its ops live under `Adam_1`.
A step is a D step then a G step on batch `s` (formulas in `batch`, also in
the test). Trained 5 steps, saved by the default `tf.train.Saver()` as
`model.ckpt-5` (global_step counts G steps; no meta graph), then 5 more steps.

expected.json holds: the trainable variables of each scope (in collection
order), every saved name, both train ops' names, the losses of the first
steps; at the checkpoint, on batch 100: the generator's output, both
discriminator logits and both losses; per continued step (5..9): d_loss before
the D step, g_loss before the G step (after the D step); and every saved
variable's values after step 9. `name_cases` holds names from two more graphs
(see `name_cases`).
"""
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
import numpy as np
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()
tf.get_logger().setLevel("ERROR")
B, Z, X, H, FIRST, MORE = 8, 4, 2, 8, 5, 5


def batch(s):
    """z[b, k] = (((b*4 + k) + 29*s) * 37 % 61 - 30) / 20; x[b] = (cos t, sin t) * r with
    t = (b + 3s) * 0.7, r = 0.5 + ((b*5 + s) % 4) / 8."""
    i = np.arange(B * Z, dtype=np.int64).reshape(B, Z)
    z = ((((i + 29 * s) * 37) % 61) - 30).astype(np.float32) / 20.0
    b = np.arange(B, dtype=np.int64)
    t = ((b + 3 * s) * 0.7).astype(np.float32)
    r = (0.5 + ((b * 5 + s) % 4) / 8.0).astype(np.float32)
    x = np.stack([np.cos(t) * r, np.sin(t) * r], axis=1).astype(np.float32)
    return z, x


def flat(a):
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def generator(z):
    with tf.variable_scope("generator"):
        h = tf.layers.dense(z, H, activation=tf.nn.leaky_relu)
        return tf.layers.dense(h, X, activation=tf.nn.tanh)


def discriminator(x):
    with tf.variable_scope("discriminator", reuse=tf.AUTO_REUSE):
        h = tf.layers.dense(x, H, activation=tf.nn.leaky_relu, name="hidden")
        return tf.layers.dense(h, 1, name="logits")


def build_gan():
    """The model in the default graph: (z, x, fake, d_real, d_fake, d_loss, g_loss,
    d_vars, g_vars, global_step, d_train, g_train)."""
    z = tf.placeholder(tf.float32, [None, Z], name="z")
    x = tf.placeholder(tf.float32, [None, X], name="x")
    fake = generator(z)
    d_real = discriminator(x)
    d_fake = discriminator(fake)
    d_loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.ones_like(d_real), logits=d_real)) \
        + tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.zeros_like(d_fake), logits=d_fake))
    g_loss = tf.reduce_mean(tf.nn.softplus(-d_fake))
    d_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="discriminator")
    g_vars = tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES, scope="generator")
    global_step = tf.train.get_or_create_global_step()
    d_train = tf.train.AdamOptimizer(0.01, beta1=0.5).minimize(d_loss, var_list=d_vars)
    g_train = tf.train.AdamOptimizer(0.01, beta1=0.5).minimize(g_loss, var_list=g_vars, global_step=global_step)
    return z, x, fake, d_real, d_fake, d_loss, g_loss, d_vars, g_vars, global_step, d_train, g_train


def name_cases():
    """Names only, no training: the discriminator written with a `reuse`
    argument (False, then True) instead of AUTO_REUSE; and three Adams, the
    second over a variable the first already has slots for (its slots are
    uniquified: `w/Adam_2`, `w/Adam_3`), the third named."""
    cases = {}
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, X], name="x")

        def disc(x, reuse=False):
            with tf.variable_scope("discriminator", reuse=reuse):
                h = tf.layers.dense(x, H, activation=tf.nn.leaky_relu, name="hidden")
                return tf.layers.dense(h, 1, name="logits")

        a, b = disc(x), disc(x, reuse=True)
        cases["reuse_true"] = {"outputs": [a.op.name, b.op.name],
                               "variables": [v.op.name for v in tf.global_variables()]}
    g = tf.Graph()
    with g.as_default():
        w = tf.get_variable("w", [2])
        v = tf.get_variable("v", [2])
        loss = tf.reduce_sum(w * w) + tf.reduce_sum(v * v)
        ops = [tf.train.AdamOptimizer(0.1).minimize(loss),
               tf.train.AdamOptimizer(0.1).minimize(loss, var_list=[w]),
               tf.train.AdamOptimizer(0.1, name="GAdam").minimize(loss, var_list=[w])]
        cases["three_adams"] = {"train_ops": [op.name for op in ops],
                                "variables": [v.op.name for v in tf.global_variables()]}
    return cases


def main(out):
    os.makedirs(out, exist_ok=True)
    g = tf.Graph()
    with g.as_default():
        tf.set_random_seed(3)
        z, x, fake, d_real, d_fake, d_loss, g_loss, d_vars, g_vars, global_step, d_train, g_train = build_gan()
        saver = tf.train.Saver()
        names = sorted(v.op.name for v in tf.global_variables())

        def step(sess, s):
            zv, xv = batch(s)
            dl, _ = sess.run([d_loss, d_train], {z: zv, x: xv})
            gl, _ = sess.run([g_loss, g_train], {z: zv})
            return float(dl), float(gl)

        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first = [step(sess, s) for s in range(FIRST)]
            for f in os.listdir(out):
                os.remove(os.path.join(out, f))
            path = saver.save(sess, os.path.join(out, "model.ckpt"), global_step=global_step, write_meta_graph=False)
            ze, xe = batch(100)
            fe, dre, dfe, dle, gle = sess.run([fake, d_real, d_fake, d_loss, g_loss], {z: ze, x: xe})
            more = [step(sess, s) for s in range(FIRST, FIRST + MORE)]
            final = {v.op.name: flat(sess.run(v)) for v in tf.global_variables()}
    # The state file names the checkpoint by the path given to save; keep it relative.
    with open(os.path.join(out, "checkpoint"), "w") as f:
        base = os.path.basename(path)
        f.write('model_checkpoint_path: "%s"\nall_model_checkpoint_paths: "%s"\n' % (base, base))

    expected = {
        "name_cases": name_cases(),
        "source": "tools/record_tf1_gan.py, TensorFlow " + tf.__version__,
        "sizes": {"batch": B, "noise": Z, "data": X, "hidden": H},
        "checkpoint": os.path.basename(path),
        "d_vars": [v.op.name for v in d_vars],
        "g_vars": [v.op.name for v in g_vars],
        "d_train": d_train.name,
        "g_train": g_train.name,
        "names": {"fake": fake.name, "d_real": d_real.name, "d_fake": d_fake.name,
                  "d_loss": d_loss.name, "g_loss": g_loss.name},
        "saved_names": names,
        "first_losses": first,
        "eval_batch": 100,
        "eval": {"fake": flat(fe), "d_real": flat(dre), "d_fake": flat(dfe), "d_loss": float(dle), "g_loss": float(gle)},
        "steps": [{"step": FIRST + k, "d_loss": d, "g_loss": gl} for k, (d, gl) in enumerate(more)],
        "final": final,
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, separators=(",", ":"))
    print("wrote", out, "with", len(names), "variables:", names)
    print("d_train", d_train.name, "g_train", g_train.name, expected["names"])
    print("losses", first + [(s["d_loss"], s["g_loss"]) for s in expected["steps"]])


if __name__ == "__main__":
    main(sys.argv[1])
