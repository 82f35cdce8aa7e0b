#!/usr/bin/env bash
# The whole flow through the arm64 bootstraps that deploy: builds them
# (infra/build-lambdas.sh, which also prints their zipped sizes against the
# targets), then runs the Lambda-binary flow test (tests/tests/lambda_flow.rs:
# Runtime API emulator, moto, account to issued visa, a stream batch with a
# bad record) with each function under qemu-user, Debian's arm64 emulator.
#   tests/arm64-flow.sh            SKIP_BUILD=1 tests/arm64-flow.sh
# The init times it prints are qemu's, not Graviton's: tests/lambda-figures.sh
# measures init on native (x86_64) release builds of the same code.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v qemu-aarch64 >/dev/null || missing+=(qemu-user)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || missing+=(libc6-arm64-cross)
tests/apt-install.sh "${missing[@]}"

arm="${ARM64_TARGET_DIR:-$HOME/.cache/target-arm64}"
if [[ -z "${SKIP_BUILD:-}" ]]; then
  CARGO_TARGET_DIR="$arm" infra/build-lambdas.sh
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}"
bins="$(mktemp -d)"
trap 'rm -rf "$bins"' EXIT
for f in register confirm-invitation pay-webhook render-visa; do
  boot="$arm/lambda/$f/bootstrap"
  [[ -f $boot ]] || { echo "no $boot: run without SKIP_BUILD" >&2; exit 1; }
  printf '#!/bin/sh\nexec %s -L /usr/aarch64-linux-gnu %s "$@"\n' \
    "$(command -v qemu-aarch64)" "$boot" > "$bins/$f"
  chmod +x "$bins/$f"
done
# The yardstick stays native: only the flow matters here.
cargo build --workspace --all-features --bin hello-lambda
ln -s "$CARGO_TARGET_DIR/debug/hello-lambda" "$bins/hello-lambda"
LAMBDA_BIN_DIR="$bins" cargo test --workspace --all-features --test lambda_flow -- --nocapture
echo "(init times above are under qemu's emulation; see tests/lambda-figures.sh)"
