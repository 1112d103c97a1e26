"""Print the recorded gradient cases compactly: per gradients step, its nodes and grads.

    python3 tools/show_tf_gradients.py tests/tf_gradients/*.json [--attrs] [--forward]

One line per node: `name  OpType  <- inputs  : output shapes`; with --attrs also the
node's attrs; with --forward also `expect_forward_nodes`. Needs no TensorFlow.
"""
import json, sys


def fmt_node(n, attrs):
    outs = ", ".join("%s%s" % (o["dtype"], o["shape"]) for o in n["outputs"])
    line = "  %-60s %-32s <- %s : %s" % (n["name"], n["op_type"], ", ".join(n["inputs"]), outs)
    if attrs:
        a = {k: v for k, v in n.get("attrs", {}).items() if k not in ("T", "Tidx", "Tshape", "Tpaddings", "Tmultiples", "Tperm", "Tindices", "Tparams", "Taxis", "Tlabels", "DstT", "SrcT", "Truncate")}
        if a: line += "   " + json.dumps(a)
    return line


def show(path, attrs, forward):
    case = json.load(open(path))
    print("==", case["name"])
    for st in case["steps"]:
        if st["do"] == "op":
            e = st.get("expect", {})
            print("op %s %s -> %s (%s)" % (st["type"], st["inputs"], e.get("name"), e.get("op_type")))
        elif st["do"] == "gradients":
            e = st["expect"]
            print("gradients ys=%s xs=%s%s%s" % (st["ys"], st["xs"], " grad_ys=%s" % st["grad_ys"] if "grad_ys" in st else "",
                                                  " name=%r" % st["name"] if "name" in st else ""))
            if forward and "expect_forward_nodes" in st:
                print(" forward nodes:")
                for n in st["expect_forward_nodes"]: print(fmt_node(n, attrs))
                print(" gradient nodes:")
            for n in e["nodes"]: print(fmt_node(n, attrs))
            print("  grads:", e["grads"])
            if "values" in e: print("  values:", json.dumps(e["values"]), "shapes:", e["run_shapes"])
        else:
            print(st["do"], {k: v for k, v in st.items() if k not in ("do", "expect")}, "->", st.get("expect"))


if __name__ == "__main__":
    flags = {a for a in sys.argv[1:] if a.startswith("--")}
    for p in sys.argv[1:]:
        if not p.startswith("--"): show(p, "--attrs" in flags, "--forward" in flags)
