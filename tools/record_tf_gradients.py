"""Record what TensorFlow 1.x `tf.gradients` adds to a graph: tests/tf_gradients/.

    TF_CPP_MIN_LOG_LEVEL=3 python tools/record_tf_gradients.py OUTDIR tools/grad_steps/*.json

A gradient step script is a step script of tools/record_tf_cases.py (format in
tests/tf_recorded/README.md and shared/conformance/FORMAT.md) with more `op`
types (GRAD_FUNCS below), `bind` on `collection` steps, and one new step kind,
`gradients`. The format is described in tests/tf_gradients/README.md.

Per `gradients` step the recorder writes `expect`:
  nodes  - every node tf.gradients added, in creation order: name, op_type,
           inputs (NodeDef input strings: "MatMul", "split:1", "^ctrl"),
           outputs (static shape and dtype of each output), attrs (all of the
           node's attributes, as JSON);
  grads  - per x: the gradient's tensor name, an {"indices", "values",
           "dense_shape"} object of tensor names for an IndexedSlices, or null;
  values / run_shapes - per x: the gradient's value (flat, row-major; an
           IndexedSlices summed into its dense value) and its shape, or null;
           only when every placeholder the gradients (and the initializers of
           the variables they read) depend on is fed by the step's `feeds`, and
           no variable they read has a random initializer. Evaluated after all
           steps, in one session, without adding nodes to the graph.
and, with `"record_forward_nodes": true` on the step (not copied into the case),
`expect_forward_nodes`: every node of the graph before the call, same fields.

Cases are always written without the recorder's `_` notes; a step that fails
in TensorFlow fails the case (gradient cases record no expected errors), and
the script exits 1 after printing `RECORD FAIL`. Output is JSON laid out by
`dumps` (an object or list on one line when it fits in 120 columns); re-running
gives byte-identical files. tools/show_tf_gradients.py prints a case compactly.
"""
import json, os, sys
os.environ.setdefault("TFMODE", "v1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record_tf_cases as R

tf = R.tf
np = R.np


def _kw2(f):
    """TF functions whose tensor arguments are keyword-only (`labels=`, `logits=`)."""
    return lambda labels, logits, **kw: f(labels=labels, logits=logits, **kw)


def _mse(labels, predictions, name=None):
    return tf.losses.mean_squared_error(labels, predictions, scope=name)


# type: (function, number of tensor inputs or None for a list of any length, allowed attrs, dtype attrs)
GRAD_FUNCS = {
    "maximum": (tf.maximum, 2, set(), ()),
    "matmul": (tf.matmul, 2, {"transpose_a", "transpose_b"}, ()),
    "bias_add": (tf.nn.bias_add, 2, set(), ()),
    "relu6": (tf.nn.relu6, 1, set(), ()),
    "sigmoid": (tf.sigmoid, 1, set(), ()),
    "tanh": (tf.tanh, 1, set(), ()),
    "square": (tf.square, 1, set(), ()),
    "sqrt": (tf.sqrt, 1, set(), ()),
    "exp": (tf.exp, 1, set(), ()),
    "log": (tf.log, 1, set(), ()),
    "softmax": (tf.nn.softmax, 1, set(), ()),
    "log_softmax": (tf.nn.log_softmax, 1, set(), ()),
    "l2_loss": (tf.nn.l2_loss, 1, set(), ()),
    "add_n": (tf.add_n, None, set(), ()),
    "stack": (tf.stack, None, {"axis"}, ()),
    "gather": (tf.gather, 2, {"axis"}, ()),
    "embedding_lookup": (tf.nn.embedding_lookup, 2, set(), ()),
    "stop_gradient": (tf.stop_gradient, 1, set(), ()),
    "sparse_softmax_cross_entropy_with_logits": (_kw2(tf.nn.sparse_softmax_cross_entropy_with_logits), 2, set(), ()),
    "softmax_cross_entropy_with_logits_v2": (_kw2(tf.nn.softmax_cross_entropy_with_logits_v2), 2, set(), ()),
    "sigmoid_cross_entropy_with_logits": (_kw2(tf.nn.sigmoid_cross_entropy_with_logits), 2, set(), ()),
    "mean_squared_error": (_mse, 2, set(), ()),
    "conv2d": (tf.nn.conv2d, 2, {"strides", "padding"}, ()),
    "max_pool": (tf.nn.max_pool, 1, {"ksize", "strides", "padding"}, ()),
    "avg_pool": (tf.nn.avg_pool, 1, {"ksize", "strides", "padding"}, ()),
    "pow": (tf.pow, 2, set(), ()),
    "sign": (tf.sign, 1, set(), ()),
    "reciprocal": (tf.math.reciprocal, 1, set(), ()),
    "reduce_prod": (tf.reduce_prod, 1, {"axis", "keepdims"}, ()),
}
for _k in GRAD_FUNCS:
    assert _k not in R.FUNCS and _k not in R.OPERATORS and _k not in R.OLD_OPS, _k

RANDOM_OPS = {"TruncatedNormal", "Multinomial"}


def attr_json(v):
    """An attribute value (as Operation.get_attr returns it) as JSON."""
    if isinstance(v, tf.DType):
        return R.RDT.get(v.base_dtype, v.name)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, bool) or isinstance(v, int) or v is None:
        return v
    if isinstance(v, float):
        return float(str(np.float32(v)))
    if isinstance(v, (list, tuple)):
        return [attr_json(x) for x in v]
    name = type(v).__name__
    if name == "TensorProto":
        a = tf.make_ndarray(v)
        dt = tf.as_dtype(v.dtype)
        return {"dtype": R.RDT.get(dt, dt.name), "shape": list(a.shape),
                "value": [R.py_value(x, dt) for x in a.ravel()]}
    if name == "TensorShapeProto":
        return R.shape_list(tf.TensorShape(v))
    return str(v)


