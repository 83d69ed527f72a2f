#!/usr/bin/env bash
# Runs the exporter's pytest suite under every supported scikit-learn (see setup-python.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for env in sklearn-latest sklearn-1.2; do
  echo "== pytest under $env ($("$root/.venv/$env/bin/python" -c 'import sklearn; print("scikit-learn", sklearn.__version__)'))"
  "$root/.venv/$env/bin/python" -m pytest -q -p no:cacheprovider "$root/tools/kiln-export/tests"
done
