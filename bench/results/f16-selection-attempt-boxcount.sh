#!/bin/bash
# usage: f16-selection-attempt-boxcount.sh PATH/TO/benchmarks.jar N [JVM flags...]  -> prints how many of N runs boxed (any half cell > 100,000 bytes per call)
export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
jar=$1; n=$2; shift 2
boxed=0
for k in $(seq $n); do
  out=$($JAVA_HOME/bin/java $@ --add-modules jdk.incubator.vector -cp "$jar" dev.entrokit.bench.HalfOpsProbe 10 "keptMask topP" bf16,f16 simd 2>/dev/null | grep -ao '| [0-9,]* |$' | tr -d '|, ' | sort -n | tail -1)
  [ "${out:-0}" -gt 100000 ] && boxed=$((boxed+1))
done
echo "$jar [$*]: $boxed of $n boxed"
