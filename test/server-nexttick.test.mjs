// A process serving Kiln must keep process.nextTick as cheap as a bare Node process's: when
// nextTick first got hot while the server was being built, V8 left its TickObject stores
// megamorphic (~4-6x the CPU per call, ~10 µs per HTTP request; src/server/tick-warmup.ts).
// Each figure is measured in its own fresh process (the state is per process), in CPU time, as
// the median of 3 rounds of 500,000 calls spread over loop turns like the request path's.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', f)).href);

const MEASURE = `
const noop = () => {};
const round = () => new Promise((resolve) => {
  let n = 0;
  const t0 = process.cpuUsage();
  const step = () => {
    for (let i = 0; i < 100; i++) process.nextTick(noop);
    if (++n < 5000) setImmediate(step);
    else { const d = process.cpuUsage(t0); resolve(((d.user + d.system) * 1000) / 500000); }
  };
  step();
});
const rounds = [await round(), await round(), await round()].sort((a, b) => a - b);
`;

/** CPU ns per nextTick in a fresh process after `setup` ran (ESM source; may print lines of its own). */
function nsPerCall(setup) {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `${setup}\n${MEASURE}\nconsole.log('NS ' + rounds[1]);\nprocess.exit(0);`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const line = out.split('\n').find((l) => l.startsWith('NS '));
  assert.ok(line, out);
  return { ns: Number(line.slice(3)), out };
}

test('after the server is built and has answered predict requests over loopback, process.nextTick costs what it does in a bare process', () => {
  const bare = nsPerCall('');
  const serving = nsPerCall(`
    const { resolveConfig } = await import(${dist('server/config.js')});
    const { runInProcess } = await import(${dist('server/cluster.js')});
    const running = await runInProcess(resolveConfig({ workers: 0, port: 0, cache: false, logLevel: 'silent' }), false);
    const { url } = await running.address;
    const record = JSON.parse(${JSON.stringify(JSON.stringify({}))});
    const model = running.server.repository.get('breast_cancer_logreg').model;
    for (const input of model.inputs) record[input.name] = 1;
    let ok = 0;
    for (let i = 0; i < 300; i++) {
      const r = await fetch(url + '/models/breast_cancer_logreg/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
      await r.text();
      if (r.status === 200) ok++;
    }
    console.log('OK ' + ok);
  `);
  assert.match(serving.out, /^OK 300$/m, 'every predict request answered 200');
  // Measured: bare ~130-170 ns, the server's ~130-230 with the warm-up, ~550-900 without it.
  assert.ok(serving.ns < bare.ns * 2.5, `nextTick costs ${serving.ns.toFixed(0)} ns per call in the serving process, ${bare.ns.toFixed(0)} in a bare one`);
});
