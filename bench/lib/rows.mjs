// The bench rows and sklearn's answers for them, as prepare.py wrote them (row-major float64).
import { readFileSync } from 'node:fs';
import path from 'node:path';

export function readEntry(cacheDir, id) {
  return JSON.parse(readFileSync(path.join(cacheDir, id, 'entry.json'), 'utf8'));
}

function f64(file) {
  const buf = readFileSync(file);
  return new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export function readRows(cacheDir, entry) {
  const rows = f64(path.join(cacheDir, entry.id, 'rows.f64'));
  const expected = f64(path.join(cacheDir, entry.id, 'expected.f64'));
  return { rows, expected, nFeatures: entry.features.length, nRows: entry.rows, nOutputs: entry.outputs };
}

/** The i-th row as a JSON record keyed by feature name, as a client would send it. */
export function record(data, features, i) {
  const out = {};
  for (let j = 0; j < features.length; j++) out[features[j]] = data.rows[i * features.length + j];
  return out;
}
