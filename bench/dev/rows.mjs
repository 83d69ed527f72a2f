// Benchmark rows for the bundled models: the model's own verification rows (real breast_cancer
// records), cycled and jittered by up to ±5% per value with a fixed LCG, so a 10,000-row batch has
// realistic values without repeating exactly (a short exact cycle would let the branch predictor
// learn the trees). Same rows for every run and every consumer.
//   import { benchRows } from './rows.mjs'   -> { names, records, matrix }
//   node bench/dev/rows.mjs MODEL.json N > rows.csv   (model input order, for engine_bench)
import { readFileSync } from 'node:fs';

export function benchRows(modelPath, n) {
  const model = JSON.parse(readFileSync(modelPath, 'utf8'));
  const names = model.inputs.map((i) => i.name);
  const base = model.verification.rows.map((r) => r.input);
  let state = 0x2545f491;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const matrix = new Float64Array(n * names.length);
  const records = new Array(n);
  for (let r = 0; r < n; r++) {
    const src = base[r % base.length];
    const rec = {};
    names.forEach((name, j) => {
      const v = src[name] * (1 + 0.1 * (uniform() - 0.5));
      rec[name] = v;
      matrix[r * names.length + j] = v;
    });
    // As a record arrives from JSON (and like an object literal): a fast-properties object. Built
    // by assigning 30 computed keys, V8 would keep it in dictionary mode, where every read is a
    // hash lookup.
    records[r] = JSON.parse(JSON.stringify(rec));
  }
  return { names, records, matrix };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop())) {
  const [modelPath, n] = process.argv.slice(2);
  const { names, matrix } = benchRows(modelPath, Number(n));
  const w = names.length;
  const lines = [];
  for (let r = 0; r < matrix.length / w; r++) lines.push(Array.from(matrix.subarray(r * w, (r + 1) * w)).map(String).join(','));
  process.stdout.write(lines.join('\n') + '\n');
}
