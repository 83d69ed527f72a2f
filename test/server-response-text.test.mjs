// The predict routes' response text (src/server/response-text.ts) is written field by field
// instead of by JSON.stringify: it must be the same bytes JSON.stringify gives for the same
// payload, for awkward numbers and labels too, and the server's answers must be those bytes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { loadModel } from '../dist/index.js';
import { numberText, predictionText, predictionsText, v1ResponseText, v2ResponseHead, v2ResponseText } from '../dist/server/response-text.js';
import { fixtures, post, start } from './fixtures/server/helpers.mjs';

// Doubles whose shortest round-trip text is unusual: subnormals, the extremes, -0, sums that are
// not what they look like, exponent forms on both sides of JSON's 1e21 / 1e-7 switch points.
const AWKWARD = [
  0, -0, 1, -1, 42, 2 ** 53, 2 ** 53 + 2, -(2 ** 31), 1e-300, 5e-324, -5e-324, 2.2250738585072014e-308, Number.MAX_VALUE, -Number.MAX_VALUE,
  Number.EPSILON, 0.1 + 0.2, 1 / 3, 2 / 3, 0.1, 1e21, 1e20, 123456789012345680000, 1e-7, 1.5e-7, 0.000001, 9.999999999999999e22, Math.PI, -Math.E,
  0.0199, 0.9801, 1 - 1e-16, 4.35e-310,
];
const NON_FINITE = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
const LABELS = ['yes', '', 'say "hi"', 'back\\slash', 'tab\tnew\nline', '\u0000\u001f\u007f', 'ünïcødé ✓', '日本語', '😀', '\ud800', 'a\udc00b', '</script>', 0, 1, -3, 2.5, 1e-300, -0];

describe('response text: the bytes of JSON.stringify', () => {
  test('numbers: every awkward double as JSON.stringify writes it, and it reads back exactly', () => {
    for (const x of AWKWARD) {
      assert.equal(numberText(x), JSON.stringify(x), String(x));
      const back = JSON.parse(numberText(x));
      assert.ok(Object.is(back, x) || (Object.is(x, -0) && back === 0), `${x} read back as ${back}`);
    }
    for (const x of NON_FINITE) assert.equal(numberText(x), 'null');
  });

  test('one prediction: classification with labels of every kind, regression', () => {
    for (const label of LABELS) {
      for (const p of [
        { label },
        { label, probabilities: AWKWARD.slice(0, 3) },
        { label, probabilities: [0.1 + 0.2, 1e-300], decision: [5e-324] },
        { label, decision: AWKWARD },
        { label, probabilities: [], decision: NON_FINITE },
      ]) {
        assert.equal(predictionText(p), JSON.stringify(p), JSON.stringify(p));
      }
    }
    for (const value of [...AWKWARD, ...NON_FINITE]) assert.equal(predictionText({ value }), JSON.stringify({ value }));
  });

  test('shapes Model.predict does not make still come out as JSON.stringify writes them', () => {
    for (const p of [{}, { value: 1, extra: 'x' }, { label: undefined, probabilities: [1] }, { label: 'a', probabilities: undefined, decision: [1] }]) {
      assert.equal(predictionText(p), JSON.stringify(p));
    }
  });

  test('arrays of predictions and the V1 answer', () => {
    const predictions = LABELS.map((label, i) => ({ label, probabilities: [AWKWARD[i % AWKWARD.length], 1 - AWKWARD[i % AWKWARD.length]] }));
    assert.equal(predictionsText(predictions), JSON.stringify(predictions));
    assert.equal(predictionsText([]), '[]');
    assert.equal(v1ResponseText(predictions), JSON.stringify({ predictions }));
    const values = AWKWARD.map((value) => ({ value }));
    assert.equal(v1ResponseText(values), JSON.stringify({ predictions: values }));
  });

  test('the V2 answer: names, versions, ids and tensors of every datatype', () => {
    const outputs = [
      { name: 'label', datatype: 'BYTES', shape: [LABELS.length], data: LABELS.map(String) },
      { name: 'label', datatype: 'INT64', shape: [3], data: [0, -1, 2 ** 53] },
      { name: 'probabilities', datatype: 'FP64', shape: [AWKWARD.length / 2, 2], data: AWKWARD },
      { name: 'decision', datatype: 'FP64', shape: [3], data: NON_FINITE },
      { name: 'value', datatype: 'FP64', shape: [0], data: [] },
    ];
    for (const [name, version] of [
      ['m', '1'],
      ['breast_cancer.logreg-2', '123456789012345678'],
    ]) {
      for (const id of [undefined, '', 'req-1', 'quote " and \\ and \n', '😀\ud800']) {
        const payload = { model_name: name, model_version: version };
        if (id !== undefined) payload.id = id;
        payload.outputs = outputs;
        assert.equal(v2ResponseText(v2ResponseHead(name, version), id, outputs), JSON.stringify(payload));
        payload.outputs = [];
        assert.equal(v2ResponseText(v2ResponseHead(name, version), id, []), JSON.stringify(payload));
      }
    }
  });
});

