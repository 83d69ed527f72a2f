"""Times the Python peers on the bench rows, one thread, and prints one JSON object.

    python bench/py/peers.py --cache DIR --model ID [--time-ms N] [--repeats N] [--peers a,b]

Peers: sklearn (the fitted pipeline's predict_proba), tl2cgen (Treelite/TL2cgen-compiled trees),
xgboost and lightgbm (their own predictors on the equivalent models), lleaves (the LightGBM model
compiled by LLVM). Each gets one row per call (a 1 x n array, as a service would hand it) and
batches; a peer that is missing or fails is reported absent with the reason.
"""

import argparse
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ns_per_row  # noqa: E402

BATCHES = (1, 100, 10_000)


class Absent(Exception):
    """Why a peer cannot run here; shown as is."""
ALL_PEERS = ("sklearn", "tl2cgen", "xgboost", "lightgbm", "lleaves")


def measure(predict, rows, time_ms, repeats):
    """One row per call and each batch size; ns per row."""
    n = rows.shape[0]
    one = [rows[i:i + 1] for i in range(min(n, 1000))]
    state = {"i": 0}

    def one_row():
        predict(one[state["i"]])
        state["i"] = (state["i"] + 1) % len(one)

    out = {"oneRowNs": median_ns_per_row(one_row, 1, time_ms, repeats), "batchNsPerRow": {}}
    for b in BATCHES:
        chunk = rows[:b]
        out["batchNsPerRow"][str(b)] = median_ns_per_row(lambda: predict(chunk), b, time_ms, repeats)
    return out


def max_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64).reshape(b.shape) - b)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cache", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--time-ms", type=float, default=1000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--peers", default=",".join(ALL_PEERS))
    args = p.parse_args()
    d = os.path.join(args.cache, args.model)
    with open(os.path.join(d, "entry.json")) as f:
        entry = json.load(f)
    nf = len(entry["features"])
    rows = np.fromfile(os.path.join(d, "rows.f64"), dtype=np.float64).reshape(-1, nf)
    expected = np.fromfile(os.path.join(d, "expected.f64"), dtype=np.float64).reshape(rows.shape[0], -1)
    wanted = set(args.peers.split(","))
    results = {}

    def run(name, setup):
        if name not in wanted:
            results[name] = {"status": "absent", "reason": "not selected (--peers)"}
            return
        try:
            predict, info = setup()
            results[name] = {"status": "ok", **info, **measure(predict, rows, args.time_ms, args.repeats)}
        except ImportError as e:
            results[name] = {"status": "absent", "reason": f"not installed ({e.name or e}); run: bash scripts/setup-python.sh bench"}
        except Absent as e:
            results[name] = {"status": "absent", "reason": str(e)}
        except Exception as e:  # noqa: BLE001 - reported, never silently skipped
            results[name] = {"status": "absent", "reason": f"{type(e).__name__}: {e}".splitlines()[0][:200]}
        print(f"bench:   {args.model} {name}: {results[name]['status']}", file=sys.stderr, flush=True)

    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:
        pass

    def sklearn_setup():
        import pickle
        import sklearn
        with open(os.path.join(d, "model.pkl"), "rb") as f:
            est = pickle.load(f)
        warnings.simplefilter("ignore")  # fitted on a DataFrame; numpy rows warn about names
        diff = max_diff(est.predict_proba(rows[:1000]), expected[:1000])
        return est.predict_proba, {"version": sklearn.__version__, "maxAbsDiffVsExpected": diff}

    def tl2cgen_setup():
        info = entry.get("tl2cgen") or {"status": "absent", "reason": "not a tree model"}
        if info["status"] != "ok":
            raise Absent(info["reason"])
        import tl2cgen
        pred = tl2cgen.Predictor(info["path"], nthread=1)

        def predict(x):
            return pred.predict(tl2cgen.DMatrix(x, dtype="float64"))
        got = np.asarray(predict(rows[:1000])).reshape(1000, -1)
        if got.shape[1] == 1 and expected.shape[1] == 2:
            got = np.hstack([1 - got, got])
        return predict, {"version": info["tl2cgen"], "maxAbsDiffVsExpected": max_diff(got, expected[:1000])}

    boosted = entry.get("boosted")

    def own(name):
        if not boosted:
            raise Absent("no equivalent XGBoost/LightGBM model: not a tree model")
        info = boosted[name]
        if info["status"] != "ok":
            raise Absent(info["reason"])
        return info

    def xgboost_setup():
        info = own("xgboost")
        import xgboost
        booster = xgboost.Booster(model_file=info["path"])
        booster.set_param({"nthread": 1})
        return (lambda x: booster.inplace_predict(x)), {"version": info["version"], "ownModel": f"XGBoost {boosted['nEstimators']} trees depth {boosted['maxDepth']}"}

    def lightgbm_setup():
        info = own("lightgbm")
        import lightgbm
        booster = lightgbm.Booster(model_file=info["path"])
        return (lambda x: booster.predict(x, num_threads=1)), {"version": info["version"], "ownModel": f"LightGBM {boosted['nEstimators']} trees depth {boosted['maxDepth']}"}

    def lleaves_setup():
        info = own("lleaves")
        import lleaves
        m = lleaves.Model(model_file=boosted["lightgbm"]["path"])
        m.compile(cache=info["path"])
        import lightgbm
        ref = lightgbm.Booster(model_file=boosted["lightgbm"]["path"]).predict(rows[:1000])
        diff = max_diff(m.predict(rows[:1000], n_jobs=1), np.asarray(ref).reshape(1000, -1))
        return (lambda x: m.predict(x, n_jobs=1)), {"version": info["version"], "ownModel": f"LightGBM {boosted['nEstimators']} trees depth {boosted['maxDepth']}", "maxAbsDiffVsLightGBM": diff}

    run("sklearn", sklearn_setup)
    run("tl2cgen", tl2cgen_setup)
    run("xgboost", xgboost_setup)
    run("lightgbm", lightgbm_setup)
    run("lleaves", lleaves_setup)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
