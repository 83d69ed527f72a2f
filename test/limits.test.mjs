// Documented maxima (docs/model-format.md "Limits", docs/service.md "Limits"), each tested at the
// limit (accepted) and one past it (refused with its stable code and a message naming the limit).
// Engine limits are in native/engine/src/spec_limits.h; service limits in src/server/config.ts.
// Expression length and depth limits are tested in test/expressions.test.mjs and native/tests/expr_test.cc.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadModel, loadModelAsync, loadModelFromString } from '../dist/index.js';
import { resolveConfig } from '../dist/server/index.js';
import { TOKEN, post, start } from './fixtures/server/helpers.mjs';

const MAX_INPUTS = 100_000;
const MAX_TREES = 100_000;
const MAX_TREE_NODES = 10_000_000;
const MAX_FILE_BYTES = 512 * 1024 * 1024;

const metadata = { created: '2026-01-01T00:00:00Z', source: { library: 'hand-written', version: '0', class: 'test', python: 'none' } };
const tolerance = { absolute: 1e-12, relative: 1e-12 };

/** y = sum(x_i) + 0.5 over n numeric inputs; verified on the all-ones row (exactly n + 0.5). */
function wideLinear(n) {
  const names = Array.from({ length: n }, (_, i) => `x${i}`);
  return {
    format: 'kiln.model',
    format_version: 1,
    name: 'wide',
    metadata,
    inputs: names.map((name) => ({ name, type: 'number', nullable: false })),
    transform: null,
    estimator: { kind: 'linear', n_features: n, coef: [names.map(() => 1)], intercept: [0.5], link: 'identity' },
    output: { task: 'regression' },
    verification: { tolerance, rows: [{ input: Object.fromEntries(names.map((k) => [k, 1])), expected: { value: n + 0.5 } }] },
  };
}

/** An average of `n` single-leaf trees of value 2 (a constant 2). */
function manyTrees(n) {
  const leaf = { children_left: [-1], children_right: [-1], feature: [-1], threshold: [0], missing_go_to_left: [0], value: [[2]] };
  return {
    format: 'kiln.model',
    format_version: 1,
    name: 'forest',
    metadata,
    inputs: [{ name: 'a', type: 'number', nullable: false }],
    transform: null,
    estimator: { kind: 'tree_ensemble', n_features: 1, aggregate: 'average', n_targets: 1, trees: Array.from({ length: n }, () => leaf) },
    output: { task: 'regression' },
    verification: { tolerance, rows: [{ input: { a: 1 }, expected: { value: 2 } }] },
  };
}

/** A tree whose children_left has `n` entries (the array the node limit is read from) and whose other arrays are empty. */
function treeWithNodeArray(n) {
  const text = JSON.stringify(manyTrees(1));
  return text.replace('"children_left":[-1],"children_right":[-1]', `"children_left":[${'0,'.repeat(n - 1)}0],"children_right":[]`);
}

function loadError(fn) {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return null;
}

