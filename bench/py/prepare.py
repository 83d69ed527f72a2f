"""Fits the benchmark's models and writes everything the timing runs read, into a cache dir.

    python bench/py/prepare.py --cache DIR [--models a,b] [--quick]

Per model, in DIR/<id>/: rows.f64 (the bench rows, row-major float64, in the model's input
order), expected.f64 (sklearn's predict_proba on those rows), model.pkl (the fitted pipeline),
kiln.json (the Kiln model file, or a note why Kiln cannot load it), model.onnx (skl2onnx,
zipmap=False), and for tree models the equivalent XGBoost/LightGBM models and the compiled
Treelite/TL2cgen and lleaves libraries. A peer whose package is missing or fails here is recorded
as absent with the reason. DIR/manifest.json describes it all. Work already in the cache (same
inputs, same code) is reused.
"""

import argparse
import hashlib
import json
import os
import pickle
import shutil
import signal
import sys
import time
import traceback
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "models"))
sys.path.insert(0, os.path.join(ROOT, "tools", "kiln-export", "src"))

from models import MODELS  # noqa: E402

BENCH_ROWS = 10_000  # the largest batch; the data's rows are repeated up to this many
# Bump when this file starts writing different outputs: cached models are reused while the
# model list (models.py), the bundled file, requirements/bench.txt and this stay the same.
PREPARE_FORMAT = 2
# Compiling peers (TL2cgen's gcc, lleaves' LLVM) is bounded: a large forest is megabytes of code,
# and on a slow or shared machine its compile can outlast the whole bench. Over the limit, the peer
# is reported absent with the time it was given.
COMPILE_LIMIT_S = 150
COMPILE_LIMIT_S_QUICK = 60


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


class Absent(Exception):
    """A peer or model that cannot be had here; its message is the reason shown in the report."""


def reason(error):
    text = str(error) if isinstance(error, Absent) else f"{type(error).__name__}: {error}"
    text = text.strip().splitlines()[0].split(" (supported: ")[0]  # the exporter lists every estimator
    return text[:200]


def fingerprint(spec, quick):
    h = hashlib.sha256(f"{PREPARE_FORMAT}".encode())
    with open(os.path.join(HERE, "models.py"), "rb") as f:
        h.update(f.read())
    with open(os.path.join(ROOT, "requirements", "bench.txt"), "rb") as f:
        h.update(f.read())
    if spec.bundled:
        with open(os.path.join(ROOT, "models", f"{spec.bundled}.json"), "rb") as f:
            h.update(f.read())
    import sklearn
    h.update(f"{spec.id}|{quick}|{sklearn.__version__}|{sys.version}|{sys.prefix}".encode())
    return h.hexdigest()[:16]


