"""Print every graph node each step of a step script creates (helper nodes included).

    TFMODE=v1 python tools/list_step_nodes.py tools/steps/ops_slicing.json

Runs the steps exactly as record_tf_cases.py does and, after each top-level step
(and each step inside a thread), lists the nodes it added as `name (OpType)`.
Recorded cases only name the op a step returns; this shows the names its helper
nodes use up (`split/split_dim`, a root `Const` for split's size list,
`ones_like` for strided_slice without strides, nodes left by a failed op, ...).
"""
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import record_tf_cases as R

tf = R.tf


def main(path):
    case = json.load(open(path))
    g = tf.Graph()
    ctx = {"pure": {}, "runs": [], "details": case.get("record_op_details", False)}
    one = R.Runner.one

    def traced(self, st, stack, rec):
        before = {o.name for o in self.g.get_operations()}
        try:
            return one(self, st, stack, rec)
        finally:
            new = [o for o in self.g.get_operations() if o.name not in before]
            if st["do"] != "thread":
                what = st["do"] + (" " + st["type"] if "type" in st else "") + (" " + repr(st["name"]) if "name" in st else "")
                print("%-40s %s" % (what, ", ".join("%s (%s)" % (o.name, o.type) for o in new) or "-"))

    R.Runner.one = traced
    with g.as_default():
        R.Runner(g, {}, [], ctx).run(case["steps"], [])


if __name__ == "__main__":
    for p in sys.argv[1:]:
        print("==", p)
        main(p)
