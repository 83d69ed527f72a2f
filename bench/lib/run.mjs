// `kiln bench`: one run measuring the same models on the same rows through the engine alone (C++),
// the addon from JS, HTTP, and the peers; writes bench/results/<date>-<host>.{md,json,png}.
// Sections run one after the other (never two timings at once); progress goes to stderr.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildEngineBench, runEngineBench } from './engine.mjs';
import { httpSection } from './http.mjs';
import { machine } from './machine.mjs';
import { run, stopAll } from './processes.mjs';
import { buildReport, markdown } from './report.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ALL_PEERS = ['onnxruntime-node', 'sklearn', 'tl2cgen', 'xgboost', 'lightgbm', 'lleaves', 'fastify-noop', 'flask-gunicorn'];
const PYTHON_PEERS = ['sklearn', 'tl2cgen', 'xgboost', 'lightgbm', 'lleaves'];
export const ALL_SECTIONS = ['engine', 'addon', 'peers', 'http'];

// Time per in-process figure (split over the repeats) and HTTP runs, full vs --quick.
export const PRESETS = {
  full: { timeMs: 1500, repeats: 5, seconds: 5, rounds: 3, halfPeakSeconds: 10 },
  quick: { timeMs: 120, repeats: 3, seconds: 1, rounds: 1, halfPeakSeconds: 1 },
};

function log(msg) {
  process.stderr.write(`bench: ${msg}\n`);
}

function findPython(explicit) {
  if (explicit) return { python: explicit, venv: 'given' };
  for (const env of ['bench', 'sklearn-latest']) {
    const p = path.join(ROOT, '.venv', env, 'bin', 'python');
    if (existsSync(p)) return { python: p, venv: env };
  }
  return { python: null, venv: null };
}

/** The model list without Python: the ids and titles bench/py/models.py declares. */
function listedModels(wanted) {
  const text = readFileSync(path.join(ROOT, 'bench', 'py', 'models.py'), 'utf8');
  const found = [...text.matchAll(/ModelSpec\("(\w+)", "([^"]+)"/g)].map((m) => ({ id: m[1], title: m[2] }));
  return wanted ? found.filter((m) => wanted.includes(m.id)) : found;
}

// Fitting and the Python peers use one OpenMP/BLAS thread: OpenMP's spinning threads crawl on a
// shared, oversubscribed machine, and the peers are timed on one thread anyway.
const ONE_THREAD = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };

const absent = (reason) => ({ status: 'absent', reason });

/**
 * @param {object} o  options from the CLI: quick, models (ids|undefined), peers (names|undefined),
 *   sections, duration, rounds, timeMs, out, cache, python
 */
