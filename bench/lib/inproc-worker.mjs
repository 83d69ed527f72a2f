// Kiln's addon from JS, in a process of its own: one row per call (predict(record)), and batches
// through predictMatrixRaw (sync and async) and predictBatch (records, as JSON.parse makes them). Checks the answers against
// sklearn's before timing. Prints one JSON object.
//   node bench/lib/inproc-worker.mjs <cacheDir> <modelId> <kiln.json> <timeMs> <repeats>
import { loadModel } from '../../dist/index.js';
import { readEntry, readRows, record } from './rows.mjs';
import { maxAbsDiff, medianNsPerRow, medianNsPerRowAsync } from './timing.mjs';

const BATCHES = [1, 100, 10_000];
const RECORDS = 1000; // distinct records cycled through by the one-row figure

const [cacheDir, id, kilnFile, timeMsArg, repeatsArg] = process.argv.slice(2);
const timeMs = Number(timeMsArg);
const repeats = Number(repeatsArg);
const entry = readEntry(cacheDir, id);
const data = readRows(cacheDir, entry);
const model = loadModel(kilnFile);
const nf = data.nFeatures;
if (model.inputs.map((i) => i.name).join() !== entry.features.join()) throw new Error(`${id}: the Kiln model's inputs are not the bench rows' columns`);

// Correctness first: Kiln's probabilities on every bench row against sklearn's.
const raw = model.predictMatrixRaw(data.rows, data.nRows);
const w = model.outputWidth;
const probs = new Float64Array(data.nRows * data.nOutputs);
for (let r = 0; r < data.nRows; r++) for (let c = 0; c < data.nOutputs; c++) probs[r * data.nOutputs + c] = raw[r * w + 1 + c];
const maxAbsDiffVsSklearn = maxAbsDiff(probs, data.expected, probs.length);

// Records as a service gets them: JSON.parse of a request body (V8 fast properties, one hidden
// class for every record). Objects built key by key (`o[name] = v`, more than ~12 keys) are V8
// dictionary-mode objects, much slower to enumerate: timed separately, after everything else, so
// their property-access feedback does not slow the main figures.
const keyed = Array.from({ length: Math.min(RECORDS, data.nRows) }, (_, i) => record(data, entry.features, i));
const records = keyed.map((r) => JSON.parse(JSON.stringify(r)));
const oneRow = (recs) => {
  let next = 0;
  return medianNsPerRow(() => {
    model.predict(recs[next]);
    next = next + 1 === recs.length ? 0 : next + 1;
  }, 1, timeMs, repeats);
};
const oneRowNs = oneRow(records);

const out = new Float64Array(data.nRows * w);
const batch = {};
const batchAsync = {};
const batchRecords = {};
for (const b of BATCHES) {
  const view = data.rows.subarray(0, b * nf);
  batch[b] = medianNsPerRow(() => model.predictMatrixRaw(view, b, out), b, timeMs, repeats);
  batchAsync[b] = await medianNsPerRowAsync(() => model.predictMatrixRawAsync(view, b, out), b, timeMs, repeats);
  const recs = Array.from({ length: b }, (_, i) => records[i % records.length]);
  batchRecords[b] = medianNsPerRow(() => model.predictBatch(recs), b, timeMs, repeats);
}
const oneRowKeyedNs = oneRow(keyed);
process.stdout.write(`${JSON.stringify({ status: 'ok', maxAbsDiffVsSklearn, oneRowNs, oneRowKeyedNs, batchNsPerRow: batch, asyncBatchNsPerRow: batchAsync, recordsBatchNsPerRow: batchRecords })}\n`);
