#!/usr/bin/env bash
# Kiln's predict route against the no-op Fastify routes (bench/dev/noop-server.mjs), one JSON record
# per request, wrk -t1 -c32 on loopback, 2 workers each, runs alternated, medians printed.
# Besides req/s it prints the servers' CPU time per request (utime+stime of all their processes
# from /proc, over the run, / requests): on a shared machine req/s mostly measures the other
# tenants, CPU per request measures the server.
#   bash bench/dev/http.sh [model=breast_cancer_logreg] [rounds=3] [seconds=8] [kiln serve options...]
# e.g. bash bench/dev/http.sh breast_cancer_rf 3 8 --no-cache   (KILN_CLI=path/to/dist/cli.js: another build)
# KILN_CLI_BEFORE=path/to/other/dist/cli.js adds that build as a fourth target ("before"), served
# and timed alternately with the others in the same run: a before/after comparison under the
# same load.
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-breast_cancer_logreg}"; ROUNDS="${2:-3}"; SECS="${3:-8}"; shift $(( $# < 3 ? $# : 3 ))
# Two free ports (other benchmarks may run on this machine: never assume a fixed port is ours).
read -r KPORT NPORT BPORT < <(node -e "
const net = require('node:net');
const free = () => new Promise((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });
Promise.all([free(), free(), free()]).then((p) => console.log(p.join(' ')));")
BPID=
BODY=$(mktemp); trap 'rm -f "$BODY"; kill $KPID $NPID $BPID 2>/dev/null || true' EXIT
node --input-type=module -e "
import { benchRows } from './bench/dev/rows.mjs';
import { writeFileSync } from 'node:fs';
writeFileSync('$BODY', JSON.stringify(benchRows('models/$MODEL.json', 1).records[0]));"
node "${KILN_CLI:-dist/cli.js}" serve --workers 2 --port $KPORT --log-level warn "$@" >/dev/null 2>&1 & KPID=$!
node bench/dev/noop-server.mjs $NPORT 2 >/dev/null 2>&1 & NPID=$!
TARGETS="kiln parsed raw"; PORTS="$KPORT $NPORT"
if [ -n "${KILN_CLI_BEFORE:-}" ]; then
  node "$KILN_CLI_BEFORE" serve --workers 2 --port $BPORT --log-level warn "$@" >/dev/null 2>&1 & BPID=$!
  TARGETS="kiln before parsed raw"; PORTS="$PORTS $BPORT"
fi
for port in $PORTS; do
  for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
done
kill -0 $KPID && kill -0 $NPID && { [ -z "$BPID" ] || kill -0 $BPID; }  # the servers are ours and alive
# The predict answer must be a real prediction before anything is timed.
curl -sf -H 'content-type: application/json' --data-binary "@$BODY" "http://127.0.0.1:$KPORT/models/$MODEL/predict"; echo
SCRIPT="$PWD/bench/dev/post.lua"
declare -A RESULTS CPU
# utime + stime (clock ticks) of a process and its children (the cluster workers).
cpu_ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1"); do
    total=$((total + $(awk '{print $14 + $15}' /proc/$p/stat)))
  done
  echo $total
}
for round in $(seq "$ROUNDS"); do
  for target in $TARGETS; do
    case $target in
      kiln) url="http://127.0.0.1:$KPORT/models/$MODEL/predict" ;;
      before) url="http://127.0.0.1:$BPORT/models/$MODEL/predict" ;;
      parsed) url="http://127.0.0.1:$NPORT/noop/parsed" ;;
      raw) url="http://127.0.0.1:$NPORT/noop/raw" ;;
    esac
    case $target in kiln) pid=$KPID ;; before) pid=$BPID ;; *) pid=$NPID ;; esac
    c0=$(cpu_ticks $pid)
    out=$(BODY="$BODY" timeout $((SECS + 20)) wrk -t1 -c32 -d"${SECS}s" -s "$SCRIPT" "$url" 2>&1)
    # Every timed request must have been a POST answered 200 (wrk falls back to GET without its script).
    echo "$out" | grep -q "^all 200$" || { echo "$out"; echo "http.sh: not every response was a 200" >&2; exit 1; }
    c1=$(cpu_ticks $pid)
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    n=$(echo "$out" | awk '/requests in/ {print $1}')
    us=$(echo "scale=1; ($c1 - $c0) * 1000000 / $(getconf CLK_TCK) / $n" | bc)
    echo "round $round $target $rps req/s, $us µs server CPU per request"
    RESULTS[$target]="${RESULTS[$target]:-} $rps"
    CPU[$target]="${CPU[$target]:-} $us"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
k=$(echo ${RESULTS[kiln]} | median); p=$(echo ${RESULTS[parsed]} | median); r=$(echo ${RESULTS[raw]} | median)
echo "median req/s: kiln $k  no-op parsed $p  no-op raw $r  kiln/parsed $(echo "scale=2; $k/$p" | bc)  kiln/raw $(echo "scale=2; $k/$r" | bc)"
echo "median server CPU µs/request: kiln $(echo ${CPU[kiln]} | median)  no-op parsed $(echo ${CPU[parsed]} | median)  no-op raw $(echo ${CPU[raw]} | median)"
if [ -n "$BPID" ]; then
  b=$(echo ${RESULTS[before]} | median)
  echo "before: median req/s $b  before/parsed $(echo "scale=2; $b/$p" | bc)  before/raw $(echo "scale=2; $b/$r" | bc)  median server CPU µs/request $(echo ${CPU[before]} | median)"
fi
