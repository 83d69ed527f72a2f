// Schema-driven HTTP fuzzing: schemathesis (PyPI, pinned in requirements/schemathesis.txt) reads
// Kiln's own OpenAPI document (/docs/json) and sends generated valid and invalid requests to every
// route of a real server on a loopback port, with a fixed seed and a bounded number of examples.
// Checks: no 5xx, every status documented, every response body conforming to its documented
// schema and content type, schema-violating requests rejected. The cases it found are kept as
// the plain tests at the end of this file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { TOKEN, get, post, root, start } from './fixtures/server/helpers.mjs';

const schemathesis = path.join(root, '.venv', 'schemathesis', 'bin', 'schemathesis');
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'negative_data_rejection'].join(',');
// Examples per operation and phase: ~20 operations, each through schemathesis' coverage, fuzzing
// and stateful phases (~600 requests): about a minute and a half on 2 busy shared cores.
const MAX_EXAMPLES = '6';
const SEED = '20261124';

/** Runs schemathesis against the server; resolves with its exit code and output. */
function run(url, cwd, extra) {
  const args = ['run', `${url}/docs/json`, '--max-examples', MAX_EXAMPLES, '--seed', SEED, '--workers', '1', '--checks', CHECKS, '--header', `Authorization: Bearer ${TOKEN}`, '--request-timeout', '20', '--no-color', ...extra];
  return new Promise((resolve) => {
    execFile(schemathesis, args, { cwd, maxBuffer: 64 * 1024 * 1024, timeout: 600_000, env: { ...process.env, NO_COLOR: '1', COLUMNS: '120' } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

describe('schemathesis against /docs/json', () => {
  let s;
  let cwd;
  before(async () => {
    assert.ok(existsSync(schemathesis), `${schemathesis} is missing: run "bash scripts/setup-python.sh" (npm test does)`);
    cwd = mkdtempSync(path.join(tmpdir(), 'kiln-schemathesis-'));
    // Default limits and pressure settings, as served.
    s = await start({ maxEventLoopDelayMs: 1000 });
  });
  after(async () => {
    await s.close();
    rmSync(cwd, { recursive: true, force: true });
  });

  // Unloading a model makes its routes answer 503 (documented, but a 5xx): every route except
  // unload first, then the repository API on its own.
  test('every route but unload: no 5xx, responses as documented', { timeout: 600_000 }, async () => {
    const r = await run(s.url, cwd, ['--exclude-path-regex', '/unload$']);
    assert.equal(r.code, 0, r.output.slice(-12_000));
    const counts = /(\d+) generated, (\d+) passed/.exec(r.output);
    assert.ok(counts && Number(counts[1]) > 300 && counts[1] === counts[2], r.output.slice(-4000));
  });

  test('the repository API (index, load, unload): responses as documented', { timeout: 600_000 }, async () => {
    const r = await run(s.url, cwd, ['--include-path-regex', '^/v2/repository/']);
    assert.equal(r.code, 0, r.output.slice(-12_000));
  });
});

describe('cases schemathesis found', () => {
  let s;
  before(async () => {
    s = await start();
  });
  after(async () => {
    await s.close();
  });

  test('repository API calls without a body are accepted, and documented as optional', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    const bare = (p) =>
      fetch(`${s.url}${p}`, { method: 'POST', headers: auth }).then(async (r) => ({ status: r.status, json: await r.json() }));
    const index = await bare('/v2/repository/index');
    assert.equal(index.status, 200);
    assert.ok(index.json.some((e) => e.name === 'logreg' && e.state === 'READY'));
    assert.equal((await bare('/v2/repository/models/tree/unload')).status, 200);
    assert.equal((await bare('/v2/repository/models/tree/load')).status, 200);
    const doc = (await get(`${s.url}/docs/json`)).json;
    for (const p of ['/v2/repository/index', '/v2/repository/models/{name}/load', '/v2/repository/models/{name}/unload']) {
      assert.equal(doc.paths[p].post.requestBody.required, false, p);
    }
    assert.equal(doc.paths['/v2/models/{name}/infer'].post.requestBody.required, true);
  });

  test('a model unloaded through the API answers 503 with its code on every model route, as documented', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await post(`${s.url}/v2/repository/models/colour/unload`, {}, auth)).status, 200);
    const doc = (await get(`${s.url}/docs/json`)).json;
    for (const [method, p, route] of [
      ['GET', '/v2/models/colour', '/v2/models/{name}'],
      ['GET', '/models/colour', '/models/{name}'],
      ['GET', '/models/colour/versions/1', '/models/{name}/versions/{version}'],
      ['POST', '/models/colour/predict', '/models/{name}/predict'],
    ]) {
      const r = method === 'GET' ? await get(`${s.url}${p}`) : await post(`${s.url}${p}`, {});
      assert.equal(r.status, 503, `${p}: ${r.text}`);
      assert.equal(r.json.code, 'KILN_MODEL_UNAVAILABLE');
      assert.ok(doc.paths[route][method.toLowerCase()].responses['503'], `503 not documented for ${method} ${route}`);
    }
    assert.equal((await post(`${s.url}/v2/repository/models/colour/load`, {}, auth)).status, 200);
  });
});
