// The record routes (friendly and KServe V1 predict) take the raw body bytes: the response cache
// is looked up by them before any parsing, and otherwise they are parsed as JSON. Every answer
// must equal the model API's (loadModel(...).predict) byte for byte, cached or not, and bad bodies
// get the same codes and messages as the JS encoder gives.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadModel } from '../dist/index.js';
import { benchRows } from '../bench/dev/rows.mjs';
import { fixtures, post, root, start } from './fixtures/server/helpers.mjs';

const MODELS = ['breast_cancer_logreg', 'breast_cancer_rf', 'breast_cancer_gbm'];
const repo = path.join(fixtures, 'repo');
const colour = loadModel(path.join(repo, 'colour.json'));
const tree = loadModel(path.join(repo, 'tree.json'));
const logreg = loadModel(path.join(repo, 'logreg.json'));

describe('kiln serve: record routes, raw body', () => {
  let s;
  before(async () => {
    s = await start({ cache: false, maxBatchRows: 50 });
  });
  after(async () => {
    await s.close();
  });

  /** POSTs `text` as is; the response text must be the model API's prediction(s) as JSON. */
  async function same(route, text, expected) {
    const r = await post(`${s.url}${route}`, text);
    assert.equal(r.status, 200, `${route} ${text}: ${r.text}`);
    assert.equal(r.text, JSON.stringify(expected), `${route} ${text}`);
  }

  test('records of every input kind: key order, nulls, absent nullables, unseen categories, escapes', async () => {
    const records = [
      '{"colour": "red", "shape": "round", "size": 2.5}',
      '{"size": 2.5, "shape": "round", "colour": "red"}',
      '{"colour": null, "shape": "square", "size": -1}',
      '{"shape": "square", "size": 1e-3}',
      '{"colour": "ultraviolet", "shape": "square", "size": 3}',
      '{"colour": "r\\u0065d", "shape": "round", "size": 0}',
      ' \n\t{"colour":"blue","shape":"round","size":12345678901234567890}\r\n',
    ];
    for (const text of records) {
      const record = JSON.parse(text);
      await same('/models/colour/predict', text, colour.predict(record));
      await same('/models/colour/predict', `[${text}, ${text}]`, colour.predictBatch([record, record]));
      await same('/v1/models/colour:predict', `{"instances": [${text}], "signature_name": "x"}`, { predictions: [colour.predict(record)] });
    }
    // An unseen category the model refuses: the engine's error, as the model API gives it.
    const unseen = { colour: 'red', shape: 'hexagon', size: 3 };
    let thrown;
    try {
      colour.predict(unseen);
    } catch (error) {
      thrown = error;
    }
    assert.equal(thrown?.code, 'KILN_INPUT_UNKNOWN_CATEGORY');
    const r = await post(`${s.url}/models/colour/predict`, JSON.stringify(unseen));
    assert.equal(r.status, 400);
    assert.deepEqual(r.json, { error: thrown.message, code: thrown.code });
    await same('/models/tree/predict', '{"b": 1.5}', tree.predict({ b: 1.5 }));
    await same('/models/tree/predict', '{"a": null, "b": 0.25}', tree.predict({ a: null, b: 0.25 }));
  });

  test('repeated keys (the last wins), -0, more rows than the limit', async () => {
    // Valid JSON the addon does not take: answered as before (JSON.parse keeps the last key).
    await same('/models/logreg/predict', '{"x1": 5, "x2": 1, "x1": 0.5}', logreg.predict({ x1: 0.5, x2: 1 }));
    await same('/models/logreg/predict', '{"x1": -0, "x2": 1}', logreg.predict({ x1: -0, x2: 1 }));
    const many = Array.from({ length: 51 }, (_, i) => ({ x1: i, x2: 1 }));
    const r = await post(`${s.url}/models/logreg/predict`, JSON.stringify(many));
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'KILN_REQUEST_LIMIT');
  });

  test('bad bodies: the same codes and messages as the JS encoder', async () => {
    const cases = [
      ['{"x1": 1}', 'KILN_INPUT_MISSING', /feature 'x2' is required/],
      ['{"x1": 1, "x2": "2"}', 'KILN_INPUT_TYPE', /feature 'x2' must be a number, got the string "2"/],
      ['{"x1": 1, "x2": 2, "x3": 3}', 'KILN_INPUT_UNKNOWN_FEATURE', /unknown feature 'x3'/],
      ['[{"x1": 1, "x2": 2}, {"x1": 1, "x2": null}]', 'KILN_INPUT_MISSING', /row 1/],
      ['{"x1": 1, "x2": NaN}', 'KILN_REQUEST_INVALID', /not valid JSON/],
      ['\ufeff{"x1": 1, "x2": 2}', 'KILN_REQUEST_INVALID', /not valid JSON/],
      ['{"x1": 1e999, "x2": 2}', 'KILN_INPUT_NOT_FINITE', /feature 'x1' is Infinity/],
      ['[]', 'KILN_REQUEST_INVALID', /no rows/],
      ['3', 'KILN_REQUEST_INVALID', /body must be object,array/],
      ['['.repeat(5000) + ']'.repeat(5000), 'KILN_INPUT_TYPE', /row 0: expected an object of named features, got an array/],
    ];
    for (const [text, code, message] of cases) {
      const r = await post(`${s.url}/models/logreg/predict`, text);
      assert.equal(r.status, 400, `${text}: ${r.text}`);
      assert.equal(r.json.code, code, text);
      assert.match(r.json.error, message, text);
    }
    const v1 = await post(`${s.url}/v1/models/logreg:predict`, '{"instances": [{"x1": 1, "x2": 2}], "extra": 1}');
    assert.equal(v1.status, 400);
    assert.match(v1.json.error, /unknown property "extra"/);
  });

  test('cache: keyed by the exact bytes, a hit answers the same text without parsing', async () => {
    const c = await start({ maxBatchRows: 50 });
    try {
      const text = '{"x1": 0.25, "x2": -1}';
      const expected = JSON.stringify(logreg.predict(JSON.parse(text)));
      for (const [body, cache] of [[text, null], [text, 'hit'], [` ${text}`, null], [`[${text}]`, null], [`[${text}]`, 'hit']]) {
        const r = await post(`${c.url}/models/logreg/predict`, body);
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-kiln-cache'), cache, body);
        assert.equal(r.text, body.startsWith('[') ? `[${expected}]` : expected, body);
      }
      const v1 = `{"instances": [${text}]}`;
      for (const cache of [null, 'hit']) {
        const r = await post(`${c.url}/v1/models/logreg:predict`, v1);
        assert.equal(r.headers.get('x-kiln-cache'), cache);
        assert.equal(r.text, `{"predictions":[${expected}]}`);
      }
      // A bad body is never cached: the same error every time.
      for (let i = 0; i < 2; i++) {
        const r = await post(`${c.url}/models/logreg/predict`, '{"x1": 1}');
        assert.equal(r.json.code, 'KILN_INPUT_MISSING');
      }
    } finally {
      await c.close();
    }
  });

  test('unknown model and version: 404 whatever the body', async () => {
    for (const [route, body] of [
      ['/models/nope/predict', '{"x1": 1, "x2": 2}'],
      ['/models/logreg/versions/9/predict', '{"x1": 1, "x2": 2}'],
      ['/v1/models/nope:predict', '{"instances": [{"x1": 1, "x2": 2}]}'],
    ]) {
      const r = await post(`${s.url}${route}`, body);
      assert.equal(r.status, 404, route);
      assert.equal(r.json.code, 'KILN_NOT_FOUND', route);
    }
  });
});

