// Parity check for a prebuilt addon, run by the Node that will load it (e.g. an arm64 Node under
// qemu-user, see scripts/cross-build-arm64.sh). Not part of `npm test`.
//
//   node test/arm64/check.mjs <kiln.node> <models dir> [<parity dir> ...]
//
// For each <models dir>/*.json: load it through the package's public API with KILN_NATIVE_PATH
// pointing at <kiln.node> (the engine replays the model's verification rows — sklearn's own outputs
// — at load and refuses the model if any differs), then predict every verification row again from
// JS and compare label / probabilities / decision / value with sklearn's within the model's stated
// tolerance. Each optional <parity dir> is the output of test/parity/generate.py (a manifest.json
// and <case>/{model.json,expected.json}); every row of every case is compared, as in
// test/parity.test.mjs, at 1e-9 absolute.
// Prints one line per model and a final "N passed, N failed"; exits 1 on any failure.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const [addonArg, modelsDir, ...parityDirs] = process.argv.slice(2);
if (!addonArg || !modelsDir) {
  console.error('usage: node test/arm64/check.mjs <kiln.node> <models dir> [<parity dir> ...]');
  process.exit(2);
}
const addon = path.resolve(addonArg);
process.env.KILN_NATIVE_PATH = addon;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { loadModel } = await import(path.join(root, 'dist', 'index.js'));

console.log(`node ${process.version} ${process.platform}-${process.arch}, napi ${process.versions.napi}, addon ${addon}`);

let passed = 0;
let failed = 0;

function close(a, b, abs, rel) {
  return Math.abs(a - b) <= abs + rel * Math.abs(b);
}

function compare(what, actual, expected, abs, rel) {
  if (expected === undefined || expected === null) return 0;
  const a = Array.isArray(expected) ? actual : [actual];
  const e = Array.isArray(expected) ? expected : [expected];
  if (!a || a.length !== e.length) throw new Error(`${what}: width ${a?.length} vs ${e.length}`);
  let worst = 0;
  e.forEach((x, k) => {
    if (!close(a[k], x, abs, rel)) throw new Error(`${what}[${k}]: kiln ${a[k]} vs sklearn ${x}`);
    worst = Math.max(worst, Math.abs(a[k] - x));
  });
  return worst;
}

function run(name, fn) {
  try {
    const msg = fn();
    passed++;
    console.log(`ok   ${name}: ${msg}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}: ${error?.code ?? ''} ${String(error?.message ?? error).split('\n')[0]}`);
  }
}

// 1. Bundled models: load-time verification replay + JS-side comparison of every verification row.
const files = readdirSync(modelsDir).filter((f) => f.endsWith('.json')).sort();
if (files.length === 0) {
  console.error(`no *.json models in ${modelsDir}`);
  process.exit(1);
}
for (const file of files) {
  run(`models/${file}`, () => {
    const model = loadModel(path.join(modelsDir, file));
    const spec = JSON.parse(readFileSync(path.join(modelsDir, file), 'utf8')).verification;
    const abs = spec.tolerance?.absolute ?? 1e-9;
    const rel = spec.tolerance?.relative ?? 0;
    const results = model.predictBatch(spec.rows.map((r) => r.input));
    let worst = 0;
    spec.rows.forEach((row, i) => {
      const r = results[i];
      const x = row.expected;
      if ('label' in x && r.label !== x.label) throw new Error(`row ${i}: label ${r.label} vs ${x.label}`);
      worst = Math.max(worst, compare(`row ${i} probabilities`, r.probabilities, x.probabilities, abs, rel));
      worst = Math.max(worst, compare(`row ${i} decision`, r.decision, x.decision, abs, rel));
      worst = Math.max(worst, compare(`row ${i} value`, r.value, x.value, abs, rel));
    });
    const one = model.predict(spec.rows[0].input);
    if (JSON.stringify(one) !== JSON.stringify(results[0])) throw new Error('single-row and batch answers differ');
    return `${model.task}, verified ${model.verification.rowsChecked} rows at load, ${spec.rows.length} rows re-predicted, max |diff| ${worst.toExponential(2)}`;
  });
}

// 2. Optional full parity sets from test/parity/generate.py.
for (const dir of parityDirs) {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    failed++;
    console.log(`FAIL ${dir}: no manifest.json`);
    continue;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  console.log(`parity set ${dir}: scikit-learn ${manifest.sklearn}, ${manifest.cases.length} cases`);
  for (const c of manifest.cases) {
    run(`parity/${c.name}`, () => {
      const model = loadModel(path.join(dir, c.name, 'model.json'));
      const expected = JSON.parse(readFileSync(path.join(dir, c.name, 'expected.json'), 'utf8'));
      const results = model.predictBatch(expected.rows);
      let worst = 0;
      results.forEach((r, i) => {
        if (expected.label) {
          if (r.label !== expected.label[i]) throw new Error(`label at row ${i}: ${r.label} vs ${expected.label[i]}`);
          if (expected.probabilities) worst = Math.max(worst, compare(`probabilities row ${i}`, r.probabilities, expected.probabilities[i], 1e-9, 0));
          if (expected.decision) worst = Math.max(worst, compare(`decision row ${i}`, r.decision, expected.decision[i], 1e-9, 0));
        } else {
          worst = Math.max(worst, compare(`value row ${i}`, r.value, expected.value[i], 1e-9, 0));
        }
      });
      return `${expected.rows.length} rows, max |diff| ${worst.toExponential(2)}`;
    });
  }
}

console.log(`arm64-check: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