export async function runBench(o) {
  const started = Date.now();
  const preset = { ...PRESETS[o.quick ? 'quick' : 'full'] };
  if (o.duration !== undefined) preset.seconds = o.duration;
  if (o.rounds !== undefined) preset.rounds = o.rounds;
  if (o.timeMs !== undefined) preset.timeMs = o.timeMs;
  const peers = new Set(o.peers ?? ALL_PEERS);
  const sections = new Set(o.sections ?? ALL_SECTIONS);
  const cacheDir = path.resolve(o.cache ?? path.join(ROOT, 'bench', '.cache'), o.quick ? 'quick' : 'full');
  mkdirSync(cacheDir, { recursive: true });
  const { python, venv } = findPython(o.python);
  const info = { machine: machine(), python: null, venv, preset, peersSelected: [...peers], sections: [...sections] };
  try {
    // Models and rows (Python: fits, exports, converts, compiles the peers' models).
    let manifest;
    if (!python) {
      const why = 'no Python with scikit-learn: run bash scripts/setup-python.sh bench (or sklearn-latest), or pass --python';
      manifest = { models: listedModels(o.models).map((m) => ({ ...m, status: 'absent', reason: why })) };
    } else {
      log(`preparing models with ${python} (cache ${cacheDir})`);
      const out = await run(python, [path.join(ROOT, 'bench', 'py', 'prepare.py'), '--cache', cacheDir, ...(o.models ? ['--models', o.models.join(',')] : []), ...(o.quick ? ['--quick'] : [])], { timeoutMs: 30 * 60_000, env: ONE_THREAD });
      manifest = JSON.parse(out.trim().split('\n').pop());
      info.python = manifest.python;
      info.sklearn = manifest.sklearn;
    }
    // Models left out by --models still get their row, marked as such.
    for (const m of listedModels()) {
      if (!manifest.models.some((e) => e.id === m.id)) manifest.models.push({ ...m, status: 'absent', reason: 'not selected (--models)' });
    }
    const order = listedModels().map((m) => m.id);
    manifest.models.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
    const entries = manifest.models;
    const kilnOk = (e) => e.kiln?.status === 'ok';

    // (a) the engine alone
    const engine = {};
    if (sections.has('engine')) {
      let binary = null;
      let why = null;
      try {
        binary = await buildEngineBench();
      } catch (error) {
        why = `could not build native/bench/kiln_bench: ${error.message.slice(0, 300)}`;
      }
      for (const e of entries) {
        if (!kilnOk(e)) engine[e.id] = absent(e.kiln?.reason ?? e.reason ?? 'no Kiln model');
        else if (!binary) engine[e.id] = absent(why);
        else {
          log(`engine (C++): ${e.id}`);
          try {
            engine[e.id] = { status: 'ok', ...(await runEngineBench(binary, { cacheDir, entry: e, kilnFile: e.kiln.path, ...preset })) };
          } catch (error) {
            engine[e.id] = absent(error.message.slice(0, 300));
          }
        }
      }
    }

    // (b) the addon from JS, and onnxruntime-node: each model in a fresh process
    const addon = {};
    const onnx = {};
    const node = process.execPath;
    for (const e of entries) {
      if (sections.has('addon')) {
        if (!kilnOk(e)) addon[e.id] = absent(e.kiln?.reason ?? e.reason ?? 'no Kiln model');
        else {
          log(`addon (JS): ${e.id}`);
          try {
            addon[e.id] = JSON.parse(await run(node, [path.join(ROOT, 'bench', 'lib', 'inproc-worker.mjs'), cacheDir, e.id, e.kiln.path, String(preset.timeMs), String(preset.repeats)], { timeoutMs: 120_000 + preset.timeMs * 60 }));
          } catch (error) {
            addon[e.id] = absent(error.message.slice(0, 300));
          }
        }
      }
      if (sections.has('peers')) {
        if (!peers.has('onnxruntime-node')) onnx[e.id] = absent('not selected (--peers)');
        else if (e.onnx?.status !== 'ok') onnx[e.id] = absent(e.onnx?.reason ? `no ONNX model: ${e.onnx.reason}` : e.reason ?? 'no ONNX model');
        else {
          log(`onnxruntime-node: ${e.id}`);
          try {
            onnx[e.id] = JSON.parse(await run(node, [path.join(ROOT, 'bench', 'peers', 'onnxruntime-node.mjs'), cacheDir, e.id, String(preset.timeMs), String(preset.repeats)], { timeoutMs: 120_000 + preset.timeMs * 30 }));
          } catch (error) {
            onnx[e.id] = absent(/Cannot find module 'onnxruntime-node'/.test(error.message) ? 'onnxruntime-node is not installed (npm install)' : error.message.slice(0, 300));
          }
        }
      }
    }

    // Python peers
    const py = {};
    if (sections.has('peers')) {
      for (const e of entries) {
        if (e.status === 'absent') {
          py[e.id] = Object.fromEntries(PYTHON_PEERS.map((p) => [p, absent(e.reason)]));
          continue;
        }
        log(`Python peers: ${e.id}`);
        try {
          py[e.id] = JSON.parse((await run(python, [path.join(ROOT, 'bench', 'py', 'peers.py'), '--cache', cacheDir, '--model', e.id, '--time-ms', String(preset.timeMs), '--repeats', String(preset.repeats), '--peers', PYTHON_PEERS.filter((p) => peers.has(p)).join(',')], { timeoutMs: 120_000 + preset.timeMs * 60, env: ONE_THREAD })).trim().split('\n').pop());
        } catch (error) {
          py[e.id] = Object.fromEntries(PYTHON_PEERS.map((p) => [p, absent(error.message.slice(0, 300))]));
        }
      }
    }

    // (c) HTTP
    let http = null;
    if (sections.has('http')) {
      const httpEntries = entries.filter((e) => e.http && kilnOk(e));
      if (httpEntries.length === 0) http = { absent: { '*': 'no HTTP model prepared' }, runs: [], halfPeak: [] };
      else {
        const benchPython = venv === 'bench' || venv === 'given' ? python : null;
        http = await httpSection({ cacheDir, entries: httpEntries, benchPython, seconds: preset.seconds, rounds: preset.rounds, halfPeakSeconds: preset.halfPeakSeconds, peers });
      }
    }

    const report = buildReport({ info, manifest, engine, addon, onnx, py, http, quick: !!o.quick, elapsedSeconds: Math.round((Date.now() - started) / 1000), command: o.command });
    return await writeReport(report, o, python);
  } finally {
    await stopAll();
  }
}

async function writeReport(report, o, python) {
  const outDir = path.resolve(o.out ?? path.join(ROOT, 'bench', 'results'));
  mkdirSync(outDir, { recursive: true });
  const host = os.hostname().replace(/[^A-Za-z0-9_.-]/g, '_');
  const base = path.join(outDir, `${report.date.slice(0, 10)}-${host}${o.quick ? '-quick' : ''}`);
  const jsonFile = `${base}.json`;
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 1)}\n`);
  report.chart = { status: 'absent', reason: 'no Python' };
  if (python) {
    try {
      await run(python, [path.join(ROOT, 'bench', 'py', 'chart.py'), jsonFile, `${base}.png`], { timeoutMs: 120_000, passStderr: false });
      report.chart = { status: 'ok', file: path.basename(`${base}.png`) };
    } catch (error) {
      report.chart = { status: 'absent', reason: /matplotlib/.test(error.message) ? 'matplotlib is not installed: bash scripts/setup-python.sh bench' : error.message.slice(0, 300) };
    }
  }
  writeFileSync(jsonFile, `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(`${base}.md`, markdown(report));
  log(`wrote ${base}.md, .json${report.chart.status === 'ok' ? ', .png' : ''} in ${report.elapsedSeconds} s`);
  return { report, files: { json: jsonFile, md: `${base}.md`, png: report.chart.status === 'ok' ? `${base}.png` : null } };
}
