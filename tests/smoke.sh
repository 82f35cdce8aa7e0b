#!/usr/bin/env bash
# Post-deploy smoke test of the e-visa portal: one applicant through the
# whole flow against a running stack, then the officer routes probed for an
# authorisation bypass. Prints one line per step, `PASS <step>` or
# `FAIL <step>: <why>`, and exits non-zero if any step failed. Run with
# --help for the settings. Needs bash, curl, jq and python3 (for the
# webhook's HMAC only); in the cloud also the AWS CLI when credentials or the
# webhook secret are to be read from it.
set -uo pipefail

usage() {
  cat <<'EOF'
Usage: tests/smoke.sh <base-url>

Post-deploy smoke test. <base-url> is where the site and /api are served:
the SiteUrl output in the cloud (https://<CloudFront domain or DomainName>),
http://127.0.0.1:8080 for visa-local. It registers a fresh applicant, signs
in, has an officer create an invitation, applies, confirms, pays by
delivering a signed checkout.session.completed event to the payment
webhook, waits for the visa, downloads its PDF, verifies it as border
control would, reads the JWKS, checks that the officer routes refuse
callers without valid officer credentials, and signs out.

Output: one line per step, "PASS <step>" or "FAIL <step>: <why>"; a step
that needs what a failed one would have produced fails saying so. Exit
status 0 only if every step passed; 2 for a usage or configuration error.

Officer credentials (one of):
  VISA_ADMIN_TOKEN       visa-local: the admin token (printed at start, kept in
                         <data dir>/admin-token); sent as "Authorization: Bearer"
                         to <base-url>/api/admin/...
  ADMIN_API_URL          the cloud: the HTTP API's own endpoint (the stack's
                         ApiEndpoint output, https://<id>.execute-api.<region>
                         .amazonaws.com); officer calls go there SigV4-signed
                         for execute-api with AWS_ACCESS_KEY_ID,
                         AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (if set).
                         Without those variables, the AWS CLI's current
                         credentials are used (aws configure export-credentials).
  AWS_REGION             region of the SigV4 signature (else AWS_DEFAULT_REGION,
                         else taken from ADMIN_API_URL's host name)

Payment webhook signing secret (one of):
  STRIPE_WEBHOOK_SECRET  the secret itself (visa-local: PAYMENT_WEBHOOK_SECRET or
                         <data dir>/webhook-secret)
  WEBHOOK_SECRET_ID      the cloud: id or ARN of the Secrets Manager secret (the
                         stack's WebhookSecretArn output), read with
                         aws secretsmanager get-secret-value; a value holding
                         several secrets (rotation) is signed with the first

Optional:
  SMOKE_EMAIL_DOMAIN     domain of the applicant's address smoke+<random>@<domain>
                         (default example.com). In the cloud the issued visa is
                         emailed there: use a domain you receive mail on, e.g.
                         the SES identity's domain (a verified domain identity
                         also lets the SES sandbox deliver). A failed email does
                         not stop issuing.
  SMOKE_TIMEOUT          seconds to wait for the visa to be issued (default 60)
  SMOKE_HTTP_TIMEOUT     seconds allowed per HTTP request (default 30)

Examples:
  STRIPE_WEBHOOK_SECRET=$(cat .visa-local/webhook-secret) \
  VISA_ADMIN_TOKEN=$(cat .visa-local/admin-token) tests/smoke.sh http://127.0.0.1:8080

  ADMIN_API_URL=$(out ApiEndpoint) WEBHOOK_SECRET_ID=$(out WebhookSecretArn) \
  SMOKE_EMAIL_DOMAIN=evisa.example.kz tests/smoke.sh "$(out SiteUrl)"
EOF
}

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "" | -*) usage >&2; exit 2 ;;
esac
if (($# != 1)); then usage >&2; exit 2; fi

BASE=${1%/}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-60}
HTTP_TIMEOUT=${SMOKE_HTTP_TIMEOUT:-30}
EMAIL_DOMAIN=${SMOKE_EMAIL_DOMAIN:-example.com}

config_error() { echo "smoke.sh: $*" >&2; exit 2; }
for tool in curl jq python3; do
  command -v "$tool" >/dev/null || config_error "$tool is required"
done

# Private scratch space: bodies, the curl config holding credentials.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/visa-smoke.XXXXXX") || exit 2
chmod 700 "$TMP"
trap 'rm -rf "$TMP"' EXIT

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
RUN=$(random_hex 6)

# ---------------------------------------------------------------- credentials

# Credentials go to curl through a config file (-K), not the command line,
# so they never show in the process list. Values are quoted for curl.
curl_quote() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }

