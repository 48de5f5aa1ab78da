#!/usr/bin/env bash
# Regenerates the FFM bindings of native/include/entrokit.h into bindings/src (never edit those by
# hand). Needs jextract: on the PATH, or its launcher in $JEXTRACT. The generated code finds symbols
# through the class loader's lookup; the Java side loads libentrokit_cuda.so by absolute path first.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JX="${JEXTRACT:-$(command -v jextract || true)}"
[ -n "$JX" ] || { echo "regenerate.sh: jextract not found: put it on the PATH or set JEXTRACT" >&2; exit 1; }
OUT="$ROOT/bindings/src"
PKG=dev.entrokit.internal.cuda.ffi
rm -rf "$OUT/${PKG//.//}"
HEADER="$ROOT/native/include/entrokit.h"
# Only what entrokit.h itself declares (not stdint.h): jextract lists the symbols, we keep ours.
ARGS="$(mktemp)"; trap 'rm -f "$ARGS"' EXIT
"$JX" --dump-includes "$ARGS.all" "$HEADER" >/dev/null
grep -E -- '--include-[a-z]+ +(ek_|EK_)' "$ARGS.all" | sed 's/ *#.*$//' > "$ARGS"
rm -f "$ARGS.all"
"$JX" --output "$OUT" --target-package "$PKG" --header-class-name EntrokitH @"$ARGS" "$HEADER"
echo "regenerate.sh: wrote $OUT/${PKG//.//}"
