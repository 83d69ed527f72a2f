// CPU time per request of Kiln's predict routes in one process, through Fastify's inject()
// (routing, hooks, parsing, handler, serialisation; no sockets), next to a no-op route added to
// the same app — the route's own cost, measurable on a machine too busy for wrk.
//   node bench/dev/inject.mjs [model=breast_cancer_logreg] [--cache] [--cpu-prof-friendly]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { createServer } from '../../dist/server/app.js';
import { resolveConfig } from '../../dist/server/config.js';
import { benchRows } from './rows.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const cache = args.includes('--cache');
const model = args.find((a) => !a.startsWith('--')) ?? 'breast_cancer_logreg';
const config = resolveConfig({ models: path.join(root, 'models'), cache, logLevel: 'warn', poll: 0 }, {});
const server = await createServer(config, {}, false);
const body = JSON.stringify(benchRows(path.join(root, 'models', `${model}.json`), 1).records[0]);
const v2 = JSON.stringify({ inputs: [{ name: 'input', shape: [1, 30], datatype: 'FP64', data: JSON.parse(`[${Object.values(JSON.parse(body)).join(',')}]`) }] });
const v1 = JSON.stringify({ instances: [JSON.parse(body)] });
const routes = {
  friendly: [`/models/${model}/predict`, body],
  v1: [`/v1/models/${model}:predict`, v1],
  v2: [`/v2/models/${model}/infer`, v2],
  'no-op (same app, JSON parsed)': ['/__noop', body],
};
server.app; // routes are registered; add the no-op through a fresh plugin-less app is not possible after ready()
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const N = 3000;
for (const [name, [url, payload]] of Object.entries(routes)) {
  const once = () => server.app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/json' } });
  const first = await once();
  if (name.startsWith('no-op') ? first.statusCode !== 404 : first.statusCode !== 200) throw new Error(`${name}: ${first.statusCode} ${first.body}`);
  const runs = [];
  for (let k = 0; k < 7; k++) {
    const t0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await once();
    const d = process.cpuUsage(t0);
    runs.push((d.user + d.system) / N);
  }
  console.log(`${name.padEnd(32)} ${median(runs).toFixed(1)} µs CPU per request${name.startsWith('no-op') ? ' (404 route: Fastify + hooks floor)' : ''}`);
}
await server.close();
