// kiln serve under faults, each inside the test's own temp folders and processes:
// - readiness when a model fails to load (KServe V2: the server is ready when all its models are);
// - a cluster worker SIGKILLed under load: the primary replaces it; the failed requests are
//   counted (only those in flight on the dead worker) and bounded;
// - a model file truncated in place while the server reloads it: the previous generation keeps
//   serving, no request fails, and the log, /metrics, the index and readiness say so;
// - the models folder removed, or made unreadable (chmod 000; as root the server runs as nobody
//   so that the permission bites): loaded models keep serving, logs and readiness say so, and
//   the repository is picked up again once it is back.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';

import { loadModel } from '../dist/index.js';
import { createServer, resolveConfig } from '../dist/server/index.js';
import { TOKEN, children, copyRepo, fixtures, get, post, root, sample, sleep, spawnServe, waitFor } from './fixtures/server/helpers.mjs';

const modelA = loadModel(path.join(fixtures, 'repo', 'logreg.json'));
const auth = { authorization: `Bearer ${TOKEN}` };

/** An in-process server whose log lines (pino JSON) are kept in `logs`. */
async function startLogged(dir, overrides = {}) {
  const logs = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = resolveConfig({ workers: 0, port: 0, host: '127.0.0.1', logLevel: 'info', pollIntervalMs: 25, adminToken: TOKEN, maxEventLoopDelayMs: 0, ...overrides, modelsDir: dir }, {});
  const server = await createServer(config, {}, { level: 'info', stream });
  const { url } = await server.listen();
  return { server, url, logs, close: () => server.close() };
}

/** Sends `clients` request loops (keep-alive) until stop(); every answer must be model A's. */
function loadLoop(url, clients = 4) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const stats = { ok: 0, failed: [] };
  let stopped = false;
  let n = 0;
  const loop = async () => {
    while (!stopped) {
      const row = { x1: (n % 7) - 3, x2: (n++ % 5) * 0.5 };
      const r = await requestOn(agent, `${url}/models/logreg/predict`, row);
      if (r.status !== 200) stats.failed.push(`${r.status} ${r.error ?? r.text}`);
      else if (JSON.stringify(JSON.parse(r.text)) !== JSON.stringify(modelA.predict(row))) stats.failed.push(`wrong answer ${r.text}`);
      else stats.ok++;
    }
  };
  const running = Promise.all(Array.from({ length: clients }, loop));
  return {
    stats,
    async stop() {
      stopped = true;
      await running;
      agent.destroy();
      return stats;
    },
  };
}

/** One POST on an agent; connection errors come back as status 0 with the error code. */
function requestOn(agent, url, body) {
  return new Promise((resolve) => {
    const payload = JSON.stringify(body);
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => resolve({ status: 0, error: e.code ?? e.message }));
    req.end(payload);
  });
}

