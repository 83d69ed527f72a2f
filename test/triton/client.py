"""Drives a running Kiln server with NVIDIA's Triton HTTP client (tritonclient[http]).

    python test/triton/client.py HOST:PORT JOB.json

JOB.json: {"numeric": {"model": name, "rows": [[...], ...]},
           "named": {"model": name, "inputs": [{"name", "datatype", "data"}]}}
Prints one JSON object: what the client got back (health, metadata, outputs), for the Node test
to compare with the model API's own predictions.
"""

import json
import sys

import numpy as np
import tritonclient.http as httpclient


def outputs_of(result, names):
    return {n: result.as_numpy(n).tolist() for n in names if result.get_output(n) is not None}


def main():
    url, job_path = sys.argv[1], sys.argv[2]
    with open(job_path) as f:
        job = json.load(f)
    client = httpclient.InferenceServerClient(url=url)
    report = {
        "live": client.is_server_live(),
        "ready": client.is_server_ready(),
        "server": client.get_server_metadata(),
    }

    numeric = job["numeric"]
    report["numeric_model_ready"] = client.is_model_ready(numeric["model"])
    report["numeric_metadata"] = client.get_model_metadata(numeric["model"])
    rows = np.asarray(numeric["rows"], dtype=np.float32)
    tensor = httpclient.InferInput("input", list(rows.shape), "FP32")
    tensor.set_data_from_numpy(rows, binary_data=False)
    wanted = [httpclient.InferRequestedOutput(n, binary_data=False) for n in ("label", "probabilities")]
    result = client.infer(numeric["model"], [tensor], outputs=wanted, request_id="triton-fp32")
    report["numeric"] = {"id": result.get_response().get("id"), **outputs_of(result, ["label", "probabilities"])}

    named = job["named"]
    report["named_metadata"] = client.get_model_metadata(named["model"])
    tensors = []
    for spec in named["inputs"]:
        if spec["datatype"] == "BYTES":
            data = np.asarray([s.encode("utf-8") for s in spec["data"]], dtype=np.object_)
        else:
            data = np.asarray(spec["data"], dtype=np.float64)
        t = httpclient.InferInput(spec["name"], [len(spec["data"])], spec["datatype"])
        t.set_data_from_numpy(data, binary_data=False)
        tensors.append(t)
    result = client.infer(named["model"], tensors, request_id="triton-bytes")
    report["named"] = {"id": result.get_response().get("id"), **outputs_of(result, ["value", "label"])}

    try:
        client.infer("no_such_model", tensors)
        report["unknown_model_error"] = None
    except Exception as exc:  # tritonclient raises InferenceServerException with the server's message
        report["unknown_model_error"] = str(exc)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
