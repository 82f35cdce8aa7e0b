#!/usr/bin/env bash
# Render benchmark: warm render time (target: median <= 5 ms) and RSS after
# the 1st, 100th and last render (target: last within 10% of the 100th).
# Usage: functions/pdf/bench.sh [N=10000] [--release]
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-10000}"
profile_flag=""; profile_dir="debug"
if [[ "${2:-}" == "--release" ]]; then profile_flag="--release"; profile_dir="release"; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}"
# The same selection as tests/run.sh, so nothing is rebuilt.
cargo build -q --workspace --all-features --bin visa-pdf $profile_flag
bin="$CARGO_TARGET_DIR/$profile_dir/visa-pdf"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
echo "visa-pdf render --repeat $n ($profile_dir build)"
"$bin" render --data functions/pdf/examples/visa.json --out "$out/visa.pdf" --repeat "$n" | tee "$out/log"
rss() { grep "RSS after render *$1:" "$out/log" | awk '{print $(NF-1)}'; }
if [[ "$n" -ge 100 ]]; then
  awk -v a="$(rss 100)" -v b="$(rss "$n")" \
    'BEGIN { printf "RSS growth 100 -> last: %+.1f%% (target within 10%%)\n", (b - a) * 100 / a }'
fi
printf "binary size: %s bytes; deflated (gzip -6, about a Lambda zip): %s bytes\n" \
  "$(stat -c %s "$bin")" "$(gzip -6 -c "$bin" | wc -c)"
