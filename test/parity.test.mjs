// Parity: every supported transform and estimator, fitted on sklearn's bundled datasets under the
// newest and the oldest supported scikit-learn, exported by the real exporter, loaded by the real
// addon (which replays each model's verification rows), and compared with what sklearn answered
// in the same run for EVERY row of the dataset.
//
// Tolerance: labels identical; probabilities, decision values and regression values within
// ABS_TOL of sklearn's (absolute). Trees must agree exactly on routing (float32 comparisons as in
// sklearn); the tolerance only covers summation-order rounding in dot products and softmax.
// Cases computed in float32 by their library (XGBoost) carry their own `tolerance` in the manifest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../dist/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ABS_TOL = 1e-9;
const ENVS = ['sklearn-latest', 'sklearn-1.2'];
// Fitting every case takes a few minutes on an idle 2-core machine and several times that when the
// cores are shared; the limit only catches a hung generator.
const GENERATE_TIMEOUT_MS = 25 * 60_000;

function generate(env) {
  const python = join(ROOT, '.venv', env, 'bin', 'python');
  assert.ok(existsSync(python), `${python} is missing: run "bash scripts/setup-python.sh" (npm test does)`);
  const out = mkdtempSync(join(tmpdir(), `kiln-parity-${env}-`));
  const run = spawnSync(python, [join(ROOT, 'test/parity/generate.py'), out], {
    encoding: 'utf8', timeout: GENERATE_TIMEOUT_MS, env: { ...process.env, PYTHONHASHSEED: '0', OMP_NUM_THREADS: '1' },
  });
  assert.equal(run.status, 0, `parity generator failed under ${env}:\n${run.stderr}`);
  return { out, manifest: JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) };
}

function compareNumbers(what, row, actual, expected, worst, tol = { absolute: ABS_TOL, relative: 0 }) {
  assert.equal(actual.length, expected.length, `${what} width, row ${row}`);
  for (let k = 0; k < expected.length; k++) {
    const err = Math.abs(actual[k] - expected[k]);
    if (!(err <= tol.absolute + tol.relative * Math.abs(expected[k]))) {
      assert.fail(`${what}[${k}] at row ${row}: kiln ${actual[k]} vs sklearn ${expected[k]} (|diff| ${err})`);
    }
    if (err > worst.err) worst.err = err;
  }
}

for (const env of ENVS) {
  test(`parity with ${env}`, { timeout: GENERATE_TIMEOUT_MS + 5 * 60_000 }, async (t) => {
    const { out, manifest } = generate(env);
    t.after(() => rmSync(out, { recursive: true, force: true }));
    t.diagnostic(`scikit-learn ${manifest.sklearn}, numpy ${manifest.numpy}, python ${manifest.python}`);
    for (const na of manifest.not_applicable) t.diagnostic(`not applicable under ${manifest.sklearn}: ${na.name} (${na.reason})`);
    assert.ok(manifest.cases.length >= 30, `expected the parity cases to run, got ${manifest.cases.length}`);

    for (const c of manifest.cases) {
      await t.test(c.name, () => {
        const model = loadModel(join(out, c.name, 'model.json'));
        const expected = JSON.parse(readFileSync(join(out, c.name, 'expected.json'), 'utf8'));
        const results = model.predictBatch(expected.rows);
        assert.equal(results.length, expected.rows.length);
        const worst = { err: 0 };
        // XGBoost cases: 1e-6 absolute + 1e-6 relative (it computes in float32).
        const tol = c.tolerance ?? { absolute: ABS_TOL, relative: 0 };
        results.forEach((r, i) => {
          if (expected.label) {
            assert.equal(r.label, expected.label[i], `label at row ${i}`);
            if (expected.probabilities) compareNumbers('probabilities', i, r.probabilities, expected.probabilities[i], worst, tol);
            else assert.equal(r.probabilities, undefined, 'no probabilities for a model without predict_proba');
            if (expected.decision) compareNumbers('decision', i, r.decision, expected.decision[i], worst, tol);
          } else {
            compareNumbers('value', i, [r.value], [expected.value[i]], worst, tol);
          }
        });
        // Single-row and batch paths must agree exactly.
        const one = model.predict(expected.rows[0]);
        assert.deepEqual(one, results[0]);
        t.diagnostic(`${c.name}: ${c.rows} rows, max |diff| ${worst.err.toExponential(2)}, verified ${model.verification.rowsChecked} rows`);
      });
    }
  });
}
