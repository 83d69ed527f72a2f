// CPU ns per call of small per-request parts, hot loops, min of 5 rounds (bench/dev/README.md,
// "Per-request work outside the body parse"): Fastify's onRequest hook runner with one and two
// no-op hooks, its onSend runner with one, `request.routeOptions.config` on a routed request, and
// response-text.ts's numberText on distinct doubles (every request's probabilities differ) against
// the same 4 values (V8's number-string cache then answers: what a loop over one prediction times).
//   node bench/dev/request-parts.mjs
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Fastify from 'fastify';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const { onRequestHookRunner, onSendHookRunner } = require(require.resolve('fastify/lib/hooks.js', { paths: [ROOT] }));
const { numberText } = await import(path.join(ROOT, 'dist', 'server', 'response-text.js'));

const cpuNs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};
const minOf = (rounds, n, fn) => {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = cpuNs();
    fn(n);
    best = Math.min(best, (cpuNs() - t) / n);
  }
  return best;
};

let sink = 0;
const req = {};
const reply = { statusCode: 200 };
const h1 = (_r, _p, done) => done();
const h2 = (_r, _p, done) => done();
const s1 = (_r, _p, payload, done) => done(null, payload);
const cb = () => {
  sink++;
};

const app = Fastify({ logger: false });
let routed;
app.post('/x/:name', { schema: { params: { type: 'object', properties: { name: { type: 'string' } } } } }, async (request) => {
  routed = request;
  return 'ok';
});
await app.inject({ method: 'POST', url: '/x/a', payload: {} });

const N = 1 << 16;
const distinct = Float64Array.from({ length: N }, (_, i) => ((i * 2654435761) % 1000003) / 1000003 + 1e-9 * i);
const results = {
  'onRequest runner, 1 hook': minOf(5, 2_000_000, (n) => { for (let i = 0; i < n; i++) onRequestHookRunner([h1], req, reply, cb); }),
  'onRequest runner, 2 hooks': minOf(5, 2_000_000, (n) => { for (let i = 0; i < n; i++) onRequestHookRunner([h1, h2], req, reply, cb); }),
  'onSend runner, 1 hook': minOf(5, 2_000_000, (n) => { for (let i = 0; i < n; i++) onSendHookRunner([s1], req, reply, 'x', cb); }),
  'request.routeOptions.config': minOf(5, 1_000_000, (n) => { for (let i = 0; i < n; i++) sink += routed.routeOptions.config === undefined ? 1 : 0; }),
  'numberText, distinct doubles': minOf(5, 4 * N, (n) => { for (let i = 0; i < n; i++) sink += numberText(distinct[i & (N - 1)]).length; }),
  'numberText, the same 4 doubles': minOf(5, 4 * N, (n) => { for (let i = 0; i < n; i++) sink += numberText(distinct[i & 3]).length; }),
};
for (const [name, ns] of Object.entries(results)) console.log(`${name.padEnd(32)} ${ns.toFixed(0)} ns`);
if (sink === 0.5) console.log(sink);
