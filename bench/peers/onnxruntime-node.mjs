// onnxruntime-node on the skl2onnx model (float32 input, zipmap=False), one thread. Checks its
// probabilities against sklearn's on the bench rows before timing; prints one JSON object.
//   node bench/peers/onnxruntime-node.mjs <cacheDir> <modelId> <timeMs> <repeats>
import { createRequire } from 'node:module';
import path from 'node:path';

import { readEntry, readRows } from '../lib/rows.mjs';
import { maxAbsDiff, medianNsPerRowAsync } from '../lib/timing.mjs';

const BATCHES = [1, 100, 10_000];
const [cacheDir, id, timeMsArg, repeatsArg] = process.argv.slice(2);
const timeMs = Number(timeMsArg);
const repeats = Number(repeatsArg);

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const version = require('onnxruntime-node/package.json').version;
const entry = readEntry(cacheDir, id);
const data = readRows(cacheDir, entry);
const nf = data.nFeatures;
const session = await ort.InferenceSession.create(path.join(cacheDir, id, 'model.onnx'), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const inputName = session.inputNames[0];
const probName = session.outputNames.find((n) => /prob/i.test(n)) ?? session.outputNames[session.outputNames.length - 1];
const input = Float32Array.from(data.rows);
const tensor = (start, n) => new ort.Tensor('float32', input.subarray(start * nf, (start + n) * nf), [n, nf]);

const checked = Math.min(data.nRows, 10_000);
const result = await session.run({ [inputName]: tensor(0, checked) });
const maxAbsDiffVsSklearn = maxAbsDiff(result[probName].data, data.expected, checked * data.nOutputs);

let next = 0;
const oneRowNs = await medianNsPerRowAsync(async () => {
  await session.run({ [inputName]: tensor(next, 1) });
  next = next + 1 === 1000 ? 0 : next + 1;
}, 1, timeMs, repeats);
const batch = {};
for (const b of BATCHES) {
  const t = tensor(0, b);
  batch[b] = await medianNsPerRowAsync(() => session.run({ [inputName]: t }), b, timeMs, repeats);
}
process.stdout.write(`${JSON.stringify({ status: 'ok', version, inputType: 'float32', maxAbsDiffVsSklearn, oneRowNs, batchNsPerRow: batch })}\n`);
