#!/usr/bin/env bash
# Builds vegeta (the Go constant-rate load generator bench/dev/tail.mjs compares with
# bench/lib/paced.mjs) into the bench cache (bench/.cache/tools/vegeta-<version>/vegeta), once per
# version. The version and every module's hash are pinned in bench/dev/loadgen/go.mod and go.sum;
# modules come from the Go module proxy and are checked against go.sum (-mod=readonly), so the
# checksum database (not reachable from every machine) is not needed. Without Go it says so, exit 0.
#   bash bench/dev/setup-vegeta.sh [CACHE_ROOT]   (default bench/.cache)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$(cd "${1:-$root/bench/.cache}" 2>/dev/null && pwd || { mkdir -p "${1:-$root/bench/.cache}" && cd "${1:-$root/bench/.cache}" && pwd; })"
version="$(sed -n 's/^require github.com\/tsenart\/vegeta\/v12 \(v[^ ]*\)$/\1/p' "$root/bench/dev/loadgen/go.mod")"
[ -n "$version" ] || { echo "setup-vegeta: bench/dev/loadgen/go.mod pins no vegeta version" >&2; exit 1; }
out="$cache/tools/vegeta-$version/vegeta"
if [ -x "$out" ]; then
  echo "setup-vegeta: $out is there" >&2
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "setup-vegeta: no Go toolchain on PATH" >&2
  exit 0
fi
echo "setup-vegeta: building vegeta $version into $out (one-time, a few minutes)" >&2
mkdir -p "$(dirname "$out")"
(cd "$root/bench/dev/loadgen" && GOFLAGS=-mod=readonly CGO_ENABLED=0 nice go build -trimpath -o "$out.tmp" github.com/tsenart/vegeta/v12)
mv "$out.tmp" "$out"
echo "setup-vegeta: vegeta $version -> $out" >&2
