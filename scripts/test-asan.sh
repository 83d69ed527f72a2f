#!/usr/bin/env bash
# npm run test:asan — the engine's GoogleTests and the JS suites against AddressSanitizer +
# UndefinedBehaviorSanitizer (+ LeakSanitizer) builds (CMake option KILN_SANITIZE). Separate build
# dirs (build/asan, build/asan-addon); the regular build/ is untouched. See docs/hardening.md.
#   scripts/test-asan.sh            native + JS
#   scripts/test-asan.sh native     engine GoogleTests only
#   scripts/test-asan.sh js         addon + JS suites only
# GCC is used (its libasan.so is a shared runtime that can be LD_PRELOADed into node).
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-all}"
export CXX="${KILN_ASAN_CXX:-g++}"
# UB is fatal (-fno-sanitize-recover) and reported with a stack; leaks fail the native run.
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
t0=$(date +%s)

if [ "$WHAT" = all ] || [ "$WHAT" = native ]; then
  cmake -S . -B build/asan -DKILN_BUILD_TESTS=ON -DKILN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build/asan -j2 --target kiln_engine_tests
  # One process for the whole suite (ctest would start one per test case).
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1" \
    build/asan/kiln_engine_tests --gtest_brief=1
  echo "test:asan: native engine tests clean under ASan+UBSan+LSan ($(( $(date +%s) - t0 ))s)"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = js ]; then
  t1=$(date +%s)
  node node_modules/cmake-js/bin/cmake-js compile -p 2 -O build/asan-addon --CDKILN_SANITIZE=ON >/dev/null
  npm run build:ts >/dev/null
  LIBASAN="$("$CXX" -print-file-name=libasan.so)"
  ADDON="$PWD/build/asan-addon/Release/kiln.node"
  # The loader falls back to build/Release silently, so make sure the instrumented addon exists,
  # is instrumented, and loads under the preloaded runtime before trusting the run.
  [ -f "$ADDON" ] || { echo "test:asan: $ADDON was not built" >&2; exit 1; }
  ldd "$ADDON" | grep -q libasan || { echo "test:asan: $ADDON is not linked against libasan" >&2; exit 1; }
  LD_PRELOAD="$LIBASAN" ASAN_OPTIONS=detect_leaks=0 node -e "require(process.argv[1])" "$ADDON"
  # node is not instrumented: the ASan runtime must be first in the process (LD_PRELOAD), and
  # LeakSanitizer stays off for node (V8 and node's own one-time allocations are never freed);
  # leaks in the engine are covered by the native run above.
  LD_PRELOAD="$LIBASAN" \
  ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1:handle_segv=1" \
  KILN_NATIVE_PATH="$ADDON" \
    node --test --test-concurrency=1 test/*.test.mjs
  echo "test:asan: JS suites clean against the ASan+UBSan addon ($(( $(date +%s) - t1 ))s)"
fi
echo "test:asan: total $(( $(date +%s) - t0 ))s"
