// In-process timings of the bundled breast_cancer models through the public JS API (dist/):
//   one row:  model.predict(record), µs per call
//   batch:    model.predictMatrixRaw(10,000 rows, out reused), ns per row
// Each figure is the median of REPEATS timed runs. Time is this process's CPU time
// (process.cpuUsage), not wall time: on a shared, overloaded machine wall time mostly measures
// the other tenants.
//   node bench/dev/inproc.mjs [logreg rf gbm] [--repeats N] [--dist DIR]
// --dist times another build's dist/ (e.g. a baseline checkout; pair with KILN_NATIVE_PATH).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { benchRows } from './rows.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (flag, fallback) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args.splice(i, 2)[1] : fallback;
};
const REPEATS = Number(option('--repeats', 15));
const dist = path.resolve(option('--dist', path.join(root, 'dist')));
const { loadModel } = await import(pathToFileURL(path.join(dist, 'index.js')).href);
const names = args.length ? args : ['logreg', 'rf', 'gbm'];
const BATCH = 10_000;

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

function time(fn, iterations) {
  const t0 = process.cpuUsage();
  fn(iterations);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1e3) / iterations; // ns per iteration
}

for (const name of names) {
  const file = path.join(root, 'models', `breast_cancer_${name}.json`);
  const model = loadModel(file);
  const { records, matrix } = benchRows(file, BATCH);
  const out = new Float64Array(BATCH * model.outputWidth);
  let sink = 0;
  const one = (n) => {
    for (let i = 0; i < n; i++) sink += model.predict(records[i % 1000]).probabilities?.[1] ?? 0;
  };
  const batch = (n) => {
    for (let i = 0; i < n; i++) sink += model.predictMatrixRaw(matrix, BATCH, out)[1];
  };
  one(20_000); // warm up (JIT)
  batch(3);
  const oneNs = [];
  const batchNs = [];
  for (let k = 0; k < REPEATS; k++) {
    oneNs.push(time(one, 50_000));
    batchNs.push(time(batch, 5) / BATCH);
  }
  console.log(`${name.padEnd(6)} predict(record) ${(median(oneNs) / 1000).toFixed(3)} µs   predictMatrixRaw ${median(batchNs).toFixed(1)} ns/row   [min ${(Math.min(...oneNs) / 1000).toFixed(3)} µs, ${Math.min(...batchNs).toFixed(1)} ns] ${sink > 0 ? '' : '!'}`);
}
