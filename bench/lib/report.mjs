// The report of one run: every figure, ratios to the peers of the same run, the issue's targets with
// pass/miss and by how much (JSON), and the same as Markdown tables.
import os from 'node:os';

export const SCHEMA = 'kiln-bench/1';
export const IN_PROCESS_RUNNERS = ['kiln-engine', 'kiln-addon', 'onnxruntime-node', 'sklearn', 'tl2cgen', 'xgboost', 'lightgbm', 'lleaves'];
export const HTTP_RUNNERS = ['kiln-serve', 'fastify-noop-parsed', 'fastify-noop-raw', 'flask-gunicorn'];
export const BATCHES = ['1', '100', '10000'];
// Peers that time their own, equivalent model (trained on the same data), not the same model.
const OWN_MODEL = new Set(['xgboost', 'lightgbm', 'lleaves']);
const RUNNER_TEXT = {
  'kiln-engine': 'Kiln engine (C++, no Node)',
  'kiln-addon': 'Kiln addon from JS',
  'onnxruntime-node': 'onnxruntime-node (skl2onnx, float32)',
  sklearn: 'scikit-learn predict_proba',
  tl2cgen: 'Treelite/TL2cgen compiled',
  xgboost: 'XGBoost (own equivalent model)',
  lightgbm: 'LightGBM (own equivalent model)',
  lleaves: 'lleaves (the LightGBM model, LLVM-compiled)',
  'kiln-serve': 'kiln serve, 2 workers',
  'fastify-noop-parsed': 'no-op Fastify, JSON parsed',
  'fastify-noop-raw': 'no-op Fastify, raw body',
  'flask-gunicorn': "seed's stack: Flask+gevent+Gunicorn, 2 workers",
};

// Targets of issue 5 (item 3), per bundled model.
const TARGETS = {
  oneRowUs: { breast_cancer_logreg: 0.5, breast_cancer_rf: 2, breast_cancer_gbm: 1 },
  batchNsPerRow: { breast_cancer_logreg: 15, breast_cancer_rf: 500, breast_cancer_gbm: 150 },
  onnxOneRowRatio: 20,
  onnxBatchRatioTrees: 4,
  httpVsParsed: 1,
  httpVsRaw: 0.85,
  httpVsSeed: 7,
  halfPeakP99Ms: 2,
  workerRssMiB: 100,
  threadScaling: 1.5, // 2 threads on the large model's 10,000-row batch
};

const ok = (x) => x && x.status === 'ok';
const absent = (reason) => ({ status: 'absent', reason });

function inProcessRow(model, runner, src) {
  if (!src) return { model, runner, ...absent('section not run (--sections)') };
  if (!ok(src)) return { model, runner, ...absent(src.reason ?? 'absent') };
  const row = { model, runner, status: 'ok', sameModel: !OWN_MODEL.has(runner), oneRowUs: src.oneRowNs / 1000, batchNsPerRow: src.batchNsPerRow };
  for (const k of ['version', 'ownModel', 'maxAbsDiffVsSklearn', 'maxAbsDiffVsExpected', 'maxAbsDiffVsLightGBM', 'asyncBatchNsPerRow', 'recordsBatchNsPerRow', 'oneRowKeyedNs', 'threads', 'threadedNsPerRow', 'inputType']) {
    if (src[k] !== undefined) row[k] = src[k];
  }
  if (row.maxAbsDiffVsExpected !== undefined) {
    row.maxAbsDiffVsSklearn = row.maxAbsDiffVsExpected;
    delete row.maxAbsDiffVsExpected;
  }
  return row;
}

/** measured vs a bound: `atMost` (time-like) or `atLeast` (ratio-like). */
function target(id, text, model, bound, measured, unit, kind) {
  if (measured === null || measured === undefined || Number.isNaN(measured)) return { id, text, model, target: bound, unit, kind, measured: null, pass: null, by: 'not measured (a figure is absent)' };
  const pass = kind === 'atMost' ? measured <= bound : measured >= bound;
  const factor = kind === 'atMost' ? measured / bound : bound / measured;
  const by = pass ? `met, ${((1 - factor) * 100).toFixed(0)}% margin` : `missed: needs ${factor.toFixed(2)}x ${kind === 'atMost' ? 'less' : 'more'}`;
  return { id, text, model, target: bound, unit, kind, measured, pass, by };
}

