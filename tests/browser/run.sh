#!/usr/bin/env bash
# Browser tests of the applicant site: installs what they need (Debian's
# Chromium; poppler, zbar and libdmtx to read the visa's QR code and seal; the npm packages
# from the lock file) and runs them with node's test runner against the
# local gateway binary (${CARGO_TARGET_DIR:-~/.cache/visa-target}/debug/visa-local,
# or VISA_LOCAL_BIN). Screenshots land in target/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pdftoppm >/dev/null || missing+=(poppler-utils)
command -v zbarimg >/dev/null || missing+=(zbar-tools)
# The digital seal, read from the printed visa (verify-offline.test.js).
command -v dmtxread >/dev/null || missing+=(dmtx-utils)
../apt-install.sh "${missing[@]}"

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

bin="${VISA_LOCAL_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}/debug/visa-local}"
if [ -z "${VISA_BASE_URL:-}" ] && [ ! -x "$bin" ]; then
  echo "visa-local not found at $bin: build it first (cargo build -p visa-local)" >&2
  exit 1
fi

# One file at a time: each starts its own gateway and browser, and the
# machine has two cores.
exec node --test --test-concurrency=1 "$@" static.test.js unit.test.js verify.test.js journey.test.js password-reset.test.js email-verification.test.js retrieve.test.js checkout-expiry.test.js account-deletion.test.js visa-life.test.js officer.test.js verify-offline.test.js invitation-link.test.js host.test.js arrivals.test.js mrz.test.js groups.test.js no-script.test.js
