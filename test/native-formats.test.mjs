// Model files written by the training libraries themselves, loaded directly (no exporter, no
// verification rows): LightGBM's text format and XGBoost's JSON format (Booster.save_model).
// test/native-formats/generate.py fits the models on sklearn's bundled datasets (10% NaN, a
// categorical column for LightGBM) under
// .venv/sklearn-latest and writes the library's own predictions for every row; the engine must
// agree: labels identical, probabilities / raw scores / values within the case's tolerance (a
// number, absolute; or {absolute, relative} for XGBoost, which computes in float32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel, loadModelFromString } from '../dist/index.js';
import { assertMatchesLibrary } from './library-expected.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

test('library model files load directly and match the library on every row', { timeout: 10 * 60_000 }, async (t) => {
  const python = join(ROOT, '.venv', 'sklearn-latest', 'bin', 'python');
  assert.ok(existsSync(python), `${python} is missing: run "bash scripts/setup-python.sh"`);
  const out = mkdtempSync(join(tmpdir(), 'kiln-native-formats-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  const run = spawnSync(python, [join(ROOT, 'test/native-formats/generate.py'), out], {
    encoding: 'utf8', timeout: 5 * 60_000, env: { ...process.env, PYTHONHASHSEED: '0', OMP_NUM_THREADS: '1' },
  });
  assert.equal(run.status, 0, `generator failed:\n${run.stderr}`);
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  for (const na of manifest.not_applicable) t.diagnostic(`not applicable: ${na.library} (${na.reason})`);
  assert.ok(manifest.cases.length >= 8, 'expected the LightGBM and XGBoost cases to run');
  assert.ok(manifest.cases.some((c) => c.categorical_splits > 0), 'some case must split on the categorical column');
  if (!manifest.not_applicable.some((na) => na.library === 'lightgbm')) {
    const zero = manifest.cases.filter((c) => c.zero_splits > 0).map((c) => c.name);
    assert.ok(zero.length >= 3, `the zero_as_missing cases must have Zero-type splits (have: ${zero})`);
  }

  for (const c of manifest.cases) {
    await t.test(c.name, () => {
      const file = join(out, c.name, c.file);
      const tol = typeof c.tolerance === 'number' ? { absolute: c.tolerance, relative: 0 } : c.tolerance;
      const model = loadModel(file);
      assert.equal(model.verification.rowsChecked, 0, 'a library file carries no verification rows');
      const again = loadModelFromString(readFileSync(file, 'utf8'));
      const e = JSON.parse(readFileSync(join(out, c.name, 'expected.json'), 'utf8'));
      const names = model.inputs.map((i) => i.name);
      const records = e.rows.map((r) => Object.fromEntries(names.map((n, j) => [n, r[j]])));
      const results = model.predictBatch(records);
      const worst = assertMatchesLibrary(results, e, tol, c.library);
      assert.deepEqual(again.predictBatch(records.slice(0, 5)), results.slice(0, 5));
      const zero = c.zero_splits ? `, ${c.zero_splits} zero_as_missing splits` : '';
      t.diagnostic(`${c.name} (${c.library} ${c.version}): ${c.rows} rows, ${c.categorical_splits} categorical splits${zero}, max |diff| ${worst.toExponential(2)}`);
    });
  }
});

