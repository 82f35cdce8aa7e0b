#!/usr/bin/env bash
# The Lambda figures on the binaries that ship: builds the four functions
# and the hello-world yardstick with the release profile (LTO, one codegen
# unit, stripped; x86_64 here, the same code as the arm64 build of
# infra/build-lambdas.sh), then runs the Lambda-binary flow test on them
# under the Runtime API emulator with moto, printing init times (total,
# time in AWS calls, own work, ratio to hello-world) and DynamoDB calls
# per issued visa, and the zipped size of each bootstrap.
#   tests/lambda-figures.sh
# The dev-profile binaries in CI carry tens of megabytes of unstripped,
# unoptimised code whose page faults and relocations dominate their init;
# these are
# the figures PERFORMANCE.md quotes.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}"
cargo build --release --workspace --all-features \
  --bin register --bin confirm-invitation --bin pay-webhook --bin render-visa --bin hello-lambda
release="$CARGO_TARGET_DIR/release"
echo "== zipped bootstrap sizes (x86_64 release)"
for f in register confirm-invitation pay-webhook render-visa hello-lambda; do
  python3 - "$release/$f" "$f" <<'PY'
import io, os, sys, zipfile
path, name = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(path, "bootstrap")
print(f"  {name:<20} {os.path.getsize(path) / 2**20:6.1f} MB binary {len(buf.getvalue()) / 2**20:6.1f} MB zipped")
PY
done
LAMBDA_BIN_DIR="$release" cargo test --workspace --all-features --test lambda_flow -- --nocapture
