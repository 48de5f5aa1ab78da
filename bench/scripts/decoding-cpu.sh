#!/usr/bin/env bash
# Same-run comparison of the truncation steps on a shared machine: entrokit's simd backend (bench
# DecodingProbe) and the PyTorch peer (bench/peers/decoding_steps.py --cpu), both one thread, thread CPU time
# per call, run twice each, interleaved, with the load average before each. Needs bench/target/benchmarks.jar.
#   bench/scripts/decoding-cpu.sh [OUT.md]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-/dev/stdout}"
JAVA="${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java"
run_java() {
  "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xms2g -Xmx2g \
    -cp "$ROOT/bench/target/benchmarks.jar" dev.entrokit.bench.DecodingProbe simd 21 2>/dev/null
}
run_torch() {
  ATEN_CPU_CAPABILITY=avx512 OMP_NUM_THREADS=1 "${PYTHON:-/usr/bin/python3}" "$ROOT/bench/peers/decoding_steps.py" --cpu
}
{
  for round in 1 2; do
    echo "### round $round: entrokit simd (load: $(cut -d' ' -f1-3 /proc/loadavg))"; echo
    run_java; echo
    echo "### round $round: PyTorch (load: $(cut -d' ' -f1-3 /proc/loadavg))"; echo
    run_torch; echo
  done
} > "$OUT"
