#!/usr/bin/env bash
# The CUDA backend's device check, for a lent H100/H200 (one call, ~10 minutes at most). Prepare here first:
#   bench/gpu/make-runtime.sh       # jlink runtime + jars + JUnit launcher under bench/gpu/carry
# then run on the device machine, carrying bench/gpu/carry:
#   bench/gpu/device-check.sh
# It (1) builds libentrokit_cuda.so for sm_90 there, (2) runs the CUDA equivalence suite against the
# scalar reference with the carried runtime, (3) times the issue's workloads against PyTorch eager and
# torch.compile with CUDA events, and prints the table last. Logs and the table go to $OUT when set.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CARRY="$ROOT/bench/gpu/carry"
OUTDIR="${OUT:-/tmp/entrokit-device-check}"
WORK=/tmp/entrokit-gpu
mkdir -p "$OUTDIR" "$WORK"
cd "$ROOT"

echo "== device"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

echo "== build (sm_90)"
t0=$(date +%s)
ENTROKIT_SKIP_CUDA=0 bash native/build.sh "$WORK/lib" "$WORK/build" -DENTROKIT_CUDA_ARCHITECTURES=90-real \
  > "$OUTDIR/build.log" 2>&1 || { tail -30 "$OUTDIR/build.log"; echo "BUILD FAILED"; exit 1; }
echo "built in $(( $(date +%s) - t0 )) s"
LIB="$WORK/lib/libentrokit_cuda.so"

echo "== equivalence suite (cuda vs scalar)"
JAVA="$CARRY/runtime/bin/java"
if [ -x "$JAVA" ]; then
  timeout 300 "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss4m \
    -Dentrokit.cuda.library="$LIB" -jar "$CARRY/junit.jar" execute \
    --class-path "$CARRY/lib/entrokit.jar:$CARRY/lib/test-classes" \
    --select-class dev.entrokit.cuda.CudaLibraryTest --select-class dev.entrokit.cuda.CudaEquivalenceTest \
    --details=tree --disable-banner > "$OUTDIR/equivalence.log" 2>&1
  rc=$?
  grep -E "✘|tests (successful|failed|aborted|skipped)|MethodSource|expected" "$OUTDIR/equivalence.log" | head -60
  echo "equivalence suite exit code $rc"
else
  echo "no carried runtime at $JAVA: run bench/gpu/make-runtime.sh here and carry bench/gpu/carry"
fi

echo "== timings (CUDA events, median)"
PYTHONUNBUFFERED=1 timeout 360 python3 bench/gpu/bench_cuda.py "$LIB" "$OUTDIR/table.md" 2>&1 | tee "$OUTDIR/bench.log" | tail -40
echo
echo "== table"
cat "$OUTDIR/table.md" 2>/dev/null || echo "(no table: see bench.log)"