/** A target annotated with the no-op route's (JSON parsed) figure on the same measure, when there is one. */
function withNoop(t, noopMeasured) {
  if (noopMeasured === null || noopMeasured === undefined || Number.isNaN(noopMeasured)) return t;
  return { ...t, noopMeasured, by: `${t.by}; the no-op route: ${fmt(noopMeasured)} ${t.unit}` };
}

/**
 * The half-peak p99 target's verdict with what else explains it (`k`: Kiln's half-peak row): how
 * late the load generator was behind its schedule and how long the server waited for a core.
 */
function withCpuContext(t, k) {
  const context = [
    typeof k?.senderLateP99Ms === 'number' ? `generator late p99 ${fmt(k.senderLateP99Ms)} ms` : null,
    typeof k?.serverWaitMsPerS === 'number' ? `server waiting for a core ${Math.round(k.serverWaitMsPerS)} ms/s` : null,
  ].filter(Boolean);
  return t.measured === null || context.length === 0 ? t : { ...t, by: `${t.by}; ${context.join(', ')}` };
}

export function buildReport({ info, manifest, engine, addon, onnx, py, http, quick, elapsedSeconds, command }) {
  const models = manifest.models.map((e) => ({
    id: e.id,
    title: e.title,
    status: e.status ?? 'ok',
    ...(e.reason ? { reason: e.reason } : {}),
    estimator: e.estimator,
    params: e.params,
    features: e.features?.length,
    benchRows: e.rows,
    quickScaledDown: quick && e.id === 'synthetic_rf_large' ? true : undefined,
    kiln: e.kiln ? { status: e.kiln.status, ...(e.kiln.reason ? { reason: e.kiln.reason } : { file: e.kiln.path.replace(/^.*\/(models|bench)\//, '$1/') }) } : absent(e.reason),
    onnx: e.onnx ? { status: e.onnx.status, ...(e.onnx.reason ? { reason: e.onnx.reason } : { skl2onnx: e.onnx.skl2onnx, onnx: e.onnx.onnx }) } : absent(e.reason),
    ...(e.tl2cgen ? { tl2cgenCompileSeconds: e.tl2cgen.compileSeconds } : {}),
    ...(e.boosted ? { equivalentBoosted: { nEstimators: e.boosted.nEstimators, maxDepth: e.boosted.maxDepth } } : {}),
  }));

  const inProcess = [];
  for (const m of models) {
    const sources = {
      'kiln-engine': engine[m.id] ?? (Object.keys(engine).length || !info.sections.includes('engine') ? undefined : absent(m.reason)),
      'kiln-addon': addon[m.id],
      'onnxruntime-node': onnx[m.id],
      ...Object.fromEntries(['sklearn', 'tl2cgen', 'xgboost', 'lightgbm', 'lleaves'].map((p) => [p, py[m.id]?.[p]])),
    };
    for (const r of IN_PROCESS_RUNNERS) inProcess.push(inProcessRow(m.id, r, sources[r] ?? (m.status === 'absent' ? absent(m.reason) : undefined)));
  }

  // Ratios: how many times faster Kiln is than each peer (peer time / Kiln time), same run.
  const ratios = [];
  const get = (model, runner) => inProcess.find((r) => r.model === model && r.runner === runner);
  for (const m of models) {
    for (const base of ['kiln-addon', 'kiln-engine']) {
      const k = get(m.id, base);
      if (!ok(k)) continue;
      for (const r of inProcess.filter((x) => x.model === m.id && ok(x) && !x.runner.startsWith('kiln-'))) {
        ratios.push({ model: m.id, workload: 'one row', kiln: base, peer: r.runner, sameModel: r.sameModel, kilnFasterBy: r.oneRowUs / k.oneRowUs });
        for (const b of BATCHES) {
          if (r.batchNsPerRow?.[b] && k.batchNsPerRow?.[b]) ratios.push({ model: m.id, workload: `batch ${b}`, kiln: base, peer: r.runner, sameModel: r.sameModel, kilnFasterBy: r.batchNsPerRow[b] / k.batchNsPerRow[b] });
        }
      }
    }
  }
  const httpRuns = http?.runs ?? [];
  const noopFor = (runner) => httpRuns.find((x) => x.runner === runner);
  for (const k of httpRuns.filter((x) => x.runner === 'kiln-serve')) {
    for (const peer of ['fastify-noop-parsed', 'fastify-noop-raw']) {
      const p = noopFor(peer);
      if (p?.reqPerSec > 0) ratios.push({ model: k.model, workload: 'HTTP req/s', kiln: 'kiln-serve', peer, kilnToPeer: k.reqPerSec / p.reqPerSec });
    }
    const seed = httpRuns.find((x) => x.runner === 'flask-gunicorn' && x.model === k.model);
    if (seed?.reqPerSec > 0) ratios.push({ model: k.model, workload: 'HTTP req/s', kiln: 'kiln-serve', peer: 'flask-gunicorn', kilnToPeer: k.reqPerSec / seed.reqPerSec });
  }

  // Targets
  const targets = [];
  const ratio = (model, workload, peer, field = 'kilnFasterBy') => ratios.find((r) => r.model === model && r.workload === workload && r.peer === peer && (r.kiln === 'kiln-addon' || r.kiln === 'kiln-serve'))?.[field];
  for (const model of Object.keys(TARGETS.oneRowUs)) {
    const a = get(model, 'kiln-addon');
    const tree = model !== 'breast_cancer_logreg';
    targets.push(target('inproc-one-row', 'in-process one row from JS (predict(record)), µs', model, TARGETS.oneRowUs[model], ok(a) ? a.oneRowUs : null, 'µs', 'atMost'));
    targets.push(target('inproc-one-row-vs-onnx', 'one row: times faster than onnxruntime-node per call', model, TARGETS.onnxOneRowRatio, ratio(model, 'one row', 'onnxruntime-node'), 'x', 'atLeast'));
    targets.push(target('batch-ns-per-row', 'batch of 10,000, one thread, ns per row (addon, predictMatrixRaw)', model, TARGETS.batchNsPerRow[model], ok(a) ? a.batchNsPerRow['10000'] : null, 'ns', 'atMost'));
    if (tree) targets.push(target('batch-vs-onnx', 'batch of 10,000: times faster than onnxruntime-node (trees)', model, TARGETS.onnxBatchRatioTrees, ratio(model, 'batch 10000', 'onnxruntime-node'), 'x', 'atLeast'));
    if (http) {
      targets.push(target('http-vs-noop-parsed', 'HTTP req/s relative to the no-op route that parses the JSON', model, TARGETS.httpVsParsed, ratio(model, 'HTTP req/s', 'fastify-noop-parsed', 'kilnToPeer'), 'x', 'atLeast'));
      targets.push(target('http-vs-noop-raw', 'HTTP req/s relative to the raw-body no-op route', model, TARGETS.httpVsRaw, ratio(model, 'HTTP req/s', 'fastify-noop-raw', 'kilnToPeer'), 'x', 'atLeast'));
      // Each HTTP target also states what the no-op route (JSON parsed) reached on the same yardstick
      // in this run: a bound the no-op itself misses says more about the machine than about Kiln.
      const seed = httpRuns.find((x) => x.runner === 'flask-gunicorn' && x.model === model);
      const parsed = noopFor('fastify-noop-parsed');
      const noopVsSeed = seed?.reqPerSec > 0 && parsed?.reqPerSec > 0 ? parsed.reqPerSec / seed.reqPerSec : null;
      targets.push(withNoop(target('http-vs-seed', "HTTP req/s relative to the seed's stack", model, TARGETS.httpVsSeed, ratio(model, 'HTTP req/s', 'flask-gunicorn', 'kilnToPeer'), 'x', 'atLeast'), noopVsSeed));
      const noopAtHalfPeak = http.halfPeak?.find((h) => h.model === model && h.runner === 'fastify-noop-parsed')?.p99Ms;
      const kilnAtHalfPeak = http.halfPeak?.find((h) => h.model === model && (h.runner ?? 'kiln-serve') === 'kiln-serve');
      targets.push(withCpuContext(withNoop(target('http-p99-half-peak', 'p99 at half of Kiln’s peak rate, ms', model, TARGETS.halfPeakP99Ms, kilnAtHalfPeak?.p99Ms, 'ms', 'atMost'), noopAtHalfPeak), kilnAtHalfPeak));
    }
  }
  const large = get('synthetic_rf_large', 'kiln-engine');
  targets.push(target('thread-scaling', 'large batches scale with threads: 2-thread speed-up on the large model (engine)', 'synthetic_rf_large', TARGETS.threadScaling, ok(large) && large.threadedNsPerRow ? large.batchNsPerRow['10000'] / large.threadedNsPerRow : null, 'x', 'atLeast'));
  if (http) targets.push(target('worker-rss', 'a worker serving the bundled models, RSS after the load, MiB', null, TARGETS.workerRssMiB, http.rss?.kilnWorkersMiB?.length ? Math.max(...http.rss.kilnWorkersMiB) : null, 'MiB', 'atMost'));

  // Every peer's overall status, so an absent one is visible with its reason.
  const peers = {};
  for (const r of [...inProcess, ...HTTP_RUNNERS.filter((x) => x !== 'kiln-serve').map((runner) => ({ runner, ...(httpRuns.some((x) => x.runner === runner) ? { status: 'ok' } : absent(http?.absent?.[runner] ?? http?.absent?.['*'] ?? (http ? 'absent' : 'section not run (--sections)'))) }))]) {
    const p = (peers[r.runner] ??= { status: 'absent', models: {} });
    if (ok(r)) {
      p.status = 'ok';
      if (r.version) p.version = r.version;
    }
    if (r.model) p.models[r.model] = ok(r) ? 'ok' : r.reason;
    else if (!ok(r)) p.reason = r.reason;
  }

  return {
    schema: SCHEMA,
    date: new Date().toISOString(),
    host: os.hostname(),
    quick,
    command,
    elapsedSeconds,
    machine: info.machine,
    environment: { python: info.python, sklearn: info.sklearn, venv: info.venv, node: process.version },
    method: {
      ...info.preset,
      note: 'in-process figures: median of `repeats` runs, each `timeMs / repeats` long, one thread; HTTP: median over `rounds` alternated runs of `seconds` each',
      sharedMachine: 'Other jobs may share this machine’s cores; medians and alternation keep a burst from moving a figure, not a busy machine from being busy',
    },
    models,
    inProcess,
    http: http ?? absent('section not run (--sections)'),
    ratios,
    targets,
    peers,
  };
}

// ---------- Markdown ----------

const fmt = (v, digits = 3) => {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return Number(v.toPrecision(digits)).toString();
};
const table = (head, rows) => [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

export function markdown(r) {
  const m = r.machine;
  const out = [];
  out.push(`# Kiln benchmark — ${r.date.slice(0, 10)} on ${r.host}${r.quick ? ' (--quick: short runs, scaled-down large model; not for quoting)' : ''}`);
  out.push('');
  out.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; flags: ${m.flags.join(' ') || 'none of interest'}; ${m.os}; Node ${m.node}; Python ${r.environment.python ?? '—'} (venv ${r.environment.venv ?? 'none'}), scikit-learn ${r.environment.sklearn ?? '—'}. Load average at start: ${m.loadAverageAtStart.join(' ')}.`);
  out.push('');
  out.push(`Command: \`${r.command ?? 'kiln bench'}\`, ${r.elapsedSeconds} s. Method: in-process figures are the median of ${r.method.repeats} runs of ${r.method.timeMs / r.method.repeats} ms each, one thread; HTTP figures are medians over ${r.method.rounds} alternated rounds of ${r.method.seconds} s per target. ${r.method.sharedMachine}. See docs/benchmarks.md.`);
  out.push('');
  out.push('## Models');
  out.push('');
  out.push(
    table(
      ['model', 'what', 'features', 'Kiln', 'max abs diff Kiln vs sklearn', 'ONNX (skl2onnx)', 'max abs diff onnxruntime-node vs sklearn'],
      r.models.map((x) => {
        const kiln = r.inProcess.find((y) => y.model === x.id && y.runner === 'kiln-addon');
        const onnx = r.inProcess.find((y) => y.model === x.id && y.runner === 'onnxruntime-node');
        return [
          x.id,
          `${x.title}${x.quickScaledDown ? ` (quick: ${x.params?.n_estimators} trees)` : ''}`,
          x.features ?? '—',
          x.kiln.status === 'ok' ? x.kiln.file : `absent: ${x.kiln.reason}`,
          kiln?.maxAbsDiffVsSklearn !== undefined ? kiln.maxAbsDiffVsSklearn.toExponential(1) : '—',
          x.onnx.status === 'ok' ? 'ok' : `absent: ${x.onnx.reason}`,
          onnx?.maxAbsDiffVsSklearn !== undefined ? onnx.maxAbsDiffVsSklearn.toExponential(1) : '—',
        ];
      }),
    ),
  );
  out.push('');
  out.push('## Targets (issue 5)');
  out.push('');
  out.push(
    table(
      ['target', 'model', 'bound', 'measured', 'result'],
      r.targets.map((t) => [t.text, t.model ?? 'all', `${t.kind === 'atMost' ? '≤' : '≥'} ${t.target} ${t.unit}`, t.measured === null ? '—' : `${fmt(t.measured)} ${t.unit}`, t.pass === null ? t.by : `${t.pass ? 'PASS' : 'MISS'} (${t.by})`]),
    ),
  );
  out.push('');
  const runners = IN_PROCESS_RUNNERS;
  const cell = (row, pick) => (row.status === 'ok' ? fmt(pick(row)) : 'absent');
  out.push('## In process: one row per call, µs');
  out.push('');
  out.push('Kiln addon: `model.predict(record)`; onnxruntime-node: `session.run` on a 1-row float32 tensor (awaited); Python peers: a 1 x n array. XGBoost, LightGBM and lleaves time their own equivalent model (same data, same tree count and depth).');
  out.push('');
  const models = r.models.map((x) => x.id);
  out.push(table(['model', ...runners], models.map((id) => [id, ...runners.map((rn) => cell(r.inProcess.find((y) => y.model === id && y.runner === rn), (y) => y.oneRowUs))])));
  out.push('');
  out.push('## In process: batches, ns per row, one thread');
  out.push('');
  out.push('Kiln addon: `predictMatrixRaw` (sync); engine: `Model::Predict`. Batch 1 includes the whole call overhead.');
  out.push('');
  const batchRows = [];
  for (const id of models) for (const b of BATCHES) batchRows.push([id, b, ...runners.map((rn) => cell(r.inProcess.find((y) => y.model === id && y.runner === rn), (y) => y.batchNsPerRow?.[b]))]);
  out.push(table(['model', 'batch', ...runners], batchRows));
  out.push('');
  out.push('Kiln addon, other entry points (ns per row): async `predictMatrixRawAsync` (one call awaited at a time), `predictBatch(records)` (encoding JS objects included; records from JSON.parse); one row with a record built key by key (a V8 dictionary-mode object, µs per call); engine with 2 threads on the 10,000-row batch.');
  out.push('');
  const extra = [];
  for (const id of models) {
    const a = r.inProcess.find((y) => y.model === id && y.runner === 'kiln-addon');
    const e = r.inProcess.find((y) => y.model === id && y.runner === 'kiln-engine');
    extra.push([id, ...BATCHES.map((b) => (a?.status === 'ok' ? fmt(a.asyncBatchNsPerRow?.[b]) : 'absent')), ...BATCHES.map((b) => (a?.status === 'ok' ? fmt(a.recordsBatchNsPerRow?.[b]) : 'absent')), a?.status === 'ok' && a.oneRowKeyedNs !== undefined ? fmt(a.oneRowKeyedNs / 1000) : 'absent', e?.status === 'ok' ? fmt(e.threadedNsPerRow) : 'absent']);
  }
  out.push(table(['model', ...BATCHES.map((b) => `async ${b}`), ...BATCHES.map((b) => `records ${b}`), 'one row, keyed record (µs)', 'engine 2 threads, 10000'], extra));
  out.push('');
  out.push('## Ratios: times faster Kiln (addon from JS) is than each peer, same run');
  out.push('');
  const ratioRows = [];
  for (const id of models) {
    for (const w of ['one row', 'batch 1', 'batch 100', 'batch 10000']) {
      const row = [id, w];
      for (const rn of runners.filter((x) => !x.startsWith('kiln-'))) {
        const q = r.ratios.find((x) => x.model === id && x.workload === w && x.peer === rn && x.kiln === 'kiln-addon');
        row.push(q ? `${fmt(q.kilnFasterBy)}x` : '—');
      }
      ratioRows.push(row);
    }
  }
  out.push(table(['model', 'workload', ...runners.filter((x) => !x.startsWith('kiln-'))], ratioRows));
  out.push('');
  out.push('## HTTP: one record per request, JSON');
  out.push('');
  if (r.http.status === 'absent') out.push(`Absent: ${r.http.reason}`);
  else {
    out.push(`Load: ${r.http.tool ?? 'none'} on loopback, each request a different row (${'4096'} distinct bodies); Kiln with \`--workers 2 --no-cache --log-level warn\`; the no-op routes get the same bodies as the first model (the bundled models share one feature set). The load generator shares the 2 cores with the servers.`);
    out.push('');
    const kilnOf = (model) => r.http.runs.find((x) => x.runner === 'kiln-serve' && x.model === model);
    out.push(
      table(
        ['runner', 'model', 'req/s (median)', 'p50 ms', 'p99 ms', 'p99.9 ms', 'Kiln / this', 'errors', 'req/s per round'],
        r.http.runs.map((x) => {
          const k = kilnOf(x.model);
          return [RUNNER_TEXT[x.runner] ?? x.runner, x.runner.startsWith('fastify') ? `(${x.model} body)` : x.model, fmt(x.reqPerSec), fmt(x.p50Ms), fmt(x.p99Ms), fmt(x.p999Ms), k && x.runner !== 'kiln-serve' && x.reqPerSec > 0 ? `${fmt(k.reqPerSec / x.reqPerSec)}x` : '', x.errors, x.samples.join(', ')];
        }),
      ),
    );
    for (const [runner, why] of Object.entries(r.http.absent ?? {})) out.push(`\n${RUNNER_TEXT[runner] ?? runner}: absent — ${why}`);
    out.push('');
    out.push(
      `Kiln at half its peak rate, and the no-op route (JSON parsed) at the same rate right after it: constant offered rate, open loop (load generator: \`${r.http.halfPeakGenerator?.name ?? 'bench/lib/paced.mjs'}\`${r.http.halfPeakGenerator?.kind ? `, ${r.http.halfPeakGenerator.kind}` : ''}${r.http.halfPeakGenerator?.fallback ? ` — the C++ generator was not used: ${r.http.halfPeakGenerator.fallback}` : ''}: request k is due at k/rate over ${r.http.connections} keep-alive connections, one request in flight on each, and its latency runs from its due time, so waiting for a busy connection counts). "service p99" times from the actual send; "sender late p99" is the load generator's own lag behind the schedule (counted in the latency, against the server). The CPU columns are the budget of the machine's cores during the run, in ms of CPU per second: the server's (primary and workers), the time its processes spent runnable but waiting for a core, and the load generator's: when server + generator (+ other tenants) approach the cores' ${r.machine?.cores ?? 2},000 ms/s, the tail is the scheduler's.`,
    );
    out.push('');
    out.push(
      table(
        ['runner', 'model', 'offered req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms', 'service p99 ms', 'sender late p99 ms', 'server CPU ms/s (µs/request)', 'server waiting for a core ms/s', 'generator CPU ms/s (µs/request)', 'errors'],
        (r.http.halfPeak ?? []).map((h) => {
          const runner = h.runner ?? 'kiln-serve';
          const cpu = (msPerS, usPerReq) => (typeof msPerS === 'number' ? `${Math.round(msPerS)} (${Math.round(usPerReq)})` : '—');
          return [RUNNER_TEXT[runner] ?? runner, runner.startsWith('fastify') ? `(${h.model} body)` : h.model, h.offeredReqPerSec, fmt(h.achievedReqPerSec), fmt(h.p50Ms), fmt(h.p99Ms), fmt(h.p999Ms), fmt(h.maxMs), fmt(h.serviceP99Ms), fmt(h.senderLateP99Ms), cpu(h.serverCpuMsPerS, h.serverCpuUsPerRequest), typeof h.serverWaitMsPerS === 'number' ? Math.round(h.serverWaitMsPerS) : '—', cpu(h.generatorCpuMsPerS, h.generatorCpuUsPerRequest), h.errors];
        }),
      ),
    );
    if (r.http.rss) out.push(`\nKiln worker RSS after the load (serving ${r.http.rss.models.join(', ')}): ${r.http.rss.kilnWorkersMiB.join(', ')} MiB.`);
  }
  out.push('');
  out.push('## Peers');
  out.push('');
  out.push(
    table(
      ['peer', 'status', 'version', 'why absent'],
      Object.entries(r.peers).map(([name, p]) => {
        const reasons = [...new Set(Object.values(p.models ?? {}).filter((v) => v !== 'ok'))];
        return [RUNNER_TEXT[name] ?? name, p.status, p.version ?? '', p.status === 'ok' ? (reasons.length ? `some models: ${reasons.join('; ')}` : '') : (p.reason ?? reasons.join('; '))];
      }),
    ),
  );
  out.push('');
  if (r.chart?.status === 'ok') out.push(`![chart](${r.chart.file})\n`);
  else out.push(`Chart: absent — ${r.chart?.reason ?? 'not drawn'}\n`);
  return `${out.join('\n')}\n`;
}
