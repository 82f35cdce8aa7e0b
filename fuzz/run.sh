#!/usr/bin/env bash
# Short fuzzing run of every cargo-fuzz target (libFuzzer), for CI:
#   fuzz/run.sh [seconds per target, default 30]
# Needs the nightly toolchain (without it, it fails: a fuzzing step that
# cannot run is not a pass; `fuzz/run.sh 0` is the explicit opt-out) and cargo-fuzz,
# which it installs from crates.io when missing. A crash fails the run and leaves its input in
# fuzz/artifacts/<target>/ (replay: cargo +nightly fuzz run <target> <file>).
# The corpus grows in fuzz/corpus/<target>/ (git-ignored) across runs.
set -uo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-30}"
if [[ "$SECONDS_PER_TARGET" == 0 ]]; then
  echo "fuzz: not run (0 seconds asked for)"
  exit 0
fi
# Its own target dir: nightly and sanitizer flags share nothing with the rest.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/fuzz-target}"

if ! command -v rustup >/dev/null || ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: FAILED - no nightly toolchain (rustup toolchain install nightly); FUZZ_SECONDS=0 opts out"
  exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "== cargo install cargo-fuzz (crates.io)"
  cargo install --locked cargo-fuzz || exit 1
fi

targets=(webhook_signature webhook_event mrz request_validation routes vds)
echo "== cargo +nightly fuzz build"
cargo +nightly fuzz build || exit 1
status=0
for t in "${targets[@]}"; do
  echo "== $t (${SECONDS_PER_TARGET} s)"
  mkdir -p "corpus/$t" "artifacts/$t"
  # Committed seeds (fuzz/seeds/<target>/: a standard's worked example)
  # start the run where random bytes would take long to reach.
  seeds=()
  [[ -d "seeds/$t" ]] && seeds=("seeds/$t")
  log=$(mktemp)
  cargo +nightly fuzz run "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  # libFuzzer's last status line and final stats: executions and coverage.
  grep -E '^#[0-9]+.*(DONE|cov:)' "$log" | tail -1
  grep -E '^stat::(number_of_executed_units|peak_rss_mb)' "$log"
  if ((rc != 0)); then
    echo "fuzz: $t FAILED (exit $rc)"
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -10
    status=1
  fi
  rm -f "$log"
done
((status == 0)) && echo "fuzz: every target ran ${SECONDS_PER_TARGET} s without a crash"
exit "$status"
