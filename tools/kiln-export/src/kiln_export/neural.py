"""MLPClassifier / MLPRegressor -> the ``mlp`` estimator kind (docs/model-format.md)."""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from .errors import UnsupportedError, unsupported_option
from .estimators import EstResult, check_features, classes_json
from .writer import nums

ACTIVATIONS = ("identity", "relu", "tanh", "logistic")


def _layers(est, frame, path) -> dict:
    if est.activation not in ACTIVATIONS:
        raise unsupported_option(path, est, "activation", est.activation)
    coefs = [np.asarray(c, dtype=np.float64) for c in est.coefs_]
    check_features(est, frame, coefs[0].shape[0], path)
    layers = [{"coef": [nums(r) for r in c], "intercept": nums(np.asarray(b, dtype=np.float64))}
              for c, b in zip(coefs, est.intercepts_)]
    return {"kind": "mlp", "n_features": int(coefs[0].shape[0]), "activation": est.activation,
            "layers": layers}


def mlp_classifier(est, frame, path, ctx) -> EstResult:
    out_act = est.out_activation_
    if out_act == "logistic" and int(est.n_outputs_) != 1:
        raise UnsupportedError(path, "MLPClassifier", "multi-label classification is not supported")
    if out_act not in ("logistic", "softmax"):
        raise UnsupportedError(path, "MLPClassifier", f"output activation {out_act!r} is not supported")
    d = _layers(est, frame, path)
    d["link"] = out_act
    return d, {"task": "classification", "classes": classes_json(est, path), "probabilities": True,
               "decision": False}


def mlp_regressor(est, frame, path, ctx) -> EstResult:
    if est.n_outputs_ != 1:
        raise UnsupportedError(path, "MLPRegressor",
                               f"multi-output regression ({est.n_outputs_} targets) is not supported")
    d = _layers(est, frame, path)
    d["link"] = "identity"
    return d, {"task": "regression"}


def table() -> Dict[type, Callable]:
    from sklearn import neural_network as nn
    return {nn.MLPClassifier: mlp_classifier, nn.MLPRegressor: mlp_regressor}
