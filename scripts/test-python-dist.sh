#!/usr/bin/env bash
# The exporter as a user installs it: `python -m build` makes an sdist and a wheel from a copy of
# tools/kiln-export (the wheel is built from the unpacked sdist, so a file missing from the sdist fails here),
# the wheel is installed into a fresh virtualenv with only its declared dependencies (pinned by
# requirements/sklearn-latest.txt as constraints), and that environment fits and exports a model, through the
# Python API and the `kiln-export` command, which the Node engine then loads and verifies.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${KILN_BOOTSTRAP_PYTHON:-python3}"
pipq=(--quiet --disable-pip-version-check --no-input)

bash "$root/scripts/setup-python.sh" build
work="$(mktemp -d "${TMPDIR:-/tmp}/kiln-pydist-XXXXXX")"
trap 'rm -rf "$work"' EXIT

cp -r "$root/tools/kiln-export" "$work/src"
rm -rf "$work/src"/{build,dist} "$work/src"/src/*.egg-info
"$root/.venv/build/bin/python" -m build --no-isolation --outdir "$work/dist" "$work/src" > "$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
sdist="$(ls "$work"/dist/kiln_export-*.tar.gz)"
wheel="$(ls "$work"/dist/kiln_export-*-py3-none-any.whl)"
echo "built $(basename "$sdist") ($(stat -c %s "$sdist") bytes), $(basename "$wheel") ($(stat -c %s "$wheel") bytes)"
grep -q 'src/kiln_export/api.py$' <<<"$(tar -tzf "$sdist")" || { echo "sdist lacks src/kiln_export/api.py" >&2; exit 1; }
grep -q 'kiln_export/cli.py' <<<"$("$python" -m zipfile -l "$wheel")" || { echo "wheel lacks kiln_export/cli.py" >&2; exit 1; }

"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install "${pipq[@]}" -c "$root/requirements/sklearn-latest.txt" "$wheel"
echo "installed into a fresh venv: $("$work/venv/bin/python" -m pip list --format=freeze --disable-pip-version-check | tr '\n' ' ')"

cd "$work"  # not the repository: the import must come from the installed wheel
"$work/venv/bin/python" - <<'PY'
import json, joblib, kiln_export, sklearn, sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
assert kiln_export.__file__.startswith(sys.prefix), kiln_export.__file__
X, y = load_iris(return_X_y=True)  # numpy only: pandas is not a dependency of the exporter
pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
kiln_export.export(pipe, "iris_api.json", name="iris_from_wheel", rows=X[::4])
joblib.dump(pipe, "iris.joblib")
json.dump(X[1::8].tolist(), open("rows.json", "w"))
print(f"exported iris_api.json with kiln_export {kiln_export.__version__} from {kiln_export.__file__}, scikit-learn {sklearn.__version__}")
PY
"$work/venv/bin/kiln-export" iris.joblib -o iris_cli.json --name iris_cli --rows rows.json
for model in iris_api.json iris_cli.json; do
  node "$root/dist/cli.js" validate "$work/$model" | head -1
done
echo "test-python-dist: ok"
