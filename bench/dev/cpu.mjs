// Server CPU per request over real loopback HTTP, one server process per target (no cluster), so
// the figure is the server's own cost and not the shared machine's: utime+stime of the server
// process (all its threads, from /proc) over a wrk run of fixed duration, / requests answered.
// Targets alternate round by round; the report gives the median and the minimum over rounds.
//   node bench/dev/cpu.mjs [--rounds 5] [--seconds 4] [--targets a,b,...] [--before DIR] [--prof DIR]
// Targets: parsed, raw (bench/peers/noop-fastify.mjs, workers 0, answering Kiln's logreg reply),
// logreg, rf, gbm (POST /models/breast_cancer_<m>/predict, `kiln serve --workers 0 --no-cache`,
// one jittered record per request cycling 4,096 distinct bodies as the bench does), v2-logreg
// (POST /v2/models/breast_cancer_logreg/infer, one FP64 [1,30] tensor), v1-logreg (POST
// /v1/models/breast_cancer_logreg:predict, {"instances": [one record]}); `before:<target>` serves
// the same through another checkout's dist/ (--before DIR, a directory holding dist/, build/,
// models/, package.json, node_modules/); before:app-parsed / before:app-raw: the no-op routes
// inside that checkout's app (bisect-server.mjs of this checkout, KILN_BISECT_ROOT=DIR). --prof DIR runs the Kiln servers under
// `node --cpu-prof` and writes their profiles to DIR/<server>/ (the figures then include the
// profiler; a bisect server also writes its module-hooks thread's small profile there).
// Bisection (bench/dev/bisect-server.mjs): app-parsed, app-raw are the no-op routes inside Kiln's
// own app; a target `<t>@<switch>+<switch>` is served by a bisect server with those features of
// Kiln off (KILN_BISECT_OFF), one process per distinct switch set, e.g. logreg@pressure+swagger;
// switches starting with "--" are Node/V8 flags of that server instead (parsed@--max-semi-space-size=16).
// --kiln-server SCRIPT serves the plain Kiln targets with SCRIPT instead of dist/cli.js.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
    'kiln-server': { type: 'string' },
    'loop-stats': { type: 'boolean', default: false },
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
  const { records } = benchRows(path.join(ROOT, 'models', 'breast_cancer_logreg.json'), 4096);
  bodyFiles['v1-logreg'] = path.join(tmp, 'v1-logreg.jsonl');
  writeFileSync(bodyFiles['v1-logreg'], `${records.map((r) => JSON.stringify({ instances: [r] })).join('\n')}\n`);
}

const servers = [];
async function start(args, readyPath, port, env) {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...(env ?? process.env), KILN_LOOP_STATS_DIR: statsDir } });
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
const STATS_PRELOAD = path.join(ROOT, 'bench', 'dev', 'loop-stats-preload.mjs');
const statsDir = path.join(tmp, 'stats');
if (opt['loop-stats']) mkdirSync(statsDir);
const profArgs = (name) => [...(opt['loop-stats'] ? ['--import', pathToFileURL(STATS_PRELOAD).href] : []), ...profArgs0(name)];
const profArgs0 = (name) => (opt.prof ? ['--import', EXIT_ON_SIGINT, '--cpu-prof', '--cpu-prof-interval', '500', '--cpu-prof-dir', path.join(opt.prof, name)] : []);
const BISECT = path.join(ROOT, 'bench', 'dev', 'bisect-server.mjs');
/** Node flags and bisect switches of a target's `@a+b` suffix (flags start with "--"). */
const switchesOf = (sw) => {
  const all = sw === undefined ? [] : sw.split('+').filter(Boolean);
  return { flags: all.filter((x) => x.startsWith('--')), off: all.filter((x) => !x.startsWith('--')) };
};
const kilnServer = async (root, name, script = path.join(root, 'dist', 'cli.js'), sw = undefined, bisectRoot = undefined) => {
  const port = await freePort();
  const { flags, off } = switchesOf(sw);
  const env = sw === undefined ? undefined : { ...process.env, KILN_BISECT_OFF: off.join(','), ...(bisectRoot ? { KILN_BISECT_ROOT: bisectRoot } : {}) };
  const child = await start([...flags, ...profArgs(name), script, 'serve', '--workers', '0', '--no-cache', '--log-level', 'warn', '--port', String(port)], '/v2/health/ready', port, env);
  return { port, child };
};

