#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (cargo-fuzz, libFuzzer), one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); targets default to all of them:
# tf1_bundle safetensors manifest model_macro scoped_macro. Each starts from
# its checked-in seeds (fuzz/seeds/TARGET, real files) and keeps what it finds
# in fuzz/corpus/TARGET (not checked in). A crash stops the run with the input
# in fuzz/artifacts/TARGET; replay it with
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-…`.
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly toolchain, or
# stable with RUSTC_BOOTSTRAP=1 (set here when no nightly is installed).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(tf1_bundle safetensors manifest model_macro scoped_macro)
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is missing: cargo install cargo-fuzz" >&2
  exit 1
fi
cargo=(cargo)
sanitizer=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  cargo=(cargo +nightly)
else
  # Stable compiles libFuzzer's flags when told it may; without AddressSanitizer,
  # whose runtime may be missing (panics, aborts, hangs and oversized allocations are still caught).
  export RUSTC_BOOTSTRAP=1
  sanitizer=(--sanitizer none)
fi
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  # -malloc_limit_mb: an allocation a file only claims to need is a crash.
  # -timeout=60: on a loaded machine a single input stalled for over 10 s
  # (and replayed in 0.1 s); a real hang still fails.
  log=$(mktemp)
  status=0
  # ${FUZZ_BUILD:-…}: e.g. FUZZ_BUILD=--release for a build without debug assertions.
  # shellcheck disable=SC2086
  "${cargo[@]}" fuzz run ${FUZZ_BUILD:---release --debug-assertions} "${sanitizer[@]}" "$target" "fuzz/corpus/$target" \
    "fuzz/seeds/$target" -- -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb|SUMMARY)|panicked|ERROR|Test unit written' "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz $target: failed (input in fuzz/artifacts/$target)" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
done