def node_json(op):
    return {"name": op.name, "op_type": op.type, "inputs": list(op.node_def.input),
            "outputs": R.outputs_expect(op),
            "attrs": {k: attr_json(op.get_attr(k)) for k in sorted(op.node_def.attr)}}


def is_slices(g):
    return isinstance(g, tf.IndexedSlices)


def grad_name(g):
    if g is None:
        return None
    if is_slices(g):
        return {"indices": g.indices.name, "values": g.values.name,
                "dense_shape": None if g.dense_shape is None else g.dense_shape.name}
    return g.name


def ancestors(tensors_or_ops):
    seen, todo = set(), [x if isinstance(x, tf.Operation) else x.op for x in tensors_or_ops]
    while todo:
        op = todo.pop()
        if op in seen:
            continue
        seen.add(op)
        todo.extend(t.op for t in op.inputs)
        todo.extend(op.control_inputs)
    return seen


class GradRunner(R.Runner):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.grad_runs = []   # (expect, grads, feeds) evaluated after all steps

    def one(self, st, stack, rec):
        d = st["do"]
        if d == "gradients":
            return self.gradients(st, rec)
        if d == "collection" and "bind" in st:
            key = {"global_variables": tf.GraphKeys.GLOBAL_VARIABLES, "trainable_variables": tf.GraphKeys.TRAINABLE_VARIABLES,
                   "regularization_losses": tf.GraphKeys.REGULARIZATION_LOSSES}[st["key"]]
            items = tf.get_collection(key, st.get("scope"))
            self.labels[st["bind"]] = items   # as TF returns them (lazy tensors for regularization losses)
            return {"names": [i.op.name for i in items]}
        if d == "thread":
            raise R.BadStep("threads are not supported in gradient scripts")
        if d == "op" and st["type"] in GRAD_FUNCS:
            return self.grad_op(st, rec)
        return super().one(st, stack, rec)

    def grad_op(self, st, rec):
        ty = st["type"]
        f, arity, allowed, dtypes = GRAD_FUNCS[ty]
        attrs = dict(st.get("attrs", {}))
        if set(attrs) - allowed:
            raise R.BadStep("%s: unknown attrs %s" % (ty, sorted(set(attrs) - allowed)))
        for k in dtypes:
            if k in attrs: attrs[k] = R.attr_dtype(attrs[k])
        if "name" in st: attrs["name"] = st["name"]
        if arity is None:   # one list argument; a label bound to a list is spliced in
            ins = []
            for l in st["inputs"]:
                x = self.lab(l)
                ins.extend(x) if isinstance(x, (list, tuple)) else ins.append(x)
            t = f(ins, **attrs)
        else:
            ins = [self.lab(l) for l in st["inputs"]]
            if len(ins) != arity: raise R.BadStep("%s takes %d inputs" % (ty, arity))
            t = f(*ins, **attrs)
        self.bind(st, t)
        return self.op_expect(st, rec, t)

    def is_pure(self, l):
        k = l[1:]
        if k not in self.labels and ":" in k: k = k.rsplit(":", 1)[0]
        x = self.labels[k]
        if isinstance(x, list) and id(x) not in self.ctx["pure"]:
            return False
        return self.ctx["pure"].get(id(x), (False,))[0]

    def gradients(self, st, rec):
        allowed = {"do", "ys", "xs", "grad_ys", "name", "bind", "feeds", "record_forward_nodes"}
        if set(st) - allowed: raise R.BadStep("gradients: unknown fields %s" % sorted(set(st) - allowed))
        ys = [self.lab(l) for l in st["ys"]]
        xs = [self.lab(l) for l in st["xs"]]
        kw = {}
        if st.get("grad_ys") is not None:
            kw["grad_ys"] = [None if l is None else self.lab(l) for l in st["grad_ys"]]
        if "name" in st: kw["name"] = st["name"]
        feeds = {}
        for l, v in st.get("feeds", {}).items():
            ph = self.lab(l)
            feeds[ph] = np.asarray(v, dtype=ph.dtype.as_numpy_dtype)
        rec.pop("record_forward_nodes", None)
        old = self.g.get_operations()
        before = {o.name for o in old}
        grads = tf.gradients(ys, xs, **kw)
        new = [o for o in self.g.get_operations() if o.name not in before]
        self.bind(st, grads)
        e = {}
        if st.get("record_forward_nodes"):
            rec["expect_forward_nodes"] = [node_json(o) for o in old]
        e["nodes"] = [node_json(o) for o in new]
        e["grads"] = [grad_name(g) for g in grads]
        self.grad_runs.append((e, grads, feeds, rec))
        return e


