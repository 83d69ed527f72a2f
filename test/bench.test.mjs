// `kiln bench --quick` as a user runs it: it must finish and write a well-formed report — every
// model row present, every runner either measured or marked absent with a reason. Benchmarks are
// never timed tests: no assertion here looks at a figure's size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'cli.js');
// The first run builds native/bench/kiln_bench and fits the models (cached after); a shared CI
// machine can be slow at both.
const RUN_TIMEOUT_MS = 15 * 60_000;

const MODEL_IDS = [...readFileSync(join(ROOT, 'bench', 'py', 'models.py'), 'utf8').matchAll(/ModelSpec\("(\w+)"/g)].map((m) => m[1]);
const IN_PROCESS_RUNNERS = ['kiln-engine', 'kiln-addon', 'onnxruntime-node', 'sklearn', 'tl2cgen', 'xgboost', 'lightgbm', 'lleaves'];
const HTTP_PEERS = ['fastify-noop-parsed', 'fastify-noop-raw', 'flask-gunicorn'];

const out = mkdtempSync(join(tmpdir(), 'kiln-bench-'));
test.after(() => rmSync(out, { recursive: true, force: true }));

const isNum = (v) => typeof v === 'number' && Number.isFinite(v) && v > 0;

function assertAbsentOrOk(row, where) {
  assert.ok(row.status === 'ok' || row.status === 'absent', `${where}: status ${row.status}`);
  if (row.status === 'absent') assert.ok(typeof row.reason === 'string' && row.reason.length > 0, `${where}: absent without a reason`);
}

test('kiln bench --help documents the options', () => {
  const run = spawnSync(process.execPath, [CLI, 'bench', '--help'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  for (const flag of ['--quick', '--models', '--peers', '--duration', '--out', '--sections', '--python']) assert.match(run.stdout, new RegExp(flag));
  const bad = spawnSync(process.execPath, [CLI, 'bench', '--peers', 'nonesuch'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown: nonesuch/);
});

test('kiln bench --python takes an interpreter or a virtualenv directory, and names the form otherwise', async (t) => {
  const { resolvePython } = await import(join(ROOT, 'dist', 'cli', 'bench.js'));
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-python-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A venv-shaped directory: bin/python, executable.
  const venv = join(dir, 'venv');
  mkdirSync(join(venv, 'bin'), { recursive: true });
  writeFileSync(join(venv, 'bin', 'python'), '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(resolvePython(venv), join(venv, 'bin', 'python'));
  assert.equal(resolvePython(join(venv, 'bin', 'python')), join(venv, 'bin', 'python'));
  // What used to end in "unexpected error: spawn ... EACCES": a directory that is not a venv.
  const bad = spawnSync(process.execPath, [CLI, 'bench', '--python', dir, '--sections', 'engine', '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--python .*bin.python.*expected a Python executable or a virtualenv directory/);
  assert.doesNotMatch(bad.stderr, /EACCES|unexpected error/);
  const missing = spawnSync(process.execPath, [CLI, 'bench', '--python', join(dir, 'nonesuch'), '--out', join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /no such file or directory; expected a Python executable/);
  const plain = join(dir, 'not-executable');
  writeFileSync(plain, '', { mode: 0o644 });
  assert.throws(() => resolvePython(plain), /is not executable; expected/);
});

test('kiln bench --quick writes a well-formed report', { timeout: RUN_TIMEOUT_MS + 10_000 }, () => {
  const run = spawnSync(process.execPath, [CLI, 'bench', '--quick', '--out', out], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
  assert.equal(run.status, 0, `exit ${run.status} ${run.signal ?? ''}\n${run.stderr.slice(-3000)}`);
  assert.match(run.stderr, /bench: /, 'progress on stderr');
  const files = readdirSync(out);
  const json = files.find((f) => f.endsWith('-quick.json'));
  const md = files.find((f) => f.endsWith('-quick.md'));
  assert.ok(json && md, `report files: ${files.join(', ')}`);
  assert.equal(run.stdout.trim(), join(out, md));
  const r = JSON.parse(readFileSync(join(out, json), 'utf8'));

  assert.equal(r.schema, 'kiln-bench/1');
  assert.equal(r.quick, true);
  assert.ok(!Number.isNaN(Date.parse(r.date)));
  assert.ok(r.machine.cpu && isNum(r.machine.cores) && Array.isArray(r.machine.flags));

  // Every model of the list has its row, and every runner a cell for it.
  assert.deepEqual(r.models.map((m) => m.id), MODEL_IDS);
  for (const m of r.models) {
    assertAbsentOrOk(m, m.id);
    for (const runner of IN_PROCESS_RUNNERS) {
      const rows = r.inProcess.filter((x) => x.model === m.id && x.runner === runner);
      assert.equal(rows.length, 1, `${m.id} ${runner}`);
      const row = rows[0];
      assertAbsentOrOk(row, `${m.id} ${runner}`);
      if (row.status === 'ok') {
        assert.ok(isNum(row.oneRowUs), `${m.id} ${runner} oneRowUs`);
        for (const b of ['1', '100', '10000']) assert.ok(isNum(row.batchNsPerRow[b]), `${m.id} ${runner} batch ${b}`);
      }
    }
  }

  // Kiln itself is measured wherever it can load the model, and agrees with sklearn.
  const python = r.environment.python !== null;
  for (const m of r.models.filter((x) => x.kiln.status === 'ok')) {
    for (const runner of ['kiln-engine', 'kiln-addon']) {
      assert.equal(r.inProcess.find((x) => x.model === m.id && x.runner === runner).status, 'ok', `${m.id} ${runner}`);
    }
    const addon = r.inProcess.find((x) => x.model === m.id && x.runner === 'kiln-addon');
    assert.ok(addon.maxAbsDiffVsSklearn <= 1e-9, `${m.id}: Kiln vs sklearn ${addon.maxAbsDiffVsSklearn}`);
  }
  if (python) {
    for (const id of ['breast_cancer_logreg', 'breast_cancer_rf', 'breast_cancer_gbm']) {
      assert.equal(r.models.find((m) => m.id === id).kiln.status, 'ok', id);
      assert.equal(r.inProcess.find((x) => x.model === id && x.runner === 'sklearn').status, 'ok', `${id} sklearn`);
    }
    // A model Kiln does not support (yet) is shown absent with the exporter's reason.
    for (const m of r.models.filter((x) => x.kiln.status === 'absent')) {
      assert.equal(r.inProcess.find((x) => x.model === m.id && x.runner === 'kiln-addon').status, 'absent');
    }
  }

  // HTTP: Kiln and the no-op routes run; the seed's stack is there or absent with a reason.
  if (python) {
    assert.ok(typeof r.http.tool === 'string');
    for (const id of ['breast_cancer_logreg', 'breast_cancer_rf', 'breast_cancer_gbm']) {
      const k = r.http.runs.find((x) => x.runner === 'kiln-serve' && x.model === id);
      assert.ok(k && isNum(k.reqPerSec) && isNum(k.p99Ms) && isNum(k.p999Ms), `kiln-serve ${id}`);
      // Counted, not asserted: an overloaded machine can trip the service's event-loop-lag guard (503).
      assert.ok(Number.isInteger(k.errors) && k.errors >= 0, `kiln-serve ${id} errors`);
    }
    for (const peer of HTTP_PEERS) {
      const ran = r.http.runs.some((x) => x.runner === peer);
      assert.ok(ran || typeof r.http.absent[peer] === 'string', `${peer}: neither measured nor marked absent`);
      assert.equal(r.peers[peer].status, ran ? 'ok' : 'absent');
    }
    // p99 at half peak (open loop, bench/lib/paced.mjs): Kiln for each model, and the no-op route
    // at the same offered rate when it ran.
    const noopRan = r.http.runs.some((x) => x.runner === 'fastify-noop-parsed');
    for (const id of ['breast_cancer_logreg', 'breast_cancer_rf', 'breast_cancer_gbm']) {
      const k = r.http.halfPeak.find((h) => h.runner === 'kiln-serve' && h.model === id);
      assert.ok(k && isNum(k.offeredReqPerSec) && isNum(k.p50Ms) && isNum(k.p99Ms) && isNum(k.p999Ms) && k.p50Ms <= k.p99Ms && k.p99Ms <= k.p999Ms, `half peak kiln-serve ${id}`);
      assert.ok(Number.isInteger(k.errors) && k.errors >= 0, `half peak ${id} errors`);
      const n = r.http.halfPeak.find((h) => h.runner === 'fastify-noop-parsed' && h.model === id);
      assert.equal(Boolean(n), noopRan, `half peak no-op ${id}`);
      if (n) assert.ok(n.offeredReqPerSec === k.offeredReqPerSec && isNum(n.p99Ms), `half peak no-op ${id}`);
      // The CPU budget beside it: the generator's own, and the server's from /proc (null off Linux).
      for (const h of [k, n].filter(Boolean)) {
        assert.ok(isNum(h.generatorCpuMsPerS) && isNum(h.generatorCpuUsPerRequest), `half peak ${h.runner} ${id} generator CPU`);
        assert.ok(process.platform !== 'linux' || (isNum(h.serverCpuMsPerS) && typeof h.serverWaitMsPerS === 'number' && h.serverWaitMsPerS >= 0), `half peak ${h.runner} ${id} server CPU`);
      }
    }
    assert.ok(r.http.rss.kilnWorkersMiB.length === 2, 'two kiln workers');
    // The report names the load generator of the half-peak figure.
    assert.equal(typeof r.http.halfPeakGenerator?.name, 'string');
  }

  // Targets: each has its bound and a verdict or says why not.
  assert.ok(r.targets.length >= 13);
  for (const t of r.targets) {
    assert.ok(['atMost', 'atLeast'].includes(t.kind) && isNum(t.target), t.id);
    assert.ok(t.pass === true || t.pass === false || (t.pass === null && t.measured === null), t.id);
    assert.ok(typeof t.by === 'string' && t.by.length > 0, t.id);
  }
  for (const q of r.ratios) assert.ok(isNum(q.kilnFasterBy ?? q.kilnToPeer), `${q.model} ${q.workload} ${q.peer}`);
  // The half-peak p99 target carries the no-op route's p99 at the same rate when the no-op ran.
  for (const t of r.targets.filter((x) => x.id === 'http-p99-half-peak' && x.measured !== null)) {
    const noop = r.http.halfPeak.find((h) => h.model === t.model && h.runner === 'fastify-noop-parsed');
    if (noop) assert.ok(t.noopMeasured === noop.p99Ms && t.by.includes('the no-op route'), t.model);
  }

  // The Markdown has every model and every absent peer's reason.
  const text = readFileSync(join(out, md), 'utf8');
  for (const id of MODEL_IDS) assert.match(text, new RegExp(id));
  if (python) assert.ok(text.includes(`load generator: \`${r.http.halfPeakGenerator.name}\``), 'the half-peak load generator named in the Markdown');
  for (const [name, p] of Object.entries(r.peers)) if (p.status === 'absent' && p.reason) assert.ok(text.includes(p.reason.slice(0, 40)), `${name}'s reason in the Markdown`);
  if (r.chart.status === 'ok') assert.ok(existsSync(join(out, r.chart.file)));
  else assert.match(text, /Chart: absent/);
});
