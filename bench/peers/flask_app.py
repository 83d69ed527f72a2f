"""The seed's stack, as a peer: Flask behind Gunicorn with gevent workers, the pickled pipelines,
and functools.lru_cache in front of predict. It answers POST /models/<name>/predict with one JSON
record, like Kiln's friendly route.

    KILN_BENCH_CACHE=DIR KILN_BENCH_MODELS=a,b gunicorn -w 2 -k gevent -b 127.0.0.1:PORT \
        --chdir bench/peers flask_app:app
"""

import functools
import os
import pickle
import warnings

import pandas as pd
from flask import Flask, jsonify, request

warnings.simplefilter("ignore")

CACHE_SIZE = 1024  # entries per model; the bench cycles through more distinct rows than this

app = Flask(__name__)
_models = {}


def _load():
    cache = os.environ["KILN_BENCH_CACHE"]
    for name in os.environ["KILN_BENCH_MODELS"].split(","):
        with open(os.path.join(cache, name, "model.pkl"), "rb") as f:
            est = pickle.load(f)
        features = list(est.feature_names_in_)

        @functools.lru_cache(maxsize=CACHE_SIZE)
        def predict(values, est=est, features=features):
            proba = est.predict_proba(pd.DataFrame([values], columns=features))[0]
            classes = [c.item() if hasattr(c, "item") else c for c in est.classes_]
            best = int(proba.argmax())
            return {"label": classes[best], "probabilities": {str(c): float(p) for c, p in zip(classes, proba)}}

        _models[name] = (features, predict)


_load()


@app.post("/models/<name>/predict")
def predict(name):
    if name not in _models:
        return jsonify({"error": f"no model {name}"}), 404
    features, fn = _models[name]
    record = request.get_json()
    return jsonify(fn(tuple(record.get(f) for f in features)))


@app.get("/health")
def health():
    return "ok"