def deterministic(grads, feeds, g):
    """Whether the values of `grads` are fixed by the feeds and deterministic variable initializers."""
    parts = []
    for x in grads:
        if x is None: continue
        parts.extend([x.values, x.indices] if is_slices(x) else [x])
    ops_ = ancestors(parts)
    variables = {v.op: v for v in g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)}
    for op in list(ops_):
        if op in variables:
            ops_ |= ancestors([variables[op].initializer])
    fed = {t.op for t in feeds}
    for op in ops_:
        if "Random" in op.type or op.type in RANDOM_OPS: return False
        if op.type in ("Placeholder", "PlaceholderV2") and op not in fed: return False
    return True


def evaluate(runner, g):
    with tf.Session(graph=g) as sess:
        n_before = len(g.get_operations())
        sess.run([v.initializer for v in g.get_collection(tf.GraphKeys.GLOBAL_VARIABLES)])
        for e, grads, feeds, rec in runner.grad_runs:
            if not deterministic(grads, feeds, g):
                continue
            fetch = [None if x is None else ([x.values, x.indices, x.dense_shape] if is_slices(x) else x) for x in grads]
            got = sess.run([f for f in fetch if f is not None], feeds)
            vals, shapes = [], []
            it = iter(got)
            for x in grads:
                if x is None:
                    vals.append(None); shapes.append(None); continue
                v = next(it)
                if is_slices(x):
                    dense = np.zeros(v[2], dtype=v[0].dtype)
                    np.add.at(dense, v[1], v[0])
                    v = dense
                dt = x.dtype.base_dtype
                vals.append([R.py_value(y, dt) for y in np.asarray(v).ravel()])
                shapes.append(list(np.shape(v)))
            e["values"] = vals
            e["run_shapes"] = shapes
        assert len(g.get_operations()) == n_before, "evaluation added nodes"


def dumps(x, indent=0, col=None, width=120):
    """JSON with one line for every object or list that fits in `width` columns (`col`: where it starts;
    lists of scalars always stay on one line); larger ones get one member a line, indented by one space."""
    col = indent if col is None else col
    flat = json.dumps(x)
    if not isinstance(x, (dict, list)) or not x or col + len(flat) <= width:
        return flat
    if isinstance(x, list) and all(not isinstance(v, (dict, list)) for v in x):
        return flat
    pad = " " * (indent + 1)
    if isinstance(x, dict):
        items = [pad + json.dumps(k) + ": " + dumps(v, indent + 1, indent + 3 + len(json.dumps(k)), width) for k, v in x.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dumps(v, indent + 1, None, width) for v in x]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def record(path, outdir):
    case = json.load(open(path))
    g = tf.Graph()
    labels, values, out = {}, [], []
    details = case.pop("record_op_details", False)
    ctx = {"pure": {}, "runs": [], "details": details}
    with g.as_default():
        runner = GradRunner(g, labels, values, ctx)
        runner.run(case["steps"], out)
        # forward op values and deterministic variable values, as record_tf_cases.py records them
        with tf.Session(graph=g) as sess:
            for e, op, rec in ctx["runs"]:
                vals = sess.run(list(op.outputs))
                e["values"] = [[R.py_value(x, t.dtype.base_dtype) for x in np.asarray(v).ravel()] for v, t in zip(vals, op.outputs)]
                e["run_shapes"] = [list(np.shape(v)) for v in vals]
            for rec, v, orig in values:
                ini = rec.get("initializer")
                det = rec["do"] == "variable" or (ini is not None and list(ini)[0] in R.DETERMINISTIC)
                if det and "expect" in rec:
                    sess.run(v.initializer)
                    rec["expect"]["value"] = np.asarray(sess.run(v)).ravel().tolist()
        evaluate(runner, g)
    for r in out:
        if "expect_error" in r or any(k.startswith("_") for k in r):
            raise R.BadStep("step failed: %s" % json.dumps(r)[:400])
    case["steps"] = out
    case = R.strip_private(case)
    with open(os.path.join(outdir, os.path.basename(path)), "w") as f:
        f.write(dumps(case) + "\n")


if __name__ == "__main__":
    outdir, paths = sys.argv[1], sys.argv[2:]
    failed = False
    for p in paths:
        try:
            record(p, outdir)
        except Exception as ex:
            failed = True
            print("RECORD FAIL", p, type(ex).__name__, ex)
    sys.exit(1 if failed else 0)
