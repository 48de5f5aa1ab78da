#!/usr/bin/env bash
# One row across threads: the fused softmax with statistics and the sampling step on one row of 128256 logits
# (batch 1), on 1 and 2 threads, for two builds run interleaved (config by config: threads 1 and 2, before and
# after), plus W1 at 32 rows on one thread as the check that the whole-batch path did not slow down.
# JMH: 2 forks, 8 × 1 s warm-up, 8 × 1 s measured, µs per call. Summary: bench/scripts/batch1-summary.py OUT_DIR.
# usage: bench/scripts/batch1-threads.sh OUT_DIR BEFORE_JAR AFTER_JAR
set -euo pipefail
out=$1
before=$2
after=$3
java=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
mkdir -p "$out"
read -r -a opts <<<"${BATCH1_JMH:--f 2 -wi 8 -w 1 -i 8 -r 1 -tu us}" # BATCH1_JMH overrides, e.g. for a dry run
run() { # name jar benchmark jmh-args...
    local name=$1 jar=$2
    shift 2
    echo "$(date -u +%H:%M:%S) $name (load $(cut -d' ' -f1 /proc/loadavg))" | tee -a "$out/log.txt"
    "$java" -jar "$jar" "$@" "${opts[@]}" -rf json -rff "$out/$name.json" >"$out/$name.txt" 2>&1
}
for config in softmax k50p90 p95 t; do
    for threads in 1 2; do
        for build in before after; do
            jar=$before
            [ "$build" = after ] && jar=$after
            if [ "$config" = softmax ]; then
                run "softmax-$build-$threads" "$jar" 'SoftmaxEntropyBench.softmaxEntropy' -p rows=1 -p backend=simd \
                    -p threads="$threads"
            else
                run "sample-$config-$build-$threads" "$jar" 'SamplingStepBench.inverseCdfSample' -p pipeline="$config" \
                    -p threads="$threads"
            fi
        done
    done
done
for build in before after; do
    jar=$before
    [ "$build" = after ] && jar=$after
    run "w1-32rows-$build-1" "$jar" 'SoftmaxEntropyBench.softmaxEntropy' -p rows=32 -p backend=simd -p threads=1
done
