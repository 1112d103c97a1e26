"""Run step scripts (conformance format, expects ignored) in TF1 graph mode; write recorded cases."""
import json, sys, os, re, threading, contextlib
import warnings; warnings.filterwarnings("ignore")
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior() if os.environ.get("TFMODE") == "v1" else tf.disable_eager_execution()
import numpy as np
tf.get_logger().setLevel("ERROR")

DT = {"float32": tf.float32, "float64": tf.float64, "int32": tf.int32, "int64": tf.int64, "bool": tf.bool}
RDT = {v: k for k, v in DT.items()}
DETERMINISTIC = {"zeros", "ones", "constant"}

def init(j):
    (k, a), = j.items()
    return {
        "zeros": lambda: tf.zeros_initializer(), "ones": lambda: tf.ones_initializer(),
        "constant": lambda: tf.constant_initializer(a),
        "random_normal": lambda: tf.random_normal_initializer(a["mean"], a["stddev"]),
        "truncated_normal": lambda: tf.truncated_normal_initializer(a["mean"], a["stddev"]),
        "random_uniform": lambda: tf.random_uniform_initializer(a["minval"], a["maxval"]),
        "glorot_uniform": lambda: tf.glorot_uniform_initializer(), "glorot_normal": lambda: tf.glorot_normal_initializer(),
        "he_normal": lambda: tf.keras.initializers.he_normal(), "he_uniform": lambda: tf.keras.initializers.he_uniform(),
    }[k]()

def reg(j):
    (k, a), = j.items()
    if k == "l2":
        return lambda w: tf.multiply(tf.constant(a, dtype=w.dtype.base_dtype, name="scale"), tf.nn.l2_loss(w), name="l2_regularizer") if False else tf_l2(a)(w)
    return tf_noreg

def tf_l2(scale):
    # TF 1.x tf.contrib.layers.l2_regularizer equivalent
    def l2(weights):
        with tf.name_scope("l2_regularizer", values=[weights]) as name:
            my_scale = tf.convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return tf.multiply(my_scale, tf.nn.l2_loss(weights), name=name)
    return l2

def tf_noreg(w):
    return None

def part(j):
    (k, a), = j.items()
    return tf.fixed_size_partitioner(a)

def reuse_val(r):
    return {"inherit": None, "true": True, "auto": tf.AUTO_REUSE}[r]

def reuse_str(r):
    if r is tf.AUTO_REUSE: return "auto"
    if r: return "true"
    return "inherit"

def err_kind(e):
    m = str(e)
    if isinstance(e, (ValueError, TypeError)):
        if "already exists" in m: return "already_exists"
        if "does not exist" in m: return "not_found"
        if "not a valid" in m: return "invalid_name"
        if "specified shape" in m: return "shape_mismatch"
        if "specified dtype" in m: return "dtype_mismatch"
        if "partition" in m.lower() and "must be fully defined" not in m: return "partition_mismatch"
        return "invalid_argument"
    return "other:" + type(e).__name__

def scope_expect(s):
    return {"name": s.name, "original_name_scope": s.original_name_scope, "reuse": reuse_str(s.reuse)}

def var_expect(v, step, labels):
    if isinstance(v, tf.Variable) or hasattr(v, "op"):
        name = v.op.name
    else:
        name = v.name
    e = {"name": name, "shape": [int(d) for d in v.get_shape()], "dtype": RDT[v.dtype.base_dtype]}
    return e

