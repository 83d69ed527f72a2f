// kiln serve through the CLI with node:cluster workers: listening, serving on every worker,
// metrics aggregated over workers, repository admin actions replayed on every worker, a killed
// worker restarted, and SIGTERM shutting everything down with exit code 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TOKEN, copyRepo, root, sample, sleep } from './fixtures/server/helpers.mjs';

/** One request on a fresh connection (so the cluster's round-robin spreads them over workers). */
function request(url, method = 'GET', body = undefined, headers = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, agent: false, headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function children(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function waitFor(predicate, what, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('kiln serve --workers 2 (node:cluster)', () => {
  let child;
  let dir;
  let url;
  let stdout = '';
  let exit;

  before(async () => {
    dir = copyRepo();
    child = spawn(process.execPath, [path.join(root, 'dist', 'cli.js'), 'serve', '--models', dir, '--port', '0', '--workers', '2', '--poll', '0', '--log-level', 'info'], {
      env: { ...process.env, KILN_ADMIN_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stdout += chunk));
    await waitFor(() => /kiln listening on (http:\/\/127\.0\.0\.1:\d+)/.test(stdout), 'the server to listen');
    url = /kiln listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)[1];
    // Both workers up.
    await waitFor(() => children(child.pid).length === 2, 'two workers');
    await waitFor(async () => (await request(`${url}/v2/health/ready`)).status === 200, 'readiness');
  });

  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exit;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves on every worker and aggregates metrics over them', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await request(`${url}/models/logreg/predict`, 'POST', { x1: i, x2: 1 });
      assert.equal(r.status, 200, r.text);
    }
    // Whichever worker answers /metrics reports the whole server.
    for (let i = 0; i < 3; i++) {
      const m = await request(`${url}/metrics`);
      assert.equal(m.status, 200);
      assert.equal(sample(m.text, 'kiln_inference_request_success', { model: 'logreg', version: '1' }), 12);
    }
  });

  test('an admin unload/load through one worker applies to all workers', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await request(`${url}/v2/repository/models/tree/unload`, 'POST', {}, auth)).status, 200);
    await sleep(300);
    for (let i = 0; i < 6; i++) assert.equal((await request(`${url}/models/tree/predict`, 'POST', { a: 1, b: 1 })).status, 503);
    assert.equal((await request(`${url}/v2/repository/models/tree/load`, 'POST', {}, auth)).status, 200);
    await waitFor(async () => {
      const statuses = await Promise.all(Array.from({ length: 6 }, () => request(`${url}/models/tree/predict`, 'POST', { a: 1, b: 1 })));
      return statuses.every((r) => r.status === 200);
    }, 'the model to be loaded on every worker');
  });

  test('a killed worker is restarted and the server keeps serving', async () => {
    const [victim] = children(child.pid);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => {
      const now = children(child.pid);
      return now.length === 2 && !now.includes(victim);
    }, 'a replacement worker');
    await waitFor(async () => {
      const statuses = await Promise.all(Array.from({ length: 6 }, () => request(`${url}/v2/models/logreg/ready`)));
      return statuses.every((r) => r.status === 200);
    }, 'both workers serving');
    assert.match(stdout, /worker \d+ died \(SIGKILL\); restarting in \d+ ms/);
  });

  test('SIGTERM shuts down gracefully with exit code 0', async () => {
    child.kill('SIGTERM');
    const result = await Promise.race([exit, sleep(20_000).then(() => 'timeout')]);
    assert.deepEqual(result, { code: 0, signal: null }, stdout.slice(-2000));
    assert.match(stdout, /shutting down/);
  });
});
