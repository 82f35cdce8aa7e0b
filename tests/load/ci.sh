#!/usr/bin/env bash
# The load, fault and crash runs at CI size (a few minutes on 2 cores):
# 100 applicants at concurrency 8; the same with 10% injected store and
# blob faults; and with visa-local killed (SIGKILL) twice mid-run and
# restarted on the same data dir. Each ends with the consistency audit
# and exits non-zero if a flow failed, a 5xx lacked problem+json, or the
# audit is not clean. Speed figures are printed, not enforced.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}"
# The same selection as tests/run.sh, so nothing is rebuilt.
cargo build -q --workspace --all-features --bins
load="$CARGO_TARGET_DIR/debug/visa-load"
"$load" -n 100 -c 8 --label ci
"$load" -n 100 -c 8 --faults 0.1 --label ci-faults10
"$load" -n 100 -c 8 --crash-after 30 --crashes 2 --label ci-crash
