#!/usr/bin/env bash
# Prepares what bench/gpu/device-check.sh needs on a GPU machine that has no Java and no network,
# under bench/gpu/carry/ (git-ignored; name it in the device tool's `carry`):
#   runtime/      a jlink image of this JDK 25 (java.base, jdk.incubator.vector, java.logging,
#                 jdk.unsupported, java.management), about 45 MB
#   lib/          the entrokit jar (with its CPU backends) and the test classes
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
if [ ! -d java/target/test-classes/dev/entrokit/cuda ] || ! ls java/target/entrokit-*.jar >/dev/null 2>&1; then
  JAVA_HOME="$JAVA_HOME" mvn -B -q -ntp -DskipTests package -pl java
  JAVA_HOME="$JAVA_HOME" mvn -B -q -ntp test-compile -pl java
fi
cp java/target/entrokit-*.jar "$CARRY/lib/entrokit.jar"
# The device builds its own library for sm_90: drop the one built here from the carried jar.
zip -q -d "$CARRY/lib/entrokit.jar" 'META-INF/native/*' >/dev/null 2>&1 || true
cp -r java/target/test-classes "$CARRY/lib/test-classes"
JAVA_HOME="$JAVA_HOME" mvn -B -q -ntp dependency:copy \
  -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_PLATFORM" -DoutputDirectory="$CARRY"
mv "$CARRY/junit-platform-console-standalone-$JUNIT_PLATFORM.jar" "$CARRY/junit.jar"
du -sh "$CARRY" "$CARRY"/* | sed 's/^/make-runtime.sh: /'