describe('kiln serve: record routes on the bundled breast_cancer models', () => {
  let s;
  before(async () => {
    // Off the event loop from 100 rows: the 200-row batch below takes the async path.
    // A copy: close() deletes the server's models directory.
    const dir = mkdtempSync(path.join(tmpdir(), 'kiln-body-test-'));
    for (const name of MODELS) copyFileSync(path.join(root, 'models', `${name}.json`), path.join(dir, `${name}.json`));
    s = await start({ modelsDir: dir, cache: false, asyncBatchRows: 100 });
  });
  after(async () => {
    await s.close();
  });

  for (const name of MODELS) {
    test(`${name}: 200 jittered real records, one by one and as batches, equal the model API's`, async () => {
      const model = loadModel(path.join(root, 'models', `${name}.json`));
      const { records } = benchRows(path.join(root, 'models', `${name}.json`), 200);
      for (const record of records.slice(0, 40)) {
        const r = await post(`${s.url}/models/${name}/predict`, JSON.stringify(record));
        assert.equal(r.text, JSON.stringify(model.predict(record)));
      }
      const expected = model.predictBatch(records);
      for (const batch of [records.slice(0, 10), records]) {
        const r = await post(`${s.url}/models/${name}/predict`, JSON.stringify(batch));
        assert.equal(r.text, JSON.stringify(expected.slice(0, batch.length)));
      }
      const v1 = await post(`${s.url}/v1/models/${name}:predict`, JSON.stringify({ instances: records }));
      assert.equal(v1.text, JSON.stringify({ predictions: expected }));
    });
  }
});
