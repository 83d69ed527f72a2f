// Compares V8's state of the Node internals a request runs through (code tier, and the
// inline-cache state of every feedback slot) between the bare no-op Fastify server and a Kiln
// server under the same load: does Kiln's process leave Node's hot code slower (megamorphic
// feedback, a lower tier) than a bare server does? (bench/dev/README.md, "Where the per-request
// gap over the no-op lives".) Not a timing: V8's own feedback, read with %DebugPrint.
//   node bench/dev/feedback-diff.mjs [--seconds 10] [--target app|kiln] [--off SWITCHES] [--keep DIR]
// app: the no-op route inside Kiln's app (bisect-server.mjs, POST /noop/parsed; --off as its
// KILN_BISECT_OFF); kiln: `kiln serve`, POST /models/breast_cancer_logreg/predict. The bare server
// answers /noop/parsed. Both get 32 wrk connections of logreg records; the dump is taken at 70% of
// the run. Prints every reached function whose tier or slot states differ.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { benchRows } from './rows.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: opt } = parseArgs({ options: { seconds: { type: 'string', default: '10' }, target: { type: 'string', default: 'app' }, off: { type: 'string', default: '' }, keep: { type: 'string' } } });
const tmp = opt.keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-feedback-'));
fs.mkdirSync(tmp, { recursive: true });
const bodies = path.join(tmp, 'bodies.jsonl');
fs.writeFileSync(bodies, `${benchRows(path.join(ROOT, 'models', 'breast_cancer_logreg.json'), 4096).records.map((r) => JSON.stringify(r)).join('\n')}\n`);
const reply = path.join(tmp, 'reply.json');
fs.writeFileSync(reply, '{"label":1,"probabilities":[0.0123456789012345,0.987654321098765]}');

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

/** Serves one target under load, dumps at 70% of the run; returns the dump's text. */
async function dump(name) {
  const port = await freePort();
  const file = path.join(tmp, `${name}.dump`);
  const out = fs.openSync(file, 'w');
  const kiln = ['serve', '--port', String(port), '--workers', '0', '--no-cache', '--log-level', 'warn'];
  const [args, ready, url] =
    name === 'bare'
      ? [['--import', 'data:text/javascript,process.on("SIGINT",()=>process.exit(0))', path.join(ROOT, 'bench', 'peers', 'noop-fastify.mjs'), String(port), reply, '0'], '/health', '/noop/parsed']
      : opt.target === 'kiln'
        ? [[path.join(ROOT, 'dist', 'cli.js'), ...kiln], '/v2/health/ready', '/models/breast_cancer_logreg/predict']
        : [[path.join(ROOT, 'bench', 'dev', 'bisect-server.mjs'), ...kiln], '/v2/health/ready', '/noop/parsed'];
  const preload = path.join(ROOT, 'bench', 'dev', 'feedback-preload.mjs');
  const child = spawn(process.execPath, ['--allow-natives-syntax', '--import', preload, ...args], { stdio: ['ignore', out, 'ignore'], env: { ...process.env, KILN_BISECT_OFF: opt.off } });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}${ready}`)).ok) break;
    } catch {}
    if (i > 600) throw new Error(`${name} did not start`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = Number(opt.seconds);
  const wrk = spawn('wrk', ['-t1', '-c32', `-d${seconds}s`, '-s', path.join(ROOT, 'bench', 'lib', 'wrk-bodies.lua'), `http://127.0.0.1:${port}${url}`], { env: { ...process.env, KILN_BENCH_BODIES: bodies }, stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  wrk.stdout.on('data', (d) => (text += d));
  await new Promise((r) => setTimeout(r, seconds * 700));
  child.kill('SIGUSR2');
  await new Promise((r) => wrk.once('exit', r));
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
  fs.closeSync(out);
  const line = text.split('\n').find((l) => l.startsWith('KILN_BENCH '));
  process.stderr.write(`${name}: ${line ? JSON.parse(line.slice(11)).requests : '?'} requests\n`);
  return fs.readFileSync(file, 'utf8');
}

/** label -> { tier, slots: [{ n, kind, state }] } from the %DebugPrint text. */
function parse(text) {
  const fns = new Map();
  let cur = null;
  for (const line of text.split('\n')) {
    const label = line.match(/### (.+?)"?$/);
    if (label && line.includes('[String]')) {
      cur = { tier: '?', slots: [] };
      fns.set(label[1], cur);
      continue;
    }
    if (cur === null) continue;
    const code = line.match(/^ - code: \S+ <Code (\w+)(?: (\w+))?>/);
    if (code && cur.tier === '?') cur.tier = code[1] === 'BUILTIN' ? (code[2] === 'InterpreterEntryTrampoline' ? 'INTERPRETED' : `not compiled (${code[2]})`) : code[1];
    const slot = line.match(/slot #(\d+) (\w+) (\w+)/);
    if (slot) cur.slots.push({ n: Number(slot[1]), kind: slot[2], state: slot[3] });
  }
  return fns;
}

try {
  const bare = parse(await dump('bare'));
  const kiln = parse(await dump(opt.target));
  const mega = (f) => f.slots.filter((s) => s.state === 'MEGAMORPHIC').length;
  let shown = 0;
  for (const [label, k] of kiln) {
    const b = bare.get(label);
    if (b === undefined || (b.slots.length === 0 && k.slots.length === 0)) continue;
    const changed = k.slots.filter((s, i) => b.slots[i] !== undefined && b.slots[i].state !== s.state);
    if (changed.length === 0 && b.tier === k.tier) continue;
    shown++;
    console.log(`${label}: ${b.tier} -> ${k.tier}; megamorphic slots ${mega(b)} -> ${mega(k)}`);
    for (const s of changed) console.log(`  #${s.n} ${s.kind}: ${b.slots[k.slots.indexOf(s)].state} -> ${s.state}`);
  }
  const count = (m) => [...m.values()].filter((f) => f.slots.length > 0).length;
  console.log(`${count(bare)} / ${count(kiln)} functions with feedback reached (bare / ${opt.target}); ${shown} differ`);
} finally {
  if (opt.keep === undefined) fs.rmSync(tmp, { recursive: true, force: true });
}