describe('engine limits (model files)', () => {
  test(`inputs: ${MAX_INPUTS} load and predict; ${MAX_INPUTS + 1} are refused`, () => {
    const model = loadModelFromString(JSON.stringify(wideLinear(MAX_INPUTS)));
    assert.equal(model.inputs.length, MAX_INPUTS);
    const row = Object.fromEntries(model.inputs.map((i, j) => [i.name, j % 3]));
    // sum over j of (j mod 3) for j < 100,000, plus 0.5
    let expected = 0.5;
    for (let j = 0; j < MAX_INPUTS; j++) expected += j % 3;
    assert.equal(model.predict(row).value, expected);
    const error = loadError(() => loadModelFromString(JSON.stringify(wideLinear(MAX_INPUTS + 1))));
    assert.equal(error?.code, 'KILN_MODEL_LIMIT', String(error));
    assert.match(error.message, /inputs: 100001 inputs exceed the limit of 100000/);
  });

  test(`trees: ${MAX_TREES} load and predict; ${MAX_TREES + 1} are refused`, () => {
    const model = loadModelFromString(JSON.stringify(manyTrees(MAX_TREES)));
    assert.equal(model.predict({ a: 3 }).value, 2);
    const error = loadError(() => loadModelFromString(JSON.stringify(manyTrees(MAX_TREES + 1))));
    assert.equal(error?.code, 'KILN_MODEL_LIMIT', String(error));
    assert.match(error.message, /estimator\.trees: 100001 trees exceed the limit of 100000/);
  });

  test(`nodes in one tree: ${MAX_TREE_NODES} pass the limit check; ${MAX_TREE_NODES + 1} are refused`, () => {
    // A complete tree of ten million nodes is ~300 MB of JSON, too much for every test run: at
    // the limit, a node array of that length passes the limit check and the load fails on the
    // next check instead (the other arrays are empty); one past it fails on the limit.
    const at = loadError(() => loadModelFromString(treeWithNodeArray(MAX_TREE_NODES)));
    assert.notEqual(at?.code, 'KILN_MODEL_LIMIT', String(at));
    assert.match(at.message, /expected 10000000 values, got 0/);
    const past = loadError(() => loadModelFromString(treeWithNodeArray(MAX_TREE_NODES + 1)));
    assert.equal(past?.code, 'KILN_MODEL_LIMIT', String(past));
    assert.match(past.message, /children_left: 10000001 nodes exceed the limit of 10000000/);
  });

  test('model file size: 512 MiB loads; one byte more is refused before reading', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-limits-'));
    try {
      // A small valid model padded with JSON whitespace to exactly the limit.
      const text = JSON.stringify(wideLinear(2));
      const file = path.join(dir, 'big.json');
      const fd = openSync(file, 'w');
      writeSync(fd, text);
      const chunk = Buffer.alloc(16 * 1024 * 1024, 0x20);
      let size = Buffer.byteLength(text);
      while (size < MAX_FILE_BYTES) {
        const n = Math.min(chunk.length, MAX_FILE_BYTES - size);
        writeSync(fd, chunk, 0, n);
        size += n;
      }
      closeSync(fd);
      const model = await loadModelAsync(file);
      assert.equal(model.predict({ x0: 1, x1: 2 }).value, 3.5);
      writeFileSync(file, ' ', { flag: 'a' });
      const error = loadError(() => loadModel(file));
      assert.equal(error?.code, 'KILN_MODEL_LIMIT', String(error));
      assert.match(error.message, /is 536870913 bytes, more than the limit of 536870912/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('service limits (kiln serve)', () => {
  let s;
  before(async () => {
    s = await start(); // the defaults: 1 MiB bodies, 1000 rows
  });
  after(async () => {
    await s.close();
  });

  const assertRefused = (r, status, code, pattern) => {
    assert.equal(r.status, status, r.text);
    assert.equal(r.json.code, code, r.text);
    assert.match(r.json.error, pattern);
  };

  test('body size: exactly 1 MiB is served; one byte more is 413', async () => {
    const limit = s.server.config.bodyLimit;
    assert.equal(limit, 1024 * 1024);
    const json = JSON.stringify({ x1: 1, x2: 2 });
    const at = json + ' '.repeat(limit - json.length);
    assert.equal(Buffer.byteLength(at), limit);
    const ok = await post(`${s.url}/models/logreg/predict`, at);
    assert.equal(ok.status, 200, ok.text);
    assertRefused(await post(`${s.url}/models/logreg/predict`, `${at} `), 413, 'KILN_REQUEST_TOO_LARGE', /larger than the limit of 1048576 bytes/);
  });

  test('batch rows: 1000 rows are served on every predict route; 1001 are refused', async () => {
    const n = s.server.config.maxBatchRows;
    assert.equal(n, 1000);
    const rows = (k) => Array.from({ length: k }, (_, i) => ({ x1: i % 7, x2: (i % 3) - 1 }));
    const matrix = (k) => ({ inputs: [{ name: 'input', shape: [k, 2], datatype: 'FP64', data: rows(k).flatMap((r) => [r.x1, r.x2]) }] });
    const tensors = (k) => ({ inputs: ['x1', 'x2'].map((name) => ({ name, shape: [k], datatype: 'FP64', data: rows(k).map((r) => r[name]) })) });
    const routes = [
      ['V2 matrix', '/v2/models/logreg/infer', matrix, (j) => j.outputs[0].shape[0]],
      ['V2 named tensors', '/v2/models/logreg/infer', tensors, (j) => j.outputs[0].shape[0]],
      ['V1', '/v1/models/logreg:predict', (k) => ({ instances: rows(k) }), (j) => j.predictions.length],
      ['friendly', '/models/logreg/predict', rows, (j) => j.length],
    ];
    for (const [what, route, body, count] of routes) {
      const ok = await post(`${s.url}${route}`, body(n));
      assert.equal(ok.status, 200, `${what}: ${ok.text.slice(0, 300)}`);
      assert.equal(count(ok.json), n, what);
      assertRefused(await post(`${s.url}${route}`, body(n + 1)), 400, 'KILN_REQUEST_LIMIT', /1001 rows; this server takes at most 1000/);
    }
  });

  test('V2 id: 1024 characters echoed; 1025 refused. Model name 128 characters, version 18 digits; one more refused', async () => {
    const body = (id) => ({ id, inputs: [{ name: 'input', shape: [1, 2], datatype: 'FP64', data: [1, 2] }] });
    const ok = await post(`${s.url}/v2/models/logreg/infer`, body('i'.repeat(1024)));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.id.length, 1024);
    assertRefused(await post(`${s.url}/v2/models/logreg/infer`, body('i'.repeat(1025))), 400, 'KILN_REQUEST_INVALID', /body\.id must NOT have more than 1024 characters/);
    // A valid name or version that is not there is a 404; one character more is an invalid one.
    const name = `m${'x'.repeat(127)}`;
    assertRefused(await post(`${s.url}/v2/models/${name}/infer`, body('a')), 404, 'KILN_NOT_FOUND', /not found/);
    assertRefused(await post(`${s.url}/v2/models/${name}x/infer`, body('a')), 400, 'KILN_REQUEST_INVALID', /params\.name must match pattern/);
    assertRefused(await post(`${s.url}/v1/models/${name}x:predict`, { instances: [{}] }), 400, 'KILN_REQUEST_INVALID', /invalid model name/);
    assertRefused(await post(`${s.url}/v2/models/logreg/versions/${'9'.repeat(18)}/infer`, body('a')), 404, 'KILN_NOT_FOUND', /no version/);
    assertRefused(await post(`${s.url}/v2/models/logreg/versions/${'9'.repeat(19)}/infer`, body('a')), 400, 'KILN_REQUEST_INVALID', /params\.version must match pattern/);
    // Longer than the router's parameter limit, or not valid percent-encoding: the same 400 shape.
    assertRefused(await post(`${s.url}/v2/models/${'x'.repeat(1025)}/infer`, body('a')), 400, 'KILN_REQUEST_INVALID', /longer than 1024 characters/);
    assertRefused(await post(`${s.url}/v2/models/%E0%A4%A/infer`, body('a')), 400, 'KILN_REQUEST_INVALID', /invalid URL/);
    // Schema bounds, one past: 17 outputs asked, a 9-dimensional shape.
    const outputs = Array.from({ length: 17 }, () => ({ name: 'label' }));
    assertRefused(await post(`${s.url}/v2/models/logreg/infer`, { ...body('a'), outputs }), 400, 'KILN_REQUEST_INVALID', /outputs must NOT have more than 16 items/);
    const nine = { inputs: [{ name: 'input', shape: [1, 2, 1, 1, 1, 1, 1, 1, 1], datatype: 'FP64', data: [1, 2] }] };
    assertRefused(await post(`${s.url}/v2/models/logreg/infer`, nine), 400, 'KILN_REQUEST_INVALID', /shape must NOT have more than 8 items/);
  });

  test('a model file over the size limit in the repository is refused, named in the index and readiness', async () => {
    const file = path.join(s.dir, 'huge.json');
    const fd = openSync(file, 'w');
    writeSync(fd, ' ', MAX_FILE_BYTES); // sparse: 512 MiB + 1 byte, no disk used
    closeSync(fd);
    await s.server.repository.refresh();
    const index = await post(`${s.url}/v2/repository/index`, {}, { authorization: `Bearer ${TOKEN}` });
    const entry = index.json.find((e) => e.name === 'huge');
    assert.equal(entry.state, 'UNAVAILABLE');
    assert.match(entry.reason, /536870913 bytes, more than the limit of 536870912/);
    const ready = await fetch(`${s.url}/v2/health/ready`).then((r) => r.json());
    assert.equal(ready.ready, false);
    assert.ok(ready.details.some((d) => /^model huge version 1 is not loaded: .*limit/.test(d)), JSON.stringify(ready));
  });

  test('configuration maxima: body limit 1 GiB, 1,000,000 rows; one more is a configuration error', () => {
    assert.equal(resolveConfig({ bodyLimit: 1024 ** 3, maxBatchRows: 1_000_000 }, {}).bodyLimit, 1024 ** 3);
    assert.throws(() => resolveConfig({ bodyLimit: 1024 ** 3 + 1 }, {}), (e) => e.code === 'KILN_CONFIG' && /bodyLimit must be an integer in \[1024, 1073741824\]/.test(e.message));
    assert.throws(() => resolveConfig({ maxBatchRows: 1_000_001 }, {}), (e) => e.code === 'KILN_CONFIG' && /maxBatchRows must be an integer in \[1, 1000000\]/.test(e.message));
  });
});
