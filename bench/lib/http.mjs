// Section (c): HTTP. Kiln's server (`kiln serve`, 2 workers) against two no-op Fastify routes on
// the same bodies (JSON parsed / raw body) and the seed's Flask+gevent+Gunicorn stack, driven on
// loopback by wrk (-t1 -c32) when it is on PATH, else autocannon. Runs are alternated (each round
// visits every target, starting one further along) and repeated; figures are medians over rounds.
// Then Kiln's p99 at half its peak rate, at a constant offered rate, with the no-op route (JSON
// parsed) at the same rate for comparison: an open-loop generator in a process of its own, latency
// from each request's due time (see docs/benchmarks.md for why not autocannon's overallRate):
// native/bench/kiln_paced (C++, built with CMake on demand) where it builds, else bench/lib/paced.mjs
// (Node, ~3-4x its CPU per request); KILN_BENCH_PACED=node forces paced.mjs. Beside each figure, the CPU budget of the 2 cores during the run: the
// server's CPU (primary and workers, /proc), the time its workers spent runnable but waiting for a
// core, and the generator's own CPU: a tail the cores' saturation makes shows there.
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PACED_GENERATOR } from './paced.mjs';
import { NATIVE_PACED_GENERATOR, buildPacedGenerator, nativePacedLoad } from './paced-native.mjs';
import { childrenRssMiB, cpuRate, cpuSnapshot, freePort, onPath, run, startServer, stopServer, waitReady } from './processes.mjs';
import { readRows, record } from './rows.mjs';
import { median } from './timing.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const CONNECTIONS = 32; // as in the figures (wrk -t1 -c32)
const BODIES = 4096; // distinct rows cycled through: more than the seed's LRU holds, so it misses

function log(msg) {
  process.stderr.write(`bench: ${msg}\n`);
}

/** Distinct JSON bodies for a model: the data's rows, the first feature nudged on each pass. */
function writeBodies(cacheDir, entry, file) {
  const data = readRows(cacheDir, entry);
  const lines = [];
  for (let i = 0; i < BODIES; i++) {
    const rec = record(data, entry.features, i % data.nRows);
    const pass = Math.floor(i / data.nRows);
    if (pass > 0) rec[entry.features[0]] *= 1 + pass * 1e-12;
    lines.push(JSON.stringify(rec));
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return lines;
}

async function loadWrk({ url, bodiesFile, seconds }) {
  const out = await run('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(HERE, 'wrk-bodies.lua'), url], {
    env: { KILN_BENCH_BODIES: bodiesFile },
    timeoutMs: (seconds + 30) * 1000,
    passStderr: false,
  });
  const line = out.split('\n').find((l) => l.startsWith('KILN_BENCH '));
  if (!line) throw new Error(`wrk printed no result: ${out.slice(-300)}`);
  return JSON.parse(line.slice('KILN_BENCH '.length));
}

