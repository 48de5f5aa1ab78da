#!/usr/bin/env bash
# A Jazzer campaign over the project's @FuzzTest targets: each target runs in fuzzing mode
# (JAZZER_FUZZ=1) for a number of executions, then a summary is written: executions, coverage
# (libFuzzer's edge count "cov" and feature count "ft"), corpus size, exec/s, crashes found,
# duration, libFuzzer's seed, commit.
#
#   bench/fuzz/run-campaign.sh [-n EXECUTIONS] [-d MAX_DURATION] [-o OUT_DIR] [TARGET...]
#
#   -n  executions per target (default 1000000)
#   -d  wall-clock cap per target, Jazzer's duration syntax (default 2h)
#   -o  where the logs and summary.md go (default bench/results/tmp/fuzz-<UTC time>, not committed)
#   TARGET  module:class#method; default: both targets below
#
# The generated corpus stays in <module>/.cifuzz-corpus/<class>/<method>/ and seeds the next campaign;
# crashing inputs land in src/test/resources/.../<Class>Inputs/<method>/, where the plain test run
# (regression mode) replays them: commit them with the fix.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

executions=1000000
duration=2h
out="bench/results/tmp/fuzz-$(date -u +%Y%m%dT%H%M%SZ)"
while getopts "n:d:o:" opt; do
    case "$opt" in
        n) executions="$OPTARG" ;;
        d) duration="$OPTARG" ;;
        o) out="$OPTARG" ;;
        *) echo "usage: $0 [-n EXECUTIONS] [-d MAX_DURATION] [-o OUT_DIR] [module:class#method...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=("cli:dev.entrokit.cli.NpyFuzzTest#parse" "java:dev.entrokit.FacadeFuzzTest#facade")
fi

export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export ENTROKIT_SKIP_CUDA="${ENTROKIT_SKIP_CUDA:-1}"
export MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}"
mvn_flags=(-B ${MVN_OFFLINE--o})
mkdir -p "$out"

# Both modules in one reactor, so that the CLI runs against this tree's library, not an installed one.
mvn "${mvn_flags[@]}" -q -pl java,cli -am test-compile >"$out/build.log" 2>&1 || { echo "build failed: $out/build.log" >&2; exit 1; }

commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- java cli || echo '+dirty')"
jazzer="$(sed -n 's:.*<jazzer.version>\(.*\)</jazzer.version>.*:\1:p' pom.xml)"
summary="$out/summary.md"
{
    echo "# Fuzzing campaign $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo
    echo "commit $commit, Jazzer $jazzer, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1), $(nproc) cores, at most $executions executions or $duration per target"
    echo
    echo "| target | executions | cov | ft | corpus | exec/s | crashes | duration | libFuzzer seed |"
    echo "|---|---|---|---|---|---|---|---|---|"
} >"$summary"

status=0
for target in "${targets[@]}"; do
    module="${target%%:*}"
    test="${target#*:}"
    method="${test#*#}"
    class="${test%#*}"
    inputs="$module/src/test/resources/$(dirname "${class//.//}")/$(basename "${class//.//}")Inputs/$method"
    before=$(find "$inputs" -name 'crash-*' 2>/dev/null | wc -l)
    log="$out/$method.log"
    start=$(date +%s)
    set +e
    JAZZER_FUZZ=1 JAZZER_MAX_EXECUTIONS="$executions" JAZZER_MAX_DURATION="$duration" \
        mvn "${mvn_flags[@]}" -pl java,cli -am surefire:test -Dtest="$test" -Dsurefire.failIfNoSpecifiedTests=false \
        >"$log" 2>&1
    rc=$?
    set -e
    seconds=$(( $(date +%s) - start ))
    after=$(find "$inputs" -name 'crash-*' 2>/dev/null | wc -l)
    last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
    field() { echo "$last" | sed -n "s|.* $1: \([^ ]*\).*|\1|p"; }
    runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -1)
    runs=${runs:-$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')}
    seed=$(sed -n 's/.*INFO: Seed: \([0-9]*\).*/\1/p' "$log" | head -1)
    crashes=$((after - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes="failed (rc $rc, see $method.log)"
    fi
    [ "$rc" -eq 0 ] || status=1
    echo "| $test | ${runs:-?} | $(field cov) | $(field ft) | $(field corp) | $(field exec/s) | $crashes | ${seconds} s | ${seed:-?} |" >>"$summary"
done
cat "$summary"
exit "$status"