describe('readiness when a model fails to load', () => {
  test('server not ready while a configured version is not loaded; per-model and per-version readiness; ready again once fixed', async () => {
    const dir = copyRepo();
    // A model whose only file fails verification, and a broken third version of a model whose
    // versions 1 and 2 load.
    cpSync(path.join(fixtures, 'logreg_broken.json'), path.join(dir, 'broken.json'));
    mkdirSync(path.join(dir, 'versioned', '3'));
    writeFileSync(path.join(dir, 'versioned', '3', 'model.json'), '{"format": "kiln.model", "format_ver');
    const s = await startLogged(dir);
    try {
      const ready = await get(`${s.url}/v2/health/ready`);
      assert.equal(ready.status, 400, ready.text);
      assert.equal(ready.json.ready, false);
      assert.ok(ready.json.details.some((d) => /^model broken version 1 is not loaded: .*verification/i.test(d)), ready.text);
      assert.ok(ready.json.details.some((d) => /^model versioned version 3 is not loaded: /.test(d)), ready.text);
      assert.equal((await get(`${s.url}/v2/health/live`)).status, 200);
      // The failed model is not ready; the others are; a model with one failed version serves
      // its latest loaded version, so it is ready without a version and not ready at version 3.
      assert.deepEqual((await get(`${s.url}/v2/models/broken/ready`)).json, { name: 'broken', ready: false });
      assert.equal((await get(`${s.url}/v2/models/broken/ready`)).status, 400);
      assert.equal((await get(`${s.url}/v1/models/broken`)).json.ready, false);
      assert.equal((await get(`${s.url}/v2/models/logreg/ready`)).status, 200);
      assert.equal((await get(`${s.url}/v2/models/versioned/ready`)).status, 200);
      assert.equal((await get(`${s.url}/v2/models/versioned/versions/2/ready`)).status, 200);
      assert.equal((await get(`${s.url}/v2/models/versioned/versions/3/ready`)).status, 400);
      assert.equal((await post(`${s.url}/models/broken/predict`, { x1: 1, x2: 1 })).status, 503);
      assert.ok(s.logs.some((l) => l.level === 50 && l.model === 'broken' && /model refused/.test(l.msg)));

      // Fixed on disk: the poller loads them and the server becomes ready.
      cpSync(path.join(fixtures, 'repo', 'logreg.json'), path.join(dir, 'broken.json.tmp'));
      renameSync(path.join(dir, 'broken.json.tmp'), path.join(dir, 'broken.json'));
      rmSync(path.join(dir, 'versioned', '3'), { recursive: true });
      await waitFor(async () => (await get(`${s.url}/v2/health/ready`)).status === 200, 'readiness');
      assert.deepEqual((await get(`${s.url}/v2/health/ready`)).json, { ready: true });
      assert.equal((await get(`${s.url}/v2/models/broken/ready`)).status, 200);
      // A model unloaded through the API is not expected to serve: the server stays ready.
      assert.equal((await post(`${s.url}/v2/repository/models/tree/unload`, {}, auth)).status, 200);
      assert.deepEqual((await get(`${s.url}/v2/health/ready`)).json, { ready: true });
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('repository API calls replayed out of order', () => {
  // Under node:cluster each worker applies its own calls at once and replays the others' via the
  // primary; a worker stalled for seconds (seen in a soak) can get a replay after a later call.
  test('a replayed call older than the last one applied is dropped; a newer one stands', async () => {
    const dir = copyRepo();
    const s = await startLogged(dir);
    const repo = s.server.repository;
    const ready = async () => (await get(`${s.url}/v2/models/tree/ready`)).status === 200;
    try {
      const t = Date.now();
      await repo.load('tree', t + 10);
      repo.unload('tree', t); // an earlier unload replayed late
      assert.ok(await ready(), 'a stale unload unloaded the model');
      repo.unload('tree', t + 20);
      assert.ok(!(await ready()));
      await repo.load('tree', t + 15); // a stale load
      assert.ok(!(await ready()), 'a stale load loaded the model');
      // A stale replay arriving while a load is in progress is dropped; the load completes.
      const loading = repo.load('tree', t + 30);
      repo.unload('tree', t + 25);
      await loading;
      assert.ok(await ready());
      // A newer unload arriving while a load is in progress wins; the load does not fail.
      const superseded = repo.load('tree', t + 40);
      repo.unload('tree', t + 50);
      await superseded;
      assert.ok(!(await ready()));
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a cluster worker killed under load', () => {
  test('the primary replaces it; only requests in flight on it fail', async () => {
    const dir = copyRepo();
    const serve = await spawnServe(dir, ['--workers', '2', '--poll', '0']);
    try {
      await waitFor(() => children(serve.child.pid).length === 2, 'two workers');
      await waitFor(async () => (await get(`${serve.url}/v2/health/ready`)).status === 200, 'readiness');
      const clients = 8;
      const load = loadLoop(serve.url, clients);
      await waitFor(() => load.stats.ok > 300, 'load to run', 30_000);
      const [victim] = children(serve.child.pid);
      const before = load.stats.ok + load.stats.failed.length;
      process.kill(victim, 'SIGKILL');
      await waitFor(() => {
        const now = children(serve.child.pid);
        return now.length === 2 && !now.includes(victim);
      }, 'a replacement worker');
      // Let the replacement take connections (new ones are spread over both workers).
      const atReplacement = load.stats.ok;
      await waitFor(() => load.stats.ok > atReplacement + 300, 'load after the replacement', 30_000);
      const failedBeforeEnd = load.stats.failed.length;
      await sleep(300);
      const stats = await load.stop();
      const total = stats.ok + stats.failed.length;
      // Every failure is a connection error of a request that was on the killed worker: a
      // connection carries one request at a time, so about one per client connection to it, plus
      // any new connection the primary handed over before it saw the exit. Measured 0 to 8 here.
      assert.ok(stats.failed.every((f) => /^0 (ECONNRESET|EPIPE|socket hang up|ECONNREFUSED)/.test(f)), stats.failed.join(' | '));
      assert.ok(stats.failed.length <= 2 * clients, `${stats.failed.length} failed: ${stats.failed.join(' | ')}`);
      assert.equal(stats.failed.length, failedBeforeEnd, 'requests failed after the replacement was serving');
      assert.match(serve.out.text, new RegExp(`worker ${victim} died \\(SIGKILL\\); restarting in \\d+ ms`));
      process.stdout.write(`worker SIGKILL under load: ${stats.failed.length} of ${total} requests failed (${before} answered before the kill; ${clients} keep-alive clients): ${stats.failed.join(', ') || 'none'}\n`);
    } finally {
      await serve.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a model file truncated during reload', () => {
  test('the previous generation keeps serving; no request fails; log, metrics, index and readiness say so', async () => {
    const dir = copyRepo();
    const s = await startLogged(dir);
    const file = path.join(dir, 'logreg.json');
    const text = readFileSync(file, 'utf8');
    try {
      const load = loadLoop(s.url);
      await waitFor(() => load.stats.ok > 50, 'load to run');
      // A torn in-place write: the file is cut in the middle, as by a writer that died.
      writeFileSync(file, text.slice(0, Math.floor(text.length / 2)));
      await waitFor(async () => {
        const index = await post(`${s.url}/v2/repository/index`, {}, auth);
        return index.json.some((e) => e.name === 'logreg' && e.state === 'READY' && /reload refused/.test(e.reason));
      }, 'the truncated file to be refused');
      const okAtRefusal = load.stats.ok;
      await waitFor(() => load.stats.ok > okAtRefusal + 50, 'more answers after the refusal');
      const stats = await load.stop();
      assert.deepEqual(stats.failed, []);

      const refused = s.logs.filter((l) => l.level === 50 && l.model === 'logreg' && /model refused/.test(l.msg));
      assert.equal(refused.length, 1, JSON.stringify(refused));
      assert.equal(refused[0].code, 'KILN_MODEL_PARSE');
      assert.equal(typeof refused[0].keptGeneration, 'number');
      const metrics = (await get(`${s.url}/metrics`)).text;
      assert.equal(sample(metrics, 'kiln_model_loads', { model: 'logreg', outcome: 'refused' }), 1);
      const ready = await get(`${s.url}/v2/health/ready`);
      assert.equal(ready.status, 200, 'the model still serves, so the server stays ready');
      assert.ok(ready.json.details.some((d) => /^model logreg version 1: reload refused, generation \d+ keeps serving: .*KILN_MODEL_PARSE|^model logreg version 1: reload refused, generation \d+ keeps serving/.test(d)), ready.text);
      assert.equal((await get(`${s.url}/v2/models/logreg/ready`)).status, 200);

      // The complete file is written back: loaded, and the details clear.
      writeFileSync(`${file}.tmp`, text);
      renameSync(`${file}.tmp`, file);
      await waitFor(async () => (await get(`${s.url}/v2/health/ready`)).json.details === undefined, 'the reload');
      assert.equal(sample((await get(`${s.url}/metrics`)).text, 'kiln_model_loads', { model: 'logreg', outcome: 'loaded' }), 2);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the models folder removed or unreadable', () => {
  test('removed: loaded models keep serving; logs and readiness say so; picked up again when restored', async () => {
    const dir = copyRepo();
    const backup = copyRepo();
    const s = await startLogged(dir);
    try {
      const load = loadLoop(s.url);
      await waitFor(() => load.stats.ok > 50, 'load to run');
      // Gone at once (as an unmounted volume), not file by file: a scan that sees some files
      // gone takes them as deliberately removed.
      renameSync(dir, `${dir}.gone`);
      rmSync(`${dir}.gone`, { recursive: true, force: true });
      await waitFor(() => s.logs.some((l) => l.level === 50 && /repository scan: model repository .* cannot be read: ENOENT/.test(l.msg)), 'the scan error in the log');
      const okAtError = load.stats.ok;
      await waitFor(() => load.stats.ok > okAtError + 50, 'more answers');
      assert.deepEqual((await load.stop()).failed, []);
      // Logged once, not once per poll.
      await sleep(200);
      assert.equal(s.logs.filter((l) => /repository scan: model repository/.test(l.msg)).length, 1);
      const ready = await get(`${s.url}/v2/health/ready`);
      assert.equal(ready.status, 200);
      assert.ok(ready.json.details.some((d) => /cannot be read: ENOENT.*; serving the models loaded before/.test(d)), ready.text);
      for (const name of ['logreg', 'tree', 'colour', 'versioned']) assert.equal((await get(`${s.url}/v2/models/${name}/ready`)).status, 200, name);
      const index = await post(`${s.url}/v2/repository/index`, {}, auth);
      assert.ok(index.json.every((e) => e.state === 'READY'), index.text);
      // A load asked for now cannot read anything: refused, saying why; the model keeps serving.
      const load2 = await post(`${s.url}/v2/repository/models/logreg/load`, {}, auth);
      assert.equal(load2.status, 503, load2.text);
      assert.match(load2.json.error, /cannot load model "logreg": model repository .* cannot be read: ENOENT/);
      assert.equal((await post(`${s.url}/models/logreg/predict`, { x1: 1, x2: 2 })).status, 200);

      renameSync(backup, dir);
      await waitFor(() => s.logs.some((l) => /the repository is readable again/.test(l.msg)), 'recovery in the log');
      await waitFor(async () => (await get(`${s.url}/v2/health/ready`)).json.details === undefined, 'readiness without details');
      assert.equal((await post(`${s.url}/models/logreg/predict`, { x1: 1, x2: 2 })).status, 200);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(backup, { recursive: true, force: true });
    }
  });

  test('chmod 000: loaded models keep serving; logs and readiness say so; picked up again when readable', async (t) => {
    const dir = copyRepo();
    // As root, permissions do not bite: run the server as nobody, which they do.
    const asRoot = process.getuid?.() === 0;
    const spawnOptions = asRoot ? { uid: 65534, gid: 65534 } : {};
    if (asRoot) {
      chmodSync(dir, 0o755);
      for (const f of readdirSync(dir, { recursive: true })) chmodSync(path.join(dir, f), statSync(path.join(dir, f)).isDirectory() ? 0o755 : 0o644);
    }
    let serve;
    try {
      if (asRoot) {
        // nobody must be able to run the checkout (it may sit under a private home directory).
        const probe = `const { loadModel } = await import(${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'index.js')).href)}); loadModel(${JSON.stringify(path.join(dir, 'logreg.json'))});`;
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { ...spawnOptions, encoding: 'utf8', timeout: 30_000 });
        if (r.status !== 0) {
          t.skip(`running as root, and uid 65534 cannot run this checkout (${(r.error?.message ?? r.stderr).trim().split('\n')[0]}): chmod 000 cannot be tested honestly here`);
          return;
        }
      }
      serve = await spawnServe(dir, ['--workers', '0', '--poll', '25'], spawnOptions);
      await waitFor(async () => (await get(`${serve.url}/v2/health/ready`)).status === 200, 'readiness');
      const load = loadLoop(serve.url);
      await waitFor(() => load.stats.ok > 50, 'load to run');
      chmodSync(dir, 0o000);
      await waitFor(() => /repository scan: model repository .* cannot be read: EACCES/.test(serve.out.text), 'the scan error in the log');
      const okAtError = load.stats.ok;
      await waitFor(() => load.stats.ok > okAtError + 50, 'more answers');
      assert.deepEqual((await load.stop()).failed, []);
      const ready = await get(`${serve.url}/v2/health/ready`);
      assert.equal(ready.status, 200);
      assert.ok(ready.json.details.some((d) => /cannot be read: EACCES/.test(d)), ready.text);
      chmodSync(dir, 0o755);
      await waitFor(async () => (await get(`${serve.url}/v2/health/ready`)).json.details === undefined, 'readiness without details');
      assert.match(serve.out.text, /the repository is readable again/);
    } finally {
      chmodSync(dir, 0o755);
      await serve?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