OFFICER_CFG=$TMP/officer.curlrc
: >"$OFFICER_CFG"
if [ -n "${VISA_ADMIN_TOKEN:-}" ]; then
  OFFICER_MODE="admin token"
  ADMIN_ORIGIN=$BASE
  printf 'header = %s\n' "$(curl_quote "Authorization: Bearer $VISA_ADMIN_TOKEN")" >>"$OFFICER_CFG"
elif [ -n "${ADMIN_API_URL:-}" ]; then
  OFFICER_MODE="SigV4"
  # Accept the endpoint with or without a trailing /api or /api/admin.
  ADMIN_ORIGIN=${ADMIN_API_URL%/}
  ADMIN_ORIGIN=${ADMIN_ORIGIN%/api/admin}
  ADMIN_ORIGIN=${ADMIN_ORIGIN%/api}
  REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  if [ -z "$REGION" ]; then
    # https://<id>.execute-api.<region>.amazonaws.com
    REGION=$(printf '%s' "$ADMIN_ORIGIN" | sed -n 's#^https://[^.]*\.execute-api\.\([a-z0-9-]*\)\.amazonaws\.com.*#\1#p')
  fi
  [ -n "$REGION" ] || config_error "set AWS_REGION (the admin API's region)"
  if [ -z "${AWS_ACCESS_KEY_ID:-}" ] && command -v aws >/dev/null; then
    # A profile, SSO or instance role: have the CLI hand over its keys.
    creds=$(aws configure export-credentials --format env 2>/dev/null) && eval "$creds"
  fi
  [ -n "${AWS_ACCESS_KEY_ID:-}" ] && [ -n "${AWS_SECRET_ACCESS_KEY:-}" ] ||
    config_error "ADMIN_API_URL needs AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
  {
    printf 'aws-sigv4 = %s\n' "$(curl_quote "aws:amz:$REGION:execute-api")"
    printf 'user = %s\n' "$(curl_quote "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")"
    if [ -n "${AWS_SESSION_TOKEN:-}" ]; then
      printf 'header = %s\n' "$(curl_quote "x-amz-security-token: $AWS_SESSION_TOKEN")"
    fi
  } >>"$OFFICER_CFG"
else
  config_error "no officer credentials: set VISA_ADMIN_TOKEN (visa-local) or ADMIN_API_URL (cloud); see --help"
fi

WEBHOOK_SECRET=""
WEBHOOK_SECRET_ERROR=""
if [ -n "${STRIPE_WEBHOOK_SECRET:-}" ]; then
  WEBHOOK_SECRET=$STRIPE_WEBHOOK_SECRET
elif [ -n "${WEBHOOK_SECRET_ID:-}" ]; then
  command -v aws >/dev/null || config_error "WEBHOOK_SECRET_ID needs the AWS CLI"
  # The secret's region: the ARN's own, else AWS_REGION (which AWS CLI v1
  # ignores), else whatever the CLI is configured with.
  case "$WEBHOOK_SECRET_ID" in
    arn:*) sm_region=$(printf '%s' "$WEBHOOK_SECRET_ID" | cut -d: -f4) ;;
    *) sm_region=${AWS_REGION:-} ;;
  esac
  if raw=$(aws secretsmanager get-secret-value ${sm_region:+--region "$sm_region"} --secret-id "$WEBHOOK_SECRET_ID" \
    --query SecretString --output text 2>"$TMP/aws-err"); then
    # Stored raw, not JSON (infra/README.md); during a rotation it holds
    # several secrets separated by commas or whitespace, and the function
    # accepts any of them.
    read -r WEBHOOK_SECRET _ <<<"$(printf '%s' "$raw" | tr ',\r\n\t' '    ')"
    [ -n "$WEBHOOK_SECRET" ] || WEBHOOK_SECRET_ERROR="secret $WEBHOOK_SECRET_ID is empty"
  else
    WEBHOOK_SECRET_ERROR="cannot read $WEBHOOK_SECRET_ID: $(tr '\n' ' ' <"$TMP/aws-err" | cut -c1-300)"
  fi
