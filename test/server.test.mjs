// kiln serve: every endpoint against a real in-process server on a loopback port, predictions
// compared with the model API's own (loadModel(...).predict), V2 requests written as in the
// Open Inference Protocol REST document's examples.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadModel } from '../dist/index.js';
import { TOKEN, fixtures, get, post, start } from './fixtures/server/helpers.mjs';

const repo = path.join(fixtures, 'repo');
const logreg = loadModel(path.join(repo, 'logreg.json'));
const colour = loadModel(path.join(repo, 'colour.json'));
const tree = loadModel(path.join(repo, 'tree.json'));
const versioned1 = loadModel(path.join(repo, 'versioned', '1', 'model.json'));
const versioned2 = loadModel(path.join(repo, 'versioned', '2', 'model.json'));

/** The V2 outputs of `records` computed by the model API, for comparison. */
function expectedOutputs(model, records) {
  const predictions = records.map((r) => model.predict(r));
  if (model.task === 'regression') return { value: predictions.map((p) => p.value) };
  const out = { label: predictions.map((p) => p.label) };
  if (model.hasProbabilities) out.probabilities = predictions.flatMap((p) => p.probabilities);
  if (model.nDecision > 0) out.decision = predictions.flatMap((p) => p.decision);
  return out;
}

function outputsByName(body) {
  return Object.fromEntries(body.outputs.map((o) => [o.name, o]));
}

