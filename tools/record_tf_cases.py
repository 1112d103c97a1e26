"""Run step scripts (conformance format, expects ignored) in TF1 graph mode; write recorded cases.

    TFMODE=v1 python tools/record_tf_cases.py [--clean] OUTDIR tools/steps/*.json

Step scripts live in tools/steps/; the step kinds and fields are described in
tests/tf_recorded/README.md. A script may set `"record_op_details": true` at the
top level (not copied into the case): then `op` steps of the old types (Add, Sub,
Mul, MatMul, Relu, Identity) also record `op_type`, `outputs` and, on constants
only, `values` / `run_shapes`, as the newer op types always do. Keys starting
with `_` in a recorded case are the recorder's notes (TensorFlow's error message,
failed evaluations); `--clean` leaves them out.
"""
import json, sys, os, re, threading, contextlib
import warnings; warnings.filterwarnings("ignore")
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
# `tf.compat.v1.layers` (the `layer` steps) needs tf-keras, chosen before TensorFlow is imported.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
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

class BadStep(Exception):
    """A step the recorder cannot run (a mistake in the step script, never recorded as an error)."""

def shape_list(shape):
    return None if shape.rank is None else [None if d is None else int(d) for d in shape.as_list()]

def outputs_expect(op):
    return [{"shape": shape_list(t.shape), "dtype": RDT.get(t.dtype.base_dtype, t.dtype.base_dtype.name)} for t in op.outputs]

def attr_dtype(x):
    if x not in DT: raise BadStep("unknown dtype " + repr(x))
    return DT[x]

# Python operators: (function, arity); they take no name.
OPERATORS = {"+": (lambda x, y: x + y, 2), "-": (lambda x, y: x - y, 2), "*": (lambda x, y: x * y, 2),
             "/": (lambda x, y: x / y, 2), "neg": (lambda x: -x, 1)}
# TF functions by python name: (function, number of tensor inputs, allowed attrs, attrs holding a dtype).
FUNCS = {
    "split": (tf.split, 1, {"num_or_size_splits", "axis"}, ()),
    "slice": (tf.slice, 1, {"begin", "size"}, ()),
    "strided_slice": (tf.strided_slice, 1, {"begin", "end", "strides", "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"}, ()),
    "unstack": (tf.unstack, 1, {"axis", "num"}, ()),
    "shape": (tf.shape, 1, {"out_type"}, ("out_type",)),
    "fill": (lambda dims, value, dtype=None, **kw: tf.fill(dims, value if dtype is None else np.asarray(value, dtype=dtype.as_numpy_dtype), **kw), 0, {"dims", "value", "dtype"}, ("dtype",)),
    "zeros_like": (tf.zeros_like, 1, {"dtype"}, ("dtype",)),
    "ones_like": (tf.ones_like, 1, {"dtype"}, ("dtype",)),
    "one_hot": (tf.one_hot, 1, {"depth", "on_value", "off_value", "axis", "dtype"}, ("dtype",)),
    "negative": (tf.negative, 1, set(), ()),
    "abs": (tf.abs, 1, set(), ()),
    "softplus": (tf.nn.softplus, 1, set(), ()),
    "leaky_relu": (tf.nn.leaky_relu, 1, {"alpha"}, ()),
    "where": (tf.where, 3, set(), ()),
    "where_v2": (tf.where_v2, 3, set(), ()),
    "equal": (tf.equal, 2, set(), ()),
    "less": (tf.less, 2, set(), ()),
    "greater": (tf.greater, 2, set(), ()),
    "argmax": (tf.argmax, 1, {"axis", "output_type"}, ("output_type",)),
    "pad": (tf.pad, 1, {"paddings", "mode", "constant_values"}, ()),
    "tile": (tf.tile, 1, {"multiples"}, ()),
    "cast": (tf.cast, 1, {"dtype"}, ("dtype",)),
    "reduce_sum": (tf.reduce_sum, 1, {"axis", "keepdims"}, ()),
    "reduce_mean": (tf.reduce_mean, 1, {"axis", "keepdims"}, ()),
    "reduce_max": (tf.reduce_max, 1, {"axis", "keepdims"}, ()),
    "reshape": (tf.reshape, 1, {"shape"}, ()),
    "transpose": (tf.transpose, 1, {"perm"}, ()),
    "concat": (tf.concat, None, {"axis"}, ()),   # None: one list argument
}
OLD_OPS = ("Add", "Sub", "Mul", "MatMul", "Relu", "Identity")
# `layer` steps: tf.compat.v1.layers functions by name, with the keyword arguments a step may give.
_WEIGHTS = {"kernel_initializer", "bias_initializer", "kernel_regularizer", "bias_regularizer"}
LAYERS = {
    "dense": ({"units", "activation", "use_bias", "trainable", "name", "reuse"} | _WEIGHTS),
    "flatten": {"name"},
    "conv2d": ({"filters", "kernel_size", "strides", "padding", "dilation_rate", "activation", "use_bias",
                "trainable", "name", "reuse"} | _WEIGHTS),
    "conv2d_transpose": ({"filters", "kernel_size", "strides", "padding", "activation", "use_bias", "trainable", "name",
                          "reuse"} | _WEIGHTS),
    "max_pooling2d": {"pool_size", "strides", "padding", "name"},
    "average_pooling2d": {"pool_size", "strides", "padding", "name"},
    "dropout": {"rate", "noise_shape", "seed", "training", "name"},
    "batch_normalization": {"axis", "momentum", "epsilon", "center", "scale", "beta_initializer", "gamma_initializer",
                            "moving_mean_initializer", "moving_variance_initializer", "training", "trainable", "name",
                            "reuse", "fused"},
}
ACTIVATIONS = {"relu": tf.nn.relu, "sigmoid": tf.nn.sigmoid, "tanh": tf.nn.tanh}

