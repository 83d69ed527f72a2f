// bench/dev/vegeta.mjs turns vegeta's results (latency from when a worker picked a request up) into
// paced.mjs's figures (latency from the request's due time): checked on hand-made results, so the
// arithmetic is tested without vegeta installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { summarize } from '../bench/dev/vegeta.mjs';

const RATE = 1000; // request k due at start + (k+1) ms
const START_NS = 1_764_064_800_000_000_000n; // 2025-11-25T10:00:00Z

/** One vegeta JSON result: sent `lateMs` after its due time, answered `serviceMs` later. */
function result(seq, lateMs, serviceMs, code = 200) {
  const sentNs = START_NS + BigInt((seq + 1) * 1_000_000) + BigInt(Math.round(lateMs * 1e6));
  const s = sentNs / 1_000_000_000n;
  const frac = String(sentNs % 1_000_000_000n).padStart(9, '0');
  const timestamp = `${new Date(Number(s) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
  return JSON.stringify({ seq, code, timestamp, latency: Math.round(serviceMs * 1e6), error: code === 200 ? '' : 'x' });
}

test('latency runs from the due time: the generator\'s lag is charged, the service time kept apart', () => {
  const lines = [];
  for (let k = 0; k < 1000; k++) lines.push(result(k, k >= 985 ? 25 : 0.05, k === 500 ? 40 : 1));
  const r = summarize(lines.join('\n'), RATE, 2_000_000);
  assert.equal(r.n, 1000);
  assert.equal(r.errors, 0);
  // The start is fixed by the least-late request (0.05 ms late): lateness is measured from it.
  assert.ok(Math.abs(r.p50 - 1) < 1e-6, `p50 ${r.p50}`);
  // 15 requests (1.5%) sent 25 ms late (24.95 after the least-late): p99 is that lag plus service.
  assert.ok(Math.abs(r.p99 - 25.95) < 1e-6, `p99 ${r.p99}`);
  assert.ok(Math.abs(r.lateMax - 24.95) < 1e-6, `late max ${r.lateMax}`);
  assert.ok(Math.abs(r.max - 40) < 1e-6, `max ${r.max}`); // seq 500: 40 ms of service, sent on time
  assert.ok(Math.abs(r.serviceP99 - 1) < 1e-6);
  assert.equal(r.generatorCpuUsPerRequest, 2000);
});

test('answers other than 200 are errors, left out of the latencies', () => {
  const lines = [result(0, 0, 1), result(1, 0, 500, 503), result(2, 0, 2)];
  const r = summarize(lines.join('\n'), RATE, 0);
  assert.equal(r.n, 2);
  assert.equal(r.errors, 1);
  assert.equal(r.max, 2);
});
