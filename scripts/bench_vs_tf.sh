#!/usr/bin/env bash
# scopeflow against TensorFlow 1.x on this machine, in one run: the session
# and train benchmarks, then tools/bench_tf1.py on the same models, then one
# line per figure with the speedup (TF's time over scopeflow's).
#
#   scripts/bench_vs_tf.sh [PYTHON]
#
# PYTHON defaults to `python3`; it must import tensorflow (`pip install
# tensorflow-cpu`). TensorFlow is only the reference: nothing else needs it.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-python3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cargo bench --bench session | tee "$out/session"
cargo bench --bench train | tee "$out/train"
"$python" tools/bench_tf1.py | tee "$out/tf1"
echo
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
compare() { # kind batch scopeflow_line tf_line
  local ours theirs
  ours=$(echo "$3" | field scopeflow_us)
  theirs=$(echo "$4" | field us)
  if [ -n "$ours" ] && [ -n "$theirs" ]; then
    echo "vs_tf1 $1 batch=$2 scopeflow_us=$ours tf1_us=$theirs speedup=$(awk -v a="$theirs" -v b="$ours" 'BEGIN { printf "%.2f", a / b }')"
  fi
}
for batch in 1 32 256; do
  compare mlp "$batch" "$(grep "^mlp batch=$batch " "$out/session")" "$(grep "^tf1 mlp batch=$batch " "$out/tf1")"
done
for batch in 32 256; do
  compare train "$batch" "$(grep "^train batch=$batch " "$out/train")" "$(grep "^tf1 train batch=$batch " "$out/tf1")"
done
compare conv 32 "$(grep "^conv batch=32 " "$out/session")" "$(grep "^tf1 conv batch=32 " "$out/tf1")"