def py_value(x, dtype):
    """One element of a fetched value as JSON: bools and ints as such, floats as the shortest decimal in their dtype."""
    if dtype == tf.float32:
        return float(str(np.float32(x)))
    if dtype in (tf.float64, tf.float16, tf.bfloat16):
        return float(x)
    return x.item() if hasattr(x, "item") else x

class Runner:
    def __init__(self, g, labels, values, ctx=None):
        self.g, self.labels, self.values = g, labels, values
        # shared by all threads of a case: ids of results computed from constants only, ops to run, options
        self.ctx = ctx if ctx is not None else {"pure": {}, "runs": [], "details": False}
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
                if "expect_message" in orig:
                    if orig["expect_message"] in str(e): rec["expect_message"] = orig["expect_message"]
                    else: rec["_expect_message_not_in_message"] = orig["expect_message"]
                rec["_msg"] = type(e).__name__ + ": " + str(e).split("\n")[0][:300]
            out.append(rec)
        while stack: stack.pop().__exit__(None, None, None)
    def sameness(self, e, v):
        want = self.orig.get("expect", {})
        for k in ("same_as", "not_same_as"):
            if k in want:
                other = self.lab(want[k])
                e["same_as" if other is v else "not_same_as"] = want[k]
    def lab(self, l):
        k = l[1:]
        if k not in self.labels and ":" in k:
            base, i = k.rsplit(":", 1)
            x = self.labels[base]
            return x[int(i)] if isinstance(x, (list, tuple)) else x.op.outputs[int(i)]
        return self.labels[k]
    def is_pure(self, l):
        k = l[1:]
        if k not in self.labels and ":" in k: k = k.rsplit(":", 1)[0]
        return self.ctx["pure"].get(id(self.labels[k]), (False,))[0]
    def mark_pure(self, obj, pure):
        self.ctx["pure"][id(obj)] = (pure, obj)   # keeps obj alive so its id stays unique
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
            self.mark_pure(t, True)
            return {"name": t.op.name}
        if d == "placeholder":
            kw = {}
            if "name" in st: kw["name"] = st["name"]
            if "dtype" not in st or "shape" not in st: raise BadStep("placeholder needs dtype and shape")
            t = tf.placeholder(attr_dtype(st["dtype"]), shape=st["shape"], **kw); self.bind(st, t)
            self.mark_pure(t, False)
            return {"name": t.op.name, "op_type": t.op.type, "outputs": outputs_expect(t.op)}
        if d == "layer":
            return self.layer(st)
        if d == "rnn":
            return self.rnn(st)
        if d == "op" and st["type"] not in OLD_OPS:
            return self.new_op(st, rec)
        if d == "op":
            ins = [self.lab(l) for l in st["inputs"]]
            n = st.get("name")
            f = {"Add": tf.add, "Sub": tf.subtract, "Mul": tf.multiply, "MatMul": tf.matmul}
            if st["type"] in f: t = f[st["type"]](ins[0], ins[1], name=n)
            elif st["type"] == "Relu": t = tf.nn.relu(ins[0], name=n)
            else: t = tf.identity(ins[0], name=n)
            self.bind(st, t)
            if self.ctx["details"]:
                return self.op_expect(st, rec, t)
            self.mark_pure(t, all(self.is_pure(l) for l in st["inputs"]))
            return {"name": t.op.name}
        if d == "graph_nodes":
            # Every node of the graph so far, in creation order, as a GraphDef lists them.
            def input_name(t):
                return t.op.name if t.value_index == 0 else "%s:%d" % (t.op.name, t.value_index)
            return {"nodes": [{"name": op.name, "op_type": op.type,
                               "inputs": [input_name(t) for t in op.inputs] + ["^" + c.name for c in op.control_inputs]}
                              for op in self.g.get_operations()]}
        if d == "collection":
            key = {"global_variables": tf.GraphKeys.GLOBAL_VARIABLES, "trainable_variables": tf.GraphKeys.TRAINABLE_VARIABLES,
                   "regularization_losses": tf.GraphKeys.REGULARIZATION_LOSSES,
                   "update_ops": tf.GraphKeys.UPDATE_OPS}[st["key"]]
            items = tf.get_collection(key, st.get("scope"))
            return {"names": [i.name if isinstance(i, tf.Operation) else i.op.name for i in items]}
        if d == "thread":
            out = []
            def body():
                with self.g.as_default():
                    Runner(self.g, self.labels, self.values, self.ctx).run(st["steps"], out)
            th = threading.Thread(target=body); th.start(); th.join()
            rec["steps"] = out
            return None
        raise KeyError("unknown step " + d)
    def layer(self, st):
        """A `tf.compat.v1.layers` function on one input: its output op, and the variables it created."""
        ty = st["type"]
        if ty not in LAYERS: raise BadStep("unknown layer " + repr(ty))
        attrs = dict(st.get("attrs", {}))
        if set(attrs) - LAYERS[ty]: raise BadStep("%s: unknown attrs %s" % (ty, sorted(set(attrs) - LAYERS[ty])))
        for k in list(attrs):
            if k == "activation": attrs[k] = ACTIVATIONS[attrs[k]]
            elif k.endswith("_initializer"): attrs[k] = init(attrs[k])
            elif k.endswith("_regularizer"): attrs[k] = tf_l2(attrs[k]["l2"])
            elif k == "reuse": attrs[k] = reuse_val(attrs[k])
            elif k == "training" and isinstance(attrs[k], str): attrs[k] = self.lab(attrs[k])
        ins = [self.lab(l) for l in st["inputs"]]
        if len(ins) != 1: raise BadStep("a layer takes one input")
        before = {v.op.name for v in tf.global_variables()}
        t = getattr(tf.layers, ty)(ins[0], **attrs)
        self.bind(st, t)
        trainable = {v.op.name for v in tf.trainable_variables()}
        new = [v for v in tf.global_variables() if v.op.name not in before]
        e = {"name": t.op.name, "op_type": t.op.type, "outputs": outputs_expect(t.op),
             "variables": [{"name": v.op.name, "shape": [int(d) for d in v.shape], "dtype": RDT[v.dtype.base_dtype],
                            "trainable": v.op.name in trainable} for v in new]}
        # Values of the variables a deterministic initializer fills (biases: zeros), read after all steps.
        for ve, v in zip(e["variables"], new):
            if any(self.g.get_operations() and op.name.startswith(v.op.name + "/Initializer/") and op.name.split("/")[-1] in ("zeros", "ones", "Const")
                   for op in self.g.get_operations()):
                self.ctx.setdefault("layer_values", []).append((ve, v))
        return e
    def cell(self, spec):
        """A `tf.compat.v1.nn.rnn_cell` cell from its spec (see tests/tf_recorded/README.md)."""
        spec = dict(spec)
        ty = spec.pop("type")
        R = tf.nn.rnn_cell
        if ty == "multi":
            return R.MultiRNNCell([self.cell(c) for c in spec.pop("cells")], **spec)
        if ty == "dropout":
            return R.DropoutWrapper(self.cell(spec.pop("cell")), **spec)
        allowed = {"basic_rnn": {"num_units", "name"}, "basic_lstm": {"num_units", "forget_bias", "name"},
                   "lstm": {"num_units", "use_peepholes", "cell_clip", "num_proj", "proj_clip", "forget_bias", "name", "initializer"},
                   "gru": {"num_units", "name", "kernel_initializer", "bias_initializer"}}
        if ty not in allowed: raise BadStep("unknown cell " + repr(ty))
        if set(spec) - allowed[ty]: raise BadStep("%s: unknown attrs %s" % (ty, sorted(set(spec) - allowed[ty])))
        for k in list(spec):
            if k.endswith("initializer"): spec[k] = init(spec[k])
        return {"basic_rnn": R.BasicRNNCell, "basic_lstm": R.BasicLSTMCell, "lstm": R.LSTMCell, "gru": R.GRUCell}[ty](**spec)
    def rnn(self, st):
        """`tf.compat.v1.nn.dynamic_rnn` / `static_rnn` of a cell: the shapes of its outputs and state, the variables it made."""
        driver = st["driver"]
        attrs = dict(st.get("attrs", {}))
        if set(attrs) - {"sequence_length", "scope", "time_major"}: raise BadStep("rnn: unknown attrs")
        if "sequence_length" in attrs: attrs["sequence_length"] = self.lab(attrs["sequence_length"])
        ins = [self.lab(l) for l in st["inputs"]]
        cell = self.cell(st["cell"])
        before = {v.op.name for v in tf.global_variables()}
        if driver == "dynamic_rnn":
            if len(ins) != 1: raise BadStep("dynamic_rnn takes one input")
            out, state = tf.nn.dynamic_rnn(cell, ins[0], dtype=ins[0].dtype, **attrs)
            outs = [out]
        elif driver == "static_rnn":
            if "time_major" in attrs: raise BadStep("static_rnn has no time_major")
            outs, state = tf.nn.static_rnn(cell, ins, dtype=ins[0].dtype, **attrs)
        else:
            raise BadStep("unknown driver " + repr(driver))
        self.bind(st, outs[-1])
        trainable = {v.op.name for v in tf.trainable_variables()}
        new = [v for v in tf.global_variables() if v.op.name not in before]
        e = {"outputs": [shape_list(o.shape) for o in outs],
             "state": [shape_list(t.shape) for t in tf.nest.flatten(state)],
             "variables": [{"name": v.op.name, "shape": [int(d) for d in v.shape], "dtype": RDT[v.dtype.base_dtype],
                            "trainable": v.op.name in trainable} for v in new]}
        for ve, v in zip(e["variables"], new):
            if any(op.name.startswith(v.op.name + "/Initializer/") and op.name.split("/")[-1] in ("zeros", "ones", "Const")
                   for op in self.g.get_operations()):
                self.ctx.setdefault("layer_values", []).append((ve, v))
        return e
    def new_op(self, st, rec):
        ty, n = st["type"], st.get("name")
        ins = [self.lab(l) for l in st.get("inputs", [])]
        attrs = dict(st.get("attrs", {}))
        if ty in OPERATORS:
            f, arity = OPERATORS[ty]
            if "name" in st or attrs: raise BadStep("operator %s takes no name or attrs" % ty)
            if len(ins) != arity: raise BadStep("operator %s takes %d inputs" % (ty, arity))
            t = f(*ins)
        elif ty in FUNCS:
            f, arity, allowed, dtypes = FUNCS[ty]
            if arity is not None and len(ins) != arity: raise BadStep("%s takes %d inputs" % (ty, arity))
            if set(attrs) - allowed: raise BadStep("%s: unknown attrs %s" % (ty, sorted(set(attrs) - allowed)))
            for k in dtypes:
                if k in attrs: attrs[k] = attr_dtype(attrs[k])
            if "name" in st: attrs["name"] = n   # else the function's own default (split's is "split")
            if arity is None:   # one list argument; a label bound to a list is spliced in
                ins = [y for l, x in zip(st.get("inputs", []), ins) for y in (x if isinstance(x, (list, tuple)) else [x])]
                t = f(ins, **attrs)
            else:
                t = f(*ins, **attrs)
        else:
            raise BadStep("unknown op type " + repr(ty))
        self.bind(st, t)
        return self.op_expect(st, rec, t)
    def op_expect(self, st, rec, t):
        ts = list(t) if isinstance(t, (list, tuple)) else [t]
        ops_ = {x.op for x in ts}
        if len(ops_) != 1: raise BadStep("%s: result comes from %d ops" % (st["type"], len(ops_)))
        op = ts[0].op
        if isinstance(t, (list, tuple)) and list(op.outputs) != ts: raise BadStep("list is not the op's outputs")
        pure = all(self.is_pure(l) for l in st.get("inputs", []))
        self.mark_pure(t, pure)
        e = {"name": op.name, "op_type": op.type, "outputs": outputs_expect(op)}
        if pure: self.ctx["runs"].append((e, op, rec))
        return e

