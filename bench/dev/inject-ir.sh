#!/usr/bin/env bash
# Instructions per request of a route through inject(), under callgrind (see inject-ir.mjs):
#   bash bench/dev/inject-ir.sh TARGET [warm=20000] [measured=2000]
# e.g. kiln:logreg, kiln:v2-logreg, bare: (constant answer), bare:logger,pressure,hooks,schema,buffer
# KILN_ROOT=DIR measures another checkout's build (its dist/, models/, node_modules/).
# KILN_NODE_FLAGS adds Node/V8 flags (e.g. --predictable: one thread, GC and JIT in a fixed order).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="$1"; WARM="${2:-20000}"; N="${3:-2000}"
SCRIPT="$PWD/bench/dev/inject-ir.mjs"
[ -n "${KILN_ROOT:-}" ] && { cp "$SCRIPT" "$KILN_ROOT/bench/dev/inject-ir.mjs" 2>/dev/null || true; SCRIPT="$KILN_ROOT/bench/dev/inject-ir.mjs"; }
GO=$(mktemp -u); OUT=$(mktemp); CG=$(mktemp -u)
trap 'rm -f "$GO" "$GO.done" "$OUT" "$CG".*' EXIT
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$CG.%p" node ${KILN_NODE_FLAGS:-} "$SCRIPT" "$TARGET" "$WARM" "$N" "$GO" > "$OUT" 2>/dev/null & VPID=$!
until grep -q WARM "$OUT"; do kill -0 $VPID || { echo "inject-ir: $TARGET failed" >&2; exit 1; }; sleep 1; done
callgrind_control -z $VPID >/dev/null 2>&1; callgrind_control -i on $VPID >/dev/null 2>&1
touch "$GO"
until grep -q MEASURED "$OUT"; do kill -0 $VPID || { echo "inject-ir: $TARGET failed" >&2; exit 1; }; sleep 1; done
callgrind_control -i off $VPID >/dev/null 2>&1; callgrind_control -d $VPID >/dev/null 2>&1
sleep 1; touch "$GO.done"; wait $VPID || true
FILE=$(ls -t "$CG".$VPID.* | head -1)
IR=$(awk '/^totals:/ {print $2}' "$FILE")
[ -n "${KEEP_CG:-}" ] && cp "$FILE" "$KEEP_CG"
echo "$TARGET $((IR / N)) Ir/request (inject, $N requests after $WARM)"
