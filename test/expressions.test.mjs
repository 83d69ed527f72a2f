// Feature expressions through the real addon (docs/expressions.md): load errors with stable codes,
// defined IEEE results at run time, string categories from JS strings, and the Node CLI's
// --expr pass-through exporting a pipeline with a custom Python function (checked against it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel, loadModelFromString } from '../dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const VENV_PYTHON = join(ROOT, '.venv', 'sklearn-latest', 'bin', 'python');

const INPUTS = [
  { name: 'debt', type: 'number', nullable: true },
  { name: 'income', type: 'number', nullable: true },
  { name: 'colour', type: 'category', dtype: 'string', nullable: true },
];

// A regression model whose value is the expression (identity linear head), no verification rows.
function modelJson(expr, rows) {
  return JSON.stringify({
    format: 'kiln.model', format_version: 1, name: 'expr', metadata: {},
    inputs: INPUTS,
    transform: { kind: 'expressions', outputs: [{ name: 'f', expr }] },
    estimator: { kind: 'linear', n_features: 1, coef: [[1]], intercept: [0], link: 'identity' },
    output: { task: 'regression' },
    verification: {
      tolerance: { absolute: 0, relative: 0 },
      rows: rows.map((r) => ({ input: r.input, expected: { value: r.expected } })),
    },
  });
}

// The model replays one verification row, {debt: 1, income: 1, colour: null}, whose answer
// (atOne, worked out by hand for each expression) must match before the model is handed out.
function value(expr, atOne, input) {
  const m = loadModelFromString(modelJson(expr, [{ input: { debt: 1, income: 1, colour: null }, expected: atOne }]));
  assert.equal(m.verification.rowsChecked, 1);
  return m.predict(input).value;
}

function loadError(expr) {
  try {
    loadModelFromString(modelJson(expr, [{ input: { debt: 0, income: 1, colour: null }, expected: 0 }]));
  } catch (e) {
    return e;
  }
  assert.fail(`expected ${expr} to be refused`);
}

test('malformed, unknown-name, type-error and too-deep expressions are refused at load with a code and a position', () => {
  const cases = [
    ['debt +', 'KILN_MODEL_INVALID', /transform\.outputs\[0\]\.expr: at character 7: expected a number/],
    ['debt / max(income, 1', 'KILN_MODEL_INVALID', /expected ',' or '\)'/],
    ['debt / incme', 'KILN_MODEL_INVALID', /at character 8: unknown column 'incme' \(known: debt, income, colour\)/],
    ['lg(debt)', 'KILN_MODEL_INVALID', /unknown function 'lg'/],
    ['colour * 2', 'KILN_MODEL_INVALID', /column 'colour' is a string category column/],
    ['debt == "red"', 'KILN_MODEL_INVALID', /one side must be a string category column/],
    ['colour in (1, 2)', 'KILN_MODEL_INVALID', /must hold strings/],
    [`${'('.repeat(65)}debt${')'.repeat(65)}`, 'KILN_MODEL_LIMIT', /nests deeper than the limit of 64/],
  ];
  for (const [expr, code, re] of cases) {
    const e = loadError(expr);
    assert.equal(e.code, code, `${expr}: ${e.message}`);
    assert.match(e.message, re);
  }
});

test('division by zero, log of zero and negatives, and nulls give the documented IEEE results', () => {
  assert.equal(value('debt / income', 1, { debt: 1, income: 0, colour: null }), Infinity);
  assert.equal(value('debt / income', 1, { debt: -1, income: 0, colour: null }), -Infinity);
  assert.ok(Number.isNaN(value('debt / income', 1, { debt: 0, income: 0, colour: null })));
  assert.equal(value('log(debt)', 0, { debt: 0, income: 1, colour: null }), -Infinity);
  assert.ok(Number.isNaN(value('sqrt(debt)', 1, { debt: -4, income: 1, colour: null })));
  assert.ok(Number.isNaN(value('debt + income', 2, { debt: null, income: 1, colour: null })));
  assert.equal(value('coalesce(debt, 0) / max(income, 1)', 1, { debt: null, income: 0, colour: null }), 0);
  assert.equal(value('debt / max(income, 1)', 1, { debt: 6, income: 0, colour: null }), 6);
});