def strip_private(x):
    if isinstance(x, dict): return {k: strip_private(v) for k, v in x.items() if not k.startswith("_")}
    if isinstance(x, list): return [strip_private(v) for v in x]
    return x

def record(path, outdir, clean=False):
    case = json.load(open(path))
    g = tf.Graph()
    labels, values, out = {}, [], []
    details = case.pop("record_op_details", False)
    ctx = {"pure": {}, "runs": [], "details": details}
    with g.as_default():
        Runner(g, labels, values, ctx).run(case["steps"], out)
        with tf.Session(graph=g) as sess:
            for e, op, rec in ctx["runs"]:
                try:
                    vals = sess.run(list(op.outputs))
                    e["values"] = [[py_value(x, t.dtype.base_dtype) for x in np.asarray(v).ravel()] for v, t in zip(vals, op.outputs)]
                    e["run_shapes"] = [list(np.shape(v)) for v in vals]
                except Exception as ex:
                    rec["_runerr"] = type(ex).__name__ + ": " + str(ex).split("\n")[0][:200]
            for ve, v in ctx.get("layer_values", []):
                sess.run(v.initializer)
                ve["value"] = [py_value(x, v.dtype.base_dtype) for x in np.asarray(sess.run(v)).ravel()]
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
    if clean: case = strip_private(case)
    json.dump(case, open(os.path.join(outdir, os.path.basename(path)), "w"), indent=1)

if __name__ == "__main__":
    args = sys.argv[1:]
    clean = args[:1] == ["--clean"]   # drop the recorder's notes (`_msg`, `_valerr`, `_runerr`, ...)
    if clean: args = args[1:]
    outdir = args[0]
    for p in args[1:]:
        try:
            record(p, outdir, clean)
        except Exception as e:
            print("RECORD FAIL", p, type(e).__name__, e)
