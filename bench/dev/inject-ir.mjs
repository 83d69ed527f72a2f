// Instructions per request of one route through Fastify's inject() (no sockets), under callgrind:
// run by bench/dev/inject-ir.sh, which switches instrumentation on between the warm-up and the
// measured requests (this script waits for a go-file between the phases), so the count is
// repeatable where CPU time on the shared machine is not.
//   TARGET: kiln:<route> (Kiln's app, createServer in this process, cache off, poll off; route:
//   logreg | rf | gbm | v2-logreg | v1-logreg) or bare:<features> (a Fastify app answering a constant, with the
//   comma-separated features of Kiln's app switched on: logger, pressure, hooks, schema, buffer;
//   logger is Fastify's own pino logger with request logging off, which Kiln no longer uses).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

import { benchRows } from './rows.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const [target, warmArg, measureArg, goFile] = process.argv.slice(2);
const WARM = Number(warmArg ?? 20000);
const N = Number(measureArg ?? 2000);
const [kind, spec = ''] = target.split(':');
const model = { logreg: 'breast_cancer_logreg', rf: 'breast_cancer_rf', gbm: 'breast_cancer_gbm', 'v2-logreg': 'breast_cancer_logreg', 'v1-logreg': 'breast_cancer_logreg' }[spec] ?? 'breast_cancer_logreg';
const { records, matrix, names } = benchRows(path.join(ROOT, 'models', `${model}.json`), 4096);
const w = names.length;
const bodies =
  spec === 'v2-logreg'
    ? records.map((_, r) => JSON.stringify({ inputs: [{ name: 'input', shape: [1, w], datatype: 'FP64', data: Array.from(matrix.subarray(r * w, (r + 1) * w)) }] }))
    : spec === 'v1-logreg'
      ? records.map((r) => JSON.stringify({ instances: [r] }))
      : records.map((r) => JSON.stringify(r));

let app;
let url;
if (kind === 'kiln') {
  const { createServer } = await import(path.join(ROOT, 'dist/server/app.js'));
  const { resolveConfig } = await import(path.join(ROOT, 'dist/server/config.js'));
  const server = await createServer(resolveConfig({ models: path.join(ROOT, 'models'), cache: false, logLevel: 'warn', poll: 0, workers: 0, maxEventLoopDelayMs: 3_600_000 }, {}));
  app = server.app;
  url = spec === 'v2-logreg' ? `/v2/models/${model}/infer` : spec === 'v1-logreg' ? `/v1/models/${model}:predict` : `/models/${model}/predict`;
} else {
  const features = new Set(spec.split(',').filter(Boolean));
  const { default: Fastify, LogController } = await import('fastify');
  app = Fastify(
    features.has('logger')
      ? { logger: { level: 'warn' }, logController: new LogController({ disableRequestLogging: true }) }
      : { logger: false },
  );
  if (features.has('pressure')) {
    const { default: underPressure } = await import('@fastify/under-pressure');
    // A limit no run reaches (valgrind is ~50x slower): the hooks' cost without 503s.
    await app.register(underPressure, { maxEventLoopDelay: 3_600_000, sampleInterval: 1000 });
  }
  if (features.has('hooks')) {
    app.addHook('onRequest', (request, _reply, done) => {
      if (request.headers['content-type'] === undefined) request.headers['content-type'] = 'application/json';
      done();
    });
    app.addHook('onResponse', (_request, _reply, done) => done());
  }
  const schema = features.has('schema') ? { schema: { params: { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' } } }, body: { type: ['object', 'array'] } } } : {};
  const answer = '{"label":1,"probabilities":[0.0199,0.9801]}';
  await app.register(async (scope) => {
    if (features.has('buffer')) {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, JSON.parse(body.toString('utf8'))));
    }
    scope.post('/models/:name/predict', schema, async (_request, reply) => reply.type('application/json; charset=utf-8').send(answer));
  });
  await app.ready();
  url = `/models/${model}/predict`;
}

let i = 0;
const once = async () => {
  const r = await app.inject({ method: 'POST', url, payload: bodies[i++ & 4095], headers: { 'content-type': 'application/json' } });
  if (r.statusCode !== 200) throw new Error(`${r.statusCode} ${r.body}`);
};
for (let k = 0; k < WARM; k++) await once();
process.stdout.write('WARM\n');
if (goFile) while (!existsSync(goFile)) await sleep(50);
for (let k = 0; k < N; k++) await once();
process.stdout.write(`MEASURED ${N}\n`);
if (goFile) while (!existsSync(`${goFile}.done`)) await sleep(50);
readFileSync; // (kept minimal: the shell reads the callgrind dump)
process.exit(0);
