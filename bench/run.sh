#!/usr/bin/env bash
# ./entrokit bench [--quick] [--filter REGEX] [--json FILE] [--png FILE] [--impl LIST] [--threads LIST] [-p NAME=VALUE]...
#   entrokit's workloads (every @Workload JMH method) side by side with PyTorch, NumPy/SciPy, POT and
#   ND4J on the same inputs, with the machine's ceilings; see README "Benchmarks" and --help.
# ./entrokit bench jmh [JMH arguments...]   the plain JMH command line (e.g. jmh -l, jmh SoftmaxEntropyBench -p threads=1)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/bench/target/benchmarks.jar"
JAVA="${JAVA_HOME:?the entrokit launcher sets JAVA_HOME}/bin/java"
PY=/usr/bin/python3   # Debian's python, where python3-torch, -scipy and -pot install (not a pyenv/venv python3)
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/java/src" "$ROOT/cli/src/main" "$ROOT/bench/src/main" "$ROOT/bench/pom.xml" -newer "$JAR" -print -quit)" ]; then
  echo "entrokit: building the benchmarks..." >&2
  (cd "$ROOT" && mvn -B -q -ntp -DskipTests package >&2)
fi

if [ "${1:-}" = "jmh" ]; then
  shift
  exec "$JAVA" --add-modules jdk.incubator.vector -jar "$JAR" "$@"
fi

help=0; peers="torch,torch-avx512,numpy,pot,nd4j"; prev=""
for a in "$@"; do
  case "$a" in -h|--help) help=1 ;; esac
  [ "$prev" = "--impl" ] && peers="$a"
  prev="$a"
done

nd4j_cp=""; nd4j_why=""
if [ "$help" = 0 ]; then
  # Python peers: Debian's packages for /usr/bin/python3, installed when missing (needs root and apt).
  if [[ "$peers" =~ torch|numpy|pot ]] && ! "$PY" -c 'import torch, scipy, ot' 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "entrokit: installing the Python peers (apt-get install python3-torch python3-scipy python3-pot)..." >&2
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-torch python3-scipy python3-pot) >&2 \
        || echo "entrokit: could not install the Python peers; they will be reported absent" >&2
    else
      echo "entrokit: the Python peers need: apt-get install python3-torch python3-scipy python3-pot (as root); they will be reported absent" >&2
    fi
  fi
  # ND4J peer: its own Maven module behind the nd4j profile, so the default build stays light.
  if [[ "$peers" =~ nd4j ]]; then
    ND4J_JAR="$ROOT/bench/nd4j/target/entrokit-bench-nd4j.jar"
    if [ ! -f "$ND4J_JAR" ] || [ -n "$(find "$ROOT/bench/nd4j/src" "$ROOT/bench/nd4j/pom.xml" -newer "$ND4J_JAR" -print -quit)" ]; then
      echo "entrokit: building the ND4J peer (mvn -Pnd4j; the first run downloads ND4J and extracts ~400 MB into ~/.javacpp/cache)..." >&2
      (cd "$ROOT" && mvn -B -q -ntp -Pnd4j -pl bench/nd4j -DskipTests package >&2) || nd4j_why="the ND4J peer did not build (mvn -Pnd4j -pl bench/nd4j package failed)"
    fi
    if [ -f "$ND4J_JAR" ] && [ -z "$nd4j_why" ]; then
      nd4j_cp="$ND4J_JAR:$ROOT/bench/nd4j/target/lib/*"
    fi
  fi
fi

exec "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx2g \
  -Dentrokit.root="$ROOT" -Dentrokit.bench.python="$PY" \
  -Dentrokit.bench.nd4j.cp="$nd4j_cp" -Dentrokit.bench.nd4j.why="${nd4j_why:-the ND4J peer is not built}" \
  -cp "$JAR" dev.entrokit.bench.suite.Suite "$@"
