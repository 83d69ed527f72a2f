// A successful request must not make Fastify do per-request work that a bare Fastify route does
// not: with Fastify's logger on, or with an onResponse hook, Fastify gives every request a child
// logger and adds (then removes) 'finish' and 'error' listeners on the response, with two clock
// reads and a completion callback, even though Kiln logs no successful request (most of the
// ~30 µs of CPU per request the no-op route cost more inside Kiln's app, bench/dev/README.md
// "Where the per-request gap over the no-op lives"). Kiln therefore writes its own log lines and
// counts responses in onSend hooks (src/server/app.ts). Checked without timing: the listeners on
// each response, read right after Fastify has routed the request, must be the bare app's; and
// what the logger and the response counter did must still happen (error lines with their reqId,
// per-route status counts).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import Fastify from 'fastify';

import { createServer } from '../dist/server/app.js';
import { resolveConfig } from '../dist/server/config.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Listener counts per event of each response, taken in a 'request' listener that runs right
 * after Fastify's own (which routes synchronously and adds its response listeners then). */
function recordResponseListeners(httpServer) {
  const seen = [];
  httpServer.on('request', (_req, res) => {
    const counts = {};
    for (const e of res.eventNames()) counts[String(e)] = res.listenerCount(e);
    seen.push(counts);
  });
  return seen;
}

const post = (url, body) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

test('a predict request gets the response listeners of a bare Fastify route, and logs and counts are kept', async () => {
  const logs = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const config = resolveConfig({ workers: 0, port: 0, host: '127.0.0.1', cache: false, logLevel: 'info', pollIntervalMs: 0, modelsDir: path.join(ROOT, 'models') }, {});
  const server = await createServer(config, {}, { level: 'info', stream });
  const { url } = await server.listen();
  const bare = Fastify({ logger: false });
  bare.post('/models/:name/predict', async (_request, reply) => reply.type('application/json').send('{"label":1}'));
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 });
  try {
    const kilnSeen = recordResponseListeners(server.app.server);
    const bareSeen = recordResponseListeners(bare.server);
    const model = server.repository.get('breast_cancer_logreg').model;
    const record = {};
    for (const input of model.inputs) record[input.name] = 1;
    for (let i = 0; i < 5; i++) {
      const r = await post(`${url}/models/breast_cancer_logreg/predict`, JSON.stringify(record));
      assert.equal(r.status, 200, await r.text());
      const b = await post(`${bareUrl}/models/breast_cancer_logreg/predict`, JSON.stringify(record));
      assert.equal(b.status, 200);
      await b.text();
    }
    assert.equal(kilnSeen.length, 5);
    assert.equal(bareSeen.length, 5);
    for (let i = 0; i < 5; i++) assert.deepEqual(kilnSeen[i], bareSeen[i], `response ${i}: Kiln's response listeners differ from a bare Fastify route's`);

    // An error is still logged, once, with its request's id; a successful request is not logged.
    const requestLines = () => logs.filter((l) => l.reqId !== undefined);
    assert.deepEqual(requestLines(), [], 'successful requests are not logged');
    const bad = await post(`${url}/models/breast_cancer_logreg/predict`, '{"not json');
    assert.equal(bad.status, 400);
    await bad.text();
    const lines = requestLines();
    assert.equal(lines.length, 1, JSON.stringify(logs));
    assert.equal(lines[0].level, 40);
    assert.equal(lines[0].code, 'KILN_REQUEST_INVALID');
    assert.match(lines[0].reqId, /^req-\d+$/);
    assert.match(lines[0].msg, /not valid JSON/);
    assert.ok(logs.some((l) => l.msg === 'model loaded' && l.model === 'breast_cancer_logreg'), 'model loads are logged');

    // Responses are counted per route pattern and status.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^kiln_http_responses\{method="POST",route="\/models\/:name\/predict",status="200"\} 5$/m);
    assert.match(metrics, /^kiln_http_responses\{method="POST",route="\/models\/:name\/predict",status="400"\} 1$/m);
  } finally {
    await server.close();
    await bare.close();
  }
});

test('the predict handlers are plain functions: a request answered on the event loop costs no promise', async () => {
  const config = resolveConfig({ workers: 0, port: 0, host: '127.0.0.1', cache: false, logLevel: 'silent', pollIntervalMs: 0, modelsDir: path.join(ROOT, 'models') }, {});
  const server = await createServer(config);
  try {
    const routes = ['/models/:name/predict', '/models/:name/versions/:version/predict', '/v1/models/:name(^.+)::predict', '/v1/models/:name/versions/:version(^.+)::predict', '/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer'];
    for (const url of routes) {
      const found = server.app.findRoute({ method: 'POST', url });
      assert.ok(found, url);
      assert.equal(found.handler.constructor.name, 'Function', `${url}: an async handler makes a promise (and Fastify a thenable job) per request`);
    }
    // The V1 route answers through the sync path.
    const model = server.repository.get('breast_cancer_logreg').model;
    const record = {};
    for (const input of model.inputs) record[input.name] = 1;
    const r = await server.app.inject({ method: 'POST', url: '/v1/models/breast_cancer_logreg:predict', payload: { instances: [record] } });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.body, JSON.stringify({ predictions: [model.predict(record)] }));
  } finally {
    await server.close();
  }
});
