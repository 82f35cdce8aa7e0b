#!/usr/bin/env bash
# Peak load against a real deployed stack (issue #24):
#
#   STRIPE_WEBHOOK_SECRET=whsec_... LOAD_MAX_APPLICANTS=3000 \
#   ADMIN_API=https://<api-id>.execute-api.<region>.amazonaws.com AWS_REGION=<region> \
#   tests/load/cloud.sh https://evisa.example.kz 10 5
#
# Paid applicants at <rate> a second for <minutes>: each one applies on an
# approved invitation, confirms (a Stripe Checkout session in TEST mode is
# created by the portal), is paid, and is polled until `issued`. Prints
# issued/s, payment-to-issued p50/p99 and every error an applicant saw.
#
# The payment. Stripe's checkout completes in a browser; a load run cannot
# click through thousands of them. This script therefore does what Stripe
# does after a test-mode payment: it sends `checkout.session.completed` for
# the session the portal created, signed with the endpoint's test-mode
# signing secret (STRIPE_WEBHOOK_SECRET; docs/API.md, "Payment webhook").
# No card is charged and Stripe's own delivery is not measured. It refuses
# any session id that is not a test-mode one (`cs_test_`).
#
# Bounds, all required: <rate> (at most 200 a second), <minutes> (at most
# 60) and LOAD_MAX_APPLICANTS, which must be at least rate x minutes x 60;
# the run stops sending at <minutes> and stops waiting 3 minutes later.
#
# Invitations: INVITATIONS_FILE (one invitation JSON a line, as
# POST /api/admin/invitations answers; its invitee is the applicant), or
# ADMIN_API (the stack's ApiEndpoint output) with AWS credentials allowed
# to call POST /api/admin/invitations (infra/README.md, "Admin routes"):
# the script creates them before the timed part, signing with curl's
# --aws-sigv4. Accounts: LOAD_ACCOUNTS (default 20) are made and signed in
# first, within the sign-up route's throttle, and share the applications.
# Their addresses are SES mailbox-simulator addresses (LOAD_EMAIL_DOMAIN to
# change): unconfirmed, so no visa email is sent; confirm them first to
# load the email queue too.
#
# It needs curl (7.75+ for --aws-sigv4), jq and openssl. It cannot run
# without a deployed stack; infra/README.md, "Peak load", says what to
# raise first.
set -euo pipefail