describe('kiln serve: endpoints', () => {
  let s;
  before(async () => {
    s = await start();
  });
  after(async () => {
    await s.close();
  });

  test('health: live and ready', async () => {
    const live = await get(`${s.url}/v2/health/live`);
    assert.equal(live.status, 200);
    assert.deepEqual(live.json, { live: true });
    const ready = await get(`${s.url}/v2/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json, { ready: true });
  });

  test('server metadata: GET /v2', async () => {
    const r = await get(`${s.url}/v2`);
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'kiln');
    assert.match(r.json.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(r.json.extensions, ['model_repository']);
  });

  test('model metadata: flat file, latest version, explicit version', async () => {
    const r = await get(`${s.url}/v2/models/logreg`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, {
      name: 'logreg',
      versions: ['1'],
      platform: 'kiln_modelv1',
      inputs: [
        { name: 'x1', datatype: 'FP64', shape: [-1] },
        { name: 'x2', datatype: 'FP64', shape: [-1] },
      ],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP64', shape: [-1, 2] },
        { name: 'decision', datatype: 'FP64', shape: [-1] },
      ],
      parameters: { task: 'classification', version: '1' },
    });
    const v = await get(`${s.url}/v2/models/versioned`);
    assert.deepEqual(v.json.versions, ['1', '2']);
    assert.equal(v.json.parameters.version, '2');
    const v1 = await get(`${s.url}/v2/models/versioned/versions/1`);
    assert.equal(v1.status, 200);
    assert.equal(v1.json.parameters.version, '1');
    const c = await get(`${s.url}/v2/models/colour`);
    assert.deepEqual(c.json.inputs.map((i) => i.datatype), ['BYTES', 'BYTES', 'FP64']);
    assert.deepEqual(c.json.outputs, [{ name: 'value', datatype: 'FP64', shape: [-1] }]);
    const t = await get(`${s.url}/v2/models/tree`);
    assert.equal(t.json.outputs[0].datatype, 'INT64');
  });

  test('model ready, with and without a version; unknown model or version is 404', async () => {
    assert.deepEqual((await get(`${s.url}/v2/models/logreg/ready`)).json, { name: 'logreg', ready: true });
    const r = await get(`${s.url}/v2/models/versioned/versions/2/ready`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { name: 'versioned', ready: true });
    const missing = await get(`${s.url}/v2/models/nope/ready`);
    assert.equal(missing.status, 404);
    assert.match(missing.json.error, /model "nope" not found/);
    const noVersion = await get(`${s.url}/v2/models/versioned/versions/7/ready`);
    assert.equal(noVersion.status, 404);
    assert.match(noVersion.json.error, /no version "7"/);
  });

  test('V2 infer, written as in the protocol document (id echoed, named tensors, requested outputs)', async () => {
    // Same layout as the protocol's "Inference Request Examples": pretty-printed, id "42",
    // shape [2] and [2, 1] tensors, one requested output.
    const body = `{
  "id" : "42",
  "inputs" : [
    {
      "name" : "x1",
      "shape" : [ 2 ],
      "datatype" : "FP64",
      "data" : [ 1.5, -3.25 ]
    },
    {
      "name" : "x2",
      "shape" : [ 2, 1 ],
      "datatype" : "FP64",
      "data" : [ [ -2.0 ], [ 0.75 ] ]
    }
  ],
  "outputs" : [
    {
      "name" : "probabilities"
    }
  ]
}`;
    const r = await post(`${s.url}/v2/models/logreg/infer`, body);
    assert.equal(r.status, 200, r.text);
    const records = [
      { x1: 1.5, x2: -2.0 },
      { x1: -3.25, x2: 0.75 },
    ];
    const expected = expectedOutputs(logreg, records);
    assert.deepEqual(r.json, {
      model_name: 'logreg',
      model_version: '1',
      id: '42',
      outputs: [{ name: 'probabilities', datatype: 'FP64', shape: [2, 2], data: expected.probabilities }],
    });
  });

  test('V2 infer: all outputs when none are requested; no id when none is given', async () => {
    const records = [
      { x1: 0.5, x2: 1 },
      { x1: 4, x2: -3 },
      { x1: -1, x2: -2 },
    ];
    const r = await post(`${s.url}/v2/models/logreg/infer`, {
      inputs: [
        { name: 'x1', shape: [3], datatype: 'FP64', data: records.map((x) => x.x1) },
        { name: 'x2', shape: [3], datatype: 'FP64', data: records.map((x) => x.x2) },
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.id, undefined);
    const out = outputsByName(r.json);
    const expected = expectedOutputs(logreg, records);
    assert.deepEqual(out.label, { name: 'label', datatype: 'BYTES', shape: [3], data: expected.label });
    assert.deepEqual(out.probabilities.data, expected.probabilities);
    assert.deepEqual(out.decision, { name: 'decision', datatype: 'FP64', shape: [3], data: expected.decision });
  });

  test('V2 infer: one row-major FP64 tensor [n, n_inputs], flat and nested', async () => {
    const records = [
      { x1: 2, x2: -1 },
      { x1: -0.5, x2: -2.5 },
    ];
    const expected = expectedOutputs(logreg, records);
    for (const data of [
      [2, -1, -0.5, -2.5],
      [
        [2, -1],
        [-0.5, -2.5],
      ],
    ]) {
      const r = await post(`${s.url}/v2/models/logreg/infer`, { id: 'm', inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP64', data }] });
      assert.equal(r.status, 200, r.text);
      const out = outputsByName(r.json);
      assert.deepEqual(out.label.data, expected.label);
      assert.deepEqual(out.probabilities.data, expected.probabilities);
    }
  });

  test('V2 infer: an FP32 tensor is read as float32 (values rounded as a float32 array would be)', async () => {
    const values = [0.1, -2.2, 3.3, 0.7];
    const records = [
      { x1: Math.fround(0.1), x2: Math.fround(-2.2) },
      { x1: Math.fround(3.3), x2: Math.fround(0.7) },
    ];
    const r = await post(`${s.url}/v2/models/logreg/infer`, { inputs: [{ name: 'input', shape: [2, 2], datatype: 'FP32', data: values }] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(outputsByName(r.json).decision.data, expectedOutputs(logreg, records).decision);
  });

  test('V2 infer: BYTES for string categories, INT64 numbers, null where the model accepts it', async () => {
    const records = [
      { colour: 'red', shape: 'round', size: 4 },
      { colour: null, shape: 'square', size: 2 },
      { colour: 'purple', shape: 'round', size: -1 },
    ];
    const r = await post(`${s.url}/v2/models/colour/infer`, {
      id: 'c',
      inputs: [
        { name: 'colour', shape: [3], datatype: 'BYTES', data: records.map((x) => x.colour) },
        { name: 'shape', shape: [3, 1], datatype: 'BYTES', data: records.map((x) => [x.shape]) },
        { name: 'size', shape: [3], datatype: 'INT64', data: records.map((x) => x.size) },
      ],
    });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.outputs, [{ name: 'value', datatype: 'FP64', shape: [3], data: expectedOutputs(colour, records).value }]);

    const t = await post(`${s.url}/v2/models/tree/infer`, {
      inputs: [
        { name: 'a', shape: [3], datatype: 'FP64', data: [null, 3, 10] },
        { name: 'b', shape: [3], datatype: 'FP64', data: [5, 1, 2] },
      ],
    });
    assert.equal(t.status, 200, t.text);
    const expected = expectedOutputs(tree, [
      { a: null, b: 5 },
      { a: 3, b: 1 },
      { a: 10, b: 2 },
    ]);
    assert.deepEqual(outputsByName(t.json).label, { name: 'label', datatype: 'INT64', shape: [3], data: expected.label });
    // An absent tensor for a nullable input is all-missing.
    const absent = await post(`${s.url}/v2/models/tree/infer`, { inputs: [{ name: 'b', shape: [1], datatype: 'FP64', data: [5] }] });
    assert.equal(absent.status, 200, absent.text);
    assert.deepEqual(outputsByName(absent.json).label.data, [tree.predict({ b: 5 }).label]);
  });

  test('V2 infer: latest version unless one is asked for', async () => {
    const request = { inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 1] }], outputs: [{ name: 'decision' }] };
    const latest = await post(`${s.url}/v2/models/versioned/infer`, request);
    assert.equal(latest.json.model_version, '2');
    assert.deepEqual(latest.json.outputs[0].data, versioned2.predict({ x1: 1, x2: 1 }).decision);
    const first = await post(`${s.url}/v2/models/versioned/versions/1/infer`, request);
    assert.equal(first.json.model_version, '1');
    assert.deepEqual(first.json.outputs[0].data, versioned1.predict({ x1: 1, x2: 1 }).decision);
    assert.notDeepEqual(first.json.outputs[0].data, latest.json.outputs[0].data);
  });

  test('V1 predict: {"instances": [...]} -> {"predictions": [...]}', async () => {
    const instances = [
      { x1: 1, x2: -2 },
      { x1: 3.5, x2: -2.2 },
    ];
    const r = await post(`${s.url}/v1/models/logreg:predict`, { instances });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { predictions: instances.map((x) => logreg.predict(x)) });
    const v = await post(`${s.url}/v1/models/versioned/versions/1:predict`, { instances });
    assert.deepEqual(v.json, { predictions: instances.map((x) => versioned1.predict(x)) });
    const c = await post(`${s.url}/v1/models/colour:predict`, { instances: [{ colour: 'green', shape: 'square', size: 1 }] });
    assert.deepEqual(c.json, { predictions: [colour.predict({ colour: 'green', shape: 'square', size: 1 })] });
    const status = await get(`${s.url}/v1/models/logreg`);
    assert.deepEqual(status.json, { name: 'logreg', ready: true });
  });

  test('friendly predict: one record, or an array of records', async () => {
    const one = await post(`${s.url}/models/tree/predict`, { a: null, b: 1 });
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(one.json, tree.predict({ a: null, b: 1 }));
    assert.equal(one.headers.get('x-kiln-model-version'), '1');
    const records = [
      { colour: 'blue', shape: 'round', size: 2 },
      { shape: 'square', size: 0 },
    ];
    const many = await post(`${s.url}/models/colour/predict`, records);
    assert.equal(many.status, 200, many.text);
    assert.deepEqual(many.json, records.map((r) => colour.predict(r)));
    const versioned = await post(`${s.url}/models/versioned/versions/1/predict`, { x1: 0, x2: 0 });
    assert.deepEqual(versioned.json, versioned1.predict({ x1: 0, x2: 0 }));
  });

  test('friendly model description and list', async () => {
    const list = await get(`${s.url}/models`);
    assert.deepEqual(
      list.json.models.map((m) => m.name),
      ['colour', 'logreg', 'tree', 'versioned'],
    );
    const d = await get(`${s.url}/models/colour`);
    assert.equal(d.json.task, 'regression');
    assert.deepEqual(d.json.inputs[1], { name: 'shape', type: 'category', dtype: 'string', nullable: false, vocabulary: ['round', 'square'] });
  });

  test('OpenAPI at /docs/json describes every route with JSON schemas', async () => {
    const r = await get(`${s.url}/docs/json`);
    assert.equal(r.status, 200);
    assert.equal(r.json.openapi, '3.0.3');
    const paths = Object.keys(r.json.paths);
    for (const p of [
      '/v2/health/live',
      '/v2/health/ready',
      '/v2',
      '/v2/models/{name}',
      '/v2/models/{name}/versions/{version}',
      '/v2/models/{name}/ready',
      '/v2/models/{name}/versions/{version}/ready',
      '/v2/models/{name}/infer',
      '/v2/models/{name}/versions/{version}/infer',
      '/v1/models/{name}:predict',
      '/v1/models/{name}/versions/{version}:predict',
      '/models/{name}/predict',
      '/v2/repository/index',
      '/v2/repository/models/{name}/load',
      '/v2/repository/models/{name}/unload',
      '/metrics',
    ]) {
      assert.ok(paths.includes(p), `missing ${p} in ${paths.join(', ')}`);
    }
    const infer = r.json.paths['/v2/models/{name}/infer'].post;
    assert.ok(infer.requestBody.content['application/json'].schema.properties.inputs);
    assert.ok(infer.responses['200'].content['application/json'].schema.properties.outputs);
    assert.ok(infer.responses['400']);
  });

  test('metrics: Prometheus text with Triton-like names', async () => {
    await post(`${s.url}/models/logreg/predict`, { x1: 1, x2: 2 });
    const r = await get(`${s.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /text\/plain/);
    for (const name of [
      'kiln_inference_request_success',
      'kiln_inference_request_failure',
      'kiln_inference_count',
      'kiln_inference_exec_count',
      'kiln_inference_request_duration_seconds_bucket',
      'kiln_inference_compute_duration_seconds_bucket',
      'kiln_cache_num_hits_per_model',
      'kiln_cache_num_misses_per_model',
    ]) {
      assert.match(r.text, new RegExp(`^# HELP ${name.replace('_bucket', '')} `, 'm'), name);
    }
    assert.match(r.text, /^kiln_inference_request_success\{model="logreg",version="1"\} \d+/m);
  });

  test('repository API: index, unload (503 after), load (serving again); token required', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const index = await post(`${s.url}/v2/repository/index`, {}, auth);
    assert.equal(index.status, 200, index.text);
    assert.deepEqual(
      index.json.map((e) => `${e.name}/${e.version}:${e.state}`),
      ['colour/1:READY', 'logreg/1:READY', 'tree/1:READY', 'versioned/1:READY', 'versioned/2:READY'],
    );
    const unload = await post(`${s.url}/v2/repository/models/tree/unload`, {}, auth);
    assert.equal(unload.status, 200, unload.text);
    const refused = await post(`${s.url}/models/tree/predict`, { a: 1, b: 1 });
    assert.equal(refused.status, 503);
    assert.match(refused.json.error, /unloaded/);
    assert.equal((await get(`${s.url}/v2/models/tree/ready`)).status, 400);
    const after = await post(`${s.url}/v2/repository/index`, '', auth);
    assert.ok(after.json.some((e) => e.name === 'tree' && e.state === 'UNLOADED'));
    const ready = await post(`${s.url}/v2/repository/index`, { ready: true }, auth);
    assert.ok(!ready.json.some((e) => e.name === 'tree'));
    const load = await post(`${s.url}/v2/repository/models/tree/load`, {}, auth);
    assert.equal(load.status, 200, load.text);
    assert.equal((await post(`${s.url}/models/tree/predict`, { a: 1, b: 1 })).status, 200);
    const unknown = await post(`${s.url}/v2/repository/models/ghost/load`, {}, auth);
    assert.equal(unknown.status, 404);
  });
});

describe('kiln serve: repository API disabled without a token', () => {
  test('every admin call is refused with 403, and /v2 lists no repository extension', async () => {
    const s = await start({ adminToken: null });
    try {
      for (const p of ['/v2/repository/index', '/v2/repository/models/logreg/load', '/v2/repository/models/logreg/unload']) {
        const r = await post(`${s.url}${p}`, {}, { authorization: `Bearer ${TOKEN}` });
        assert.equal(r.status, 403, p);
        assert.match(r.json.error, /disabled/);
      }
      assert.deepEqual((await get(`${s.url}/v2`)).json.extensions, []);
      assert.equal((await post(`${s.url}/models/logreg/predict`, { x1: 1, x2: 1 })).status, 200);
    } finally {
      await s.close();
    }
  });
});
