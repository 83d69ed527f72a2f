// The kiln CLI as a user runs it: `node dist/cli.js ...` in a child process, real model files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel } from '../dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const fixture = (name) => join(ROOT, 'test', 'fixtures', 'api', name);
const VENV_PYTHON = join(ROOT, '.venv', 'sklearn-latest', 'bin', 'python');

function kiln(args, { input, env } = {}) {
  const run = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    input,
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const lines = (text) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

const tmp = mkdtempSync(join(tmpdir(), 'kiln-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('help and usage errors', () => {
  const help = kiln(['--help']);
  assert.equal(help.status, 0);
  for (const cmd of ['export', 'predict', 'validate']) assert.match(help.stdout, new RegExp(cmd));
  const sub = kiln(['help', 'predict']);
  assert.equal(sub.status, 0);
  assert.match(sub.stdout, /--input/);
  assert.equal(kiln(['predict', '--help']).status, 0);
  assert.equal(kiln(['--version']).stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);

  const missingOption = kiln(['predict', fixture('logreg.json')]);
  assert.equal(missingOption.status, 2);
  assert.match(missingOption.stderr, /--input/);
  assert.equal(kiln(['frobnicate']).status, 2);
  assert.equal(kiln([]).status, 2);
  assert.equal(kiln(['validate']).status, 2);
  assert.equal(kiln(['predict', fixture('logreg.json'), '-i', 'x', '--batch-size', '0']).status, 2);
  assert.equal(kiln(['export', 'model.pkl']).status, 2, 'export needs -o');
});

test('validate reports the model and its verification', () => {
  const run = kiln(['validate', fixture('tree.json')]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /OK/);
  assert.match(run.stdout, /name:\s+tiny_tree/);
  assert.match(run.stdout, /task:\s+classification/);
  assert.match(run.stdout, /inputs:\s+2/);
  assert.match(run.stdout, /classes:\s+0, 1, 2/);
  assert.match(run.stdout, /4 rows checked, max abs error/);

  const json = kiln(['validate', '--json', fixture('colour.json')]);
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.deepEqual(
    { ...report, verification: { rowsChecked: report.verification.rowsChecked } },
    { ok: true, name: 'colour_regression', task: 'regression', inputs: 3, classes: null, verification: { rowsChecked: 4 } },
  );
});

test('validate fails with the error code and exit 1', () => {
  const drifted = JSON.parse(readFileSync(fixture('logreg.json'), 'utf8'));
  drifted.verification.rows[0].expected.label = 'no';
  const file = join(tmp, 'drifted.json');
  writeFileSync(file, JSON.stringify(drifted));
  const run = kiln(['validate', file]);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /KILN_MODEL_VERIFICATION/);
  assert.equal(run.stdout, '');

  const missing = kiln(['validate', join(tmp, 'nope.json')]);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /KILN_MODEL_IO/);

  const garbage = join(tmp, 'garbage.json');
  writeFileSync(garbage, '{"format": "kiln.model", ');
  assert.match(kiln(['validate', garbage]).stderr, /KILN_MODEL_PARSE/);
});

test('predict: JSON array file, JSON Lines on stdin, batches, same answers as the API', () => {
  const model = loadModel(fixture('colour.json'));
  const records = [
    { colour: 'red', shape: 'round', size: 4 },
    { colour: null, shape: 'square', size: 1.5 },
    { shape: 'round', size: -2 },
    { colour: 'never-seen', shape: 'square', size: 0 },
    { colour: 'blue', shape: 'round', size: 1e6 },
  ];
  const expected = model.predictBatch(records);
  const file = join(tmp, 'rows.json');
  writeFileSync(file, JSON.stringify(records, null, 2));

  const fromFile = kiln(['predict', fixture('colour.json'), '--input', file]);
  assert.equal(fromFile.status, 0, fromFile.stderr);
  assert.deepEqual(lines(fromFile.stdout), expected);

  const jsonl = `${records.map((r) => JSON.stringify(r)).join('\n\n')}\n`;
  const fromStdin = kiln(['predict', fixture('colour.json'), '-i', '-', '--batch-size', '2'], { input: jsonl });
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.deepEqual(lines(fromStdin.stdout), expected);

  const classified = kiln(['predict', fixture('logreg.json'), '-i', '-'], { input: '{"x1": 1, "x2": -2}' });
  assert.equal(classified.status, 0, classified.stderr);
  const [p] = lines(classified.stdout);
  assert.equal(p.label, 'yes');
  assert.equal(p.probabilities.length, 2);

  const empty = kiln(['predict', fixture('logreg.json'), '-i', '-'], { input: '' });
  assert.equal(empty.status, 0);
  assert.equal(empty.stdout, '');
});

