#!/usr/bin/env bash
# Checks entrokit's decode op against the PyTorch reference vectors of decoding_reference.py (Transformers'
# and llama.cpp's formulas, float64), on the scalar and simd backends: masks exactly, the kept tokens'
# renormalized probabilities within SPEC §5's probability tolerance.
#   bench/conformance/decoding_check.sh [WORK_DIR]     (needs python3 with torch and numpy)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="${1:-$(mktemp -d)}"
"${PYTHON:-/usr/bin/python3}" "$ROOT/bench/conformance/decoding_reference.py" "$WORK/ref"
status=0
i=0
while read -r t steps; do
  for backend in scalar simd; do
    out="$WORK/$backend-$i"
    "$ROOT/entrokit" eval decode --backend "$backend" --in logits="$WORK/ref/logits.npy" \
      --set temperature="$t" --set steps="$steps" --out "$out" >/dev/null
    if "$ROOT/entrokit" compare "$out/mask.npy" "$WORK/ref/mask_$i.npy" >/dev/null \
        && "$ROOT/entrokit" compare "$out/probs.npy" "$WORK/ref/probs_$i.npy" --rtol 1e-5 --atol 1e-6 >/dev/null; then
      echo "ok    $backend T=$t $steps"
    else
      echo "FAIL  $backend T=$t $steps"
      "$ROOT/entrokit" compare "$out/mask.npy" "$WORK/ref/mask_$i.npy" | head -5 || true
      "$ROOT/entrokit" compare "$out/probs.npy" "$WORK/ref/probs_$i.npy" --rtol 1e-5 --atol 1e-6 | head -5 || true
      status=1
    fi
  done
  i=$((i + 1))
done < "$WORK/ref/cases.txt"
exit $status
