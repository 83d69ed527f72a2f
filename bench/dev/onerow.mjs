// Where one model.predict(record) spends its time, part by part, in one process: the record
// encoder (RowEncoder.encodeFast), the bound native call (bindRow's predictRow: binding + engine),
// the output decoder, and the whole predict() (results kept, so none is optimised away). ns per
// call of process CPU time, median (min) of 7 rounds of 100,000 calls, the parts alternated.
//   node bench/dev/onerow.mjs [logreg,rf,gbm] [--dist DIR]
// --dist times another build's dist/ (pair with KILN_NATIVE_PATH=<its kiln.node>).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { benchRows } from './rows.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const at = args.indexOf('--dist');
const dist = path.resolve(at >= 0 ? args.splice(at, 2)[1] : path.join(root, 'dist'));
const names = (args[0] ?? 'logreg,rf,gbm').split(',');
const load = (file) => import(pathToFileURL(path.join(dist, file)).href);
const { loadModel } = await load('index.js');
const { RowEncoder } = await load('encode.js');
const { OutputDecoder } = await load('decode.js');
const { native } = await load('native.js');

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
function time(fn, n) {
  const t0 = process.cpuUsage();
  fn(n);
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1e3) / n;
}

const keep = new Array(64);
for (const name of names) {
  const file = path.join(root, 'models', `breast_cancer_${name}.json`);
  const model = loadModel(file);
  const handle = native().Model.loadFile(file);
  const info = handle.info();
  const encoder = new RowEncoder(info.inputs);
  const decoder = new OutputDecoder(info, info.classesJson.map((t) => JSON.parse(t)));
  const row = new Float64Array(encoder.width);
  const out = new Float64Array(info.outputWidth);
  const predictRow = handle.bindRow(row, out);
  const { records } = benchRows(file, 1000);
  encoder.encodeFast(records[0], row, 0);
  predictRow();
  let sink = 0;
  const parts = {
    predict: (n) => { for (let i = 0; i < n; i++) keep[i & 63] = model.predict(records[i % 1000]); },
    encode: (n) => { for (let i = 0; i < n; i++) { encoder.encodeFast(records[i % 1000], row, 0); sink += row[3]; } },
    native: (n) => { for (let i = 0; i < n; i++) { predictRow(); sink += out[1]; } },
    decode: (n) => { for (let i = 0; i < n; i++) keep[i & 63] = decoder.decode(out, 0); },
  };
  for (const f of Object.values(parts)) f(50_000); // warm up (JIT)
  const ns = Object.fromEntries(Object.keys(parts).map((k) => [k, []]));
  for (let r = 0; r < 7; r++) for (const [k, f] of Object.entries(parts)) ns[k].push(time(f, 100_000));
  const cols = Object.entries(ns).map(([k, xs]) => `${k} ${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)})`);
  console.log(`${name.padEnd(6)} ns/call: ${cols.join('  ')}${sink === sink ? '' : ' !'}`);
}
