// kiln serve driven by a V2 client that no one on Kiln wrote: NVIDIA's Triton HTTP client
// (tritonclient[http] from PyPI, pinned in requirements/tritonclient.txt): health, server and
// model metadata, infer with one FP32 tensor and with named FP64 + BYTES tensors. Predictions are
// compared with the model API's own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { loadModel } from '../dist/index.js';
import { root, start } from './fixtures/server/helpers.mjs';

const python = path.join(root, '.venv', 'tritonclient', 'bin', 'python');
const bundled = path.join(root, 'models');
const numericModel = loadModel(path.join(bundled, 'breast_cancer_logreg.json'));
const namedModel = loadModel(path.join(bundled, 'diabetes_progression_ridge.json'));

// Rows that exercise both models: breast_cancer features from the model's own verification
// inputs, and diabetes records with strings. (The client serialises a missing FP64 value as
// NaN, which is not JSON; Kiln answers 400 to that, so these records are complete.)
function numericRows() {
  const names = numericModel.inputs.map((i) => i.name);
  return [0, 1, 2].map((r) => names.map((_, j) => 10 + ((r * 7 + j * 3) % 13) * 0.37));
}

const namedRecords = [
  { age: 0.03, sex: 'male', bmi: 0.06, bp: 0.02, s1: -0.04, s2: -0.03, s3: -0.04, s4: -0.002, s5: 0.02, s6: -0.01, smoker: 'never' },
  { age: -0.05, sex: 'female', bmi: -0.02, bp: -0.03, s1: 0.01, s2: 0.02, s3: 0.07, s4: -0.04, s5: 0.05, s6: 0.003, smoker: 'current' },
];

let server;
let workdir;
before(async () => {
  assert.ok(existsSync(python), `${python} is missing: run "bash scripts/setup-python.sh" (npm test does)`);
  workdir = mkdtempSync(path.join(tmpdir(), 'kiln-triton-'));
  server = await start({ modelsDir: bundled });
});
after(async () => {
  await server.server.close();
  rmSync(workdir, { recursive: true, force: true });
});

test('Triton HTTP client: health, metadata, FP32 and BYTES inference', async () => {
  const rows = numericRows();
  const inputs = namedModel.inputs.map((i) => ({
    name: i.name,
    datatype: i.type === 'category' ? 'BYTES' : 'FP64',
    data: namedRecords.map((r) => r[i.name]),
  }));
  const jobPath = path.join(workdir, 'job.json');
  writeFileSync(jobPath, JSON.stringify({
    numeric: { model: numericModel.name, rows },
    named: { model: namedModel.name, inputs },
  }));
  const hostPort = new URL(server.url).host;
  // Asynchronous on purpose: the server runs on this process's event loop.
  const run = await promisify(execFile)(python, [path.join(root, 'test', 'triton', 'client.py'), hostPort, jobPath], {
    encoding: 'utf8', timeout: 120_000,
  });
  const report = JSON.parse(run.stdout);

  assert.equal(report.live, true);
  assert.equal(report.ready, true);
  assert.equal(report.server.name, 'kiln');
  assert.equal(report.numeric_model_ready, true);
  assert.equal(report.numeric_metadata.name, numericModel.name);
  assert.equal(report.numeric_metadata.inputs.length, numericModel.inputs.length);

  // FP32 tensor: the server rounds to float32, as the client sent it; so does predictMatrix.
  const expected = numericModel.predictMatrix(Float32Array.from(rows.flat()), rows.length);
  assert.equal(report.numeric.id, 'triton-fp32');
  assert.deepEqual(report.numeric.label, expected.map((p) => p.label));
  report.numeric.probabilities.forEach((p, i) => {
    p.forEach((v, k) => assert.ok(Math.abs(v - expected[i].probabilities[k]) <= 1e-12, `probability ${i},${k}`));
  });

  const expectedNamed = namedModel.predictBatch(namedRecords);
  assert.equal(report.named.id, 'triton-bytes');
  assert.equal(report.named.value.length, namedRecords.length);
  report.named.value.forEach((v, i) => assert.ok(Math.abs(v - expectedNamed[i].value) <= 1e-12, `value ${i}: ${v} vs ${expectedNamed[i].value}`));
  assert.ok(report.named_metadata.inputs.some((i) => i.datatype === 'BYTES'));

  assert.match(report.unknown_model_error ?? '', /no_such_model/);
});
