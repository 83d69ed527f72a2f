// kiln serve: model files reloaded under concurrent load (no request lost, no response mixing two
// versions, a model failing verification refused while the previous one keeps serving), the
// response cache (hits in /metrics, invalidated by a reload, switchable off), graceful shutdown
// finishing an in-flight request, and 503 under event-loop pressure.
import assert from 'node:assert/strict';
import { copyFileSync, renameSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, test } from 'node:test';

import { loadModel } from '../dist/index.js';
import { TOKEN, fixtures, get, post, sample, sleep, start } from './fixtures/server/helpers.mjs';

const modelA = loadModel(path.join(fixtures, 'repo', 'logreg.json'));
const modelB = loadModel(path.join(fixtures, 'logreg_b.json'));
const rows = Array.from({ length: 16 }, (_, i) => ({ x1: (i % 5) - 2, x2: (i % 3) - 2.5 }));
const probabilitiesA = rows.flatMap((r) => modelA.predict(r).probabilities);
const probabilitiesB = rows.flatMap((r) => modelB.predict(r).probabilities);

function request(id) {
  return { id, inputs: [{ name: 'input', shape: [rows.length, 2], datatype: 'FP64', data: rows.flatMap((r) => [r.x1, r.x2]) }], outputs: [{ name: 'probabilities' }] };
}

/** Replaces a repository file the way a deployment should: write aside, then rename over. */
function swap(dir, source) {
  const aside = path.join(dir, '.incoming.tmp');
  copyFileSync(source, aside);
  renameSync(aside, path.join(dir, 'logreg.json'));
}

/** Which model answered: 'A', 'B', or 'mixed' (rows from both, or neither). */
function which(body) {
  const data = body.outputs[0].data;
  if (JSON.stringify(data) === JSON.stringify(probabilitiesA)) return 'A';
  if (JSON.stringify(data) === JSON.stringify(probabilitiesB)) return 'B';
  return 'mixed';
}