describe('response text: what the server sends', () => {
  const repo = path.join(fixtures, 'repo');
  const models = {
    logreg: loadModel(path.join(repo, 'logreg.json')), // string labels, probabilities and decision
    tree: loadModel(path.join(repo, 'tree.json')), // integer labels, probabilities
    colour: loadModel(path.join(repo, 'colour.json')), // regression, string categories
  };
  const records = {
    logreg: [
      { x1: 0.1 + 0.2, x2: -1e-300 },
      { x1: 1e6, x2: -3 },
      { x1: 5e-324, x2: 0 },
    ],
    tree: [
      { a: null, b: 5 },
      { a: 3, b: 1 },
      { a: 10, b: 2 },
    ],
    colour: [
      { colour: 'red', shape: 'round', size: 4 },
      { colour: null, shape: 'square', size: 2 },
      { colour: 'purple', shape: 'round', size: -1 },
    ],
  };
  let s;
  before(async () => {
    s = await start();
  });
  after(async () => {
    await s.close();
  });

  test('friendly and V1 answers are JSON.stringify of the model API predictions, byte for byte', async () => {
    for (const [name, model] of Object.entries(models)) {
      const rows = records[name];
      const one = await post(`${s.url}/models/${name}/predict`, rows[0]);
      assert.equal(one.status, 200, one.text);
      assert.equal(one.text, JSON.stringify(model.predict(rows[0])));
      const many = await post(`${s.url}/models/${name}/predict`, rows);
      assert.equal(many.text, JSON.stringify(rows.map((r) => model.predict(r))));
      const v1 = await post(`${s.url}/v1/models/${name}:predict`, { instances: rows });
      assert.equal(v1.text, JSON.stringify({ predictions: rows.map((r) => model.predict(r)) }));
    }
  });

  test('V2 answers are JSON.stringify of the same payload, with and without an id', async () => {
    const tensors = {
      logreg: [{ name: 'input', shape: [3, 2], datatype: 'FP64', data: records.logreg.flatMap((r) => [r.x1, r.x2]) }],
      tree: [
        { name: 'a', shape: [3], datatype: 'FP64', data: records.tree.map((r) => r.a) },
        { name: 'b', shape: [3], datatype: 'FP64', data: records.tree.map((r) => r.b) },
      ],
      colour: ['colour', 'shape', 'size'].map((k) => ({ name: k, shape: [3], datatype: k === 'size' ? 'INT64' : 'BYTES', data: records.colour.map((r) => r[k]) })),
    };
    for (const [name, model] of Object.entries(models)) {
      for (const id of [undefined, 'id "1" ✓']) {
        const r = await post(`${s.url}/v2/models/${name}/infer`, id === undefined ? { inputs: tensors[name] } : { id, inputs: tensors[name] });
        assert.equal(r.status, 200, r.text);
        const predictions = records[name].map((x) => model.predict(x));
        const n = predictions.length;
        const outputs =
          model.task === 'regression'
            ? [{ name: 'value', datatype: 'FP64', shape: [n], data: predictions.map((p) => p.value) }]
            : [
                { name: 'label', datatype: typeof model.classes[0] === 'string' ? 'BYTES' : 'INT64', shape: [n], data: predictions.map((p) => p.label) },
                ...(model.hasProbabilities ? [{ name: 'probabilities', datatype: 'FP64', shape: [n, model.classes.length], data: predictions.flatMap((p) => p.probabilities) }] : []),
                ...(model.nDecision > 0 ? [{ name: 'decision', datatype: 'FP64', shape: model.nDecision === 1 ? [n] : [n, model.nDecision], data: predictions.flatMap((p) => p.decision) }] : []),
              ];
        const payload = { model_name: name, model_version: '1', ...(id === undefined ? {} : { id }), outputs };
        assert.equal(r.text, JSON.stringify(payload));
      }
    }
  });
});
