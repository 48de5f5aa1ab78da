#!/usr/bin/env bash
# Prepares what bench/gpu/device-check.sh needs on a GPU machine that has no Java and no network,
# under bench/gpu/carry/ (git-ignored; name it in the device tool's `carry`):
#   runtime/      a jlink image of this JDK 25 (java.base, jdk.incubator.vector, java.logging,
#                 jdk.unsupported, java.management), about 45 MB
#   lib/          the core entrokit jar and the test classes
#   junit.jar     JUnit's standalone console launcher (fetched through Maven into ~/.m2 once)
# Run ./entrokit build (or mvn -DskipTests package) and the test compile first; this script runs
# `mvn test-compile` itself when the test classes are missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CARRY="$ROOT/bench/gpu/carry"
JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
JUNIT_PLATFORM="${JUNIT_PLATFORM:-1.14.1}"  # matches junit.version 5.14.1 in pom.xml

rm -rf "$CARRY"
mkdir -p "$CARRY/lib"
"$JAVA_HOME/bin/jlink" --add-modules java.base,jdk.incubator.vector,java.logging,jdk.unsupported,java.management \
  --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$CARRY/runtime"

cd "$ROOT"
JAR=java/target/entrokit-0.1.0-SNAPSHOT.jar  # not the -sources/-javadoc jars beside it
if [ ! -d java/target/test-classes/dev/entrokit/cuda ] || [ ! -f "$JAR" ]; then
  JAVA_HOME="$JAVA_HOME" mvn -B -q -ntp -P '!cuda' -DskipTests package -pl java
  JAVA_HOME="$JAVA_HOME" mvn -B -q -ntp -P '!cuda' test-compile -pl java
fi
# The core jar never holds the CUDA library (that is entrokit-cuda-linux-x86_64); the device builds
# its own for sm_90 and names it with -Dentrokit.cuda.library.
cp "$JAR" "$CARRY/lib/entrokit.jar"
cp -r java/target/test-classes "$CARRY/lib/test-classes"
JAVA_HOME="$JAVA_HOME" mvn -B -q -ntp dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" -DoutputDirectory="$CARRY"
mv "$CARRY/junit-platform-console-standalone-$JUNIT_PLATFORM.jar" "$CARRY/junit.jar"
du -sh "$CARRY" "$CARRY"/* | sed 's/^/make-runtime.sh: /'