test('broken LightGBM text files are refused with a model error', () => {
  const header = 'tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=1\n' +
    'objective=regression\nfeature_names=a b\nfeature_infos=none none\ntree_sizes=1\n\n';
  const tree = 'Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\n' +
    'left_child=-1\nright_child=-2\nleaf_value=1 2\nshrinkage=1\n\n';
  const ok = loadModelFromString(header + tree + 'end of trees\n');
  assert.deepEqual(ok.inputs.map((i) => i.name), ['a', 'b']);
  assert.equal(ok.predict({ a: 0.5, b: 0 }).value, 1);
  assert.equal(ok.predict({ a: 0.6, b: 0 }).value, 2);
  assert.equal(ok.predict({ a: null, b: 0 }).value, 1);  // NaN type None: read as 0.0 <= 0.5
  // Missing type Zero (decision_type bits 2-3 = 1): NaN is read as 0.0, and |a| <= kZeroThreshold
  // (float32 1e-35) goes the default_left way (bit 1); anything else compares with 0.5.
  const zeroLeft = loadModelFromString(header + tree.replace('decision_type=2', 'decision_type=6') + 'end of trees\n');
  const zeroRight = loadModelFromString(header + tree.replace('decision_type=2', 'decision_type=4') + 'end of trees\n');
  const kZero = 1.0000000180025095e-35;
  for (const a of [0, -0, null, 1e-36, -1e-36, 1e-35, kZero, -kZero, 5e-324]) {
    assert.equal(zeroLeft.predict({ a, b: 0 }).value, 1, `default left: ${a}`);
    assert.equal(zeroRight.predict({ a, b: 0 }).value, 2, `default right: ${a}`);
  }
  for (const [a, v] of [[0.3, 1], [0.5, 1], [0.6, 2], [-1e-34, 1], [1.0000000180025097e-35, 1], [-2, 1]]) {
    assert.equal(zeroLeft.predict({ a, b: 0 }).value, v, `compared: ${a}`);
    assert.equal(zeroRight.predict({ a, b: 0 }).value, v, `compared: ${a}`);
  }
  const cases = [
    [header + tree, 'KILN_MODEL_INVALID', /end of trees/],
    [header + tree.replace('right_child=-2', 'right_child=-3') + 'end of trees\n', 'KILN_MODEL_INVALID', /leaf 2 out of range/],
    [header + tree.replace('leaf_value=1 2', 'leaf_value=1') + 'end of trees\n', 'KILN_MODEL_INVALID', /leaf_value has 1 values/],
    [header + tree.replace('threshold=0.5', 'threshold=x') + 'end of trees\n', 'KILN_MODEL_INVALID', /'x' is not a number/],
    [header + tree.replace('split_feature=0', 'split_feature=7') + 'end of trees\n', 'KILN_MODEL_INVALID', /feature 7 is out of range/],
    [header.replace('objective=regression', 'objective=poisson') + tree + 'end of trees\n', 'KILN_MODEL_UNSUPPORTED', /poisson/],
    [header.replace('version=v4', 'version=v9') + tree + 'end of trees\n', 'KILN_MODEL_VERSION', /v9/],
    [header.replace('feature_names=a b', 'feature_names=a a') + tree + 'end of trees\n', 'KILN_MODEL_INVALID', /duplicate feature name/],
  ];
  for (const [text, code, message] of cases) {
    assert.throws(() => loadModelFromString(text), (err) => err.code === code && message.test(err.message), `${code} ${message}`);
  }
});

