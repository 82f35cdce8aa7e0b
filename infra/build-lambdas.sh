#!/usr/bin/env bash
# Builds the four Lambda bootstraps for arm64 (provided.al2023) with
# cargo-lambda + zig (both wheels on PyPI, no Docker), then prints each
# bootstrap's size and zipped size against the targets: 6 MB zipped for
# register, confirm-invitation and pay-webhook; 15 MB for render-visa (typst
# and its fonts). Exits non-zero if a build fails or a zip is over target.
#
#   infra/build-lambdas.sh [function...]    default: all four
#
# Slow on a small machine (a cold release LTO build of the AWS SDK is tens
# of minutes on 2 cores): run it under `nice`, e.g.
#   CARGO_TARGET_DIR=~/.cache/target-arm64 nice -n 19 infra/build-lambdas.sh
set -uo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/target-arm64}"
# The release profile aborts on panic (Cargo.toml), so nothing unwinds: no
# unwind tables in our code (PERFORMANCE.md: what they cost render-visa's
# zip; std keeps its own). Target artifacts only: with an explicit --target, which cargo-lambda
# always passes, proc macros and build scripts (which unwind) never see it.
# Setting the variable replaces cargo-lambda's own default for arm64
# (Graviton's CPU), so that is named too.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-cpu=neoverse-n1 -C force-unwind-tables=no"
PY="${PYTHON:-python3}"
TARGET=aarch64-unknown-linux-gnu

# crate:binary, in build order (render-visa last: it is the heaviest).
ALL=(visa-register:register visa-confirm-invitation:confirm-invitation
     visa-pay-webhook:pay-webhook visa-render-visa:render-visa)
if (($#)); then
  chosen=()
  for want in "$@"; do
    for pair in "${ALL[@]}"; do [[ ${pair#*:} == "$want" ]] && chosen+=("$pair"); done
  done
else
  chosen=("${ALL[@]}")
fi

if ! command -v cargo-lambda >/dev/null || ! "$PY" -c 'import ziglang' 2>/dev/null; then
  echo "== pip install cargo-lambda ziglang"
  "$PY" -m pip install --quiet --disable-pip-version-check cargo-lambda ziglang || exit 1
  hash -r
fi
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx "$TARGET"; then
  echo "== rustup target add $TARGET"
  rustup target add "$TARGET" || exit 1
fi
cargo lambda --version

limit_mb() { [[ $1 == render-visa ]] && echo 15 || echo 6; }

status=0
built=()
for pair in "${chosen[@]}"; do
  crate=${pair%%:*} bin=${pair#*:}
  echo "== cargo lambda build --release --arm64 --bin $bin ($(date +%T))"
  start=$SECONDS
  # -p keeps cargo from resolving the other crates' features; the `lambda`
  # feature comes from [package.metadata.lambda.build], named here as well
  # so an older cargo-lambda that ignores the metadata still builds.
  if cargo lambda build --release --arm64 -p "$crate" --bin "$bin" --features "$crate/lambda"; then
    echo "   built in $((SECONDS - start)) s"
    built+=("$bin")
  else
    echo "   FAILED: $bin"
    status=1
  fi
done

echo
printf '%-20s %12s %12s %10s  %s\n' function bootstrap zipped target verdict
for bin in "${built[@]}"; do
  boot="$CARGO_TARGET_DIR/lambda/$bin/bootstrap"
  [[ -f $boot ]] || { echo "$bin: no $boot"; status=1; continue; }
  zip="$CARGO_TARGET_DIR/lambda/$bin/bootstrap.zip"
  limit=$(limit_mb "$bin")
  # The zip Lambda receives: the bootstrap alone at its root, deflated. The
  # ELF header's e_machine must be 0xB7 (aarch64).
  "$PY" - "$bin" "$boot" "$zip" "$limit" <<'EOF' || status=1
import os, sys, zipfile
name, boot, zpath, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(boot, "bootstrap")
with open(boot, "rb") as f:
    head = f.read(20)
arm64 = head[:4] == b"\x7fELF" and int.from_bytes(head[18:20], "little") == 0xB7
size, zsize = os.path.getsize(boot), os.path.getsize(zpath)
ok = arm64 and zsize <= limit * 1_000_000
verdict = "ok" if ok else ("OVER TARGET" if arm64 else "NOT AARCH64")
print(f"{name:<20} {size / 1e6:9.2f} MB {zsize / 1e6:9.2f} MB {limit:7d} MB  {verdict}")
sys.exit(0 if ok else 1)
EOF
done
exit "$status"
