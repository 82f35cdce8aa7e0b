#!/usr/bin/env bash
# The same visa rendered to PDF by typst in process (visa-pdf, release build)
# and by a warm headless Chromium (playwright-core page.pdf, the usual
# serverless way), N times each in one run; prints both medians side by side
# and the ratio (target: typst at least 10x faster), then the release binary's
# size and its zip (a Lambda deployment package is a zip).
#
# Usage: functions/pdf/compare-chromium.sh [N=200] [visa.json]
# Needs: /usr/bin/chromium (or CHROMIUM_PATH), node, and playwright-core in
# tests/browser/node_modules (npm ci there; tests/run.sh does).
set -euo pipefail
cd "$(dirname "$0")/../.."
n="${1:-200}"
data="${2:-functions/pdf/examples/visa.json}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/visa-target}"

for need in node "${CHROMIUM_PATH:-/usr/bin/chromium}"; do
  command -v "$need" >/dev/null || { echo "compare-chromium: $need is missing" >&2; exit 1; }
done
[[ -f tests/browser/node_modules/playwright-core/index.mjs || -n "${PLAYWRIGHT_CORE:-}" ]] ||
  { echo "compare-chromium: run npm ci in tests/browser first" >&2; exit 1; }

# The same selection as tests/lambda-figures.sh and bench.sh: one release build.
cargo build -q --release --workspace --all-features --bin visa-pdf
bin="$CARGO_TARGET_DIR/release/visa-pdf"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Chromium gets exactly what the typst template gets: the formatted fields,
# the MRZ lines and the QR code's SVG.
"$bin" view --data "$data" >"$out/view.json"

echo "Rendering the visa $n times with each engine (warm, after one first render)..."
chromium_line="$(node functions/pdf/chromium-render.mjs --view "$out/view.json" \
  --out "$out/chromium.pdf" --repeat "$n")"
"$bin" render --data "$data" --out "$out/typst.pdf" --repeat "$n" >"$out/typst.log"

field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$chromium_line"; }
chromium_median="$(field median_ms)"
chromium_pdf_only="$(field pdf_only_median_ms)"
chromium_first="$(field first_ms)"
typst_median="$(sed -n 's/^warm renders.* median \([0-9.]*\) ms.*/\1/p' "$out/typst.log")"
typst_cpu="$(sed -n 's/^warm renders: mean on-CPU time \([0-9.]*\) ms/\1/p' "$out/typst.log")"
typst_first="$(sed -n 's/^first render: \([0-9.]*\) ms/\1/p' "$out/typst.log")"

echo
printf '%-44s %12s %12s\n' "" "typst" "chromium"
printf '%-44s %9s ms %9s ms\n' "first render (after start-up)" "$typst_first" "$chromium_first"
printf '%-44s %9s ms %9s ms\n' "warm median, wall ($n renders)" "$typst_median" "$chromium_median"
printf '%-44s %9s ms %9s ms\n' "warm median, print step only (page.pdf)" "-" "$chromium_pdf_only"
printf '%-44s %9s ms %12s\n' "warm mean on-CPU time (render thread)" "$typst_cpu" "-"
printf '%-44s %12s %12s\n' "PDF bytes" "$(stat -c %s "$out/typst.pdf")" "$(stat -c %s "$out/chromium.pdf")"
awk -v t="$typst_median" -v c="$chromium_median" \
  'BEGIN { r = c / t; printf "ratio (chromium median / typst median): %.1fx %s\n", r, (r >= 10 ? "(target >= 10x: met)" : "(target >= 10x: MISSED)") }'

( cd "$out" && cp "$bin" bootstrap && zip -q -9 visa-pdf.zip bootstrap )
printf 'visa-pdf release binary: %s bytes (%.1f MiB); zipped (zip -9, as a Lambda package): %s bytes (%.1f MiB)\n' \
  "$(stat -c %s "$bin")" "$(awk -v b="$(stat -c %s "$bin")" 'BEGIN{print b/1048576}')" \
  "$(stat -c %s "$out/visa-pdf.zip")" "$(awk -v b="$(stat -c %s "$out/visa-pdf.zip")" 'BEGIN{print b/1048576}')"
