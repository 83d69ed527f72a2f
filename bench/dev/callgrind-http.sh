#!/usr/bin/env bash
# Instructions per request of one server process over real loopback HTTP, under valgrind's
# callgrind: repeatable where CPU time on the shared machine is not (it varies 2-3x with the other
# tenants). The server runs under valgrind with instrumentation off; wrk warms it up (JIT tiers,
# caches), then instrumentation is switched on for a measured wrk run and the counts are dumped.
#   bash bench/dev/callgrind-http.sh TARGET [warm-seconds=40] [measure-seconds=30] [out-dir=/tmp]
# TARGET: parsed | raw (bench/peers/noop-fastify.mjs, one process) | logreg | rf | gbm (POST
# /models/breast_cancer_<m>/predict) | v2-logreg (POST /v2/models/breast_cancer_logreg/infer, one
# FP64 [1,30] tensor). Kiln runs `dist/cli.js serve --workers 0 --no-cache` (KILN_ROOT=DIR: another
# checkout's build) with the event-loop-delay limit raised (valgrind is ~50x slower; under-pressure
# stays registered). One jittered record per request, 4,096 distinct bodies, as the bench sends.
# app-parsed | app-raw: the no-op routes inside Kiln's app (bench/dev/bisect-server.mjs). With
# KILN_BISECT_OFF set (even empty), every Kiln target runs under bisect-server.mjs with those
# features off (comma-separated; e.g. pressure,default-metrics,poller: the time-based work).
# Prints "TARGET Ir/request" and leaves the callgrind file for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="$1"; WARM="${2:-40}"; MEASURE="${3:-30}"; OUT="${4:-/tmp}"
ROOT="${KILN_ROOT:-$PWD}"
PORT=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
BODIES=$(mktemp); REPLY=$(mktemp)
VPID=
trap 'rm -f "$BODIES" "$REPLY"; [ -n "$VPID" ] && kill $VPID 2>/dev/null || true' EXIT
case $TARGET in v2-*) MODEL=${TARGET#v2-} ;; parsed|raw|app-*) MODEL=logreg ;; *) MODEL=$TARGET ;; esac
SERVE=("$ROOT/dist/cli.js" serve)
if [ -n "${KILN_BISECT_OFF+set}" ] || [[ $TARGET == app-* ]]; then SERVE=(bench/dev/bisect-server.mjs serve); export KILN_BISECT_ROOT="$ROOT"; fi
node --input-type=module -e "
import { benchRows } from './bench/dev/rows.mjs';
import { writeFileSync } from 'node:fs';
const { records, matrix, names } = benchRows('models/breast_cancer_$MODEL.json', 4096);
const w = names.length;
const lines = '$TARGET'.startsWith('v2-')
  ? records.map((_, r) => JSON.stringify({ inputs: [{ name: 'input', shape: [1, w], datatype: 'FP64', data: Array.from(matrix.subarray(r * w, (r + 1) * w)) }] }))
  : records.map((r) => JSON.stringify(r));
writeFileSync('$BODIES', lines.join('\n') + '\n');"
VG=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg-$TARGET.%p")
case $TARGET in
  parsed|raw)
    echo '{"label":1,"probabilities":[0.0199,0.9801]}' > "$REPLY"
    "${VG[@]}" node bench/peers/noop-fastify.mjs "$PORT" "$REPLY" 0 >/dev/null 2>&1 & VPID=$!
    READY=/health; URL="/noop/$TARGET" ;;
  app-*)
    "${VG[@]}" node "${SERVE[@]}" --workers 0 --no-cache --log-level warn --max-event-loop-delay 3600000 --port "$PORT" >/dev/null 2>&1 & VPID=$!
    READY=/v2/health/ready; URL="/noop/${TARGET#app-}" ;;
  v2-*)
    "${VG[@]}" node "${SERVE[@]}" --workers 0 --no-cache --log-level warn --max-event-loop-delay 3600000 --port "$PORT" >/dev/null 2>&1 & VPID=$!
    READY=/v2/health/ready; URL="/v2/models/breast_cancer_$MODEL/infer" ;;
  *)
    "${VG[@]}" node "${SERVE[@]}" --workers 0 --no-cache --log-level warn --max-event-loop-delay 3600000 --port "$PORT" >/dev/null 2>&1 & VPID=$!
    READY=/v2/health/ready; URL="/models/breast_cancer_$MODEL/predict" ;;
esac
for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$PORT$READY" && break; sleep 0.5; done
load() {
  KILN_BENCH_BODIES="$BODIES" wrk -t1 -c32 -d"$1s" --timeout 30s -s bench/lib/wrk-bodies.lua "http://127.0.0.1:$PORT$URL" | grep '^KILN_BENCH ' | sed 's/^KILN_BENCH //'
}
load "$WARM" >/dev/null
callgrind_control -z $VPID >/dev/null 2>&1
callgrind_control -i on $VPID >/dev/null 2>&1
R=$(load "$MEASURE")
callgrind_control -i off $VPID >/dev/null 2>&1
callgrind_control -d $VPID >/dev/null 2>&1
sleep 1
FILE=$(ls -t "$OUT"/cg-"$TARGET".$VPID.* | head -1)
N=$(echo "$R" | node -e "const r=JSON.parse(require('fs').readFileSync(0,'utf8')); if (r.errors + r.non2xx > r.requests / 50) { console.error('errors', JSON.stringify(r)); process.exit(1) } if (r.errors + r.non2xx) console.error('note: ' + (r.errors + r.non2xx) + ' errors or non-2xx responses'); console.log(r.requests)")
IR=$(awk '/^totals:/ {print $2}' "$FILE")
echo "$TARGET $((IR / N)) Ir/request ($N requests, $FILE)"
