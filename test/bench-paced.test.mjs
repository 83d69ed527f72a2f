// The bench's open-loop load generator (bench/lib/paced.mjs), against small local servers: it must
// charge a request for the time it waited behind a stalled server (no coordinated omission), count
// every answer that is not a 200 as an error, and answer every request it offered. Only lower
// bounds on latency are asserted: a slow machine can make latencies larger, never smaller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { pacedLoad } from '../bench/lib/paced.mjs';
import { answer, serve, stallingServer } from './load-generator-servers.mjs';

test('a stall is charged to every request due during it, from its due time', async () => {
  const HOLD_MS = 800;
  const server = await stallingServer(HOLD_MS); // the first request starts the stall
  try {
    const url = `http://127.0.0.1:${server.address().port}/x`;
    // 100 requests due over 1 s on 4 connections: only 4 are sent before the server answers;
    // the ones due in the first 600 ms wait at least 200 ms from their due time. A closed-loop
    // generator would time only the 4 it had sent and find the other requests fast.
    const r = await pacedLoad({ url, bodies: ['{}'], rate: 100, seconds: 1, connections: 4 });
    assert.equal(r.n, 100);
    assert.equal(r.errors, 0);
    assert.ok(r.p50 >= 200, `p50 ${r.p50} ms: waiting behind the stall must count`);
    assert.ok(r.max >= HOLD_MS - 50, `max ${r.max} ms`);
    // Time from the send alone is short for the requests sent after the stall.
    assert.ok(r.serviceP99 <= r.p99);
  } finally {
    server.close();
  }
});

test('answers other than 200 are errors; every offered request is accounted for', async () => {
  let i = 0;
  const server = await serve((_req, res) => answer(res, i++ % 4 === 0 ? 503 : 200));
  try {
    const url = `http://127.0.0.1:${server.address().port}/x`;
    const r = await pacedLoad({ url, bodies: ['{"a":1}', '{"a":2}'], rate: 200, seconds: 0.5, connections: 2 });
    assert.equal(r.n + r.errors, 100);
    assert.equal(r.errors, 25);
    assert.ok(Number.isFinite(r.p99) && r.p99 > 0);
  } finally {
    server.close();
  }
});

test('requests carry the bodies in turn, with their length, on keep-alive connections', async () => {
  const seen = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push([req.method, req.url, req.headers['content-type'], body]);
      answer(res);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}/models/m/predict?x=1`;
    const r = await pacedLoad({ url, bodies: ['{"a":1}', '{"b":"é"}'], rate: 50, seconds: 0.2, connections: 3 });
    assert.equal(r.n, 10);
    assert.equal(seen.length, 10);
    assert.deepEqual(seen[0], ['POST', '/models/m/predict?x=1', 'application/json', '{"a":1}']);
    assert.deepEqual(seen[1], ['POST', '/models/m/predict?x=1', 'application/json', '{"b":"é"}']);
    assert.ok(sockets.size <= 3, `${sockets.size} connections`);
  } finally {
    server.close();
  }
});
