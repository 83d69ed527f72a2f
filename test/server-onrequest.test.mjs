// Kiln's per-request onRequest work (src/server/app.ts, src/server/pressure.ts): one hook on every
// route does both the overload check and the content-type default. @fastify/under-pressure only
// samples; its own hook (which reads request.routeOptions, a 12-field object built per read, on
// every request) must be attached to no route. Behaviour kept: a body without Content-Type is
// read as JSON on every body route, a declared non-JSON type is 415, and an exceeded limit is
// answered 503 with Retry-After, naming the limit, on every route.
import assert from 'node:assert/strict';
import http from 'node:http';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { createServer, resolveConfig } from '../dist/server/index.js';
import { copyRepo, start } from './fixtures/server/helpers.mjs';

/** POST with no Content-Type header at all (fetch would add text/plain to a string body). */
function postUntyped(url, text) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(text);
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-length': body.length } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const typed = async (url, text) => {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  return { status: r.status, text: await r.text() };
};

test('every route runs one onRequest hook (Kiln\'s), with the pressure limits on', async () => {
  // Default limits (maxEventLoopDelayMs 1000): the sampler runs.
  const s = await start({ maxEventLoopDelayMs: 1000 });
  try {
    const tree = s.server.app.printRoutes({ includeHooks: true, commonPrefix: false });
    const lists = [...tree.matchAll(/\(onRequest\) (\[.*\])/g)].map((m) => JSON.parse(m[1]));
    assert.ok(lists.length > 20, tree);
    for (const hooks of lists) {
      // The repository routes add their authorization hook after it.
      assert.equal(hooks[0], 'kilnOnRequest()', tree);
      assert.ok(hooks.length === 1 || (hooks.length === 2 && hooks[1] === 'authorize()'), tree);
    }
    assert.equal(typeof s.server.app.isUnderPressure, 'undefined', 'the sampler lives in its own scope');
  } finally {
    await s.close();
  }
});

test('a body without Content-Type is read as JSON on the V2, V1 and friendly predict routes', async () => {
  const s = await start();
  try {
    const record = { x1: 1, x2: -2 };
    const cases = [
      [`${s.url}/v2/models/logreg/infer`, JSON.stringify({ inputs: [{ name: 'x1', shape: [1], datatype: 'FP64', data: [1] }, { name: 'x2', shape: [1], datatype: 'FP64', data: [-2] }] })],
      [`${s.url}/models/logreg/predict`, JSON.stringify(record)],
      [`${s.url}/models/logreg/versions/1/predict`, JSON.stringify([record, record])],
      [`${s.url}/v1/models/logreg:predict`, JSON.stringify({ instances: [record] })],
    ];
    for (const [url, body] of cases) {
      const untyped = await postUntyped(url, body);
      const withType = await typed(url, body);
      assert.equal(withType.status, 200, `${url}: ${withType.text}`);
      assert.equal(untyped.status, 200, `${url}: ${untyped.text}`);
      assert.equal(untyped.text, withType.text, url);
    }
    // Not JSON and no type: the JSON parser's 400, not a 415.
    const bad = await postUntyped(`${s.url}/models/logreg/predict`, 'x1=1');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(JSON.parse(bad.text).code, 'KILN_REQUEST_INVALID');
  } finally {
    await s.close();
  }
});

test('an exceeded limit answers 503 with Retry-After and the limit on every route, and is logged', async () => {
  const lines = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  // A 1-byte heap limit is exceeded from the first sample on.
  const config = resolveConfig({ workers: 0, port: 0, host: '127.0.0.1', pollIntervalMs: 0, modelsDir: copyRepo(), maxEventLoopDelayMs: 0, maxHeapUsedBytes: 1, pressureSampleIntervalMs: 20, retryAfterSeconds: 7 }, {});
  const server = await createServer(config, {}, { level: 'warn', stream });
  const { url } = await server.listen();
  try {
    await sleep(200);
    for (const [method, path] of [
      ['POST', '/models/logreg/predict'],
      ['POST', '/v2/models/logreg/infer'],
      ['GET', '/v2/health/live'],
      ['GET', '/no/such/route'],
    ]) {
      const r = await fetch(`${url}${path}`, { method, ...(method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"x1":1,"x2":1}' } : {}) });
      const text = await r.text();
      assert.equal(r.status, 503, `${method} ${path}: ${text}`);
      assert.equal(r.headers.get('retry-after'), '7');
      assert.deepEqual(JSON.parse(text), { error: 'the server is overloaded (heapUsedBytes); retry later', code: 'KILN_OVERLOADED' });
    }
    const refused = lines.filter((l) => l.code === 'KILN_OVERLOADED');
    assert.equal(refused.length, 4, JSON.stringify(lines));
    for (const l of refused) {
      assert.equal(l.pressure, 'heapUsedBytes');
      assert.ok(l.value > 1);
      assert.match(l.reqId, /^req-\d+$/);
    }
  } finally {
    await server.close();
  }
});
