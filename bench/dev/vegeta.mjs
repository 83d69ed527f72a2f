// vegeta (github.com/tsenart/vegeta, Go) as a constant-rate load generator, for comparison with
// bench/lib/paced.mjs (bench/dev/tail.mjs --methods paced,vegeta): version pinned in
// bench/dev/loadgen/go.mod with every module's hash in go.sum, built by
// `bash bench/dev/setup-vegeta.sh` into the bench cache (bench/.cache/tools/). Not the bench's
// generator: on this machine it costs more CPU per request than paced.mjs (docs/benchmarks.md,
// "Load generators").
//
// vegeta is open loop: a constant pacer, and when every worker is busy it starts another rather
// than delaying the schedule.
// Its latency runs from the moment a worker picks up a tick, not from the tick's due time. The
// due time is restored here from its results: request seq k (0-based) is due at
// start + (k+1)/rate (vegeta's ConstantPacer), start being estimated as the least-late request's
// send time minus its offset in the schedule. So the figure has paced.mjs's semantics (what a
// caller sending on schedule sees, the generator's own lag counted against the server: no
// coordinated omission), and "service" is vegeta's own latency, from the send.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { latencySummary } from '../lib/paced.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
export const LOADGEN_DIR = path.join(HERE, 'loadgen');
const CLK_TCK = 100; // /proc/<pid>/stat times are in clock ticks: 100 per second on Linux (USER_HZ)

/** The vegeta version go.mod pins (the one place it is written). */
export function vegetaVersion() {
  const mod = readFileSync(path.join(LOADGEN_DIR, 'go.mod'), 'utf8');
  const m = /github\.com\/tsenart\/vegeta\/v12 (v[\w.-]+)/.exec(mod);
  if (!m) throw new Error('bench/dev/loadgen/go.mod pins no vegeta version');
  return m[1];
}

/** Where bench/dev/setup-vegeta.sh puts the binary: the bench cache, one directory per version. */
export function vegetaPath(cacheRoot = path.join(ROOT, 'bench', '.cache')) {
  return path.join(cacheRoot, 'tools', `vegeta-${vegetaVersion()}`, 'vegeta');
}

export function vegetaAvailable(cacheRoot) {
  const p = vegetaPath(cacheRoot);
  return existsSync(p) ? p : null;
}

/**
 * Runs `argv` under sh and resolves with its exit code and the CPU (µs, user+system) it and its
 * children used: the shell reads its own cutime+cstime (fields 16, 17 of /proc/<pid>/stat) after
 * waiting for the command, so the figure is exact, not sampled.
 */
export function runTimed(argv, { timeoutMs, env }) {
  return new Promise((resolve, reject) => {
    const script = '"$@"; s=$?; read -r stat < /proc/$$/stat; echo "KILN_CPU ${stat##*) }" >&2; exit $s';
    const child = spawn('sh', ['-c', script, 'sh', ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let err = '';
    child.stderr.on('data', (c) => (err += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = err.split('\n').find((l) => l.startsWith('KILN_CPU '));
      // After "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
      const f = line ? line.slice('KILN_CPU '.length).trim().split(/\s+/) : [];
      const cpuUs = f.length > 14 ? ((Number(f[13]) + Number(f[14])) * 1e6) / CLK_TCK : NaN;
      resolve({ code, cpuUs, stderr: err.replace(/^KILN_CPU .*$/m, '').trim() });
    });
  });
}

/** Nanoseconds since the epoch of an RFC 3339 timestamp with up to 9 fractional digits. */
function epochNs(ts) {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(ts);
  if (!m) throw new Error(`vegeta: unexpected timestamp ${ts}`);
  return BigInt(Date.parse(m[1] + m[3])) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * @param {object} o
 * @param {string} o.binary  vegeta
 * @param {string} o.url  POST target
 * @param {string[]} o.bodies  request bodies, cycled in order
 * @param {number} o.rate  offered requests per second
 * @param {number} o.seconds  how long requests are offered
 * @param {number} o.connections  at most this many connections (keep-alive), as paced.mjs's pool
 * @param {object} [o.env]  extra environment for vegeta (e.g. GOMAXPROCS)
 * @returns {Promise<object>} the fields of paced.mjs's pacedLoad, ms (generatorCpuUsPerRequest: µs)
 */
export async function vegetaLoad({ binary, url, bodies, rate, seconds, connections, contentType = 'application/json', env }) {
  const dir = path.join(os.tmpdir(), `kiln-vegeta-${process.pid}-${Date.now()}`);
  const targets = `${dir}.targets.jsonl`;
  const results = `${dir}.bin`;
  try {
    const header = { 'Content-Type': [contentType] };
    writeFileSync(targets, `${bodies.map((b) => JSON.stringify({ method: 'POST', url, header, body: Buffer.from(b).toString('base64') })).join('\n')}\n`);
    const attack = await runTimed(
      [binary, 'attack', '-format=json', `-targets=${targets}`, `-rate=${rate}/1s`, `-duration=${seconds}s`, `-max-connections=${connections}`, `-connections=${connections}`, '-http2=false', '-max-body=0', '-timeout=10s', `-output=${results}`],
      { timeoutMs: (seconds + 60) * 1000, env },
    );
    if (attack.code !== 0) throw new Error(`vegeta attack exit ${attack.code}: ${attack.stderr.slice(-300)}`);
    const encoded = await new Promise((resolve, reject) => {
      const child = spawn(binary, ['encode', '-to=json', results], { stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks = [];
      child.stdout.on('data', (c) => chunks.push(c));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`vegeta encode exit ${code}`))));
    });
    return summarize(encoded, rate, attack.cpuUs);
  } finally {
    rmSync(targets, { force: true });
    rmSync(results, { force: true });
  }
}

/** paced.mjs's figures from vegeta's results (JSON lines), latency restored to run from the due time. */
export function summarize(jsonLines, rate, cpuUs) {
  const rows = jsonLines.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const intervalNs = 1e9 / rate;
  const sent = rows.map((r) => epochNs(r.timestamp));
  // The schedule's start: no request is sent before its due time, so the least-late one fixes it.
  let start = null;
  rows.forEach((r, i) => {
    const s = sent[i] - BigInt(Math.round((r.seq + 1) * intervalNs));
    if (start === null || s < start) start = s;
  });
  const latency = [];
  const service = [];
  const late = [];
  let errors = 0;
  let firstSent = null;
  let lastDone = null;
  rows.forEach((r, i) => {
    const lateMs = Number(sent[i] - start - BigInt(Math.round((r.seq + 1) * intervalNs))) / 1e6;
    late.push(lateMs);
    if (r.code !== 200 || r.error) {
      errors++;
      return;
    }
    const serviceMs = r.latency / 1e6;
    service.push(serviceMs);
    latency.push(lateMs + serviceMs);
    const done = sent[i] + BigInt(r.latency);
    if (firstSent === null || sent[i] < firstSent) firstSent = sent[i];
    if (lastDone === null || done > lastDone) lastDone = done;
  });
  const elapsed = firstSent === null ? 1 : Number(lastDone - start) / 1e9;
  return latencySummary({ latency, service, late, errors, elapsed, generatorCpuUs: cpuUs, issued: rows.length });
}
