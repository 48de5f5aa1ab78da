#!/usr/bin/env bash
# Runs the JMH suite: ./entrokit bench [JMH arguments...]
# With no arguments it runs every benchmark with the settings in the annotations (about 12 minutes
# on 2 cores) and writes JSON next to the console output. Examples:
#   ./entrokit bench "DistributionBench.entropy" -p backend=simd -p threads=1
#   ./entrokit bench -l            # list benchmarks
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JAR="$ROOT/bench/target/benchmarks.jar"
JAVA="${JAVA_HOME:?the entrokit launcher sets JAVA_HOME}/bin/java"
if [ ! -f "$JAR" ] || [ -n "$(find "$ROOT/java/src" "$ROOT/bench/src" -newer "$JAR" -print -quit)" ]; then
  echo "entrokit: building the benchmarks..." >&2
  (cd "$ROOT" && MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" mvn -B -q -ntp -DskipTests package >&2)
fi
if [ "$#" -eq 0 ]; then
  out="$ROOT/bench/results/jmh-$(date -u +%Y%m%dT%H%M%SZ).json"
  set -- -rf json -rff "$out"
  echo "entrokit: writing $out" >&2
fi
exec "$JAVA" --add-modules jdk.incubator.vector -jar "$JAR" "$@"
