// The server's per-request metric children (src/server/metrics.ts) count outside prom-client and
// hand their sums over on collect: their /metrics text must be exactly what prom-client's own
// labelled children give for the same observations, including across a registry reset.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Counter, Histogram, Registry } from 'prom-client';

import { ServerMetrics } from '../dist/server/metrics.js';

const BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

function reference() {
  const registry = new Registry();
  const perModel = ['model', 'version'];
  return {
    registry,
    requestDuration: new Histogram({
      name: 'kiln_inference_request_duration_seconds',
      help: 'Inference request duration, from routing to the serialised response',
      labelNames: perModel,
      buckets: BUCKETS,
      registers: [registry],
    }),
    requestSuccess: new Counter({ name: 'kiln_inference_request_success', help: 'Inference requests answered successfully', labelNames: perModel, registers: [registry] }),
  };
}

const text = (registry, name) => registry.getSingleMetricAsString(name);

test('histogram children give prom-client\'s text: bucket edges, above the last bound, zero, two label sets, shared children', async () => {
  const m = new ServerMetrics();
  const ref = reference();
  const a = { model: 'a', version: '1' };
  const b = { model: 'b', version: '12' };
  const ca = m.requestDuration.child(a);
  const ca2 = m.requestDuration.child({ model: 'a', version: '1' }); // a reload's new entry: same series
  const cb = m.requestDuration.child(b);
  const values = [0, 0.00004, 0.00005, 0.0000500001, 0.0001, 0.0003, 0.002, 0.7, 5, 6, 100, 1e-9];
  for (const [i, v] of values.entries()) {
    (i % 2 ? ca : ca2).observe(v);
    ref.requestDuration.observe(a, v);
    if (i % 3 === 0) {
      cb.observe(v * 2);
      ref.requestDuration.observe(b, v * 2);
    }
  }
  const name = 'kiln_inference_request_duration_seconds';
  const before = await text(m.registry, name);
  assert.equal(before, await text(ref.registry, name));
  assert.match(before, /kiln_inference_request_duration_seconds_count\{model="a",version="1"\} 12/);
  // Nothing new: the same text (the sums were handed over once).
  assert.equal(await text(m.registry, name), before);
  ca.observe(0.003);
  ref.requestDuration.observe(a, 0.003);
  assert.equal(await text(m.registry, name), await text(ref.registry, name));
  // A reset empties prom-client's records; later observations start a new one.
  m.registry.resetMetrics();
  ref.registry.resetMetrics();
  assert.equal(await text(m.registry, name), await text(ref.registry, name));
  cb.observe(0.02);
  ref.requestDuration.observe(b, 0.02);
  assert.equal(await text(m.registry, name), await text(ref.registry, name));
});

test('a histogram child never observed shows no series', async () => {
  const m = new ServerMetrics();
  m.computeDuration.child({ model: 'a', version: '1' });
  assert.doesNotMatch(await text(m.registry, 'kiln_inference_compute_duration_seconds'), /model="a"/);
});

test('counting children give prom-client\'s counter text', async () => {
  const m = new ServerMetrics();
  const ref = reference();
  const c = m.requestSuccess.child({ model: 'a', version: '1' });
  for (let i = 0; i < 5; i++) c.inc();
  c.inc(3);
  ref.requestSuccess.inc({ model: 'a', version: '1' }, 8);
  const name = 'kiln_inference_request_success';
  assert.equal(await text(m.registry, name), await text(ref.registry, name));
});