else
  config_error "no webhook secret: set STRIPE_WEBHOOK_SECRET or WEBHOOK_SECRET_ID; see --help"
fi
echo "smoke.sh: $BASE, officer by $OFFICER_MODE at $ADMIN_ORIGIN, run $RUN" >&2

# ---------------------------------------------------------------- helpers

BODY=$TMP/body
STATUS=000
CTYPE=""

# req METHOD URL [curl options...]: STATUS and CTYPE of the answer, its body
# in $BODY; STATUS 000 when no HTTP answer came (refused, timed out...).
# Redirects are not followed: a redirect where a page or JSON is due fails.
req() {
  local method=$1 url=$2 out
  shift 2
  : >"$BODY"
  out=$(curl -sS -o "$BODY" -w '%{http_code} %{content_type}' --max-time "$HTTP_TIMEOUT" \
    -X "$method" "$@" "$url" 2>"$TMP/curl-err" </dev/null)
  STATUS=${out%% *}
  CTYPE=${out#* }
  [ -n "$STATUS" ] || STATUS=000
}

# What came back, for a FAIL line: status and the start of the body.
answer() {
  if [ "$STATUS" = 000 ]; then
    printf 'no answer (%s)' "$(tr '\n' ' ' <"$TMP/curl-err" | sed 's/ *$//' | cut -c1-200)"
  else
    printf '%s %s' "$STATUS" "$(head -c 300 "$BODY" | tr '\r\n' '  ')"
  fi
}

# expect CODE WHAT: the last answer has status CODE, else WHY says so.
expect() {
  [ "$STATUS" = "$1" ] && return 0
  WHY="$2: expected $1, got $(answer)"
  return 1
}

# jget FILTER: a value of the last JSON body ("" if absent or not JSON).
jget() { jq -r "$1 // empty" "$BODY" 2>/dev/null; }

post_json() { # post_json URL JSON [curl options...]
  local url=$1 json=$2
  shift 2
  printf '%s' "$json" >"$TMP/request.json"
  req POST "$url" -H 'Content-Type: application/json' --data-binary @"$TMP/request.json" "$@"
}

# applicant: the path of a curl config sending the applicant's session token.
applicant() {
  printf 'header = %s\n' "$(curl_quote "Authorization: Bearer $TOKEN")" >"$TMP/applicant.curlrc"
  echo "$TMP/applicant.curlrc"
}

# Kazakhstan's date (UTC+5): the portal's "today" for invitations and visas.
kz_date() { jq -nr --argjson days "$1" '(now + 5*3600 + $days*86400) | strftime("%Y-%m-%d")'; }

FAILED=0
# step NAME FUNCTION: runs the step's function, which on failure returns
# non-zero with WHY set, and prints its verdict.
step() {
  WHY=""
  if "$2"; then
    echo "PASS $1"
  else
    echo "FAIL $1: ${WHY:-failed}"
    FAILED=$((FAILED + 1))
  fi
}

# need VAR STEP: what an earlier step should have produced; without it the
# step fails naming that step instead of running.
need() {
  [ -n "${!1:-}" ] && return 0
  WHY="not run: step $2 failed"
  return 1
}

# ---------------------------------------------------------------- the applicant

EMAIL="smoke+$RUN@$EMAIL_DOMAIN"
PASSWORD="smoke-$(random_hex 12)"
# Passport and invitee: a made-up holder whose passport number is unique per run.
PASSPORT_NUMBER="SM$(random_hex 4 | tr a-f A-F)"
TOKEN="" INVITATION="" APP_ID="" CHECKOUT_ID="" FEE_MINOR="" FEE_CURRENCY=""
PAID="" ISSUED="" VISA_NUMBER=""

site() {
  req GET "$BASE/"
  expect 200 "GET /" || return 1
  case "$CTYPE" in text/html*) ;; *) WHY="GET /: content type '$CTYPE', not text/html"; return 1 ;; esac
  grep -qi '<html' "$BODY" || { WHY="GET /: no <html> in the page"; return 1; }
}

