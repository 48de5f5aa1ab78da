#!/usr/bin/env bash
# Builds libentrokit_cuda.so with CMake when nvcc is found, and copies it to $1 (the resource folder
# META-INF/native/linux-x86_64 of the jar). Without nvcc (or cmake) it says so and succeeds: the Java
# side then reports the cuda backend as "built without CUDA".
#   native/build.sh <output dir> <build dir> [cmake args...]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="$1"; BUILD="$2"; shift 2

if [ "${ENTROKIT_SKIP_CUDA:-}" = 1 ]; then
  echo "entrokit: ENTROKIT_SKIP_CUDA=1, building without CUDA"; exit 0
fi
NVCC="$(command -v nvcc || true)"
for c in "${CUDA_HOME:-}/bin/nvcc" /usr/local/cuda/bin/nvcc; do
  [ -z "$NVCC" ] && [ -x "$c" ] && NVCC="$c"
done
if [ -z "$NVCC" ]; then
  echo "entrokit: nvcc not found (PATH, \$CUDA_HOME/bin, /usr/local/cuda/bin): building without CUDA"; exit 0
fi
if ! command -v cmake >/dev/null 2>&1; then
  echo "entrokit: nvcc found but cmake is missing: building without CUDA"; exit 0
fi
mkdir -p "$BUILD" "$OUT"
cmake -S "$HERE" -B "$BUILD" -DCMAKE_CUDA_COMPILER="$NVCC" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD" --parallel "$(nproc)"
cp "$BUILD/libentrokit_cuda.so" "$OUT/libentrokit_cuda.so"
echo "entrokit: built $OUT/libentrokit_cuda.so with $NVCC"
