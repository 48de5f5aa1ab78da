#!/usr/bin/env bash
# ./entrokit spark [options]          the contamination-scoring job on Spark, embedded (local[*]), on the
#                                      bundled sample unless told otherwise (options: see README, "Spark")
# ./entrokit spark --generate-sample  rewrites spark/sample/*.parquet from their fixed seeds
# Builds the core library and this module first when their sources are newer than the jar.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JAVA="${JAVA_HOME:?the entrokit launcher sets JAVA_HOME}/bin/java"
JAR="$ROOT/spark/target/entrokit-spark.jar"
CP_FILE="$ROOT/spark/target/classpath.txt"
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

if [ ! -f "$JAR" ] || [ ! -f "$CP_FILE" ] || [ -n "$(find java/src/main spark/src/main spark/pom.xml java/pom.xml pom.xml -newer "$JAR" -print -quit)" ]; then
  echo "entrokit: building the library and the Spark module (mvn package, tests skipped)..." >&2
  mvn -B -q -ntp -DskipTests -Dmaven.javadoc.skip=true -Dmaven.source.skip=true -pl spark -am package >&2
  touch "$JAR"
fi

# What Spark's own launcher adds on Java 17+ (org.apache.spark.launcher.JavaModuleOptions, Spark 4.2.0);
# spark-submit adds them itself, an embedded run must. The same list is spark.jvm.args in spark/pom.xml.
SPARK_JVM_ARGS=(-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true
  -Dio.netty.allocator.type=pooled -Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE
  --sun-misc-unsafe-memory-access=allow --enable-native-access=ALL-UNNAMED)

MAIN=dev.entrokit.spark.ScoreCorpus
if [ "${1:-}" = "--generate-sample" ]; then
  MAIN=dev.entrokit.spark.SampleData
  shift
fi
# An embedded run is one JVM: its endpoints stay on the loopback address.
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
# Spark's INFO lines would drown the job's output: spark/log4j2.properties keeps warnings and errors.
exec "$JAVA" "${SPARK_JVM_ARGS[@]}" -Xss4m ${ENTROKIT_SPARK_JAVA_OPTS:-} \
  -Dlog4j2.configurationFile="$ROOT/spark/log4j2.properties" -cp "$JAR:$(cat "$CP_FILE")" "$MAIN" "$@"