async function waitFor(predicate, what, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('kiln serve: reload', () => {
  test('a reload under concurrent load loses no request and never mixes versions; a failing model is refused', async () => {
    const s = await start({ pollIntervalMs: 25 });
    try {
      assert.notDeepEqual(probabilitiesA, probabilitiesB);
      const seen = { A: 0, B: 0, mixed: 0, failed: [] };
      let phase = 'A'; // which answers are acceptable now: 'A', 'AB' (swapping), 'B'
      let stop = false;
      let n = 0;
      const client = async () => {
        while (!stop) {
          const id = `r${n++}`; // unique ids: every request is computed, not served from the cache
          const r = await post(`${s.url}/v2/models/logreg/infer`, request(id));
          if (r.status !== 200 || r.json.id !== id) {
            seen.failed.push(`${r.status} ${r.text}`);
            continue;
          }
          const got = which(r.json);
          seen[got]++;
          if (!phase.includes(got)) seen.failed.push(`answer ${got} during phase ${phase}`);
        }
      };
      const clients = Array.from({ length: 6 }, client);
      await waitFor(() => seen.A > 20, 'answers from A');
      phase = 'AB';
      swap(s.dir, path.join(fixtures, 'logreg_b.json'));
      const swappedAt = seen.A + seen.B;
      await waitFor(() => seen.B > 20, 'answers from B');
      phase = 'B';
      // Some in-flight requests may still finish on A right after the switch; give them a moment.
      await sleep(100);
      const bBefore = seen.B;
      const aBefore = seen.A;
      // A broken file (a verification row that does not hold) is refused; B keeps serving.
      swap(s.dir, path.join(fixtures, 'logreg_broken.json'));
      const auth = { authorization: `Bearer ${TOKEN}` };
      await waitFor(async () => {
        const index = await post(`${s.url}/v2/repository/index`, {}, auth);
        return index.json.some((e) => e.name === 'logreg' && e.state === 'READY' && /reload refused/.test(e.reason));
      }, 'the broken model to be refused');
      await waitFor(() => seen.B > bBefore + 50, 'more answers from B');
      stop = true;
      await Promise.all(clients);
      assert.deepEqual(seen.failed, [], `failed requests: ${seen.failed.slice(0, 5).join(' | ')}`);
      assert.equal(seen.mixed, 0);
      assert.equal(seen.A, aBefore, 'A answered after B had taken over');
      assert.ok(swappedAt > 0 && seen.B > 0);
      const index = await post(`${s.url}/v2/repository/index`, {}, auth);
      const entry = index.json.find((e) => e.name === 'logreg');
      assert.match(entry.reason, /KILN_MODEL_VERIFICATION|verification|probabilities\[0\]/);
      const metrics = (await get(`${s.url}/metrics`)).text;
      assert.equal(sample(metrics, 'kiln_model_loads', { model: 'logreg', outcome: 'refused' }), 1);
      assert.ok(sample(metrics, 'kiln_model_loads', { model: 'logreg', outcome: 'loaded' }) >= 2);
    } finally {
      await s.close();
    }
  });
});

describe('kiln serve: response cache', () => {
  test('a repeated request is a cache hit (in /metrics); a reload invalidates it', async () => {
    const s = await start({ pollIntervalMs: 25 });
    try {
      const url = `${s.url}/v2/models/logreg/infer`;
      const first = await post(url, request('same'));
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('x-kiln-cache'), null);
      const second = await post(url, request('same'));
      assert.equal(second.headers.get('x-kiln-cache'), 'hit');
      assert.equal(second.text, first.text);
      let metrics = (await get(`${s.url}/metrics`)).text;
      const labels = { model: 'logreg', version: '1' };
      assert.equal(sample(metrics, 'kiln_cache_num_hits_per_model', labels), 1);
      assert.equal(sample(metrics, 'kiln_cache_num_misses_per_model', labels), 1);
      assert.equal(sample(metrics, 'kiln_inference_request_success', labels), 2);
      assert.equal(sample(metrics, 'kiln_inference_exec_count', labels), 1);
      // The friendly and V1 routes are cached separately from V2 (different response shapes).
      await post(`${s.url}/models/logreg/predict`, rows);
      assert.equal((await post(`${s.url}/models/logreg/predict`, rows)).headers.get('x-kiln-cache'), 'hit');

      swap(s.dir, path.join(fixtures, 'logreg_b.json'));
      await waitFor(async () => which((await post(url, request(`probe-${Date.now()}`))).json) === 'B', 'the reload');
      const afterReload = await post(url, request('same'));
      assert.equal(afterReload.headers.get('x-kiln-cache'), null, 'served a response of the replaced model');
      assert.equal(which(afterReload.json), 'B');
      assert.equal((await post(url, request('same'))).headers.get('x-kiln-cache'), 'hit');
      metrics = (await get(`${s.url}/metrics`)).text;
      assert.equal(sample(metrics, 'kiln_cache_num_hits_per_model', labels), 3);
    } finally {
      await s.close();
    }
  });

  test('the cache can be switched off', async () => {
    const s = await start({ cache: false });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await post(`${s.url}/v2/models/logreg/infer`, request('same'));
        assert.equal(r.status, 200);
        assert.equal(r.headers.get('x-kiln-cache'), null);
      }
      const metrics = (await get(`${s.url}/metrics`)).text;
      assert.equal(sample(metrics, 'kiln_cache_num_hits_per_model', { model: 'logreg' }), 0);
      assert.equal(sample(metrics, 'kiln_inference_exec_count', { model: 'logreg' }), 3);
    } finally {
      await s.close();
    }
  });
});

describe('kiln serve: protection', () => {
  test('graceful shutdown finishes a request in flight', async () => {
    const s = await start();
    const body = JSON.stringify({ instances: [{ x1: 1, x2: -2 }] });
    const { port } = new URL(s.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (response += chunk));
    const ended = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`POST /v1/models/logreg:predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await sleep(100);
    const closed = s.close(); // stops accepting; the request above is in flight
    await sleep(100);
    socket.write(body.slice(10));
    await Promise.race([ended, sleep(5000)]);
    await closed;
    assert.match(response, /^HTTP\/1\.1 200 /, response);
    assert.ok(response.endsWith(JSON.stringify({ predictions: [modelA.predict({ x1: 1, x2: -2 })] })), response);
    await assert.rejects(fetch(`${s.url}/v2/health/live`));
  });

  test('503 with Retry-After while the event loop is overloaded, then serving again', async () => {
    const s = await start({ maxEventLoopDelayMs: 100, pressureSampleIntervalMs: 50 });
    try {
      let overloaded = null;
      for (let attempt = 0; attempt < 20 && !overloaded; attempt++) {
        const until = Date.now() + 400;
        while (Date.now() < until) {
          // block the event loop the server shares with this test
        }
        const r = await post(`${s.url}/models/logreg/predict`, { x1: 1, x2: 1 });
        if (r.status === 503) overloaded = r;
      }
      assert.ok(overloaded, 'never answered 503');
      assert.match(overloaded.json.error, /overloaded/);
      assert.equal(overloaded.headers.get('retry-after'), '1');
      await waitFor(async () => (await post(`${s.url}/models/logreg/predict`, { x1: 1, x2: 1 })).status === 200, 'recovery', 30_000);
    } finally {
      await s.close();
    }
  });
});
