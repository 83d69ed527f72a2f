#!/usr/bin/env bash
# libFuzzer runs of the engine harnesses (native/fuzz). Not part of CI.
#   npm run fuzz -- [seconds per harness, default 60] [harness ...]
# Harnesses: model_load (Model::LoadString on arbitrary bytes: Kiln JSON and LightGBM text, seeded
# with the bundled models, test fixtures and native/fuzz/seeds/model_load), verification (the row path),
# record_scanner (request bodies through kiln::RecordScanner, checked against nlohmann/json).
# All run at once (one process each). Working corpora persist in build/fuzz/corpus/<harness>,
# crashing inputs land in build/fuzz/artifacts/<harness>/ — copy each one into
# native/tests/fuzz_regressions/ (the GoogleTest FuzzRegressions replays them in npm test).
# Needs clang + libclang-rt (Debian: apt-get install clang libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-60}"
shift || true
HARNESSES=("$@")
[ ${#HARNESSES[@]} -eq 0 ] && HARNESSES=(model_load verification record_scanner)
CXX_BIN="${CXX:-clang++}"
command -v "$CXX_BIN" >/dev/null || { echo "fuzz: $CXX_BIN not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

B=build/fuzz
CXX="$CXX_BIN" cmake -S . -B "$B" -DKILN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$B" -j2 --target fuzz_model_load fuzz_verification fuzz_record_scanner >/dev/null

seed() {  # harness -> corpus dir, seeded on first use
  local h=$1 c="$B/corpus/$1"
  mkdir -p "$c"
  if [ "$h" = model_load ]; then
    for f in models/*.json $(find test/fixtures -name '*.json') native/fuzz/seeds/model_load/* native/tests/fuzz_regressions/*; do
      [ -f "$f" ] && cp "$f" "$c/seed-$(echo "$f" | tr '/' '_')"
    done
  else
    cp native/fuzz/seeds/"$h"/* "$c/"
  fi
  echo "$c"
}

pids=()
for h in "${HARNESSES[@]}"; do
  corpus=$(seed "$h")
  art="$B/artifacts/$h"; logd="$B/logs/$h"
  mkdir -p "$art" "$logd"
  # -fork=1 -ignore_*: one fuzzing process at a time, restarted after a finding so one crash does
  # not end the run; every finding is kept in artifacts/.
  ( cd "$logd" && exec "../../fuzz_$h" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
      -max_total_time="$SECS" \
      -dict=../../../../native/fuzz/kiln.dict -max_len="${KILN_FUZZ_MAX_LEN:-32768}" -rss_limit_mb=2048 -timeout=10 \
      -artifact_prefix="../../artifacts/$h/" "../../corpus/$h" ) \
      > "$logd/fuzz.log" 2>&1 &
  pids+=($!)
  echo "fuzz: $h for ${SECS}s (log $logd/fuzz.log)"
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
for h in "${HARNESSES[@]}"; do
  log="$B/logs/$h/fuzz.log"
  echo "== $h: $(grep -E '^#[0-9]+' "$log" | tail -1)"
  echo "   corpus files: $(ls "$B/corpus/$h" | wc -l); findings: $(ls "$B/artifacts/$h" | wc -l) ($B/artifacts/$h)"
done
exit $rc