const targets = opt.targets.split(',');
const isNoop = (base) => base === 'parsed' || base === 'raw';
/** Which server process answers a target: noop[@flags], kiln, before, or bisect:<switches>. */
const procOf = (t) => {
  if (t.startsWith('before:')) return t.startsWith('before:app-') ? 'before-bisect' : 'before';
  const [base, sw] = t.split('@');
  if (isNoop(base)) return sw === undefined ? 'noop' : `noop@${sw}`;
  return sw === undefined ? 'kiln' : `bisect:${sw}`;
};
const wanted = new Set(targets.map(procOf));
const procs = {};
const kilnScript = opt['kiln-server'] ? path.resolve(opt['kiln-server']) : undefined;
if (wanted.has('kiln')) procs.kiln = await kilnServer(ROOT, 'kiln', kilnScript ?? (targets.some((t) => t.startsWith('app-')) ? BISECT : undefined));
if (wanted.has('before')) procs.before = await kilnServer(path.resolve(opt.before), 'before');
if (wanted.has('before-bisect')) procs['before-bisect'] = await kilnServer(ROOT, 'before-bisect', BISECT, '', path.resolve(opt.before));
for (const key of wanted) if (key.startsWith('bisect:')) procs[key] = await kilnServer(ROOT, key.replace(/[^a-z0-9-]+/g, '_'), BISECT, key.slice('bisect:'.length));
const noops = [...wanted].filter((k) => k === 'noop' || k.startsWith('noop@'));
if (noops.length > 0) {
  const reply = path.join(tmp, 'reply.json');
  const anyKiln = procs.kiln ?? procs.before ?? Object.values(procs)[0];
  const text = anyKiln
    ? await (await fetch(`http://127.0.0.1:${anyKiln.port}/models/breast_cancer_logreg/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: readFileSync(bodyFiles.logreg, 'utf8').split('\n')[0] })).text()
    : '{"label":1,"probabilities":[0.01,0.99]}';
  writeFileSync(reply, text);
  for (const key of noops) {
    const port = await freePort();
    const { flags, off } = switchesOf(key.split('@')[1]);
    if (off.length > 0) throw new Error(`${key}: the no-op server takes node flags only`);
    const child = await start([...flags, ...profArgs(key.replace(/[^a-z0-9-]+/g, '_')), path.join(ROOT, 'bench', 'peers', 'noop-fastify.mjs'), String(port), reply, '0'], '/health', port);
    procs[key] = { port, child };
  }
}

function urlOf(target) {
  const base = (target.startsWith('before:') ? target.slice('before:'.length) : target).split('@')[0];
  const proc = procs[procOf(target)];
  const url =
    isNoop(base) || base === 'app-parsed' || base === 'app-raw'
      ? `/noop/${base.replace('app-', '')}`
      : base === 'v2-logreg'
        ? '/v2/models/breast_cancer_logreg/infer'
        : base === 'v1-logreg'
          ? '/v1/models/breast_cancer_logreg:predict'
          : `/models/${MODELS[base]}/predict`;
  const bodies = MODELS[base] || base === 'v2-logreg' || base === 'v1-logreg' ? bodyFiles[base] : bodyFiles.logreg;
  return { url: `http://127.0.0.1:${proc.port}${url}`, pid: proc.child.pid, bodies };
}

/** The server's loop and GC counters (cpu.mjs --loop-stats; loop-stats-preload.mjs), or null. */
async function loopStats(pid) {
  if (!opt['loop-stats']) return null;
  const file = path.join(statsDir, `${pid}.json`);
  const before = (() => { try { return readFileSync(file, 'utf8'); } catch { return null; } })();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 10));
    try {
      const text = readFileSync(file, 'utf8');
      if (text !== before && text.endsWith('}')) return JSON.parse(text);
    } catch {}
  }
  throw new Error(`no loop stats from ${pid}`);
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
      const s0 = await loopStats(pid);
      const c0 = cpuUs(pid);
      const r = wrk(url, bodies, SECONDS, pid);
      const us = (cpuUs(pid) - c0) / r.requests;
      const s1 = await loopStats(pid);
      const x = { us, rps: r.reqPerSec };
      if (s0 && s1) {
        x.perTurn = r.requests / (s1.loopCount - s0.loopCount);
        x.minor = ((s1.gc.minor - s0.gc.minor) * 1000) / r.requests;
        x.major = ((s1.gc.major - s0.gc.major + s1.gc.incremental - s0.gc.incremental) * 1000) / r.requests;
        x.gcUs = ((s1.gc.ms - s0.gc.ms) * 1000) / r.requests;
        x.newSpaceMB = s1.newSpace / 2 ** 20;
        x.heapMB = s1.heapUsed / 2 ** 20;
      }
      results[t].push(x);
      process.stderr.write(`round ${round + 1} ${t}: ${us.toFixed(1)} µs CPU/request (${r.requests} requests, ${r.reqPerSec.toFixed(0)} req/s)${x.perTurn ? `, ${x.perTurn.toFixed(1)} requests/turn, ${x.minor.toFixed(2)} scavenges/1k, GC ${x.gcUs.toFixed(1)} µs/request` : ''}\n`);
    }
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor((a.length - 1) / 2)];
  console.log(`load average: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${ROUNDS} rounds of ${SECONDS} s, wrk -t1 -c${opt.connections}`);
  const stats = opt['loop-stats'];
  console.log(`| target | CPU µs/request, median | min | req/s median |${stats ? ' requests/loop turn | scavenges/1k requests | mark-compacts/1k | GC µs/request | new space MB | heap used MB |' : ''}`);
  console.log(`|---|---|---|---|${stats ? '---|---|---|---|---|---|' : ''}`);
  for (const t of targets) {
    const us = results[t].map((x) => x.us);
    const m = (k, d = 1) => med(results[t].map((x) => x[k])).toFixed(d);
    console.log(`| ${t} | ${med(us).toFixed(1)} | ${Math.min(...us).toFixed(1)} | ${m('rps', 0)} |${stats ? ` ${m('perTurn')} | ${m('minor', 2)} | ${m('major', 2)} | ${m('gcUs')} | ${m('newSpaceMB')} | ${m('heapMB')} |` : ''}`);
  }
  for (const [name, p] of Object.entries(procs)) console.log(`${name} (pid ${p.child.pid}) answered ${served.get(p.child.pid) ?? 0} requests`);
} finally {
  await stopAll();
}
