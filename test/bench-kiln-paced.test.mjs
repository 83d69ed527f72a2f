// The half-peak run's C++ load generator (native/bench/kiln_paced, built here with CMake as the
// bench builds it), against small local HTTP servers, in both of its wake modes: the same contract
// as paced.mjs (test/bench-paced.test.mjs) — a stall is charged to every request due during it,
// from its due time; any answer but a 200 is an error; every offered request is accounted for;
// bodies go out in turn with their length on keep-alive connections; chunked answers are framed.
// Only lower bounds on latency are asserted: a slow machine makes latencies larger, never smaller.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { buildPacedGenerator, nativePacedLoad } from '../bench/lib/paced-native.mjs';
import { onPath } from '../bench/lib/processes.mjs';
import { answer, serve, stallingServer } from './load-generator-servers.mjs';

const SKIP = process.platform === 'win32' ? 'POSIX only' : !onPath('cmake') ? 'cmake is not on PATH' : false;
const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-paced-test-'));
let binary = null;

async function generator() {
  binary ??= await buildPacedGenerator();
  return binary;
}

function bodiesFile(lines) {
  const file = path.join(dir, `bodies-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const FIELDS = ['n', 'achieved', 'p50', 'p99', 'p999', 'max', 'serviceP99', 'lateP99', 'lateMax', 'over10', 'errors', 'generatorCpuUsPerRequest'];

for (const wake of ['schedule', 'responses']) {
  test(`${wake}: a stall is charged to every request due during it, from its due time`, { skip: SKIP, timeout: 20 * 60_000 }, async () => {
    const bin = await generator();
    const HOLD_MS = 800;
    const server = await stallingServer(HOLD_MS); // the first request starts the stall
    try {
      const url = `http://127.0.0.1:${server.address().port}/x`;
      // 100 requests due over 1 s on 4 connections: only 4 are sent before the server answers;
      // the ones due in the first 600 ms wait at least 200 ms from their due time.
      const r = await nativePacedLoad(bin, { url, bodiesFile: bodiesFile(['{}']), rate: 100, seconds: 1, connections: 4, wake });
      for (const k of FIELDS) assert.equal(typeof r[k], 'number', k);
      // Linux stamps receives, so the default wakes on the schedule alone; elsewhere it cannot.
      assert.equal(r.wake, wake === 'schedule' && process.platform === 'linux' ? 'schedule' : 'responses');
      assert.equal(r.n, 100);
      assert.equal(r.errors, 0);
      assert.ok(r.p50 >= 200, `p50 ${r.p50} ms: waiting behind the stall must count`);
      assert.ok(r.max >= HOLD_MS - 50, `max ${r.max} ms`);
      assert.ok(r.lateMax >= 200, `late max ${r.lateMax} ms: requests waited for a free connection`);
      assert.ok(r.serviceP99 <= r.p99);
      assert.ok(r.generatorCpuUsPerRequest > 0);
    } finally {
      server.close();
    }
  });

  test(`${wake}: answers other than 200 are errors; every offered request is accounted for`, { skip: SKIP, timeout: 20 * 60_000 }, async () => {
    const bin = await generator();
    let i = 0;
    const server = await serve((_req, res) => answer(res, i++ % 4 === 0 ? 503 : 200));
    try {
      const url = `http://127.0.0.1:${server.address().port}/x`;
      const r = await nativePacedLoad(bin, { url, bodiesFile: bodiesFile(['{"a":1}', '{"a":2}']), rate: 200, seconds: 0.5, connections: 2, wake });
      assert.equal(r.n + r.errors, 100);
      assert.equal(r.errors, 25);
      assert.ok(Number.isFinite(r.p99) && r.p99 > 0);
    } finally {
      server.close();
    }
  });

  test(`${wake}: connections the server closes after an answer are replaced, and no request is lost`, { skip: SKIP, timeout: 20 * 60_000 }, async () => {
    const bin = await generator();
    let i = 0;
    const sockets = new Set();
    const server = await serve((req, res) => {
      sockets.add(req.socket);
      if (i++ % 3 === 2) res.setHeader('connection', 'close'); // answered, then closed
      answer(res);
    });
    try {
      const url = `http://127.0.0.1:${server.address().port}/x`;
      const r = await nativePacedLoad(bin, { url, bodiesFile: bodiesFile(['{}']), rate: 100, seconds: 0.6, connections: 2, wake });
      assert.equal(r.errors, 0);
      assert.equal(r.n, 60);
      assert.ok(sockets.size >= 20, `${sockets.size} connections: each closed one was replaced`);
    } finally {
      server.close();
    }
  });
}

test('requests carry the bodies in turn, with their length, on keep-alive connections', { skip: SKIP, timeout: 20 * 60_000 }, async () => {
  const bin = await generator();
  const seen = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    sockets.add(req.socket);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push([req.method, req.url, req.headers['content-type'], req.headers['content-length'], body]);
      answer(res);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${server.address().port}/models/m/predict?x=1`;
    // An empty line in the file is skipped, as paced.mjs skips it.
    const r = await nativePacedLoad(bin, { url, bodiesFile: bodiesFile(['{"a":1}', '', '{"b":"é"}']), rate: 50, seconds: 0.2, connections: 3 });
    assert.equal(r.n, 10);
    assert.equal(seen.length, 10);
    assert.deepEqual(seen[0], ['POST', '/models/m/predict?x=1', 'application/json', '7', '{"a":1}']);
    assert.deepEqual(seen[1], ['POST', '/models/m/predict?x=1', 'application/json', String(Buffer.byteLength('{"b":"é"}')), '{"b":"é"}']);
    assert.deepEqual(seen[2], seen[0]);
    assert.ok(sockets.size <= 3, `${sockets.size} connections`);
  } finally {
    server.close();
  }
});

test('chunked answers are framed; a server that closes the connection costs that request only', { skip: SKIP, timeout: 20 * 60_000 }, async () => {
  const bin = await generator();
  let i = 0;
  const server = await serve((req, res) => {
    const k = i++;
    if (k === 5) {
      req.socket.destroy(); // no answer at all: an error, and the generator reconnects
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }); // no length: chunked
    res.write('{"part":1,');
    setTimeout(() => res.end('"part2":true}'), 5);
  });
  try {
    const url = `http://127.0.0.1:${server.address().port}/x`;
    const r = await nativePacedLoad(bin, { url, bodiesFile: bodiesFile(['{}']), rate: 100, seconds: 0.4, connections: 2 });
    assert.equal(r.n + r.errors, 40);
    assert.equal(r.errors, 1);
    assert.ok(r.p50 >= 4, `p50 ${r.p50} ms: a response is whole only at its last chunk`);
  } finally {
    server.close();
  }
});

test('cleanup', () => rmSync(dir, { recursive: true, force: true }));
