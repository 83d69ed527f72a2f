#!/usr/bin/env bash
# Creates the Python virtualenvs the tests use, from pinned requirements, once per requirements
# change: .venv/sklearn-latest (newest scikit-learn), .venv/sklearn-1.2 (oldest supported) and
# .venv/tritonclient (a real V2 client for the service tests), .venv/schemathesis (schema-driven HTTP
# fuzzing of the service's OpenAPI document). The sklearn ones also get the
# in-repo exporter installed in editable mode.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${KILN_BOOTSTRAP_PYTHON:-python3}"
envs=("${@:-sklearn-latest sklearn-1.2 tritonclient schemathesis}")
# shellcheck disable=SC2206
envs=(${envs[@]})

for env in "${envs[@]}"; do
  req="$root/requirements/$env.txt"
  dir="$root/.venv/$env"
  [ -f "$req" ] || { echo "setup-python: no requirements file $req" >&2; exit 1; }
  want="$(cat "$req" "$root/tools/kiln-export/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ -f "$dir/.kiln-stamp" ] && [ "$(cat "$dir/.kiln-stamp")" = "$want" ]; then
    continue
  fi
  echo "setup-python: creating $dir from requirements/$env.txt (one-time, a few minutes)" >&2
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
  if [[ "$env" == sklearn-* ]]; then
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps --no-build-isolation \
      -e "$root/tools/kiln-export" 2>/dev/null \
      || "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --no-deps -e "$root/tools/kiln-export"
  fi
  echo "$want" > "$dir/.kiln-stamp"
done
