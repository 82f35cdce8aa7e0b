#!/usr/bin/env bash
# Every test of the portal, on a fresh machine: installs what the tests
# need (Debian: poppler-utils, zbar-tools, dmtx-utils, openssl, chromium, curl, jq; PyPI: moto[server],
# cfn-lint, openapi-spec-validator, pytest, schemathesis; npm: the browser
# test packages from their lock file; crates.io: cargo-machete, and
# cargo-fuzz for the nightly toolchain the fuzzing step needs), then runs,
# in order: fmt; cargo machete; one build of every target; clippy; the
# Rust workspace's tests (unit, store contract on SQLite and on
# DynamoDB/S3 in moto, cloud adapters, whole flows through the real
# visa-local binary, security, QR read-back); the four Lambda binaries
# under a Runtime API emulator (prints init and DynamoDB figures); the
# infrastructure checks; the peak-capacity model against its simulation;
# schemathesis against infra/openapi.yaml; the load,
# fault-injection and kill -9 runs at CI size; a short fuzzing run; the
# browser tests in Debian's Chromium; the site's slow-link figures. About 25-30 minutes from cold on 2
# cores (measured: PERFORMANCE.md), about 6 with a warm target dir.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

step "system packages"
missing=()
command -v pdftotext >/dev/null || missing+=(poppler-utils)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
command -v dmtxread >/dev/null || missing+=(dmtx-utils)
# The seal's certificates and signature are checked with openssl's own code.
command -v openssl >/dev/null || missing+=(openssl)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# tests/smoke.sh (run by tests/infra against visa-local) speaks HTTP with curl and JSON with jq.
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
tests/apt-install.sh "${missing[@]}"

step "python packages"
py_missing=()
command -v moto_server >/dev/null || py_missing+=("moto[server]")
python3 -c 'import pytest' 2>/dev/null || py_missing+=(pytest)
if ((${#py_missing[@]})); then
  python3 -m pip install --quiet --disable-pip-version-check "${py_missing[@]}"
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo machete (no unused dependencies)"
command -v cargo-machete >/dev/null || cargo install --locked cargo-machete
cargo machete

# One build of everything (tests, binaries, the Lambda entry points) in
# the one dev profile; every later step reuses it. Always the same package
# and feature selection, so cargo's feature unification never rebuilds.
ALL=(--workspace --all-features)

step "cargo build (workspace, every target)"
cargo build "${ALL[@]}" --all-targets

step "cargo clippy"
cargo clippy "${ALL[@]}" --all-targets -- -D warnings

step "cargo test (workspace)"
# The Lambda-binary flow runs next, on its own, so its figures print.
cargo test "${ALL[@]}" -- --skip through_the_lambda_binaries

step "Lambda binaries under the Runtime API emulator (figures)"
# One test at a time: the cold-start figures want a quiet machine.
cargo test "${ALL[@]}" --test lambda_flow -- --nocapture --test-threads=1

export VISA_LOCAL_BIN="$CARGO_TARGET_DIR/debug/visa-local"

step "infrastructure checks"
bash tests/infra/run.sh

step "peak capacity: the model against the simulation (figures: PERFORMANCE.md)"
python3 tests/sim/pipeline.py --check
python3 -m pytest -p no:cacheprovider -q tests/sim

step "schemathesis against infra/openapi.yaml"
bash tests/infra/schemathesis.sh

step "load, faults and crash (CI size)"
bash tests/load/ci.sh

step "fuzzing (short)"
bash fuzz/run.sh "${FUZZ_SECONDS:-15}"

step "browser tests"
bash tests/browser/run.sh

step "the site on a slow link (figures: PERFORMANCE.md)"
node tests/browser/slow-link.js
