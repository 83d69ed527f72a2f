// Server CPU per request over real loopback HTTP, one server process per target (no cluster), so
// the figure is the server's own cost and not the shared machine's: utime+stime of the server
// process (all its threads, from /proc) over a wrk run of fixed duration, / requests answered.
// Targets alternate round by round; the report gives the median and the minimum over rounds.
//   node bench/dev/cpu.mjs [--rounds 5] [--seconds 4] [--targets a,b,...] [--before DIR] [--prof DIR]
// Targets: parsed, raw (bench/peers/noop-fastify.mjs, workers 0, answering Kiln's logreg reply),
// logreg, rf, gbm (POST /models/breast_cancer_<m>/predict, `kiln serve --workers 0 --no-cache`,
// one jittered record per request cycling 4,096 distinct bodies as the bench does), v2-logreg
// (POST /v2/models/breast_cancer_logreg/infer, one FP64 [1,30] tensor); `before:<target>` serves
// the same through another checkout's dist/ (--before DIR, a directory holding dist/, build/,
// models/, package.json, node_modules/). --prof DIR runs the Kiln servers under
// `node --cpu-prof` and writes their profiles to DIR (the figures then include the profiler).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { benchRows } from './rows.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: opt } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '4' },
    targets: { type: 'string', default: 'parsed,raw,logreg,rf,gbm,v2-logreg' },
    before: { type: 'string' },
    prof: { type: 'string' },
    connections: { type: 'string', default: '32' },
  },
});
const ROUNDS = Number(opt.rounds);
const SECONDS = Number(opt.seconds);
const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const tmp = mkdtempSync(path.join(os.tmpdir(), 'kiln-cpu-'));

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** utime + stime of one process (all its threads), in µs. */
const cpuUs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
};

// Bodies: one file per model (one JSON body per line), as the bench's wrk script reads them.
const MODELS = { logreg: 'breast_cancer_logreg', rf: 'breast_cancer_rf', gbm: 'breast_cancer_gbm' };
const bodyFiles = {};
for (const [short, name] of Object.entries(MODELS)) {
  const { records } = benchRows(path.join(ROOT, 'models', `${name}.json`), 4096);
  bodyFiles[short] = path.join(tmp, `${short}.jsonl`);
  writeFileSync(bodyFiles[short], `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
}
{
  const { matrix, names } = benchRows(path.join(ROOT, 'models', 'breast_cancer_logreg.json'), 4096);
  const w = names.length;
  const lines = [];
  for (let r = 0; r < 4096; r++) {
    lines.push(JSON.stringify({ inputs: [{ name: 'input', shape: [1, w], datatype: 'FP64', data: Array.from(matrix.subarray(r * w, (r + 1) * w)) }] }));
  }
  bodyFiles['v2-logreg'] = path.join(tmp, 'v2-logreg.jsonl');
  writeFileSync(bodyFiles['v2-logreg'], `${lines.join('\n')}\n`);
}

const servers = [];
async function start(args, readyPath, port) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  servers.push(child);
  for (let i = 0; i < 300; i++) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      if (r.ok) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server ${args.join(' ')} did not start`);
}
const stopAll = async () => {
  for (const s of servers) {
    if (s.exitCode === null) {
      const exited = new Promise((r) => s.once('exit', r));
      s.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10000))]);
    }
  }
};

// The no-op peer has no signal handler: one is preloaded so that SIGINT exits cleanly and the profile is written.
const EXIT_ON_SIGINT = 'data:text/javascript,process.on("SIGINT",()=>process.exit(0))';
const profArgs = (name) => (opt.prof ? ['--import', EXIT_ON_SIGINT, '--cpu-prof', '--cpu-prof-interval', '500', '--cpu-prof-dir', opt.prof, '--cpu-prof-name', `${name}.cpuprofile`] : []);
const kilnServer = async (root, name) => {
  const port = await freePort();
  const child = await start([...profArgs(name), path.join(root, 'dist', 'cli.js'), 'serve', '--workers', '0', '--no-cache', '--log-level', 'warn', '--port', String(port)], '/v2/health/ready', port);
  return { port, child };
};

