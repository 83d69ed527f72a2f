#!/usr/bin/env node
// Soak test of `kiln serve`: drives the real server (2 cluster workers on loopback, its own temp
// copy of the bundled models) for a bounded time with a mix of good requests (every route and
// shape; repeated bodies for cache hits, unique ones for cache churn), bad requests (every kind
// of issue 4's list), model reloads (files rewritten atomically and in place) and repository API
// calls (load/unload/index with the bearer token). Reports req/s, answers by kind and status, any
// 5xx, any failed good request, and each worker's RSS over time with the slope after warm-up.
// Exit code 1 on any 5xx, failed good request, unexpected answer to a bad request, or a worker
// restart; 2 on bad arguments. See docs/hardening.md.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const HELP = `usage: npm run soak -- [--minutes N] [options]

Starts \`kiln serve --workers 2\` on 127.0.0.1 with a temporary copy of models/ and drives it
with good and bad requests, model reloads and repository API calls for N minutes.

  --minutes N          run time, 0.1 to 240 (default 10)
  --concurrency N      requests in flight, 1 to 256 (default 8)
  --workers N          cluster workers, 1 to 16 (default 2)
  --sample-seconds N   RSS sampling period (default 10; 1 for runs under 2 minutes)
  --reload-seconds N   period of model reloads and repository API calls (default 5)
  --no-cache           serve with --no-cache (tells cache fill from other memory growth)
  --cache-max-entries N  serve with this per-version cache bound (default: the server's, 10000);
                       a bound reached during warm-up makes a flat RSS after it mean no leak
  --report FILE        also write the Markdown report to FILE
  --json FILE          also write the raw figures as JSON to FILE
  -h, --help           this text

Exit code 0: no 5xx, no failed good request, every bad request answered as expected, no worker
restarted; 1 otherwise; 2 for bad arguments. Run it nice'd on a shared machine.`;

