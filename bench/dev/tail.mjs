// Tail latency at a constant offered rate: Kiln's predict route against the no-op Fastify route
// (JSON parsed) under the same load in the same run, with these load methods:
//   autocannon  what `kiln bench` used: autocannon -c 32 with overallRate (its own CO-corrected
//               percentiles as printed, plus the raw per-response latencies it measured)
//   paced       bench/lib/paced.mjs: an open-loop schedule, latency from each request's scheduled
//               send time (what a caller sees, queueing included)
//   vegeta      bench/dev/vegeta.mjs: vegeta's constant pacer (Go), latency restored to run from
//               the due time (KILN_VEGETA=path, else the one bench/dev/setup-vegeta.sh built);
//               vegeta-1p: the same with GOMAXPROCS=1
//   oha         bench/dev/oha.mjs: oha -q with --latency-correction, its own figures (KILN_OHA=path)
//   native      native/bench/kiln_paced (C++, what `kiln bench` uses when it builds; built here with
//               CMake in build/bench): paced.mjs's schedule and figures, woken by the schedule only,
//               responses timed by the kernel's receive stamps; native-responses: the same woken by
//               responses too and timing them when read (its fallback where stamps are missing)
// Each server process runs bench/dev/eld-preload.mjs: event-loop delay, stalls and GC pauses per
// second, so a server stall can be told from a load-generator or scheduler artefact.
// The last lines: per method and target, medians over the rounds of p99, the generator's lag, its
// CPU per request, the workers' CPU per request and their wait for a core.
//   node bench/dev/tail.mjs [--rate 4000] [--seconds 10] [--methods autocannon,paced,vegeta,vegeta-1p]
//        [--targets kiln,parsed] [--model breast_cancer_logreg] [--connections 32] [--rounds 1]
//        [--nice-loadgen]  (re-runs itself under `nice -n 10`)
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { freePort, startServer, stopAll, waitReady } from '../lib/processes.mjs';
import { pacedLoad } from '../lib/paced.mjs';
import { buildPacedGenerator, nativePacedLoad } from '../lib/paced-native.mjs';
import { ohaLoad } from './oha.mjs';
import { vegetaAvailable, vegetaLoad } from './vegeta.mjs';
import { benchRows } from './rows.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const RATE = Number(opt('rate', 4000));
const SECONDS = Number(opt('seconds', 10));
const METHODS = opt('methods', 'autocannon,paced').split(',');
const TARGETS = opt('targets', 'kiln,parsed').split(',');
const MODEL = opt('model', 'breast_cancer_logreg');
const CONNECTIONS = Number(opt('connections', 32));
const ROUNDS = Number(opt('rounds', 1));
const ELD_LOG = process.env.KILN_ELD_LOG_FILE ?? path.join(os.tmpdir(), `kiln-eld-${process.pid}.jsonl`);

function pct(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function autocannonRun(url, bodies) {
  const autocannon = createRequire(import.meta.url)('autocannon');
  const raw = [];
  const t0 = Date.now();
  const inst = autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: bodies.map((body) => ({ body })),
    connections: CONNECTIONS,
    duration: SECONDS,
    overallRate: RATE,
  });
  const perClient = new Map();
  inst.on('response', (client, _status, _bytes, ms) => {
    const i = (perClient.get(client) ?? 0) + 1;
    perClient.set(client, i);
    raw.push([Date.now() - t0, ms, i]);
  });
  const result = await inst;
  const lat = raw.map((r) => r[1]).sort((a, b) => a - b);
  // autocannon's own correction replayed on the raw samples: each response of L ms is recorded
  // with recordValueWithExpectedInterval(L, Math.ceil(1 / perConnectionRate)) = (L, 1 ms), i.e.
  // as L, L-1, ..., 1 ms: a response is weighted by its own length in ms.
  const replay = [];
  for (const v of lat) for (let m = v; m >= 1; m -= 1) replay.push(m === v ? v : Math.round(m));
  replay.sort((a, b) => a - b);
  // Without each connection's first response (the one charged with autocannon's own setup).
  const steady = raw.filter((r) => r[2] > 1).map((r) => r[1]).sort((a, b) => a - b);
  const slow = raw.filter((r) => r[1] > 50).map((r) => `${Math.round(r[1])}@${(r[0] / 1000).toFixed(2)}s#${r[2]}`);
  // Where in autocannon's 1-second rate window each request finished (0-9 tenths): its pacing.
  const tenths = new Array(10).fill(0);
  for (const [t] of raw) tenths[Math.floor((t % 1000) / 100)]++;
  return {
    achieved: result.requests.total / result.duration,
    reported: { p50: result.latency.p50, p99: result.latency.p99, p999: result.latency.p99_9 },
    raw: { n: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), p999: pct(lat, 99.9), max: lat[lat.length - 1] },
    over10: lat.filter((v) => v > 10).length,
    steady: { p50: pct(steady, 50), p99: pct(steady, 99), p999: pct(steady, 99.9) },
    replayed: { p50: pct(replay, 50), p99: pct(replay, 99), p999: pct(replay, 99.9) },
    slow,
    tenths,
    errors: result.errors + result.timeouts + result.non2xx,
    t0,
  };
}