test('XGBoost JSON files: routing by hand, and broken files refused with a model error', () => {
  // One tree: a < 0.5 (float32) goes left, NaN goes the default_left way (right here).
  const model = (edit = {}) => {
    const tree = {
      left_children: [1, -1, -1], right_children: [2, -1, -1], split_indices: [0, 0, 0],
      split_conditions: [0.5, 1, 2], default_left: [0, 0, 0], split_type: [0, 0, 0],
      tree_param: { num_nodes: '3', size_leaf_vector: '1' }, ...edit.tree,
    };
    return JSON.stringify({
      version: edit.version ?? [3, 2, 0],
      learner: {
        feature_names: ['a', 'b'], feature_types: edit.types ?? ['float', 'float'],
        learner_model_param: { base_score: edit.base ?? '[1E1]', num_class: '0', num_feature: '2', num_target: '1' },
        objective: { name: edit.objective ?? 'reg:squarederror' },
        gradient_booster: { name: edit.booster ?? 'gbtree', model: { trees: [tree], tree_info: edit.info ?? [0] } },
      },
    });
  };
  const ok = loadModelFromString(model());
  assert.deepEqual(ok.inputs.map((i) => i.name), ['a', 'b']);
  assert.equal(ok.predict({ a: 0.49, b: 0 }).value, 11);
  assert.equal(ok.predict({ a: 0.5, b: 0 }).value, 12);  // strict <
  assert.equal(ok.predict({ a: null, b: 0 }).value, 12);
  assert.equal(loadModelFromString(model({ tree: { default_left: [1, 0, 0] } })).predict({ a: null, b: 0 }).value, 11);
  const p = loadModelFromString(model({ objective: 'binary:logistic', base: '[5E-1]' })).predict({ a: 0, b: 0 });
  assert.equal(p.label, 1);
  assert.ok(Math.abs(p.probabilities[1] - 1 / (1 + Math.exp(-1))) < 1e-15);  // logit(0.5) = 0, + leaf 1
  // Categorical node (XGBoost's common::Decision): a category in the set {1, 3} goes RIGHT; any
  // other value (unlisted, negative, non-integer below 0, huge, infinite) left; NaN the
  // default_left way; a non-integer is truncated toward zero (1.7 is category 1).
  const cat = { split_type: [1, 0, 0], categories_nodes: [0], categories_segments: [0], categories_sizes: [2],
    categories: [1, 3], split_conditions: [1e-45, 1, 2] };
  const c = loadModelFromString(model({ tree: cat, types: ['c', 'float'] }));
  const route = (a) => c.predict({ a, b: 0 }).value;
  for (const a of [1, 3, 1.7, 3.99]) assert.equal(route(a), 12, `category ${a} goes right`);
  for (const a of [0, 2, 0.5, 4, 40, -0.5, -1, 1e9, 2 ** 24 + 1]) assert.equal(route(a), 11, `value ${a} goes left`);
  assert.equal(route(null), 12);  // default_left 0
  assert.equal(loadModelFromString(model({ tree: { ...cat, default_left: [1, 0, 0] } })).predict({ a: null, b: 0 }).value, 11);
  // XGBoost 1.x / 2.x write a categorical node's unused split_condition as a bare NaN token (not
  // JSON): read as null there; anywhere a number is needed it is still refused.
  const learnerFirst = (text) => `{"learner":${JSON.stringify(JSON.parse(text).learner)},"version":[2,1,4]}`;
  const withNan = learnerFirst(model({ tree: cat, types: ['c', 'float'] })).replace('1e-45', 'NaN');
  assert.match(withNan, /\[NaN,1,2\]/);
  assert.equal(loadModelFromString(withNan).predict({ a: 3, b: 0 }).value, 12);
  assert.throws(() => loadModelFromString(learnerFirst(model()).replace('[0.5,1,2]', '[NaN,1,2]')),
    (err) => err.code === 'KILN_MODEL_INVALID' && /split_conditions/.test(err.message));
  assert.throws(() => loadModelFromString(model({ tree: cat }).replace('1e-45', 'NaN')),  // not learner-first
    (err) => err.code === 'KILN_MODEL_INVALID' && /NaN/.test(err.message));
  // Equal to a one-hot split (max_cat_to_onehot): a one-category set.
  const oneHot = loadModelFromString(model({ tree: { ...cat, categories_sizes: [1] } }));
  assert.deepEqual([1, 3, 0].map((a) => oneHot.predict({ a, b: 0 }).value), [12, 11, 11]);
  const cases = [
    [model({ objective: 'count:poisson' }), 'KILN_MODEL_UNSUPPORTED', /count:poisson/],
    [model({ booster: 'gblinear' }), 'KILN_MODEL_UNSUPPORTED', /gblinear/],
    [model({ tree: { split_type: [1, 0, 0] } }), 'KILN_MODEL_INVALID', /categories_nodes/],
    [model({ tree: { ...cat, categories_nodes: [1] } }), 'KILN_MODEL_INVALID', /not a categorical node/],
    [model({ tree: { ...cat, categories_sizes: [3] } }), 'KILN_MODEL_INVALID', /size/],
    [model({ tree: { ...cat, categories_nodes: [0, 0], categories_segments: [0, 0], categories_sizes: [2, 2] } }),
      'KILN_MODEL_INVALID', /listed twice/],
    [model({ tree: { ...cat, categories: [1, -3] } }), 'KILN_MODEL_INVALID', /category/],
    [model({ tree: { ...cat, categories: [1, 2 ** 24] } }), 'KILN_MODEL_INVALID', /category/],
    [model({ tree: { ...cat, split_type: [2, 0, 0] } }), 'KILN_MODEL_INVALID', /split_type/],
    [model({ version: [9, 0, 0] }), 'KILN_MODEL_VERSION', /9\.0\.0/],
    [model({ tree: { right_children: [7, -1, -1] } }), 'KILN_MODEL_INVALID', /right_children/],
    [model({ tree: { split_indices: [5, 0, 0] } }), 'KILN_MODEL_INVALID', /split_indices/],
    [model({ tree: { split_conditions: [0.5, 1] } }), 'KILN_MODEL_INVALID', /split_conditions has 2 entries/],
    [model({ tree: { split_conditions: ['x', 1, 2] } }), 'KILN_MODEL_INVALID', /'x' is not a number/],
    [model({ info: [3] }), 'KILN_MODEL_INVALID', /tree_info/],
    [model({ tree: { left_children: [1, 1, -1], right_children: [2, -1, -1] } }), 'KILN_MODEL_INVALID', /./],
  ];
  for (const [text, code, message] of cases) {
    assert.throws(() => loadModelFromString(text), (err) => err.code === code && message.test(err.message), `${code} ${message}`);
  }
});
