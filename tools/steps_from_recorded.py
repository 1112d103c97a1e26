"""Turn recorded cases back into step scripts for record_tf_cases.py.

    python tools/steps_from_recorded.py OUTDIR tests/tf_recorded/*.json

Drops every expectation except the hints the recorder reads from a step's
`expect` (`same_as`, `not_same_as`, and `value` on variables, which asks for the
value even with a random initializer). Hints are kept as written. `expect_error`
is dropped (the recorder writes it itself); `expect_message` is kept: it was
chosen by hand, and the recorder copies it into the case when TensorFlow's
message contains it.
"""
import json, os, sys

HINTS = ("same_as", "not_same_as", "value")


def strip(step):
    out = {}
    for k, v in step.items():
        if k == "expect_error" or k.startswith("_"):
            continue
        if k == "expect":
            hints = {h: v[h] for h in HINTS if h in v and (h != "value" or step["do"] in ("get_variable", "variable"))}
            if hints:
                out[k] = hints
            continue
        if k == "steps" and step.get("do") == "thread":
            v = [strip(s) for s in v]
        out[k] = v
    return out


if __name__ == "__main__":
    outdir = sys.argv[1]
    for p in sys.argv[2:]:
        case = json.load(open(p))
        case["steps"] = [strip(s) for s in case["steps"]]
        with open(os.path.join(outdir, os.path.basename(p)), "w") as f:
            json.dump(case, f, indent=1)
            f.write("\n")
