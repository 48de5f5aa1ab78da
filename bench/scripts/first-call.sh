#!/usr/bin/env bash
# First-call latency in fresh JVMs (issue 13, item 5). FirstCall (bench/src/main/java/dev/entrokit/bench/FirstCall.java)
# times an instance's first KL call on 256 x 32000 pairs (create excluded; the inputs are built before);
# `./entrokit eval kl` is timed as a whole command (JVM start, .npy reading, KL with its gradient, writing).
#   bench/scripts/first-call.sh [REPS] [DIR]    after `mvn -DskipTests install`; DIR gets the .npy inputs
#   (FIRST_CALL_CONFIGS, below, picks some of the configurations)
# The configurations are interleaved, one run each per repetition, so that the machine's load hits them alike.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REPS="${1:-5}"
DIR="${2:-$ROOT/bench/target/first-call}"
JAVA="${JAVA_HOME:?set JAVA_HOME to a JDK 25}/bin/java"
CP="$ROOT/java/target/classes:$ROOT/bench/target/classes"
mkdir -p "$DIR"
if [ ! -f "$DIR/teacher.npy" ]; then
  /usr/bin/python3 - "$DIR" <<'PY'
import sys, numpy as np
r = np.random.default_rng(43)
t = (r.standard_t(3, size=(256, 32000)) * 1.5).astype(np.float32)
np.save(sys.argv[1] + "/teacher.npy", t)
np.save(sys.argv[1] + "/student.npy", (t + 0.5 * r.standard_normal((256, 32000))).astype(np.float32))
PY
fi
first() { # warmup-mode backend -> ms of the first call
  "$JAVA" --add-modules jdk.incubator.vector -Dentrokit.warmup="$1" -cp "$CP" dev.entrokit.bench.FirstCall "$2" 1 heap 2>/dev/null \
    | awk '/^call 0 /{print $3}'
}
evalkl() { # warmup-mode backend -> ms of the whole command
  local a b
  a=$(date +%s%N)
  ENTROKIT_JAVA_OPTS="-Dentrokit.warmup=$1" "$ROOT/entrokit" eval kl --backend="$2" --in=teacher="$DIR/teacher.npy" \
    --in=student="$DIR/student.npy" --out="$DIR/out-$2" >/dev/null 2>&1
  b=$(date +%s%N)
  echo $(( (b - a) / 1000000 ))
}
CONFIGS=("first background scalar" "first background simd" "first background auto" "first off simd"
         "evalkl background scalar" "evalkl background simd" "evalkl off simd")
# FIRST_CALL_CONFIGS="first background scalar,first background auto" runs only those (comma-separated).
if [ -n "${FIRST_CALL_CONFIGS:-}" ]; then IFS=, read -r -a CONFIGS <<<"$FIRST_CALL_CONFIGS"; fi
declare -A RES
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in $(seq "$REPS"); do
  for c in "${CONFIGS[@]}"; do
    read -r what mode backend <<<"$c"
    ms=$($what "$mode" "$backend")
    echo "run $i: $what warmup=$mode $backend: $ms ms"
    RES[$c]="${RES[$c]:-} $ms"
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| what | -Dentrokit.warmup | backend | min ms | median ms | max ms | runs |"
echo "|---|---|---|---:|---:|---:|---|"
for c in "${CONFIGS[@]}"; do
  read -r what mode backend <<<"$c"
  sorted=$(tr ' ' '\n' <<<"${RES[$c]}" | grep . | sort -n)
  n=$(wc -l <<<"$sorted")
  echo "| $( [ "$what" = first ] && echo 'first kl call' || echo 'eval kl') | $mode | $backend | $(head -1 <<<"$sorted") | $(sed -n "$(( (n + 1) / 2 ))p" <<<"$sorted") | $(tail -1 <<<"$sorted") | $(tr '\n' ' ' <<<"$sorted")|"
done
