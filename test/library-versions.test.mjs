// Model files written by OLDER XGBoost and LightGBM releases, loaded directly: golden fixtures in
// test/fixtures/library-versions (written once by its generate.py, whose header pins the versions,
// in throwaway virtualenvs; CI needs none of those libraries). Each case holds the library's own
// predictions for every row of its dataset; Kiln must agree on every row: labels identical,
// numbers within the case's tolerance |kiln - lib| <= absolute + relative * |lib| (XGBoost
// computes in float32: 1e-6 + 1e-6 relative; LightGBM in float64: 1e-9 absolute).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../dist/index.js';
import { assertMatchesLibrary } from './library-expected.mjs';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'library-versions');
const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8'));
const data = JSON.parse(readFileSync(join(DIR, 'datasets.json'), 'utf8'));

test('the fixtures cover the older versions the docs name', () => {
  const versions = new Set(manifest.cases.map((c) => `${c.library} ${c.version}`));
  for (const v of ['xgboost 1.7.6', 'xgboost 2.0.3', 'xgboost 2.1.4', 'lightgbm 2.2.3', 'lightgbm 2.3.1', 'lightgbm 3.3.5']) {
    assert.ok(versions.has(v), `no fixture from ${v}`);
  }
  assert.ok(manifest.cases.some((c) => c.library === 'xgboost' && c.categorical_splits > 0), 'an XGBoost categorical split');
  assert.ok(manifest.cases.some((c) => c.library === 'lightgbm' && c.categorical_splits > 0), 'a LightGBM categorical split');
  assert.deepEqual([...new Set(manifest.cases.map((c) => c.file_version).filter(Boolean))].sort(), ['v2', 'v3']);
});

for (const c of manifest.cases) {
  test(`${c.name}: loads and matches ${c.library} ${c.version} on every row`, (t) => {
    const model = loadModel(join(DIR, c.name, c.file));
    const e = JSON.parse(readFileSync(join(DIR, c.name, 'expected.json'), 'utf8'));
    const names = model.inputs.map((i) => i.name);
    const rows = data[c.dataset];
    assert.equal(names.length, rows[0].length);
    const results = model.predictBatch(rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]]))));
    assert.equal(results.length, rows.length);
    const worst = assertMatchesLibrary(results, e, c.tolerance, `${c.library} ${c.version}`);
    t.diagnostic(`${rows.length} rows, ${c.categorical_splits} categorical splits, max |diff| ${worst.toExponential(2)}`);
  });
}