async function vegetaRun(url, bodies, env) {
  const binary = process.env.KILN_VEGETA ?? vegetaAvailable();
  if (!binary) throw new Error('vegeta is not installed: bash bench/dev/setup-vegeta.sh (or KILN_VEGETA=path)');
  const t0 = Date.now();
  const r = await vegetaLoad({ binary, url, bodies, rate: RATE, seconds: SECONDS, connections: CONNECTIONS, env });
  return { ...r, t0 };
}

async function ohaRun(url, bodies) {
  if (!process.env.KILN_OHA) throw new Error('KILN_OHA=path to an oha binary');
  const t0 = Date.now();
  const r = await ohaLoad({ binary: process.env.KILN_OHA, url, bodies, rate: RATE, seconds: SECONDS, connections: CONNECTIONS });
  return { ...r, t0 };
}

let nativeBinary = null;
async function nativeRun(url, bodies, wake) {
  nativeBinary ??= process.env.KILN_PACED_BIN ?? (await buildPacedGenerator());
  const bodiesFile = path.join(os.tmpdir(), `kiln-tail-bodies-${process.pid}.jsonl`);
  (await import('node:fs')).writeFileSync(bodiesFile, `${bodies.join('\n')}\n`);
  const t0 = Date.now();
  try {
    const r = await nativePacedLoad(nativeBinary, { url, bodiesFile, rate: RATE, seconds: SECONDS, connections: CONNECTIONS, wake });
    return { ...r, t0 };
  } finally {
    rmSync(bodiesFile, { force: true });
  }
}

async function pacedRun(url, bodies) {
  const t0 = Date.now();
  const r = await pacedLoad({ url, bodies, rate: RATE, seconds: SECONDS, connections: CONNECTIONS });
  return { ...r, t0 };
}