test('predict: a bad row fails with its code, feature and position in the input', () => {
  const rows = ['{"x1": 1, "x2": 2}', '{"x1": 1, "x2": 2}', '{"x1": 1, "x2": 2}', '{"x1": 1, "x2": 2}', '{"x1": 1}'];
  const run = kiln(['predict', fixture('logreg.json'), '-i', '-', '--batch-size', '2'], { input: rows.join('\n') });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /KILN_INPUT_MISSING/);
  assert.match(run.stderr, /row 4 \(line 5\)/);
  assert.match(run.stderr, /'x2'/);
  assert.doesNotMatch(run.stderr, /\(row 0\)/, 'no batch-relative row left in the message');
  assert.equal(lines(run.stdout).length, 4, 'earlier batches were written');

  const engine = kiln(['predict', fixture('colour.json'), '-i', '-', '--batch-size', '2'], {
    input: '{"shape": "round", "size": 1}\n{"shape": "round", "size": 1}\n{"shape": "round", "size": 1}\n{"shape": "hexagon", "size": 1}\n',
  });
  assert.equal(engine.status, 1);
  assert.match(engine.stderr, /KILN_INPUT_UNKNOWN_CATEGORY/);
  assert.match(engine.stderr, /row 3 \(line 4\)/);
  assert.match(engine.stderr, /'shape'/);
  assert.doesNotMatch(engine.stderr, /\(row 1\)/, 'no batch-relative row left in the message');

  const notJson = kiln(['predict', fixture('logreg.json'), '-i', '-'], { input: '{"x1": 1, "x2": 2}\n{nope\n' });
  assert.equal(notJson.status, 1);
  assert.match(notJson.stderr, /line 2: not valid JSON/);

  const missingFile = kiln(['predict', fixture('logreg.json'), '-i', join(tmp, 'absent.jsonl')]);
  assert.equal(missingFile.status, 1);
  assert.match(missingFile.stderr, /ENOENT|no such file/);
});

test('export explains how to point at a Python with scikit-learn', () => {
  const pickle = join(tmp, 'model.pkl');
  writeFileSync(pickle, 'not really a pickle');
  const noSklearn = spawnSync('python3', ['-c', 'import sklearn'], { encoding: 'utf8' });
  if (noSklearn.status === 0) {
    // This machine's python3 has sklearn; use an interpreter that certainly cannot run.
    const run = kiln(['export', pickle, '-o', join(tmp, 'out.json'), '--python', join(tmp, 'no-such-python')]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /no-such-python \(from --python\): not found/);
    return;
  }
  const run = kiln(['export', pickle, '-o', join(tmp, 'out.json'), '--python', 'python3']);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /needs a Python with scikit-learn/);
  assert.match(run.stderr, /python3 \(from --python\): cannot import sklearn/);
  assert.match(run.stderr, /--python \/path\/to\/venv\/bin\/python/);

  const viaEnv = kiln(['export', pickle, '-o', join(tmp, 'out.json')], { env: { KILN_PYTHON: join(tmp, 'no-such-python') } });
  assert.equal(viaEnv.status, 1);
  assert.match(viaEnv.stderr, /no-such-python \(from KILN_PYTHON\): not found/);

  const noInput = kiln(['export', join(tmp, 'absent.pkl'), '-o', join(tmp, 'out.json')]);
  assert.equal(noInput.status, 1);
  assert.match(noInput.stderr, /absent\.pkl/);
});

test('export a pickled pipeline with the project venv, then validate and predict it', { skip: !existsSync(VENV_PYTHON) && `${VENV_PYTHON} not set up` }, () => {
  const pickle = join(tmp, 'pipe.pkl');
  const script = `
import pickle, sys
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
rng = np.random.default_rng(0)
X = pd.DataFrame({"age": rng.normal(40, 10, 200), "plan": rng.choice(["basic", "pro", "team"], 200)})
y = np.where(X["age"] + (X["plan"] == "pro") * 10 > 45, "churn", "stay")
pipe = Pipeline([("prep", ColumnTransformer([("num", StandardScaler(), ["age"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])])),
                 ("clf", LogisticRegression())]).fit(X, y)
pickle.dump(pipe, open(sys.argv[1], "wb"))
X.head(20).to_json(sys.argv[2], orient="records")
`;
  const rows = join(tmp, 'pipe-rows.json');
  const fit = spawnSync(VENV_PYTHON, ['-c', script, pickle, rows], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(fit.status, 0, fit.stderr);

  const out = join(tmp, 'pipe.json');
  const run = kiln(['export', pickle, '-o', out, '--python', VENV_PYTHON, '--rows', rows, '--name', 'churn']);
  assert.equal(run.status, 0, run.stderr);
  const validate = kiln(['validate', out]);
  assert.equal(validate.status, 0, validate.stderr);
  assert.match(validate.stdout, /name:\s+churn/);
  const predict = kiln(['predict', out, '--input', rows]);
  assert.equal(predict.status, 0, predict.stderr);
  const results = lines(predict.stdout);
  assert.equal(results.length, 20);
  for (const r of results) assert.ok(['churn', 'stay'].includes(r.label));
});

test('export names the inputs of a model fitted on a bare array (--feature-names, spaced or comma-separated)', { skip: !existsSync(VENV_PYTHON) && `${VENV_PYTHON} not set up` }, () => {
  const pickle = join(tmp, 'bare.pkl');
  const script = `
import pickle, sys
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
pickle.dump(LogisticRegression(max_iter=1000).fit(X, y), open(sys.argv[1], "wb"))
`;
  const fit = spawnSync(VENV_PYTHON, ['-c', script, pickle], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(fit.status, 0, fit.stderr);
  for (const [i, names] of [['sl', 'sw', 'pl', 'pw'], ['sl,sw', 'pl,pw']].entries()) {
    const out = join(tmp, `bare-${i}.json`);
    const run = kiln(['export', pickle, '-o', out, '--python', VENV_PYTHON, '--feature-names', ...names]);
    assert.equal(run.status, 0, run.stderr);
    const inputs = JSON.parse(readFileSync(out, 'utf8')).inputs.map((input) => input.name);
    assert.deepEqual(inputs, ['sl', 'sw', 'pl', 'pw']);
  }
});