class Runner:
    def __init__(self, g, labels, values):
        self.g, self.labels, self.values = g, labels, values
    def run(self, steps, out):
        stack = []
        for step in steps:
            orig = step
            step = {k: v for k, v in step.items() if k not in ("expect", "expect_error", "expect_message")}
            rec = dict(step)
            self.orig = orig
            try:
                res = self.one(step, stack, rec)
                if res is not None: rec["expect"] = res
            except (ValueError, TypeError, KeyError, AttributeError) as e:
                rec["expect_error"] = err_kind(e)
                rec["_msg"] = type(e).__name__ + ": " + str(e).split("\n")[0][:300]
            out.append(rec)
        while stack: stack.pop().__exit__(None, None, None)
    def sameness(self, e, v):
        want = self.orig.get("expect", {})
        for k in ("same_as", "not_same_as"):
            if k in want:
                other = self.lab(want[k])
                e["same_as" if other is v else "not_same_as"] = want[k]
    def lab(self, l): return self.labels[l[1:]]
    def bind(self, step, obj):
        if "bind" in step: self.labels[step["bind"]] = obj
    def one(self, st, stack, rec):
        d = st["do"]
        if d == "variable_scope":
            kw = {}
            if "default_name" in st: kw["default_name"] = st["default_name"]
            if "reuse" in st: kw["reuse"] = reuse_val(st["reuse"])
            if "initializer" in st: kw["initializer"] = init(st["initializer"])
            if "dtype" in st: kw["dtype"] = DT[st["dtype"]]
            if "auxiliary_name_scope" in st: kw["auxiliary_name_scope"] = st["auxiliary_name_scope"]
            if "regularizer" in st: kw["regularizer"] = reg(st["regularizer"])
            if "partitioner" in st: kw["partitioner"] = part(st["partitioner"])
            arg = self.lab(st["scope"]) if "scope" in st else st.get("name")
            cm = tf.variable_scope(arg, **kw)
            s = cm.__enter__(); stack.append(cm); self.bind(st, s)
            return scope_expect(s)
        if d == "name_scope":
            if "scope" in st:
                x = self.lab(st["scope"])
                arg = x if isinstance(x, str) else x.original_name_scope
            else:
                arg = st["name"]
            cm = tf.name_scope(arg)
            s = cm.__enter__(); stack.append(cm); self.bind(st, s)
            return {"name": s if s is not None else ""}
        if d == "exit":
            stack.pop().__exit__(None, None, None); return None
        if d == "reuse_variables":
            tf.get_variable_scope().reuse_variables(); return None
        if d == "current_scope":
            s = tf.get_variable_scope(); self.bind(st, s); return scope_expect(s)
        if d == "get_variable":
            kw = {}
            if "shape" in st: kw["shape"] = st["shape"]
            if "dtype" in st: kw["dtype"] = DT[st["dtype"]]
            if "initializer" in st: kw["initializer"] = init(st["initializer"])
            if "trainable" in st: kw["trainable"] = st["trainable"]
            if "regularizer" in st: kw["regularizer"] = reg(st["regularizer"])
            if "partitioner" in st: kw["partitioner"] = part(st["partitioner"])
            v = tf.get_variable(st["name"], **kw); self.bind(st, v)
            e = var_expect(v, st, self.labels)
            self.sameness(e, v)
            self.values.append((rec, v, self.orig))
            return e
        if d == "variable":
            kw = {}
            if "name" in st: kw["name"] = st["name"]
            if "dtype" in st: kw["dtype"] = DT[st["dtype"]]
            if "trainable" in st: kw["trainable"] = st["trainable"]
            v = tf.Variable(st["value"], **kw); self.bind(st, v)
            e = var_expect(v, st, self.labels)
            self.sameness(e, v)
            self.values.append((rec, v, self.orig))
            return e
        if d == "constant":
            kw = {}
            if "name" in st: kw["name"] = st["name"]
            if "dtype" in st: kw["dtype"] = DT[st["dtype"]]
            t = tf.constant(st["value"], **kw); self.bind(st, t)
            return {"name": t.op.name}
        if d == "op":
            ins = [self.lab(l) for l in st["inputs"]]
            ins = [x.read_value() if False else x for x in ins]
            n = st.get("name")
            f = {"Add": tf.add, "Sub": tf.subtract, "Mul": tf.multiply, "MatMul": tf.matmul}
            if st["type"] in f: t = f[st["type"]](ins[0], ins[1], name=n)
            elif st["type"] == "Relu": t = tf.nn.relu(ins[0], name=n)
            else: t = tf.identity(ins[0], name=n)
            self.bind(st, t)
            return {"name": t.op.name}
        if d == "collection":
            key = {"global_variables": tf.GraphKeys.GLOBAL_VARIABLES, "trainable_variables": tf.GraphKeys.TRAINABLE_VARIABLES,
                   "regularization_losses": tf.GraphKeys.REGULARIZATION_LOSSES}[st["key"]]
            items = tf.get_collection(key, st.get("scope"))
            return {"names": [i.op.name for i in items]}
        if d == "thread":
            out = []
            def body():
                with self.g.as_default():
                    Runner(self.g, self.labels, self.values).run(st["steps"], out)
            th = threading.Thread(target=body); th.start(); th.join()
            rec["steps"] = out
            return None
        raise KeyError("unknown step " + d)

def record(path, outdir):
    case = json.load(open(path))
    g = tf.Graph()
    labels, values, out = {}, [], []
    with g.as_default():
        Runner(g, labels, values).run(case["steps"], out)
        with tf.Session(graph=g) as sess:
            for rec, v, orig in values:
                ini = rec.get("initializer")
                want = orig.get("expect", {})
                det = rec["do"] == "variable" or (ini is not None and list(ini)[0] in DETERMINISTIC) or "value" in want
                if det and "expect" in rec:
                    try:
                        vs_ = list(v) if hasattr(v, "_variable_list") else [v]
                        sess.run([x.initializer for x in vs_])
                        val = sess.run(tf.convert_to_tensor(v))
                        rec["expect"]["value"] = np.asarray(val).ravel().tolist()
                    except Exception as e:
                        rec["_valerr"] = str(e)[:200]
    case["steps"] = out
    json.dump(case, open(os.path.join(outdir, os.path.basename(path)), "w"), indent=1)

if __name__ == "__main__":
    outdir = sys.argv[1]
    for p in sys.argv[2:]:
        try:
            record(p, outdir)
        except Exception as e:
            print("RECORD FAIL", p, type(e).__name__, e)