function eldSummary(from, to, pids) {
  let lines = [];
  try {
    lines = readFileSync(ELD_LOG, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  } catch {
    return null;
  }
  const mine = lines.filter((l) => pids.includes(l.pid) && l.t > from + 1000 && l.t <= to + 500);
  const stalls = mine.flatMap((l) => l.stalls.map(([t, ms, wait]) => ({ pid: l.pid, t: t - from, ms, wait: wait ?? 0 })));
  const gcs = mine.flatMap((l) => l.gcs);
  return {
    seconds: mine.length,
    worstP99: Math.max(0, ...mine.map((l) => l.p99)),
    worstMax: Math.max(0, ...mine.map((l) => l.max)),
    stalls: stalls.length,
    stallMs: stalls.slice(0, 12).map((s) => `${s.ms}(${s.wait})@${(s.t / 1000).toFixed(2)}s`).join(' '),
    stallTotal: stalls.reduce((a, s) => a + s.ms, 0),
    stallWait: stalls.reduce((a, s) => a + Math.min(s.ms, s.wait), 0),
    gcCount: gcs.length,
    waitMsPerS: mine.length ? Math.round(mine.reduce((a, l) => a + (l.waitMs ?? 0), 0) / (mine.length / pids.length)) : 0,
    cpuMsPerS: mine.length ? Math.round(mine.reduce((a, l) => a + (l.cpuMs ?? 0), 0) / (mine.length / pids.length)) : 0,
    scavenges: gcs.filter((g) => g[2] === 1).length,
    scavengeMs: +gcs.filter((g) => g[2] === 1).reduce((a, g) => a + g[1], 0).toFixed(1),
    newSpaceMiB: Math.max(0, ...mine.map((l) => l.newSpaceMiB ?? 0)),
    gcMaxMs: Math.max(0, ...gcs.map((g) => g[1])),
    gcTotalMs: +gcs.reduce((s, g) => s + g[1], 0).toFixed(1),
  };
}

function childPids(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function main() {
  if (args.includes('--nice-loadgen') && !process.env.KILN_TAIL_NICED) {
    const child = spawn('nice', ['-n', '10', process.execPath, ...process.argv.slice(1).filter((a) => a !== '--nice-loadgen')], {
      stdio: 'inherit',
      env: { ...process.env, KILN_TAIL_NICED: '1' },
    });
    child.on('exit', (code) => process.exit(code ?? 1));
    return;
  }
  rmSync(ELD_LOG, { force: true });
  // KILN_TAIL_SERVER_FLAGS: extra V8/Node flags for the servers (e.g. --max-semi-space-size=32).
  const env = { KILN_ELD_LOG: ELD_LOG, NODE_OPTIONS: `--import ${pathToFileURL(path.join(HERE, 'eld-preload.mjs')).href} ${process.env.KILN_TAIL_SERVER_FLAGS ?? ''}` };
  const bodies = benchRows(path.join(ROOT, 'models', `${MODEL}.json`), 512).records.map((r) => JSON.stringify(r));
  const kport = await freePort();
  const nport = await freePort();
  const kiln = startServer(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'serve', '--models', path.join(ROOT, 'models'), '--port', String(kport), '--workers', '2', '--no-cache', '--log-level', 'warn'], { env });
  await waitReady(kiln, `http://127.0.0.1:${kport}/v2/health/ready`, 'kiln serve');
  const replyFile = path.join(os.tmpdir(), `kiln-tail-reply-${process.pid}.json`);
  const reply = await (await fetch(`http://127.0.0.1:${kport}/models/${MODEL}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] })).text();
  (await import('node:fs')).writeFileSync(replyFile, reply);
  const noop = startServer(process.execPath, [path.join(ROOT, 'bench', 'peers', 'noop-fastify.mjs'), String(nport), replyFile, '2'], { env });
  await waitReady(noop, `http://127.0.0.1:${nport}/health`, 'no-op');
  const urls = { kiln: `http://127.0.0.1:${kport}/models/${MODEL}/predict`, parsed: `http://127.0.0.1:${nport}/noop/parsed`, raw: `http://127.0.0.1:${nport}/noop/raw` };
  const pids = { kiln: childPids(kiln.child.pid), parsed: childPids(noop.child.pid), raw: childPids(noop.child.pid) };
  console.log(`rate ${RATE}/s, ${SECONDS} s, ${CONNECTIONS} connections, model ${MODEL}, load generator nice ${os.getPriority()}, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  // Warm-up: JIT both servers.
  for (const t of TARGETS) await pacedLoad({ url: urls[t], bodies, rate: 1000, seconds: 2, connections: 8 });
  const summary = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const method of METHODS) {
      for (const t of TARGETS) {
        const r = method === 'autocannon' ? await autocannonRun(urls[t], bodies) : method === 'vegeta' ? await vegetaRun(urls[t], bodies) : method === 'vegeta-1p' ? await vegetaRun(urls[t], bodies, { GOMAXPROCS: '1' }) : method === 'oha' ? await ohaRun(urls[t], bodies) : method === 'native' ? await nativeRun(urls[t], bodies) : method === 'native-responses' ? await nativeRun(urls[t], bodies, 'responses') : await pacedRun(urls[t], bodies);
        await new Promise((res) => setTimeout(res, 1500)); // the preload's last second lands
        const eld = eldSummary(r.t0, Date.now(), pids[t]);
        const f = (x) => (typeof x === 'number' ? x.toFixed(2) : x);
        if (method === 'autocannon') {
          console.log(`${method.padEnd(10)} ${t.padEnd(6)} achieved ${r.achieved.toFixed(0)}/s  reported p50/p99/p99.9 ${r.reported.p50}/${r.reported.p99}/${r.reported.p999} ms  raw p50/p99/p99.9/max ${f(r.raw.p50)}/${f(r.raw.p99)}/${f(r.raw.p999)}/${f(r.raw.max)} ms  >10ms ${r.over10}/${r.raw.n}  errors ${r.errors}`);
          console.log(`           raw without each connection's first response: p50/p99/p99.9 ${f(r.steady.p50)}/${f(r.steady.p99)}/${f(r.steady.p999)} ms`);
          console.log(`           raw samples replayed with autocannon's 1 ms correction: p50/p99/p99.9 ${f(r.replayed.p50)}/${f(r.replayed.p99)}/${f(r.replayed.p999)} ms; ${r.slow.length} responses > 50 ms: ${r.slow.slice(0, 16).join(' ')}`);
          console.log(`           completions per tenth of autocannon's 1 s window: ${r.tenths.join(' ')}`);
        } else {
          console.log(`${method.padEnd(10)} ${t.padEnd(6)} achieved ${r.achieved.toFixed(0)}/s  p50/p99/p99.9/max ${f(r.p50)}/${f(r.p99)}/${f(r.p999)}/${f(r.max)} ms  service-only p99 ${f(r.serviceP99)} ms  sender late p99/max ${f(r.lateP99)}/${f(r.lateMax)} ms  generator CPU ${Math.round(r.generatorCpuUsPerRequest)} µs/request  >10ms ${r.over10}/${r.n}  errors ${r.errors}`);
        }
        if (eld) console.log(`           workers (together): CPU ${eld.cpuMsPerS} ms/s, runnable but waiting for a core ${eld.waitMsPerS} ms/s`);
        if (method !== 'autocannon') summary.push({ method, t, p99: r.p99, late: r.lateP99, gen: r.generatorCpuUsPerRequest, srv: eld ? (eld.cpuMsPerS * 1000) / r.achieved : NaN, wait: eld?.waitMsPerS ?? NaN, errors: r.errors });
        if (eld && method !== 'autocannon') {
          // The 2 cores' budget (2,000 ms of CPU per second): the servers' share and the generator's.
          const genMsPerS = (r.generatorCpuUsPerRequest * r.achieved) / 1000;
          console.log(`           CPU budget: workers ${eld.cpuMsPerS} ms/s (${Math.round((eld.cpuMsPerS * 1000) / r.achieved)} µs/request) + generator ${Math.round(genMsPerS)} ms/s = ${Math.round(eld.cpuMsPerS + genMsPerS)} of 2,000 ms/s; load average ${os.loadavg()[0].toFixed(2)}`);
        }
        if (eld) console.log(`           server loop: worst p99 ${f(eld.worstP99)} ms, worst max ${f(eld.worstMax)} ms, stalls>10ms ${eld.stalls}, ${eld.stallTotal} ms of which ${eld.stallWait} ms runnable waiting for a core [len(run-queue wait)@time: ${eld.stallMs}], GC ${eld.gcCount} pauses, max ${eld.gcMaxMs} ms, total ${eld.gcTotalMs} ms; scavenges ${eld.scavenges} (${eld.scavengeMs} ms), new space up to ${eld.newSpaceMiB} MiB`);
      }
    }
  }
  // Medians over the rounds (and the range): what each generator costs and reports.
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
  console.log('\nmethod     target  p99 ms (median; range)   sender late p99 ms   generator CPU µs/request   workers CPU µs/request   workers waiting for a core ms/s   errors');
  for (const method of METHODS.filter((m) => m !== 'autocannon')) {
    for (const t of TARGETS) {
      const rs = summary.filter((x) => x.method === method && x.t === t);
      const col = (k, d = 1) => `${med(rs.map((x) => x[k])).toFixed(d)} (${Math.min(...rs.map((x) => x[k])).toFixed(d)}-${Math.max(...rs.map((x) => x[k])).toFixed(d)})`;
      console.log(`${method.padEnd(10)} ${t.padEnd(7)} ${col('p99', 2).padEnd(24)} ${col('late', 2).padEnd(20)} ${col('gen', 0).padEnd(26)} ${col('srv', 0).padEnd(24)} ${col('wait', 0).padEnd(33)} ${rs.reduce((a, x) => a + x.errors, 0)}`);
    }
  }
}

try {
  await main();
} finally {
  await stopAll();
}