usage() { echo "usage: $0 <base-url> <rate per second> <minutes>  (see the header)" >&2; exit 2; }
(($# == 3)) || usage
BASE=${1%/}
RATE=$2
MINUTES=$3
[[ $RATE =~ ^[0-9]+$ && $RATE -ge 1 && $RATE -le 200 ]] || { echo "rate: a whole number from 1 to 200" >&2; exit 2; }
[[ $MINUTES =~ ^[0-9]+$ && $MINUTES -ge 1 && $MINUTES -le 60 ]] || { echo "minutes: a whole number from 1 to 60" >&2; exit 2; }
TOTAL=$((RATE * MINUTES * 60))
[[ ${LOAD_MAX_APPLICANTS:-} =~ ^[0-9]+$ ]] || { echo "set LOAD_MAX_APPLICANTS (at least $TOTAL): the run's explicit bound" >&2; exit 2; }
((TOTAL <= LOAD_MAX_APPLICANTS)) || { echo "$RATE/s for $MINUTES min is $TOTAL applicants, over LOAD_MAX_APPLICANTS=$LOAD_MAX_APPLICANTS" >&2; exit 2; }
: "${STRIPE_WEBHOOK_SECRET:?set STRIPE_WEBHOOK_SECRET, the test-mode signing secret of the webhook endpoint}"
if [[ -z ${INVITATIONS_FILE:-} && -z ${ADMIN_API:-} ]]; then
  echo "set INVITATIONS_FILE or ADMIN_API (with AWS credentials) for the invitations" >&2; exit 2
fi
for tool in curl jq openssl; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }; done

ACCOUNTS=${LOAD_ACCOUNTS:-20}
# Stripe's test-mode sessions; visa-local's sandbox makes cs_sandbox_ ones
# (set LOAD_TEST_SESSIONS=cs_sandbox_ to try the script on a laptop).
TEST_SESSIONS=${LOAD_TEST_SESSIONS:-cs_test_}
[[ $TEST_SESSIONS == cs_test_ || $TEST_SESSIONS == cs_sandbox_ ]] || { echo "LOAD_TEST_SESSIONS: cs_test_ or cs_sandbox_" >&2; exit 2; }
DOMAIN=${LOAD_EMAIL_DOMAIN:-simulator.amazonses.com}
RUN=$(date -u +%Y%m%d%H%M%S)-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/visa-cloud-load.XXXXXX")
cleanup() {
  local pids
  pids=$(jobs -rp)
  # shellcheck disable=SC2086 # one pid a word
  [[ -z $pids ]] || kill $pids 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
now_ms() { date +%s%3N; }
echo "run $RUN: $RATE paid applicants/s for $MINUTES min ($TOTAL), against $BASE"

# One call: prints the body, records the status; a 429 or 5xx is an error an
# applicant would have seen, counted by status.
call() { # method path token body
  local body="$WORK/body.$BASHPID" status
  status=$(curl -sS -m 30 -o "$body" -w '%{http_code}' -X "$1" "$BASE$2" \
    -H 'Content-Type: application/json' ${3:+-H "Authorization: Bearer $3"} ${4:+--data "$4"}) || status=000
  if [[ $status == 429 || $status == 5* || $status == 000 ]]; then echo "$1 $2 $status" >>"$WORK/errors"; fi
  [[ -f $body ]] && cat "$body"
  rm -f "$body"
  [[ $status == 2* ]]
}

# ---------------------------------------------------------------- invitations
INV="$WORK/invitations"
if [[ -n ${INVITATIONS_FILE:-} ]]; then
  head -n "$TOTAL" "$INVITATIONS_FILE" >"$INV"
else
  : "${AWS_REGION:?set AWS_REGION for the admin API}" "${AWS_ACCESS_KEY_ID:?}" "${AWS_SECRET_ACCESS_KEY:?}"
  nationality=$(curl -sS -m 30 "$BASE/api/countries" | jq -r '.tourist[0].code')
  from=$(date -u -d '+10 days' +%F); until=$(date -u -d '+39 days' +%F)
  echo "creating $TOTAL invitations through $ADMIN_API"
  make_invitation() {
    local i=$1 body
    body=$(jq -cn --arg n "$(printf 'L%08d' "$i")" --arg nat "$nationality" --arg f "$from" --arg u "$until" '{
      category: "tourist", inviter: {name: "Kazakh Tourism JSC", bin: "123456789012"},
      invitee: {surname: "LOAD", given_names: "CLOUD APPLICANT", nationality: $nat,
                date_of_birth: "1990-04-12", passport_number: $n},
      valid_from: $f, valid_until: $u}')
    curl -sS -m 30 --fail-with-body --aws-sigv4 "aws:amz:$AWS_REGION:execute-api" \
      --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
      ${AWS_SESSION_TOKEN:+-H "x-amz-security-token: $AWS_SESSION_TOKEN"} \
      -H 'Content-Type: application/json' -X POST --data "$body" \
      "${ADMIN_API%/}/api/admin/invitations" | jq -c .
  }
  for ((i = 0; i < TOTAL; i++)); do
    make_invitation "$i" >>"$INV" &
    (((i + 1) % 20 == 0)) && wait
  done
  wait
fi
(($(wc -l <"$INV") >= TOTAL)) || { echo "only $(wc -l <"$INV") invitations for $TOTAL applicants" >&2; exit 1; }

# ---------------------------------------------------------------- accounts
echo "signing up and in $ACCOUNTS accounts"
TOKENS=()
for ((a = 0; a < ACCOUNTS; a++)); do
  email="success+load-$RUN-$a@$DOMAIN"; password="load-$RUN-password"
  call POST /api/accounts "" "$(jq -cn --arg e "$email" --arg p "$password" '{email: $e, password: $p}')" >/dev/null
  token=$(call POST /api/sessions "" "$(jq -cn --arg e "$email" --arg p "$password" '{email: $e, password: $p}')" | jq -r .token)
  TOKENS+=("$token")
  sleep 0.2 # within the sign-up and sign-in routes' throttles
done

# ---------------------------------------------------------------- applicants
sign() { # body -> Stripe-Signature
  local t sig
  t=$(date +%s)
  sig=$(printf '%s.%s' "$t" "$1" | openssl dgst -sha256 -hmac "$STRIPE_WEBHOOK_SECRET" -hex | sed 's/^.*= *//')
  echo "t=$t,v1=$sig"
}

applicant() { # index invitation-json token
  local i=$1 inv=$2 token=$3 app id session fee cur event paid issued status deadline
  app=$(jq -c '{invitation_number: .number,
      passport: {number: .invitee.passport_number, surname: .invitee.surname, given_names: .invitee.given_names,
                 nationality: .invitee.nationality, sex: "F", date_of_birth: .invitee.date_of_birth,
                 issuing_state: .invitee.nationality, expiry_date: "2034-12-31"},
      declarations: {two_blank_pages: true, passport_undamaged: true}}' <<<"$inv")
  id=$(call POST /api/applications "$token" "$app" | jq -r '.id // empty') || true
  [[ -n $id ]] || { echo "applicant $i: application refused" >>"$WORK/failed"; return; }
  app=$(call POST "/api/applications/$id/confirmation" "$token" '{"details_match_passport": true}') || {
    echo "applicant $i: confirmation refused" >>"$WORK/failed"; return; }
  session=$(jq -r .payment.checkout_session_id <<<"$app")
  [[ $session == "$TEST_SESSIONS"* ]] || { echo "applicant $i: $session is not a Stripe test-mode session; not paying it" >>"$WORK/failed"; return; }
  fee=$(jq -r .fee.amount_minor <<<"$app"); cur=$(jq -r '.fee.currency | ascii_downcase' <<<"$app")
  event=$(jq -cn --arg e "evt_load_${RUN}_$i" --arg s "$session" --arg id "$id" --argjson fee "$fee" --arg cur "$cur" \
    --argjson t "$(date +%s)" '{id: $e, object: "event", created: $t, livemode: false, type: "checkout.session.completed",
      data: {object: {id: $s, object: "checkout.session", client_reference_id: $id, amount_total: $fee,
                      currency: $cur, payment_status: "paid", status: "complete", mode: "payment"}}}')
  paid=$(now_ms)
  until curl -sS -m 30 -o /dev/null -w '%{http_code}' -X POST "$BASE/api/webhooks/payment" \
      -H 'Content-Type: application/json' -H "Stripe-Signature: $(sign "$event")" --data "$event" | grep -q '^200$'; do
    echo "POST /api/webhooks/payment refused" >>"$WORK/webhook-retries"
    (($(now_ms) - paid > 120000)) && { echo "applicant $i: webhook never accepted" >>"$WORK/failed"; return; }
    sleep 5 # Stripe would retry much later: every retry here is a finding
  done
  deadline=$((paid + 120000))
  while :; do
    status=$(call GET "/api/applications/$id" "$token" | jq -r '.status // empty') || true
    if [[ $status == issued ]]; then issued=$(now_ms); break; fi
    (($(now_ms) > deadline)) && { echo "applicant $i: not issued 120 s after payment" >>"$WORK/failed"; return; }
    sleep 0.5
  done
  echo "$id $paid $issued" >>"$WORK/issued"
}

echo "timed part: $TOTAL applicants over $MINUTES min"
start=$(now_ms)
stop_sending=$((start + MINUTES * 60000))
i=0
while IFS= read -r inv && ((i < TOTAL)); do
  due=$((start + i * 1000 / RATE))
  now=$(now_ms)
  if ((due > now)); then sleep "$(((due - now) / 1000)).$(printf '%03d' $(((due - now) % 1000)))"; fi
  (($(now_ms) > stop_sending)) && break
  applicant "$i" "$inv" "${TOKENS[i % ACCOUNTS]}" &
  i=$((i + 1))
done <"$INV"
sent=$i
# Wait for the stragglers, at most 3 minutes.
give_up=$(($(now_ms) + 180000))
while running=$(jobs -rp) && [[ -n $running ]] && (($(now_ms) < give_up)); do sleep 1; done
running=$(jobs -rp)
if [[ -n $running ]]; then
  echo "still waiting after 3 minutes: stopped"
  # shellcheck disable=SC2086 # one pid a word
  kill $running 2>/dev/null || true
fi

# ---------------------------------------------------------------- figures
touch "$WORK/issued" "$WORK/errors" "$WORK/failed" "$WORK/webhook-retries"
issued=$(wc -l <"$WORK/issued")
echo
echo "applicants sent: $sent; issued: $issued; failed: $(wc -l <"$WORK/failed")"
if ((issued > 0)); then
  span=$(awk 'NR == 1 || $2 < first {first = $2} $3 > last {last = $3} END {print last - first}' "$WORK/issued")
  awk '{print $3 - $2}' "$WORK/issued" | sort -n >"$WORK/latencies"
  pick() { sed -n "$(awk -v q="$1" -v n="$issued" 'BEGIN {print int(q * (n - 1)) + 1}')p" "$WORK/latencies"; }
  awk -v n="$issued" -v span="$span" -v p50="$(pick 0.50)" -v p99="$(pick 0.99)" 'BEGIN {
    printf "issued/s: %.1f (first payment to last issue)\n", n / (span > 0 ? span / 1000 : 1)
    printf "payment-to-issued: p50 %.2f s, p99 %.2f s (target p99 <= 10 s)\n", p50 / 1000, p99 / 1000 }'
fi
echo "errors an applicant saw (429, 5xx, no answer): $(wc -l <"$WORK/errors")"
sort "$WORK/errors" | awk '{print $1, $2 ~ /^\/api\/applications\/[^/]+/ ? "/api/applications/{id}..." : $2, $3}' | sort | uniq -c | sort -rn | head -20
echo "webhook deliveries refused (Stripe would retry them minutes later): $(wc -l <"$WORK/webhook-retries")"
head -5 "$WORK/failed"
