#!/usr/bin/env bash
# Schemathesis against infra/openapi.yaml on a running visa-local, every
# check on: starts the real binary on a free port with its own data dir,
# sets up an applicant with an issued visa (session token, admin token,
# application id, visa number for the id routes), signs webhook deliveries
# with the gateway's secret (schemathesis_hooks.py), and fails unless
# schemathesis reports nothing, at least 1000 requests were sent, no
# response was a 5xx and the gateway logged no panic.
#
#   tests/infra/schemathesis.sh [extra schemathesis run args]
# Environment: VISA_LOCAL_BIN (default $CARGO_TARGET_DIR/debug/visa-local,
# CARGO_TARGET_DIR defaulting to ~/.cache/visa-target), SCHEMATHESIS_MAX_EXAMPLES
# (100 per operation), SCHEMATHESIS_SEED, SCHEMATHESIS_MIN_REQUESTS (1000).
set -uo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-python3}"

if ! "$PY" -c 'import schemathesis' 2>/dev/null; then
  echo "== pip install schemathesis"
  "$PY" -m pip install --quiet --disable-pip-version-check schemathesis || exit 1
fi
if [[ -z ${VISA_LOCAL_BIN:-} ]]; then
  bin="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}/debug/visa-local"
  if [[ ! -x $bin ]]; then
    echo "== cargo build -p visa-local"
    CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}" cargo build -q -p visa-local || exit 1
  fi
fi
exec "$PY" tests/infra/schemathesis_run.py "$@"