test('string category membership with JS strings: known, unseen and missing values', () => {
  const expr = 'if(colour in ("red", "blue"), 1, 0) + (colour == "blue") * 10 + is_null(colour) * 100';
  const m = loadModelFromString(modelJson(expr, [{ input: { debt: 0, income: 1, colour: 'blue' }, expected: 11 }]));
  assert.equal(m.verification.rowsChecked, 1);
  assert.equal(m.predict({ debt: 0, income: 0, colour: 'red' }).value, 1);
  assert.equal(m.predict({ debt: 0, income: 0, colour: 'blue' }).value, 11);
  assert.equal(m.predict({ debt: 0, income: 0, colour: 'green' }).value, 0);  // unseen: no error, no match
  assert.equal(m.predict({ debt: 0, income: 0, colour: null }).value, 100);
});

test('kiln export --expr: a wrong expression is refused with the row, the right one exports and predicts like sklearn',
  { skip: !existsSync(VENV_PYTHON) && `${VENV_PYTHON} not set up`, timeout: 600_000 }, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'kiln-expr-'));
    try {
      // The custom function lives in a module, as in a real project, so the pickle can name it.
      writeFileSync(join(tmp, 'features.py'), `
import numpy as np
def ratios(X):
    return np.c_[X["bmi"] / np.maximum(X["bp"] + 0.2, 0.05), np.log1p(np.abs(X["s5"]))]
`);
      const script = `
import json, pickle, sys
sys.path.insert(0, sys.argv[1])
from features import ratios
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
X, y = load_diabetes(return_X_y=True, as_frame=True)
pipe = Pipeline([("features", FunctionTransformer(ratios)), ("scale", StandardScaler()), ("ridge", Ridge())]).fit(X, y)
pickle.dump(pipe, open(sys.argv[2], "wb"))
X.to_csv(sys.argv[3], index=False)
json.dump({"rows": X.to_dict(orient="records"), "value": pipe.predict(X).tolist()}, open(sys.argv[4], "w"))
`;
      const pickle = join(tmp, 'pipe.pkl');
      const train = join(tmp, 'train.csv');
      const expectedPath = join(tmp, 'expected.json');
      const fit = spawnSync(VENV_PYTHON, ['-c', script, tmp, pickle, train, expectedPath], { encoding: 'utf8', timeout: 300_000 });
      assert.equal(fit.status, 0, fit.stderr);

      const out = join(tmp, 'model.json');
      const env = { ...process.env, PYTHONPATH: tmp };
      const kiln = (...exprs) => spawnSync(process.execPath,
        [CLI, 'export', pickle, '-o', out, '--python', VENV_PYTHON, '--check-rows', train, ...exprs.flatMap((e) => ['--expr', e])],
        { encoding: 'utf8', env, timeout: 300_000 });

      const wrong = kiln('ratio=bmi / max(bp + 0.2, 0.05)', 'log_s5=log1p(s5)');
      assert.equal(wrong.status, 1, wrong.stderr);
      assert.match(wrong.stderr, /expression 'log_s5' = 'log1p\(s5\)' disagrees with the Python function on (verification|check_rows) row \d+: inputs \{s5: -[0-9.e-]+\}; Python [0-9.e-]+, expression (-inf|-[0-9.e-]+)\. Refusing/);
      assert.equal(existsSync(out), false, 'no model is written when an expression disagrees');

      const right = kiln('ratio=bmi / max(bp + 0.2, 0.05)', 'log_s5=log1p(abs(s5))');
      assert.equal(right.status, 0, right.stderr);
      const model = loadModel(out);
      const expected = JSON.parse(readFileSync(expectedPath, 'utf8'));
      const got = model.predictBatch(expected.rows);
      got.forEach((r, i) => assert.ok(Math.abs(r.value - expected.value[i]) <= 1e-9, `row ${i}: ${r.value} vs ${expected.value[i]}`));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
