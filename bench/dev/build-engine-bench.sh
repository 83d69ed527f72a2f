#!/usr/bin/env bash
# Builds bench/dev/engine_bench against an engine static library (default: the one the addon
# build leaves in build/libkiln_engine.a), with the project's release flags.
#   bash bench/dev/build-engine-bench.sh [LIB] [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
LIB="${1:-build/libkiln_engine.a}"
OUT="${2:-build/engine_bench}"
g++ -std=c++17 -O3 -march=x86-64-v2 -ffp-contract=off -fno-fast-math -g -Inative/engine/include \
  bench/dev/engine_bench.cc "$LIB" -o "$OUT"
echo "$OUT"