// ---------- arguments ----------

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '8' },
      workers: { type: 'string', default: '2' },
      'sample-seconds': { type: 'string' },
      'reload-seconds': { type: 'string', default: '5' },
      'no-cache': { type: 'boolean', default: false },
      'cache-max-entries': { type: 'string' },
      report: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const number = (name, min, max) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number in [${min}, ${max}], got ${JSON.stringify(values[name])}`);
    return n;
  };
  const minutes = number('minutes', 0.1, 240);
  return {
    minutes,
    concurrency: Math.round(number('concurrency', 1, 256)),
    workers: Math.round(number('workers', 1, 16)),
    sampleSeconds: values['sample-seconds'] === undefined ? (minutes < 2 ? 1 : 10) : number('sample-seconds', 0.5, 600),
    reloadSeconds: number('reload-seconds', 0.5, 600),
    cache: !values['no-cache'],
    cacheMaxEntries: values['cache-max-entries'] === undefined ? null : Math.round(number('cache-max-entries', 1, 100_000_000)),
    report: values.report ?? null,
    json: values.json ?? null,
  };
}

// ---------- the server under test ----------

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function rssKiB(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(predicate, what, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Copies the bundled models into a temp repository, plus one model reserved for unload/load. */
function makeRepository() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-soak-'));
  const models = path.join(dir, 'models');
  mkdirSync(models);
  for (const f of readdirSync(path.join(root, 'models'))) {
    if (f.endsWith('.json')) cpSync(path.join(root, 'models', f), path.join(models, f));
  }
  cpSync(path.join(root, 'models', 'iris_logreg.json'), path.join(models, 'admin_cycle.json'));
  // A two-version model (directory layout), asked for by version and unversioned.
  for (const v of ['1', '2']) {
    mkdirSync(path.join(models, 'iris_versions', v), { recursive: true });
    cpSync(path.join(root, 'models', 'iris_logreg.json'), path.join(models, 'iris_versions', v, 'model.json'));
  }
  return { dir, models };
}

/** Server log lines (pino JSON), counted by level and message shape. */
class LogTally {
  constructor() {
    this.byKey = new Map();
    this.tail = [];
    this.buffer = '';
  }
  feed(chunk) {
    this.buffer += chunk;
    let nl;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      this.tail.push(line);
      if (this.tail.length > 200) this.tail.shift();
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        this.count(`unparsed: ${line.slice(0, 80)}`);
        continue;
      }
      const level = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[entry.level] ?? String(entry.level);
      // Messages carry names and numbers; keep their shape only.
      const shape = String(entry.msg ?? '')
        .replace(/"[^"]*"/g, '"…"')
        .replace(/\d+/g, 'N')
        .slice(0, 90);
      this.count(`${level} ${entry.code ?? ''} ${shape}`.replace(/\s+/g, ' '));
    }
  }
  count(key) {
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
  }
}

async function startServer(models, workers, token, logs, cache, cacheMaxEntries) {
  const args = [path.join(root, 'dist', 'cli.js'), 'serve', '--models', models, '--host', '127.0.0.1', '--port', '0', '--workers', String(workers), '--poll', '500', '--log-level', 'info'];
  if (!cache) args.push('--no-cache');
  if (cacheMaxEntries !== null) args.push('--cache-max-entries', String(cacheMaxEntries));
  const child = spawn(process.execPath, args, { env: { ...process.env, KILN_ADMIN_TOKEN: token }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let text = '';
  for (const stream of [child.stdout, child.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      if (text.length < 100_000) text += chunk;
      logs.feed(chunk);
    });
  }
  await waitFor(() => /kiln listening on (http:\/\/[^"\s]+)/.test(text) || child.exitCode !== null, 'the server to listen', 60_000);
  const m = /kiln listening on (http:\/\/[^"\s]+)/.exec(text);
  if (!m) throw new Error(`kiln serve exited before listening:\n${text.slice(-3000)}`);
  await waitFor(() => childrenOf(child.pid).length === workers, `${workers} workers`, 60_000);
  return { child, exited, url: m[1] };
}

// ---------- HTTP ----------

function send(agent, base, { method, path: p, body, headers = {} }, timeoutMs = 15_000) {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const h = { ...headers };
    if (payload !== undefined) {
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
      h['content-length'] = Buffer.byteLength(payload);
    }
    const t0 = process.hrtime.bigint();
    const req = http.request(`${base}${p}`, { method, agent, headers: h, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      res.on('error', (error) => resolve({ status: 0, error: error.code ?? error.message, ms: 0 }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (error) => resolve({ status: 0, error: error.code ?? error.message, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    req.end(payload);
  });
}

// ---------- the request mix ----------

function loadBundled(file) {
  const spec = JSON.parse(readFileSync(path.join(root, 'models', file), 'utf8'));
  return {
    inputs: spec.inputs.map((i) => ({ name: i.name, string: i.dtype === 'string' })),
    rows: spec.verification.rows.map((r) => ({ input: r.input, expected: r.expected })),
    tolerance: spec.verification.tolerance ?? { absolute: 1e-9, relative: 1e-9 },
  };
}

const pick = (rng, list) => list[Math.floor(rng() * list.length)];

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function close(a, b, tol) {
  return Math.abs(a - b) <= tol.absolute + tol.relative * Math.abs(b);
}

/** Compares predictions (record routes' shape) with the verification rows' expected outputs. */
function samePredictions(got, expected, tol) {
  if (!Array.isArray(got) || got.length !== expected.length) return `expected ${expected.length} predictions, got ${Array.isArray(got) ? got.length : typeof got}`;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const g = got[i];
    if (e.label !== undefined && g.label !== e.label) return `row ${i}: label ${JSON.stringify(g.label)} != ${JSON.stringify(e.label)}`;
    if (e.value !== undefined && !close(g.value, e.value, tol)) return `row ${i}: value ${g.value} != ${e.value}`;
    for (const key of ['probabilities', 'decision']) {
      if (e[key] === undefined) continue;
      const ev = Array.isArray(e[key]) ? e[key] : [e[key]];
      const gv = Array.isArray(g[key]) ? g[key] : [g[key]];
      if (ev.length !== gv.length || ev.some((v, j) => !close(gv[j], v, tol))) return `row ${i}: ${key} differ`;
    }
  }
  return null;
}

/** V2 outputs back into per-row predictions (label/probabilities/decision/value). */
function v2ToPredictions(body, rows) {
  const out = Array.from({ length: rows }, () => ({}));
  for (const o of body.outputs ?? []) {
    const width = o.shape.length > 1 ? o.shape[1] : 1;
    for (let r = 0; r < rows; r++) {
      out[r][o.name] = width === 1 && o.shape.length === 1 ? o.data[r] : o.data.slice(r * width, (r + 1) * width);
    }
  }
  return out;
}

function buildMix(token) {
  const models = {
    breast_cancer_logreg: loadBundled('breast_cancer_logreg.json'),
    breast_cancer_rf: loadBundled('breast_cancer_rf.json'),
    breast_cancer_gbm: loadBundled('breast_cancer_gbm.json'),
    iris_logreg: loadBundled('iris_logreg.json'),
    diabetes_progression_ridge: loadBundled('diabetes_progression_ridge.json'),
  };
  const numeric = ['breast_cancer_logreg', 'breast_cancer_rf', 'breast_cancer_gbm', 'iris_logreg'];
  const names = Object.keys(models);
  const auth = { authorization: `Bearer ${token}` };

  // Rows: `unique` perturbs each numeric value (a body never seen before: a cache miss and an
  // insertion), else verification rows as they are (repeated bodies: cache hits, checkable).
  const chooseRows = (rng, m, unique) => {
    const n = rng() < 0.7 ? 1 : 1 + Math.floor(rng() * 16);
    const start = Math.floor(rng() * (m.rows.length - n));
    const rows = m.rows.slice(start, start + n);
    if (!unique) return { records: rows.map((r) => r.input), expected: rows.map((r) => r.expected) };
    const records = rows.map((r) => {
      const rec = {};
      for (const [k, v] of Object.entries(r.input)) rec[k] = typeof v === 'number' ? v * (1 + (rng() - 0.5) * 1e-6) : v;
      return rec;
    });
    return { records, expected: null };
  };
  // Every answer: the right number of rows; unperturbed rows: sklearn's answers.
  const checkRecords = (expected, rows, tol) => (res) => {
    const body = JSON.parse(res.text);
    const preds = Array.isArray(body) ? body : body.predictions ?? [body];
    if (preds.length !== rows) return `expected ${rows} predictions, got ${preds.length}`;
    return expected ? samePredictions(preds, expected, tol) : null;
  };
  const checkV2 = (expected, rows, tol) => (res) => {
    const body = JSON.parse(res.text);
    if (!Array.isArray(body.outputs) || body.outputs.length === 0) return 'no outputs';
    if (body.outputs.some((o) => o.shape[0] !== rows)) return `expected ${rows} rows in every output`;
    return expected ? samePredictions(v2ToPredictions(body, rows), expected, tol) : null;
  };

  const good = [
    // KServe V2 infer, one named tensor per input (BYTES for string categories).
    [12, 'v2 named tensors', (rng, unique) => {
      const name = pick(rng, names);
      const m = models[name];
      const { records, expected } = chooseRows(rng, m, unique);
      const inputs = m.inputs.map((i) => ({ name: i.name, shape: [records.length], datatype: i.string ? 'BYTES' : 'FP64', data: records.map((r) => r[i.name] ?? null) }));
      const versioned = rng() < 0.2 ? '/versions/1' : '';
      return { method: 'POST', path: `/v2/models/${name}${versioned}/infer`, body: { id: unique ? `u${rng()}` : 'repeat', inputs }, check: checkV2(expected, records.length, m.tolerance) };
    }],
    // KServe V2 infer, one row-major matrix, FP64 (checked exactly) or FP32.
    [12, 'v2 matrix', (rng, unique) => {
      const name = pick(rng, numeric);
      const m = models[name];
      const { records, expected } = chooseRows(rng, m, unique);
      const fp32 = rng() < 0.3;
      const data = records.flatMap((r) => m.inputs.map((i) => r[i.name]));
      const body = { inputs: [{ name: 'input', shape: [records.length, m.inputs.length], datatype: fp32 ? 'FP32' : 'FP64', data }], outputs: [{ name: 'label' }, { name: 'probabilities' }] };
      const exp = fp32 || !expected ? null : expected.map((e) => ({ label: e.label, probabilities: e.probabilities }));
      return { method: 'POST', path: `/v2/models/${name}/infer`, body, check: checkV2(exp, records.length, m.tolerance) };
    }],
    // KServe V1 / TF Serving rows.
    [10, 'v1 predict', (rng, unique) => {
      const name = pick(rng, names);
      const m = models[name];
      const { records, expected } = chooseRows(rng, m, unique);
      const versioned = rng() < 0.2 ? '/versions/1' : '';
      return { method: 'POST', path: `/v1/models/${name}${versioned}:predict`, body: { instances: records }, check: checkRecords(expected, records.length, m.tolerance) };
    }],
    // Friendly route: one record or an array.
    [10, 'friendly predict', (rng, unique) => {
      const name = pick(rng, names);
      const m = models[name];
      const { records, expected } = chooseRows(rng, m, unique);
      const one = records.length === 1 && rng() < 0.5;
      return { method: 'POST', path: `/models/${name}/predict`, body: one ? records[0] : records, check: checkRecords(expected, records.length, m.tolerance) };
    }],
    // A model with two versions, by version and latest.
    [3, 'v2 versioned model', (rng, unique) => {
      const m = models.iris_logreg;
      const { records, expected } = chooseRows(rng, m, unique);
      const v = pick(rng, ['', '/versions/1', '/versions/2']);
      const body = { inputs: [{ name: 'input', shape: [records.length, 4], datatype: 'FP64', data: records.flatMap((r) => m.inputs.map((i) => r[i.name])) }] };
      return { method: 'POST', path: `/v2/models/iris_versions${v}/infer`, body, check: checkV2(expected, records.length, m.tolerance) };
    }],
    [4, 'get metadata', (rng) => {
      const name = pick(rng, names);
      const p = pick(rng, [`/v2/models/${name}`, `/v2/models/${name}/versions/1`, `/models/${name}`, `/models`, '/v2', `/v1/models/${name}`]);
      return { method: 'GET', path: p };
    }],
    [4, 'get health', (rng) => {
      const name = pick(rng, names);
      return { method: 'GET', path: pick(rng, ['/v2/health/live', '/v2/health/ready', `/v2/models/${name}/ready`, `/v2/models/${name}/versions/1/ready`]) };
    }],
    [0.3, 'get metrics', () => ({ method: 'GET', path: '/metrics' })],
    [0.05, 'get openapi', () => ({ method: 'GET', path: '/docs/json' })],
  ];

  const logregInputs = models.breast_cancer_logreg.inputs;
  const oneRow = models.breast_cancer_logreg.rows[0].input;
  const matrix = (rows, datatype = 'FP64', shape = [rows.length, logregInputs.length]) => ({
    inputs: [{ name: 'input', shape, datatype, data: rows.flatMap((r) => logregInputs.map((i) => r[i.name])) }],
  });
  const infer = '/v2/models/breast_cancer_logreg/infer';
  const deep = `${'['.repeat(10_000)}1${']'.repeat(10_000)}`;
  const overLimit = JSON.stringify({ ...matrix([oneRow]), id: 'x'.repeat(1024 * 1024 + 16) });
  // 10,000 iris rows (4 features, ~200 KB): under the body limit, over the row limit.
  const irisRow = models.iris_logreg.rows[0].input;
  const irisNames = models.iris_logreg.inputs.map((i) => i.name);
  const tooManyRows = JSON.stringify({ inputs: [{ name: 'input', shape: [10_000, 4], datatype: 'FP64', data: Array.from({ length: 10_000 }, () => irisNames.map((n) => irisRow[n])).flat() }] });
  const missing = { ...oneRow };
  delete missing['mean radius'];

  // [weight, kind, expected status, request]
  const bad = [
    [1, 'malformed JSON', 400, { method: 'POST', path: infer, body: '{"inputs": [}' }],
    [1, 'wrong content type', 415, { method: 'POST', path: infer, body: JSON.stringify(matrix([oneRow])), headers: { 'content-type': 'text/plain' } }],
    [1, 'empty body', 400, { method: 'POST', path: '/v1/models/breast_cancer_logreg:predict', body: '' }],
    [0.1, 'body over the limit', 413, { method: 'POST', path: infer, body: overLimit, own: true }],
    [1, 'unknown model', 404, { method: 'POST', path: '/v2/models/no_such_model/infer', body: matrix([oneRow]) }],
    [1, 'unknown version', 404, { method: 'POST', path: '/v2/models/breast_cancer_logreg/versions/9/infer', body: matrix([oneRow]) }],
    [1, 'missing feature', 400, { method: 'POST', path: '/models/breast_cancer_logreg/predict', body: missing }],
    [1, 'extra feature', 400, { method: 'POST', path: '/v1/models/breast_cancer_logreg:predict', body: { instances: [{ ...oneRow, extra: 1 }] } }],
    [1, 'mistyped feature', 400, { method: 'POST', path: '/models/breast_cancer_logreg/predict', body: { ...oneRow, 'mean radius': 'big' } }],
    [1, 'wrong tensor shape', 400, { method: 'POST', path: infer, body: matrix([oneRow], 'FP64', [1, 7]) }],
    [1, 'wrong datatype', 400, { method: 'POST', path: infer, body: matrix([oneRow], 'INT32') }],
    [1, 'NaN/Infinity', 400, { method: 'POST', path: infer, body: JSON.stringify(matrix([oneRow])).replace(/"data":\[[^,]+/, '"data":[1e999') }],
    [0.5, 'deeply nested JSON', 400, { method: 'POST', path: '/v1/models/breast_cancer_logreg:predict', body: `{"instances":${deep}}` }],
    [0.3, '10,000-row batch', 400, { method: 'POST', path: '/v2/models/iris_logreg/infer', body: tooManyRows }],
    [1, 'path traversal', 400, { method: 'POST', path: '/v2/models/..%2F..%2Fetc%2Fpasswd/infer', body: matrix([oneRow]) }],
    [1, 'path traversal (V1)', 400, { method: 'POST', path: '/v1/models/..%2F..%2Fetc:predict', body: { instances: [oneRow] } }],
    [1, 'admin without token', 401, { method: 'POST', path: '/v2/repository/index', body: {} }],
    [1, 'admin with wrong token', 403, { method: 'POST', path: '/v2/repository/models/iris_logreg/unload', body: {}, headers: { authorization: `Bearer wrong-${token}` } }],
    [1, 'unknown route', 404, { method: 'GET', path: '/no/such/route' }],
  ];
  return { models, good, bad, auth };
}

function weighted(list) {
  const total = list.reduce((s, e) => s + e[0], 0);
  return (rng) => {
    let x = rng() * total;
    for (const e of list) {
      x -= e[0];
      if (x <= 0) return e;
    }
    return list[list.length - 1];
  };
}

// ---------- statistics ----------

class Tally {
  constructor() {
    this.map = new Map();
  }
  add(key, n = 1) {
    this.map.set(key, (this.map.get(key) ?? 0) + n);
  }
  get(key) {
    return this.map.get(key) ?? 0;
  }
  entries() {
    return [...this.map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** Least-squares line through (x, y): slope, intercept and r². */
function linearFit(points) {
  const n = points.length;
  if (n < 3) return null;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
    syy += (y - my) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy), n };
}

// ---------- the run ----------

async function soak(options) {
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run npm run build first');
  const token = randomBytes(24).toString('hex');
  const repo = makeRepository();
  const logs = new LogTally();
  const startedAt = new Date();
  const load0 = os.loadavg();
  const server = await startServer(repo.models, options.workers, token, logs, options.cache, options.cacheMaxEntries);
  const base = server.url;
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const { good, bad, auth } = buildMix(token);
  const pickGood = weighted(good);
  const pickBad = weighted(bad);

  const byKind = new Tally(); // "good <kind> <status>" / "bad <kind> <status>"
  const byStatus = new Tally();
  const failures = []; // good requests that failed, bad ones answered unexpectedly, 5xx
  const fiveXX = [];
  const latencies = [];
  const fail = (what) => {
    if (failures.length < 50) failures.push(what);
    failures.count = (failures.count ?? 0) + 1;
  };
  let requests = 0;
  let cacheHits = 0;
  const durationMs = options.minutes * 60_000;
  const t0 = Date.now();
  const deadline = t0 + durationMs;
  let stop = false;

  const record = (kind, res) => {
    requests++;
    byStatus.add(res.status === 0 ? `connection error (${res.error})` : String(res.status));
    if (res.status >= 500) {
      if (fiveXX.length < 50) fiveXX.push(`${kind}: ${res.status} ${res.text?.slice(0, 200)}`);
      fiveXX.count = (fiveXX.count ?? 0) + 1;
    }
  };

  const client = async (seed) => {
    const rng = mulberry32(seed);
    while (!stop && Date.now() < deadline) {
      if (rng() < 0.15) {
        const [, kind, expected, req] = pickBad(rng);
        const res = await send(req.own ? false : agent, base, req);
        record(`bad ${kind}`, res);
        byKind.add(`bad\t${kind}\t${res.status === 0 ? res.error : res.status}`);
        // A body over the limit may be refused before it is all sent: the server then closes
        // the connection, which the client may see as a reset instead of the 413.
        const acceptable = res.status === expected || (req.own && res.status === 0 && /ECONNRESET|EPIPE/.test(res.error));
        if (!acceptable) fail(`bad request "${kind}" answered ${res.status || res.error} (expected ${expected}): ${res.text?.slice(0, 200) ?? ''}`);
        else if (res.status !== 0) {
          let body = {};
          try {
            body = JSON.parse(res.text);
          } catch {
            // reported below as an answer without a message and code
          }
          if (!(body.error?.length > 0) || !/^KILN_[A-Z_]+$/.test(body.code ?? '')) fail(`bad request "${kind}" answered without an error message and code: ${res.text.slice(0, 200)}`);
        }
        continue;
      }
      const [, kind, make] = pickGood(rng);
      const unique = rng() < 0.5;
      const req = make(rng, unique);
      const res = await send(agent, base, req);
      record(`good ${kind}`, res);
      byKind.add(`good\t${kind}\t${res.status === 0 ? res.error : res.status}`);
      if (res.status !== 200) {
        fail(`good request "${kind}" ${req.method} ${req.path} answered ${res.status || res.error}: ${res.text?.slice(0, 300) ?? ''}`);
        continue;
      }
      latencies.push(res.ms);
      if (res.headers['x-kiln-cache'] === 'hit') cacheHits++;
      if (req.check) {
        let problem;
        try {
          problem = req.check(res);
        } catch (error) {
          problem = `unreadable answer: ${error.message}`;
        }
        if (problem) fail(`good request "${kind}" ${req.method} ${req.path}: wrong answer: ${problem}`);
      }
    }
  };

  // Reloads and repository API calls, one every reloadSeconds, in rotation.
  const reloads = new Tally();
  const reloader = async () => {
    const served = ['breast_cancer_logreg.json', 'breast_cancer_rf.json', 'iris_logreg.json', 'diabetes_progression_ridge.json', 'breast_cancer_gbm.json'];
    let i = 0;
    while (!stop && Date.now() < deadline) {
      await sleep(options.reloadSeconds * 1000);
      if (stop || Date.now() >= deadline) break;
      const file = path.join(repo.models, served[i % served.length]);
      const action = ['rewrite (rename over)', 'rewrite (in place)', 'repository load', 'unload + load', 'repository index'][i % 5];
      i++;
      const admin = async (p) => {
        const res = await send(agent, base, { method: 'POST', path: p, body: {}, headers: auth });
        record('admin', res);
        byKind.add(`admin\t${p.replace(/^\/v2\/repository\/(models\/[^/]+\/)?/, '')}\t${res.status === 0 ? res.error : res.status}`);
        if (res.status !== 200) fail(`repository call ${p} answered ${res.status || res.error}: ${res.text?.slice(0, 300) ?? ''}`);
      };
      const text = readFileSync(file, 'utf8');
      if (action === 'rewrite (rename over)') {
        // Same model, new file: a reload with a new cache, the old entry dropped.
        writeFileSync(`${file}.incoming`, text);
        renameSync(`${file}.incoming`, file);
      } else if (action === 'rewrite (in place)') {
        // A non-atomic writer: the poll may catch the file half-written; that load is refused
        // and the previous generation keeps serving until the complete file is seen.
        writeFileSync(file, text);
      } else if (action === 'repository load') {
        await admin(`/v2/repository/models/${path.basename(file, '.json')}/load`);
      } else if (action === 'unload + load') {
        await admin('/v2/repository/models/admin_cycle/unload');
        await sleep(200);
        await admin('/v2/repository/models/admin_cycle/load');
      } else {
        await admin('/v2/repository/index');
      }
      reloads.add(action);
    }
  };

  // RSS of each worker over time.
  const samples = []; // { t (s), pid, kib }
  const workerPids = new Set(childrenOf(server.child.pid));
  const sampler = async () => {
    while (!stop && Date.now() < deadline) {
      const t = (Date.now() - t0) / 1000;
      for (const pid of childrenOf(server.child.pid)) {
        workerPids.add(pid);
        const kib = rssKiB(pid);
        if (kib !== null) samples.push({ t, pid, kib });
      }
      const primary = rssKiB(server.child.pid);
      if (primary !== null) samples.push({ t, pid: `primary ${server.child.pid}`, kib: primary });
      // The workers' V8 heap and external memory, summed by the primary's aggregation: tells
      // JavaScript objects from native and allocator memory when RSS moves.
      const m = await send(agent, base, { method: 'GET', path: '/metrics' });
      if (m.status === 200) {
        samples.push({ t, pid: 'V8 heap used (workers)', kib: sumMetric(m.text, 'kiln_process_nodejs_heap_size_used_bytes') / 1024 });
        samples.push({ t, pid: 'V8 external (workers)', kib: sumMetric(m.text, 'kiln_process_nodejs_external_memory_bytes') / 1024 });
      }
      await sleep(options.sampleSeconds * 1000);
    }
  };

  let progressTimer = setInterval(() => {
    const s = (Date.now() - t0) / 1000;
    process.stderr.write(`soak: ${s.toFixed(0)} s, ${requests} requests (${(requests / s).toFixed(0)}/s), ${failures.count ?? 0} failures, ${fiveXX.count ?? 0} 5xx\n`);
  }, 30_000);
  progressTimer.unref();
  const serverDied = server.exited.then((r) => {
    if (!stop) fail(`kiln serve exited during the soak: ${JSON.stringify(r)}`);
    stop = true;
  });
  await Promise.all([...Array.from({ length: options.concurrency }, (_, i) => client(1000 + i)), reloader(), sampler()]);
  stop = true;
  clearInterval(progressTimer);
  const elapsed = (Date.now() - t0) / 1000;

  // The server's own view: restarts, and aggregated metrics.
  const metrics = await send(agent, base, { method: 'GET', path: '/metrics' });
  const health = await send(agent, base, { method: 'GET', path: '/v2/health/ready' });
  const finalWorkers = childrenOf(server.child.pid);
  agent.destroy();
  server.child.kill('SIGTERM');
  const exit = await Promise.race([server.exited, sleep(20_000).then(() => null)]);
  if (exit === null) server.child.kill('SIGKILL');
  void serverDied;
  rmSync(repo.dir, { recursive: true, force: true });
  const load1 = os.loadavg();

  const restarted = workerPids.size > options.workers;
  if (restarted) fail(`workers were restarted during the soak: pids seen ${[...workerPids].join(', ')}`);
  if (exit && exit.code !== 0) fail(`kiln serve exited with ${JSON.stringify(exit)} on SIGTERM`);

  // RSS: per process, slope of a least-squares line over the samples after warm-up.
  const warmup = Math.min(120, elapsed * 0.25);
  const perPid = new Map();
  for (const s of samples) {
    if (!perPid.has(s.pid)) perPid.set(s.pid, []);
    perPid.get(s.pid).push(s);
  }
  const rss = [...perPid.entries()].map(([pid, list]) => {
    const after = list.filter((s) => s.t >= warmup).map((s) => [s.t / 60, s.kib / 1024]);
    const fit = linearFit(after);
    return {
      pid: String(pid),
      first: list[0].kib / 1024,
      atWarmup: (list.find((s) => s.t >= warmup) ?? list[list.length - 1]).kib / 1024,
      last: list[list.length - 1].kib / 1024,
      max: Math.max(...list.map((s) => s.kib)) / 1024,
      slopeMiBPerMin: fit?.slope ?? NaN,
      r2: fit?.r2 ?? NaN,
      n: fit?.n ?? 0,
    };
  });

  latencies.sort((a, b) => a - b);
  const result = {
    startedAt: startedAt.toISOString(),
    options,
    elapsedSeconds: elapsed,
    requests,
    requestsPerSecond: requests / elapsed,
    cacheHits,
    latencyMs: { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1] ?? NaN },
    byStatus: Object.fromEntries(byStatus.entries()),
    byKind: byKind.entries(),
    reloads: Object.fromEntries(reloads.entries()),
    fiveXX: { count: fiveXX.count ?? 0, examples: fiveXX },
    failures: { count: failures.count ?? 0, examples: failures },
    workers: { initial: options.workers, seen: [...workerPids], final: finalWorkers },
    serverLog: [...logs.byKey.entries()].sort((a, b) => b[1] - a[1]),
    health: health.text,
    metrics: {
      loaded: sumMetric(metrics.text, 'kiln_model_loads', 'outcome="loaded"'),
      refused: sumMetric(metrics.text, 'kiln_model_loads', 'outcome="refused"'),
      cacheHits: sumMetric(metrics.text, 'kiln_cache_num_hits_per_model'),
      cacheMisses: sumMetric(metrics.text, 'kiln_cache_num_misses_per_model'),
    },
    warmupSeconds: warmup,
    rss,
    samples,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? '?', node: process.version, loadavgStart: load0, loadavgEnd: load1, nice: os.getPriority() },
    logTail: failures.count || fiveXX.count ? logs.tail.slice(-40) : [],
  };
  return result;
}

function sumMetric(text, name, filter = '') {
  let total = 0;
  for (const line of (text ?? '').split('\n')) {
    if ((line.startsWith(`${name}{`) || line.startsWith(`${name} `)) && line.includes(filter)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

// ---------- the report ----------

function markdown(r) {
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const ok = r.failures.count === 0 && r.fiveXX.count === 0;
  const lines = [];
  lines.push(`# Soak: kiln serve, ${f(r.elapsedSeconds / 60, 1)} minutes`);
  lines.push('');
  lines.push(`Started ${r.startedAt}. Command: \`npm run soak -- --minutes ${r.options.minutes}${r.options.cache ? '' : ' --no-cache'}${r.options.cacheMaxEntries === null ? '' : ` --cache-max-entries ${r.options.cacheMaxEntries}`}\` (concurrency ${r.options.concurrency}, ${r.options.workers} workers, reload/admin action every ${r.options.reloadSeconds} s, RSS sampled every ${r.options.sampleSeconds} s).`);
  lines.push(`Machine: ${r.machine.cpus} vCPUs (${r.machine.model}), node ${r.machine.node}, nice ${r.machine.nice}; load average ${r.machine.loadavgStart.map((x) => f(x, 2)).join(' ')} at the start, ${r.machine.loadavgEnd.map((x) => f(x, 2)).join(' ')} at the end. The load generator runs on the same cores as the server, and the machine is shared with other jobs: read req/s as a floor, not as the server's throughput.`);
  lines.push('');
  lines.push(`**Verdict: ${ok ? 'PASS' : 'FAIL'}** — ${r.fiveXX.count} responses 5xx, ${r.failures.count} failed good requests or unexpected answers to bad ones, workers seen ${r.workers.seen.length} for ${r.workers.initial} started.`);
  lines.push('');
  lines.push('## Throughput');
  lines.push('');
  lines.push(`| requests | req/s | good p50 | good p99 | good max | cache hits (client) | cache hits / misses (server) | model loads / refused |`);
  lines.push('|---|---|---|---|---|---|---|---|');
  lines.push(`| ${r.requests} | ${f(r.requestsPerSecond, 0)} | ${f(r.latencyMs.p50, 2)} ms | ${f(r.latencyMs.p99, 2)} ms | ${f(r.latencyMs.max, 0)} ms | ${r.cacheHits} | ${r.metrics.cacheHits} / ${r.metrics.cacheMisses} | ${r.metrics.loaded} / ${r.metrics.refused} |`);
  lines.push('');
  lines.push('## Answers by kind and status');
  lines.push('');
  lines.push('| | kind | status | count |');
  lines.push('|---|---|---|---|');
  for (const [key, n] of r.byKind) {
    const [group, kind, status] = key.split('\t');
    lines.push(`| ${group} | ${kind} | ${status} | ${n} |`);
  }
  lines.push('');
  lines.push(`By status: ${Object.entries(r.byStatus).map(([s, n]) => `${s}: ${n}`).join(', ')}.`);
  lines.push('');
  lines.push(`Reloads and repository calls: ${Object.entries(r.reloads).map(([s, n]) => `${s} ×${n}`).join(', ') || 'none'}.`);
  lines.push('');
  if (r.fiveXX.count || r.failures.count) {
    lines.push('## Failures');
    lines.push('');
    for (const e of [...r.fiveXX.examples, ...r.failures.examples]) lines.push(`- ${e.replace(/\n/g, ' ')}`);
    lines.push('');
    lines.push('Server log tail:');
    lines.push('');
    lines.push('```');
    for (const l of r.logTail) lines.push(l.slice(0, 400));
    lines.push('```');
    lines.push('');
  }
  lines.push('## Memory (RSS)');
  lines.push('');
  lines.push(`Slope: least-squares line through the samples after a warm-up of ${f(r.warmupSeconds, 0)} s.`);
  lines.push('');
  lines.push('RSS per process; the V8 rows are the workers\' JavaScript heap and external memory (summed over workers, from /metrics).');
  lines.push('');
  lines.push('| what | at start | after warm-up | at end | max | slope after warm-up | r² | samples |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const p of r.rss) lines.push(`| ${p.pid} | ${f(p.first)} MiB | ${f(p.atWarmup)} MiB | ${f(p.last)} MiB | ${f(p.max)} MiB | ${f(p.slopeMiBPerMin * 1024, 1)} KiB/min (${f(p.slopeMiBPerMin * 60, 2)} MiB/h) | ${f(p.r2, 2)} | ${p.n} |`);
  lines.push('');
  // RSS over time: about 12 rows.
  const pids = r.rss.map((p) => p.pid);
  const times = [...new Set(r.samples.map((s) => s.t))];
  const step = Math.max(1, Math.ceil(times.length / 12));
  lines.push(`| time | ${pids.join(' | ')} |`);
  lines.push(`|---|${pids.map(() => '---').join('|')}|`);
  for (let i = 0; i < times.length; i += step) {
    const t = times[i];
    const row = pids.map((pid) => {
      const s = r.samples.find((x) => x.t === t && String(x.pid) === pid);
      return s ? `${f(s.kib / 1024)} MiB` : '';
    });
    lines.push(`| ${f(t, 0)} s | ${row.join(' | ')} |`);
  }
  lines.push('');
  lines.push('## Server log lines (by level, code and message shape)');
  lines.push('');
  lines.push('| count | line |');
  lines.push('|---|---|');
  for (const [key, n] of r.serverLog.slice(0, 40)) lines.push(`| ${n} | ${key.replace(/\|/g, '\\|')} |`);
  lines.push('');
  lines.push(`Readiness at the end: \`${r.health}\``);
  lines.push('');
  return lines.join('\n');
}

// ---------- main ----------

async function main() {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`soak: ${error.message}\n\n${HELP}\n`);
    return 2;
  }
  if (options === null) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  process.stderr.write(`soak: ${options.minutes} min, concurrency ${options.concurrency}, ${options.workers} workers\n`);
  const result = await soak(options);
  const text = markdown(result);
  process.stdout.write(`${text}\n`);
  if (options.report) writeFileSync(options.report, `${text}\n`);
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 1)}\n`);
  return result.failures.count === 0 && result.fiveXX.count === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`soak: ${error.stack ?? error}\n`);
    process.exit(1);
  },
);
