import json

import pytest

from conftest import SCHEMA_PATH

jsonschema = pytest.importorskip("jsonschema")


def test_schema_is_valid_draft_2020_12():
    with open(SCHEMA_PATH) as f:
        schema = json.load(f)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _validator():
    with open(SCHEMA_PATH) as f:
        return jsonschema.Draft202012Validator(json.load(f))


MINIMAL = {
    "format": "kiln.model", "format_version": 1, "name": "m", "metadata": {},
    "inputs": [{"name": "a", "type": "number", "nullable": False}],
    "transform": None,
    "estimator": {"kind": "linear", "n_features": 1, "coef": [[2.0]], "intercept": [0.5], "link": "identity"},
    "output": {"task": "regression"},
    "verification": {"tolerance": {"absolute": 1e-9, "relative": 1e-9},
                     "rows": [{"input": {"a": 1.0}, "expected": {"value": 2.5}}]},
}


def test_minimal_model_validates():
    _validator().validate(MINIMAL)


@pytest.mark.parametrize("mutate", [
    lambda m: m.update(extra=1),
    lambda m: m.update(format_version=2),
    lambda m: m.update(name="-bad"),
    lambda m: m["inputs"].clear(),
    lambda m: m["inputs"][0].update(type="category"),            # category needs dtype
    lambda m: m.update(transform={"kind": "mystery"}),
    lambda m: m.update(transform={"kind": "binarizer", "threshold": 0, "x": 1}),
    lambda m: m["estimator"].update(link="probit"),
    lambda m: m["verification"]["tolerance"].update(absolute=0.1),
    lambda m: m["verification"]["rows"].clear(),
    lambda m: m["verification"]["rows"][0]["expected"].update(score=1),
])
def test_schema_rejects(mutate):
    m = json.loads(json.dumps(MINIMAL))
    mutate(m)
    assert list(_validator().iter_errors(m))


def test_boost_requires_init():
    m = json.loads(json.dumps(MINIMAL))
    tree = {"target": 0, "children_left": [-1], "children_right": [-1], "feature": [-1],
            "threshold": [0.0], "value": [[1.0]]}
    m["estimator"] = {"kind": "tree_ensemble", "n_features": 1, "aggregate": "average", "n_targets": 1, "trees": [tree]}
    _validator().validate(m)
    m["estimator"]["aggregate"] = "boost"
    assert list(_validator().iter_errors(m))
    m["estimator"].update(init=[0.0], learning_rate=0.1, link="identity")
    _validator().validate(m)