const targets = opt.targets.split(',');
const wanted = new Set(targets.map((t) => (t.startsWith('before:') ? 'before' : ['parsed', 'raw'].includes(t) ? 'noop' : 'kiln')));
const procs = {};
if (wanted.has('kiln')) procs.kiln = await kilnServer(ROOT, 'kiln');
if (wanted.has('before')) procs.before = await kilnServer(path.resolve(opt.before), 'before');
if (wanted.has('noop')) {
  const port = await freePort();
  const reply = path.join(tmp, 'reply.json');
  const anyKiln = procs.kiln ?? procs.before;
  const text = anyKiln
    ? await (await fetch(`http://127.0.0.1:${anyKiln.port}/models/breast_cancer_logreg/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(bodyFiles.logreg, 'utf8').split('\n')[0] })).text()
    : '{"label":1,"probabilities":[0.01,0.99]}';
  writeFileSync(reply, text);
  const child = await start([...profArgs('noop'), path.join(ROOT, 'bench', 'peers', 'noop-fastify.mjs'), String(port), reply, '0'], '/health', port);
  procs.noop = { port, child };
}

function urlOf(target) {
  const base = target.startsWith('before:') ? target.slice('before:'.length) : target;
  const proc = target.startsWith('before:') ? procs.before : ['parsed', 'raw'].includes(base) ? procs.noop : procs.kiln;
  const url =
    base === 'parsed' || base === 'raw'
      ? `/noop/${base}`
      : base === 'v2-logreg'
        ? '/v2/models/breast_cancer_logreg/infer'
        : `/models/${MODELS[base]}/predict`;
  const bodies = base === 'parsed' || base === 'raw' ? bodyFiles.logreg : bodyFiles[base];
  return { url: `http://127.0.0.1:${proc.port}${url}`, pid: proc.child.pid, bodies };
}

const served = new Map(); // pid -> requests answered (warm-up included), for profiles
function wrk(url, bodies, seconds, pid) {
  const out = execFileSync('wrk', ['-t1', `-c${opt.connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', path.join(ROOT, 'bench', 'lib', 'wrk-bodies.lua'), url], {
    env: { ...process.env, KILN_BENCH_BODIES: bodies },
    encoding: 'utf8',
  });
  const line = out.split('\n').find((l) => l.startsWith('KILN_BENCH '));
  const r = JSON.parse(line.slice('KILN_BENCH '.length));
  if (r.errors > 0 || r.non2xx > 0) throw new Error(`${url}: ${r.errors} errors, ${r.non2xx} non-2xx`);
  served.set(pid, (served.get(pid) ?? 0) + r.requests);
  return r;
}

try {
  // Warm-up: JIT, caches, connections.
  for (const t of targets) {
    const { url, bodies, pid } = urlOf(t);
    wrk(url, bodies, 1, pid);
  }
  const results = Object.fromEntries(targets.map((t) => [t, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + round) % targets.length];
      const { url, pid, bodies } = urlOf(t);
      const c0 = cpuUs(pid);
      const r = wrk(url, bodies, SECONDS, pid);
      const us = (cpuUs(pid) - c0) / r.requests;
      results[t].push({ us, rps: r.reqPerSec });
      process.stderr.write(`round ${round + 1} ${t}: ${us.toFixed(1)} µs CPU/request (${r.requests} requests, ${r.reqPerSec.toFixed(0)} req/s)\n`);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
  console.log(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${SECONDS} s, wrk -t1 -c${opt.connections}`);
  console.log('| target | CPU µs/request, median | min | req/s median |');
  console.log('|---|---|---|---|');
  for (const t of targets) {
    const us = results[t].map((x) => x.us);
    console.log(`| ${t} | ${med(us).toFixed(1)} | ${Math.min(...us).toFixed(1)} | ${med(results[t].map((x) => x.rps)).toFixed(0)} |`);
  }
  for (const [name, p] of Object.entries(procs)) console.log(`${name} (pid ${p.child.pid}) answered ${served.get(p.child.pid) ?? 0} requests`);
} finally {
  await stopAll();
}
