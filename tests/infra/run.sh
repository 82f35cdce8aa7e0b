#!/usr/bin/env bash
# Offline checks of the infrastructure code, for CI and for humans:
#   1. cfn-lint infra/template.yaml and infra/waf.yaml - no error, no warning;
#   2. pytest tests/infra            - OpenAPI validity and contract, the
#      template's policy checks (public buckets, `*` in policies, table
#      PITR/SSE, API routes), and tests/smoke.sh against visa-local.
# Installs pytest, PyYAML, openapi-spec-validator and cfn-lint with pip when
# they are missing. Exits non-zero if anything fails. No AWS account needed.
set -uo pipefail

cd "$(dirname "$0")/../.."
PY="${PYTHON:-python3}"

missing=()
"$PY" -c 'import pytest' 2>/dev/null || missing+=(pytest)
"$PY" -c 'import yaml' 2>/dev/null || missing+=(pyyaml)
"$PY" -c 'import openapi_spec_validator' 2>/dev/null || missing+=(openapi-spec-validator)
"$PY" -c 'import cfnlint' 2>/dev/null || missing+=(cfn-lint)
if ((${#missing[@]})); then
  echo "== pip install ${missing[*]}"
  "$PY" -m pip install --quiet --disable-pip-version-check "${missing[@]}" || exit 1
fi

status=0

# Exit status is a bit mask: 2 = error, 4 = warning (8 = informational, not
# enabled by default). Anything but 0 fails the run.
# Run through $PY so the linter is the one pip installed for it; one run per
# template, so a failure names its template.
for t in infra/template.yaml infra/waf.yaml; do
  echo "== cfn-lint $t"
  "$PY" -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())' \
    -- "$t"
  lint=$?
  if ((lint == 0)); then
    echo "cfn-lint $t: no errors, no warnings"
  else
    echo "cfn-lint $t: FAILED (exit $lint)"
    status=1
  fi
done

echo "== pytest tests/infra"
"$PY" -m pytest -p no:cacheprovider -rfEs tests/infra || status=1

exit "$status"
