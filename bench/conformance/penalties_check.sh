#!/usr/bin/env bash
# Checks entrokit's penalties (eval process_logits) against the PyTorch reference vectors of
# penalties_reference.py (Transformers' repetition penalty, vLLM's frequency and presence penalties, float64),
# on the scalar and simd backends. entrokit computes in float32: held to a few float32 ulps (rtol 1e-6), with
# -inf only against -inf.
#   bench/conformance/penalties_check.sh [WORK_DIR]     (needs python3 with torch and numpy)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-$(mktemp -d)}"
"${PYTHON:-/usr/bin/python3}" "$ROOT/bench/conformance/penalties_reference.py" "$WORK/ref"
status=0
for backend in scalar simd; do
  out="$WORK/$backend"
  "$ROOT/entrokit" eval process_logits --backend "$backend" --in logits="$WORK/ref/logits.npy" \
    --in prompt_ids="$WORK/ref/prompt_ids.npy" --in output_ids="$WORK/ref/output_ids.npy" \
    --in repetition="$WORK/ref/repetition.npy" --in frequency="$WORK/ref/frequency.npy" \
    --in presence="$WORK/ref/presence.npy" --out "$out" >/dev/null
  if "$ROOT/entrokit" compare "$out/logits.npy" "$WORK/ref/expected.npy" --rtol 1e-6 --atol 1e-6 >/dev/null \
      && ! "$ROOT/entrokit" compare "$out/logits.npy" "$WORK/ref/logits.npy" >/dev/null; then
    echo "ok    $backend penalties (repetition, frequency, presence per row)"
  else
    echo "FAIL  $backend penalties"
    "$ROOT/entrokit" compare "$out/logits.npy" "$WORK/ref/expected.npy" --rtol 1e-6 --atol 1e-6 | head -5 || true
    status=1
  fi
done
exit $status