health() {
  req GET "$BASE/api/health"
  expect 200 "GET /api/health" || return 1
  [ "$(jget .status)" = ok ] || { WHY="GET /api/health: $(answer)"; return 1; }
}

register() {
  post_json "$BASE/api/accounts" "$(jq -cn --arg e "$EMAIL" --arg p "$PASSWORD" '{email:$e, password:$p}')"
  expect 201 "POST /api/accounts ($EMAIL)" || return 1
  [ -n "$(jget .account_id)" ] || { WHY="POST /api/accounts: no account_id in $(answer)"; return 1; }
}

sign_in() {
  post_json "$BASE/api/sessions" "$(jq -cn --arg e "$EMAIL" --arg p "$PASSWORD" '{email:$e, password:$p}')"
  expect 201 "POST /api/sessions" || return 1
  TOKEN=$(jget .token)
  [ -n "$TOKEN" ] || { WHY="POST /api/sessions: no token in $(answer)"; return 1; }
}

# The stay is today and tomorrow (Kazakhstan's date): in force at once, so
# verification says valid, and over by the day after, so the visa a smoke
# run leaves behind soon stops verifying.
FROM=$(kz_date 0)
UNTIL=$(kz_date 1)

invitation() {
  local body
  body=$(jq -cn --arg pn "$PASSPORT_NUMBER" --arg from "$FROM" --arg until "$UNTIL" '{
    category: "tourist",
    inviter: {name: "Smoke Test Host", bin: "123456789012"},
    invitee: {surname: "SMOKE", given_names: "TEST RUN", nationality: "IND",
              date_of_birth: "1990-04-12", passport_number: $pn},
    valid_from: $from, valid_until: $until}')
  post_json "$ADMIN_ORIGIN/api/admin/invitations" "$body" -K "$OFFICER_CFG"
  expect 201 "POST /api/admin/invitations ($OFFICER_MODE)" || return 1
  INVITATION=$(jget .number)
  [ -n "$INVITATION" ] || { WHY="POST /api/admin/invitations: no number in $(answer)"; return 1; }
}

application() {
  need TOKEN sign-in && need INVITATION invitation || return 1
  local body
  body=$(jq -cn --arg inv "$INVITATION" --arg pn "$PASSPORT_NUMBER" '{
    invitation_number: $inv,
    passport: {number: $pn, surname: "SMOKE", given_names: "TEST RUN", nationality: "IND",
               sex: "F", date_of_birth: "1990-04-12", issuing_state: "IND",
               expiry_date: "2035-01-31"},
    declarations: {two_blank_pages: true, passport_undamaged: true}}')
  post_json "$BASE/api/applications" "$body" -K "$(applicant)"
  expect 201 "POST /api/applications" || return 1
  APP_ID=$(jget .id)
  [ -n "$APP_ID" ] && [ "$(jget .status)" = invitation_confirmed ] ||
    { APP_ID=""; WHY="POST /api/applications: not an invitation_confirmed application: $(answer)"; return 1; }
}

confirmation() {
  need APP_ID application || return 1
  post_json "$BASE/api/applications/$APP_ID/confirmation" '{"details_match_passport":true}' -K "$(applicant)"
  expect 200 "POST /api/applications/$APP_ID/confirmation" || return 1
  local status url
  status=$(jget .status)
  url=$(jget .payment.checkout_url)
  CHECKOUT_ID=$(jget .payment.checkout_session_id)
  FEE_MINOR=$(jget .fee.amount_minor)
  FEE_CURRENCY=$(jget .fee.currency)
  if [ "$status" != awaiting_payment ]; then
    WHY="status '$status', expected awaiting_payment"
  elif [ -z "$CHECKOUT_ID" ]; then
    WHY="no payment.checkout_session_id: $(answer)"
  else
    case "$url" in
      https://* | http://*) return 0 ;;
      *) WHY="payment.checkout_url '$url' is not a URL" ;;
    esac
  fi
  CHECKOUT_ID=""
  return 1
}