def bench_rows(X):
    reps = -(-BENCH_ROWS // len(X))
    return np.ascontiguousarray(np.tile(X.to_numpy(dtype=np.float64), (reps, 1))[:BENCH_ROWS])


def kiln_file(spec, est, X, out):
    if spec.bundled:
        return os.path.join(ROOT, "models", f"{spec.bundled}.json")
    from kiln_export import export
    path = os.path.join(out, "kiln.json")
    export(est, path, name=spec.id, rows=X.iloc[:: max(1, len(X) // 40)])
    return path


def onnx_model(est, n_features, out):
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    onx = to_onnx(est, initial_types=[("X", FloatTensorType([None, n_features]))],
                  options={id(est): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    path = os.path.join(out, "model.onnx")
    with open(path, "wb") as f:
        f.write(onx.SerializeToString())
    import onnx
    import skl2onnx
    return {"path": path, "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__,
            "outputs": [o.name for o in onx.graph.output]}


def final_estimator(est):
    return est.steps[-1][1] if hasattr(est, "steps") else est


def compile_in_child(flag, args, quick, what):
    """Runs `prepare.py <flag> <args>` in a child process with a time limit; raises Absent with
    `what` on timeout or failure."""
    import subprocess
    limit = COMPILE_LIMIT_S_QUICK if quick else COMPILE_LIMIT_S
    # Its own process group, so a timeout also ends the compiler processes it started.
    child = subprocess.Popen([sys.executable, __file__, flag, *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = child.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        raise Absent(f"{what} took over {limit} s on this machine; not timed")
    if child.returncode != 0:
        raise Absent(f"{what}: {(err or f'exit {child.returncode}').strip().splitlines()[-1]}")


def tl2cgen_lib(est, out, quick):
    """Compiles the trees to a shared library with gcc (bounded: see COMPILE_LIMIT_S)."""
    import tl2cgen
    import treelite
    path = os.path.join(out, "tl2cgen.so")
    t = time.time()
    compile_in_child("--tl2cgen-compile", [os.path.join(out, "model.pkl"), path], quick,
                     "compiling the trees with gcc (TL2cgen)")
    return {"path": path, "treelite": treelite.__version__, "tl2cgen": tl2cgen.__version__,
            "compileSeconds": round(time.time() - t, 1)}


def lleaves_compile(model_txt, path):
    import lleaves
    lleaves.Model(model_file=model_txt).compile(cache=path)


def tl2cgen_compile(pkl, path):
    import tl2cgen
    import treelite
    with open(pkl, "rb") as f:
        est = pickle.load(f)
    model = treelite.sklearn.import_model(final_estimator(est))
    tl2cgen.export_lib(model, toolchain="gcc", libpath=path, params={"parallel_comp": 2})


def boosted(spec, X, y, out, quick):
    n_estimators, depth = spec.boosted_equivalent
    if quick:
        n_estimators = min(n_estimators, 25)
    result = {"nEstimators": n_estimators, "maxDepth": depth}
    Xn = X.to_numpy(dtype=np.float64)
    try:
        import xgboost
        m = xgboost.XGBClassifier(n_estimators=n_estimators, max_depth=depth, learning_rate=0.1,
                                  tree_method="hist", n_jobs=2, random_state=0)
        m.fit(Xn, y if np.issubdtype(np.asarray(y).dtype, np.number) else np.unique(y, return_inverse=True)[1])
        path = os.path.join(out, "xgboost.ubj")
        m.save_model(path)
        result["xgboost"] = {"status": "ok", "path": path, "version": xgboost.__version__}
    except Exception as e:  # noqa: BLE001 - reported as the peer's absence
        result["xgboost"] = {"status": "absent", "reason": reason(e)}
    try:
        import lightgbm
        m = lightgbm.LGBMClassifier(n_estimators=n_estimators, max_depth=depth, num_leaves=min(2 ** depth, 131072),
                                    learning_rate=0.1, n_jobs=2, random_state=0, verbose=-1)
        m.fit(Xn, y)
        path = os.path.join(out, "lightgbm.txt")
        m.booster_.save_model(path)
        result["lightgbm"] = {"status": "ok", "path": path, "version": lightgbm.__version__,
                              "nClasses": int(len(m.classes_))}
    except Exception as e:  # noqa: BLE001
        result["lightgbm"] = {"status": "absent", "reason": reason(e)}
    if result["lightgbm"]["status"] == "ok":
        try:
            t = time.time()
            lib = os.path.join(out, "lleaves.so")
            compile_in_child("--lleaves-compile", [result["lightgbm"]["path"], lib], quick,
                             "compiling the LightGBM model with LLVM (lleaves)")
            from importlib.metadata import version
            result["lleaves"] = {"status": "ok", "path": lib, "version": version("lleaves"),
                                 "compileSeconds": round(time.time() - t, 1)}
        except Exception as e:  # noqa: BLE001
            result["lleaves"] = {"status": "absent", "reason": reason(e)}
    else:
        result["lleaves"] = {"status": "absent", "reason": "needs the LightGBM model, which is absent"}
    return result


def attempt(entry, key, fn, *args):
    """Runs one optional step; records {"status": "ok", ...} or {"status": "absent", "reason"}."""
    try:
        value = fn(*args)
        entry[key] = {"status": "ok", **(value if isinstance(value, dict) else {"path": value})}
    except ImportError as e:
        entry[key] = {"status": "absent", "reason": f"not installed ({e.name or e}); run: bash scripts/setup-python.sh bench"}
    except Exception as e:  # noqa: BLE001 - an unsupported model is a result, not a crash
        entry[key] = {"status": "absent", "reason": reason(e)}
        log(f"  {key}: {entry[key]['reason']}")


def prepare(spec, cache, quick):
    out = os.path.join(cache, spec.id)
    stamp = fingerprint(spec, quick)
    manifest_path = os.path.join(out, "entry.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            entry = json.load(f)
        if entry.get("stamp") == stamp:
            log(f"{spec.id}: cached")
            return entry
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    log(f"{spec.id}: fitting")
    est, X, y = spec.make(quick)
    t = time.time()
    est.fit(X, y)
    final = final_estimator(est)
    if hasattr(final, "n_jobs"):
        final.n_jobs = 1  # peers predict on one thread
    entry = {"id": spec.id, "title": spec.title, "stamp": stamp, "http": spec.http, "quick": quick,
             "estimator": type(final).__name__, "params": {k: v for k, v in final.get_params().items()
                                                            if k in ("n_estimators", "max_depth", "max_iter")},
             "fitSeconds": round(time.time() - t, 1), "features": list(X.columns), "dataRows": len(X),
             "classes": [c.item() if hasattr(c, "item") else c for c in final.classes_]}
    rows = bench_rows(X)
    rows.tofile(os.path.join(out, "rows.f64"))
    import pandas as pd
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = est.predict_proba(pd.DataFrame(rows, columns=X.columns))
    np.ascontiguousarray(expected, dtype=np.float64).tofile(os.path.join(out, "expected.f64"))
    entry["rows"] = int(rows.shape[0])
    entry["outputs"] = int(expected.shape[1])
    with open(os.path.join(out, "model.pkl"), "wb") as f:
        pickle.dump(est, f)
    log(f"{spec.id}: Kiln model")
    attempt(entry, "kiln", kiln_file, spec, est, X, out)
    log(f"{spec.id}: ONNX (skl2onnx)")
    attempt(entry, "onnx", onnx_model, est, X.shape[1], out)
    if spec.boosted_equivalent:
        log(f"{spec.id}: Treelite/TL2cgen")
        attempt(entry, "tl2cgen", tl2cgen_lib, est, out, quick)
        log(f"{spec.id}: XGBoost/LightGBM equivalents, lleaves")
        entry["boosted"] = boosted(spec, X, y, out, quick)
    with open(manifest_path, "w") as f:
        json.dump(entry, f, indent=1)
    return entry


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cache")
    p.add_argument("--models", default="")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--tl2cgen-compile", nargs=2, metavar=("PKL", "SO"), help=argparse.SUPPRESS)
    p.add_argument("--lleaves-compile", nargs=2, metavar=("TXT", "SO"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.tl2cgen_compile:
        return tl2cgen_compile(*args.tl2cgen_compile)
    if args.lleaves_compile:
        return lleaves_compile(*args.lleaves_compile)
    wanted = [m for m in args.models.split(",") if m]
    known = [m.id for m in MODELS]
    unknown = [m for m in wanted if m not in known]
    if unknown:
        sys.exit(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(known)}")
    import sklearn
    manifest = {"python": sys.version.split()[0], "sklearn": sklearn.__version__, "models": []}
    for spec in MODELS:
        if wanted and spec.id not in wanted:
            continue
        try:
            manifest["models"].append(prepare(spec, args.cache, args.quick))
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            manifest["models"].append({"id": spec.id, "title": spec.title, "status": "absent", "reason": reason(e)})
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
