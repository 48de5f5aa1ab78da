#!/usr/bin/env bash
# Builds libentrokit_cuda.so with CMake when nvcc is found, and copies it to <output dir>.
# Without nvcc (or cmake) it says so and succeeds, unless --require is given: the Maven module
# native/ (artifact entrokit-cuda-linux-x86_64) passes it, because that jar must never ship empty.
#   native/build.sh [--require] <output dir> <build dir> [cmake args...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REQUIRE=0
if [ "${1:-}" = --require ]; then REQUIRE=1; shift; fi
OUT="$1"; BUILD="$2"; shift 2

without() { # $1: why there is no library
  if [ "$REQUIRE" = 1 ]; then
    echo "entrokit: cannot build libentrokit_cuda.so: $1 (build without the cuda profile: mvn -P '!cuda' ...)" >&2; exit 1
  fi
  echo "entrokit: $1: building without CUDA"; exit 0
}

if [ "$REQUIRE" = 0 ] && [ "${ENTROKIT_SKIP_CUDA:-}" = 1 ]; then
  without "ENTROKIT_SKIP_CUDA=1"
fi
NVCC="$(command -v nvcc || true)"
for c in "${CUDA_HOME:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
  [ -z "$NVCC" ] && [ -x "$c" ] && NVCC="$c"
done
[ -n "$NVCC" ] || without "nvcc not found (PATH, \$CUDA_HOME/bin, /usr/local/cuda/bin)"
command -v cmake >/dev/null 2>&1 || without "nvcc found but cmake is missing"
mkdir -p "$BUILD" "$OUT"
cmake -S "$HERE" -B "$BUILD" -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD" --parallel "$(nproc)"
cp "$BUILD/libentrokit_cuda.so" "$OUT/libentrokit_cuda.so"
echo "entrokit: built $OUT/libentrokit_cuda.so with $NVCC"