# The event Stripe sends when the checkout is paid (the fields pay-webhook
# reads: functions/pay-webhook/src/event.rs), signed as Stripe signs:
# Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">.
payment_webhook() {
  need CHECKOUT_ID confirmation || return 1
  if [ -z "$WEBHOOK_SECRET" ]; then WHY=$WEBHOOK_SECRET_ERROR; return 1; fi
  local t sig
  t=$(date +%s)
  jq -cnj --arg id "evt_smoke_$RUN" --argjson created "$t" --arg cs "$CHECKOUT_ID" \
    --arg app "$APP_ID" --argjson amount "$FEE_MINOR" --arg currency "$FEE_CURRENCY" '{
      id: $id, object: "event", created: $created, livemode: false,
      type: "checkout.session.completed",
      data: {object: {id: $cs, object: "checkout.session", client_reference_id: $app,
                      amount_total: $amount, currency: ($currency | ascii_downcase),
                      payment_status: "paid", status: "complete", mode: "payment"}}}' \
    >"$TMP/event.json"
  # python3 only for the HMAC (no HMAC in bash, curl or jq); the secret goes
  # through the environment, not the command line.
  sig=$(SMOKE_SECRET=$WEBHOOK_SECRET python3 -c '
import hashlib, hmac, os, sys
body = open(sys.argv[2], "rb").read()
print(hmac.new(os.environ["SMOKE_SECRET"].encode(), sys.argv[1].encode() + b"." + body, hashlib.sha256).hexdigest())
' "$t" "$TMP/event.json") || { WHY="computing the signature failed"; return 1; }
  req POST "$BASE/api/webhooks/payment" -H 'Content-Type: application/json' \
    -H "Stripe-Signature: t=$t,v1=$sig" --data-binary @"$TMP/event.json"
  expect 200 "POST /api/webhooks/payment" || return 1
  [ "$(jget .received)" = true ] || { WHY="POST /api/webhooks/payment: $(answer)"; return 1; }
  PAID=1
}

issued() {
  need PAID payment-webhook || return 1
  local deadline status=""
  deadline=$(($(date +%s) + SMOKE_TIMEOUT))
  while :; do
    req GET "$BASE/api/applications/$APP_ID" -K "$(applicant)"
    expect 200 "GET /api/applications/$APP_ID" || return 1
    status=$(jget .status)
    if [ "$status" = issued ]; then ISSUED=1; return 0; fi
    if (($(date +%s) >= deadline)); then
      WHY="still '$status' after ${SMOKE_TIMEOUT} s"
      return 1
    fi
    sleep 2
  done
}