async function loadAutocannon({ url, bodies, seconds }) {
  const require = createRequire(import.meta.url);
  const autocannon = require('autocannon');
  const result = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: bodies.slice(0, 512).map((body) => ({ body })),
    connections: CONNECTIONS,
    duration: seconds,
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    reqPerSec: result.requests.total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    p999Ms: result.latency.p99_9,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** The open-loop paced generator (bench/lib/paced.mjs) in a process of its own: its heap and GC are not the bench's. */
async function loadPaced({ url, bodiesFile, seconds, rate }) {
  const opts = { url, bodiesFile, seconds, rate, connections: CONNECTIONS };
  const out = await run(process.execPath, [path.join(HERE, 'paced.mjs'), JSON.stringify(opts)], { timeoutMs: (seconds + 60) * 1000 });
  return JSON.parse(out.trim().split('\n').pop());
}

/**
 * The half-peak generator: kiln_paced when it builds (or KILN_BENCH_PACED=node says not to try),
 * else paced.mjs. Returns { generator, load, fallback } (fallback: why not kiln_paced, or null).
 */
async function halfPeakGenerator() {
  let why = null;
  if (process.env.KILN_BENCH_PACED === 'node') why = 'KILN_BENCH_PACED=node';
  else {
    try {
      log('building native/bench/kiln_paced (cmake, build/bench) for the half-peak run');
      const binary = await buildPacedGenerator();
      return { generator: NATIVE_PACED_GENERATOR, load: (opts) => nativePacedLoad(binary, { ...opts, connections: CONNECTIONS }), fallback: null };
    } catch (error) {
      why = `kiln_paced not built: ${error.message.slice(0, 300)}`;
    }
  }
  log(`half peak: load generator bench/lib/paced.mjs (${why})`);
  return { generator: { ...PACED_GENERATOR, fallback: why }, load: loadPaced, fallback: why };
}

function autocannonAvailable() {
  try {
    createRequire(import.meta.url).resolve('autocannon');
    return true;
  } catch {
    return false;
  }
}

/**
 * @param {object} o
 * @param {string} o.cacheDir  prepared models
 * @param {object[]} o.entries manifest entries with http: true and a Kiln model
 * @param {string|null} o.benchPython  .venv/bench python (gunicorn), or null
 * @param {number} o.seconds  per run; o.rounds  rounds; o.halfPeakSeconds
 * @param {Set<string>} o.peers selected peers
 */
export async function httpSection(o) {
  const results = { tool: null, connections: CONNECTIONS, seconds: o.seconds, rounds: o.rounds, runs: [], absent: {}, halfPeak: [], halfPeakGenerator: PACED_GENERATOR, rss: null };
  const wrk = onPath('wrk');
  const cannon = autocannonAvailable();
  if (!wrk && !cannon) {
    results.absent['*'] = 'no load generator: wrk is not on PATH and autocannon is not installed (npm install)';
    return results;
  }
  results.tool = wrk ? `wrk -t1 -c${CONNECTIONS}` : `autocannon -c ${CONNECTIONS}`;
  const dir = path.join(o.cacheDir, 'http');
  const modelsDir = path.join(dir, 'models');
  mkdirSync(modelsDir, { recursive: true });
  // Every bundled model is served (the memory target is a worker serving them), plus the bench's.
  for (const f of readdirSync(path.join(ROOT, 'models')).filter((n) => n.endsWith('.json'))) copyFileSync(path.join(ROOT, 'models', f), path.join(modelsDir, f));
  const bodies = {};
  for (const e of o.entries) {
    copyFileSync(e.kiln.path, path.join(modelsDir, `${e.id}.json`));
    bodies[e.id] = { file: path.join(dir, `${e.id}.bodies.jsonl`) };
    bodies[e.id].lines = writeBodies(o.cacheDir, e, bodies[e.id].file);
  }
  const servers = [];
  try {
    // Kiln
    const kilnPort = await freePort();
    const kiln = startServer(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--models', modelsDir, '--port', String(kilnPort), '--workers', '2', '--no-cache', '--log-level', 'warn']);
    servers.push(kiln);
    await waitReady(kiln, `http://127.0.0.1:${kilnPort}/v2/health/ready`, 'kiln serve');
    const first = o.entries[0];
    const reply = await (await fetch(`http://127.0.0.1:${kilnPort}/models/${first.id}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[first.id].lines[0] })).text();
    const replyFile = path.join(dir, 'noop-reply.json');
    writeFileSync(replyFile, reply);

    const targets = [];
    for (const e of o.entries) targets.push({ runner: 'kiln-serve', model: e.id, url: `http://127.0.0.1:${kilnPort}/models/${e.id}/predict`, bodies: bodies[e.id], pid: kiln.child.pid });

    // No-op Fastify (same bodies as the first model; the bundled models share one feature set)
    if (o.peers.has('fastify-noop')) {
      const noopPort = await freePort();
      const noop = startServer(process.execPath, [path.join(ROOT, 'bench', 'peers', 'noop-fastify.mjs'), String(noopPort), replyFile, '2']);
      servers.push(noop);
      await waitReady(noop, `http://127.0.0.1:${noopPort}/health`, 'no-op Fastify');
      targets.push({ runner: 'fastify-noop-parsed', model: first.id, url: `http://127.0.0.1:${noopPort}/noop/parsed`, bodies: bodies[first.id], pid: noop.child.pid });
      targets.push({ runner: 'fastify-noop-raw', model: first.id, url: `http://127.0.0.1:${noopPort}/noop/raw`, bodies: bodies[first.id] });
    } else {
      results.absent['fastify-noop-parsed'] = results.absent['fastify-noop-raw'] = 'not selected (--peers)';
    }

    // The seed's stack
    const gunicorn = o.benchPython ? path.join(path.dirname(o.benchPython), 'gunicorn') : null;
    if (!o.peers.has('flask-gunicorn')) results.absent['flask-gunicorn'] = 'not selected (--peers)';
    else if (!gunicorn || !onPath(gunicorn)) results.absent['flask-gunicorn'] = 'gunicorn/flask/gevent not installed: run bash scripts/setup-python.sh bench';
    else {
      try {
        const flaskPort = await freePort();
        const flask = startServer(gunicorn, ['-w', '2', '-k', 'gevent', '-b', `127.0.0.1:${flaskPort}`, '--chdir', path.join(ROOT, 'bench', 'peers'), 'flask_app:app'], {
          env: { KILN_BENCH_CACHE: o.cacheDir, KILN_BENCH_MODELS: o.entries.map((e) => e.id).join(',') },
        });
        servers.push(flask);
        await waitReady(flask, `http://127.0.0.1:${flaskPort}/health`, 'gunicorn');
        for (const e of o.entries) targets.push({ runner: 'flask-gunicorn', model: e.id, url: `http://127.0.0.1:${flaskPort}/models/${e.id}/predict`, bodies: bodies[e.id] });
      } catch (error) {
        results.absent['flask-gunicorn'] = `failed to start: ${error.message.slice(0, 300)}`;
      }
    }

    const load = (t, seconds) => (wrk ? loadWrk({ url: t.url, bodiesFile: t.bodies.file, seconds }) : loadAutocannon({ url: t.url, bodies: t.bodies.lines, seconds }));

    log(`HTTP: ${targets.length} targets x ${o.rounds} rounds x ${o.seconds} s (${results.tool}), warm-up first`);
    for (const t of targets) await load(t, 1);
    const perTarget = targets.map(() => []);
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < targets.length; k++) {
        const i = (k + r) % targets.length;
        const t = targets[i];
        const m = await load(t, o.seconds);
        perTarget[i].push(m);
        log(`  round ${r + 1}/${o.rounds} ${t.runner} ${t.model}: ${Math.round(m.reqPerSec)} req/s, p99 ${m.p99Ms.toFixed(2)} ms`);
      }
    }
    targets.forEach((t, i) => {
      const runs = perTarget[i];
      results.runs.push({
        runner: t.runner,
        model: t.model,
        reqPerSec: median(runs.map((m) => m.reqPerSec)),
        p50Ms: median(runs.map((m) => m.p50Ms)),
        p99Ms: median(runs.map((m) => m.p99Ms)),
        p999Ms: median(runs.map((m) => m.p999Ms)),
        errors: runs.reduce((s, m) => s + m.errors + m.non2xx, 0),
        samples: runs.map((m) => Math.round(m.reqPerSec)),
      });
    });

    // Kiln at half its peak, constant offered rate; the no-op route (JSON parsed) right after it
    // at the same rate on the same bodies, so a tail the no-op route shares is the machine's.
    const noopParsed = targets.find((x) => x.runner === 'fastify-noop-parsed');
    const halfPeak = await halfPeakGenerator();
    results.halfPeakGenerator = halfPeak.generator;
    for (const t of targets.filter((x) => x.runner === 'kiln-serve')) {
      const peak = results.runs.find((x) => x.runner === t.runner && x.model === t.model).reqPerSec;
      const rate = Math.max(1, Math.round(peak / 2));
      const pair = [t, ...(noopParsed ? [{ ...noopParsed, bodies: t.bodies }] : [])];
      for (const u of pair) {
        const before = cpuSnapshot(u.pid);
        const m = await halfPeak.load({ url: u.url, bodiesFile: u.bodies.file, seconds: o.halfPeakSeconds, rate });
        const server = cpuRate(before, cpuSnapshot(u.pid)); // over the run and its drain, a little longer than the offered seconds
        results.halfPeak.push({
          runner: u.runner,
          model: t.model,
          offeredReqPerSec: rate,
          achievedReqPerSec: m.achieved,
          p50Ms: m.p50,
          p99Ms: m.p99,
          p999Ms: m.p999,
          maxMs: m.max,
          serviceP99Ms: m.serviceP99,
          senderLateP99Ms: m.lateP99,
          generatorCpuUsPerRequest: m.generatorCpuUsPerRequest,
          generatorCpuMsPerS: (m.generatorCpuUsPerRequest * m.achieved) / 1000,
          serverCpuMsPerS: server?.cpuMsPerS ?? null,
          serverCpuUsPerRequest: server ? (server.cpuMsPerS * 1000) / m.achieved : null,
          serverWaitMsPerS: server?.waitMsPerS ?? null,
          errors: m.errors,
        });
        const budget = server ? `; CPU of the 2 cores: server ${Math.round(server.cpuMsPerS)} ms/s (waiting for a core ${Math.round(server.waitMsPerS)} ms/s), generator ${Math.round((m.generatorCpuUsPerRequest * m.achieved) / 1000)} ms/s` : '';
        log(`  half peak ${u.runner} ${t.model}: ${rate} req/s offered, p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, p99.9 ${m.p999.toFixed(2)} ms (load generator ${Math.round(m.generatorCpuUsPerRequest)} µs CPU per request${budget})`);
      }
    }
    results.rss = { kilnWorkersMiB: childrenRssMiB(kiln.child.pid), models: readdirSync(modelsDir).map((f) => f.replace(/\.json$/, '')) };
  } finally {
    for (const s of servers) await stopServer(s);
  }
  return results;
}
