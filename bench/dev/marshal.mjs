// CPU per request of the record routes' body handling alone, in one process, alternated:
//   miss: utf8 text + JSON.parse + the cache key + model.predict + JSON.stringify (what a cache
//         miss does besides Fastify)
//   hit, text key (before): utf8 text + JSON.parse + the cache key of the text + LRU lookup
//   hit, byte key (now):    the cache key of the bytes + LRU lookup (no decoding, no parse)
//   miss, byte key:         the cache key of the bytes + utf8 text + JSON.parse + model.predict +
//                           JSON.stringify (the friendly route's miss before the native scanner)
//   miss, native:           the cache key of the bytes + model.predictBody (kiln/record_scanner.h:
//                           scan and predict in one addon call; rows > 1: predictBodyRows, the
//                           array of records) + JSON.stringify
// Rounds of N calls alternate; the minimum round is printed (preemption only ever adds time).
//   node bench/dev/marshal.mjs [model=breast_cancer_logreg] [rows=1] [rounds=15] [N=5000]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel } from '../../dist/index.js';
import { ResponseCache } from '../../dist/server/cache.js';
import { benchRows } from './rows.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [name = 'breast_cancer_logreg', rowsArg = '1', roundsArg = '15', nArg = '5000'] = process.argv.slice(2);
const rows = Number(rowsArg);
const file = path.join(root, 'models', `${name}.json`);
const model = loadModel(file);
const records = benchRows(file, rows).records;
const bytes = Buffer.from(JSON.stringify(rows === 1 ? records[0] : records));
const cache = new ResponseCache({ enabled: true, maxEntries: 1000, maxBytes: 64 * 1024 * 1024 });
const answer = JSON.stringify(rows === 1 ? model.predict(records[0]) : model.predictBatch(records));
cache.set(ResponseCache.key('predict', bytes.toString('utf8')), answer);
cache.set(ResponseCache.key('predict', bytes), answer);
const variants = {
  miss: () => {
    const text = bytes.toString('utf8');
    const key = ResponseCache.key('predict', text);
    const body = JSON.parse(text);
    return JSON.stringify(Array.isArray(body) ? model.predictBatch(body) : model.predict(body)).length + key.length;
  },
  'hit, text key': () => {
    const text = bytes.toString('utf8');
    const body = JSON.parse(text);
    return (cache.get(ResponseCache.key('predict', text))?.length ?? 0) + (body ? 1 : 0);
  },
  'hit, byte key': () => cache.get(ResponseCache.key('predict', bytes))?.length ?? 0,
  'miss, byte key': () => {
    const key = ResponseCache.key('predict', bytes);
    const body = JSON.parse(bytes.toString('utf8'));
    return JSON.stringify(Array.isArray(body) ? model.predictBatch(body) : model.predict(body)).length + key.length;
  },
};
const native = rows === 1 ? () => model.predictBody(bytes) : () => model.predictBodyRows(bytes, false, rows);
if (native() === undefined) throw new Error('the native scanner declined the benchmark body');
variants['miss, native'] = () => {
  const key = ResponseCache.key('predict', bytes);
  return JSON.stringify(native()).length + key.length;
};
const best = Object.fromEntries(Object.keys(variants).map((k) => [k, Infinity]));
const N = Number(nArg);
let sink = 0;
for (let r = 0; r < Number(roundsArg); r++) {
  for (const [k, f] of Object.entries(variants)) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) sink += f();
    const d = process.cpuUsage(t0);
    best[k] = Math.min(best[k], (d.user + d.system) / N);
  }
}
console.log(`${name}, ${rows} row(s), ${bytes.length} bytes (min of ${roundsArg} rounds of ${N}, CPU µs per request)${sink < 0 ? '!' : ''}`);
for (const [k, v] of Object.entries(best)) console.log(`  ${k.padEnd(15)} ${v.toFixed(2)}`);