download() {
  need ISSUED issued || return 1
  req GET "$BASE/api/applications/$APP_ID/visa" -K "$(applicant)"
  expect 200 "GET /api/applications/$APP_ID/visa" || return 1
  local number url
  number=$(jget .visa_number)
  url=$(jget .url)
  [ -n "$number" ] && [ -n "$url" ] || { WHY="no visa_number or url: $(answer)"; return 1; }
  case "$url" in /*) url=$BASE$url ;; esac
  # The link is a bearer URL (presigned S3 in the cloud): no Authorization.
  req GET "$url"
  expect 200 "GET the visa's download link" || return 1
  [ "$(head -c 4 "$BODY")" = "%PDF" ] || { WHY="the download is not a PDF: $(answer)"; return 1; }
  VISA_NUMBER=$number
}

verification() {
  need VISA_NUMBER download || return 1
  req GET "$BASE/api/visas/$VISA_NUMBER/verification?passport_number=$PASSPORT_NUMBER"
  expect 200 "GET /api/visas/$VISA_NUMBER/verification" || return 1
  local valid number
  valid=$(jq -r '.valid' "$BODY" 2>/dev/null)
  number=$(jget .visa.number)
  [ "$valid" = true ] && [ "$number" = "$VISA_NUMBER" ] ||
    { WHY="expected valid true for visa $VISA_NUMBER: $(answer)"; return 1; }
  # The visa is valid only with its own passport.
  req GET "$BASE/api/visas/$VISA_NUMBER/verification?passport_number=XX0000000"
  expect 404 "verification with another passport number" || return 1
}

jwks() {
  req GET "$BASE/api/.well-known/jwks.json"
  expect 200 "GET /api/.well-known/jwks.json" || return 1
  local n
  n=$(jq '[.keys[]? | select(.kty == "EC" and .crv == "P-256" and (.x | type) == "string" and (.y | type) == "string")] | length' "$BODY" 2>/dev/null)
  [ "${n:-0}" -ge 1 ] || { WHY="no EC P-256 key: $(answer)"; return 1; }
}

# ---------------------------------------------------------------- officer routes

# Each officer route, at the site's origin and at the admin endpoint, must
# refuse a caller without valid officer credentials with 401 or 403; a 2xx
# means the caller got through. The bodies would be refused anyway (an empty
# invitation, an invitation number nobody holds), so a route that does let
# a caller through writes nothing, and still fails here: its answer is then
# 422 or 404, not 401 or 403. Near-miss paths (trailing slash, an encoded
# letter) must not reach an officer handler either: 404 is fine for them.
ADMIN_ORIGINS="$BASE"
[ "$ADMIN_ORIGIN" = "$BASE" ] || ADMIN_ORIGINS="$BASE $ADMIN_ORIGIN"

# admin_refused [curl options...]: the options carry the (bad) credentials.
admin_refused() {
  local origin method path allowed problems=""
  for origin in $ADMIN_ORIGINS; do
    while read -r method path allowed; do
      if [ "$method" = POST ]; then
        req POST "$origin$path" -H 'Content-Type: application/json' --data-binary '{}' "$@"
      else
        req "$method" "$origin$path" "$@"
      fi
      case " $allowed " in
        *" $STATUS "*) ;;
        *) problems="$problems; $method $origin$path: $(answer) (expected ${allowed// / or })" ;;
      esac
    done <<'ROUTES'
POST /api/admin/invitations 401 403
DELETE /api/admin/invitations/250000000000 401 403
POST /api/admin/invitations/ 401 403 404
POST /api/admin/invitation%73 401 403 404
ROUTES
  done
  [ -z "$problems" ] && return 0
  WHY=${problems#; }
  return 1
}

admin_no_credentials() { admin_refused; }

admin_bogus_bearer() { admin_refused -H "Authorization: Bearer adm_$(random_hex 16)"; }

# A well-formed SigV4 header with a made-up key (AWS's documentation
# example id) and signature.
admin_bogus_sigv4() {
  local amzdate region=${REGION:-eu-central-1}
  amzdate=$(date -u +%Y%m%dT%H%M%SZ)
  admin_refused -H "X-Amz-Date: $amzdate" -H "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/${amzdate%%T*}/$region/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=$(random_hex 32)"
}

admin_applicant_token() {
  need TOKEN sign-in || return 1
  admin_refused -K "$(applicant)"
}

sign_out() {
  need TOKEN sign-in || return 1
  req DELETE "$BASE/api/sessions/current" -K "$(applicant)"
  expect 204 "DELETE /api/sessions/current" || return 1
  req GET "$BASE/api/applications" -K "$(applicant)"
  expect 401 "the token after sign-out" || return 1
}

step site site
step health health
step register register
step sign-in sign_in
step invitation invitation
step application application
step confirmation confirmation
step payment-webhook payment_webhook
step issued issued
step download download
step verification verification
step jwks jwks
step admin-no-credentials admin_no_credentials
step admin-bogus-bearer admin_bogus_bearer
step admin-bogus-sigv4 admin_bogus_sigv4
step admin-applicant-token admin_applicant_token
step sign-out sign_out

if ((FAILED)); then
  echo "smoke.sh: $FAILED step(s) failed" >&2
  exit 1
fi
echo "smoke.sh: every step passed" >&2
