// CPU ns per operation of the metrics calls a predict request makes: prom-client labelled children
// (which hash and validate labels on every call) against the counting children in src/server/metrics.ts
// (counters and histograms).
//   node bench/dev/metrics-ops.mjs
import { Counter, Histogram, Registry } from 'prom-client';
import { ServerMetrics } from '../../dist/server/metrics.js';
const r = new Registry();
const c = new Counter({ name: 'c', help: 'h', labelNames: ['model', 'version'], registers: [r] });
const h = new Histogram({ name: 'h', help: 'h', labelNames: ['model', 'version'], buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [r] });
const labels = { model: 'breast_cancer_logreg', version: '1' };
const cc = c.labels(labels), hc = h.labels(labels);
const m = new ServerMetrics(); const dc = m.requestSuccess.child(labels); const dh = m.requestDuration.child(labels);
const time = (name, f) => { const N = 1e6; for (let i = 0; i < 1e5; i++) f(i); const t0 = process.cpuUsage(); for (let i = 0; i < N; i++) f(i); const d = process.cpuUsage(t0); console.log(name.padEnd(30), ((d.user + d.system) * 1000 / N).toFixed(0), 'ns/op'); };
for (let k = 0; k < 2; k++) {
time('prom-client child inc', () => cc.inc());
time('deferred child inc', () => dc.inc());
time('prom-client child observe', (i) => hc.observe(0.0001 + (i & 7) * 1e-5));
time('deferred child observe', (i) => dh.observe(0.0001 + (i & 7) * 1e-5));
time('performance.now', () => performance.now());
time('hrtime.bigint', () => process.hrtime.bigint());
}
await m.registry.metrics();
