// A process serving Kiln must keep process.nextTick's property stores monomorphic: when nextTick
// first got hot while the server was being built, V8 left the TickObject literal's stores
// MEGAMORPHIC and every later call took the runtime's slow path (~4-6x the CPU per call, ~10 µs
// per HTTP request; src/server/tick-warmup.ts, bench/dev/README.md). The check reads V8's own
// feedback for nextTick (%DebugPrint) after the server has answered requests over loopback, so it
// does not depend on timing. Without the warm-up, 2-3 of these slots are MEGAMORPHIC.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (f) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', f)).href);

const SERVE_THEN_PRINT = `
const { resolveConfig } = await import(${dist('server/config.js')});
const { runInProcess } = await import(${dist('server/cluster.js')});
const running = await runInProcess(resolveConfig({ workers: 0, port: 0, cache: false, logLevel: 'silent' }), false);
const { url } = await running.address;
const model = running.server.repository.get('breast_cancer_logreg').model;
const record = {};
for (const input of model.inputs) record[input.name] = 1;
let ok = 0;
for (let i = 0; i < 300; i++) {
  const r = await fetch(url + '/models/breast_cancer_logreg/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(record) });
  await r.text();
  if (r.status === 200) ok++;
}
console.log('OK ' + ok);
%DebugPrint(process.nextTick);
process.exit(0);
`;

test("after the server is built and has answered predict requests over loopback, process.nextTick's stores are not megamorphic", () => {
  // %DebugPrint writes through C stdio: into a pipe, what it buffers is lost at exit; a file keeps it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-nexttick-'));
  const file = path.join(dir, 'out.txt');
  const fd = fs.openSync(file, 'w');
  try {
    execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', SERVE_THEN_PRINT], { cwd: ROOT, stdio: ['ignore', fd, 'pipe'] });
  } finally {
    fs.closeSync(fd);
  }
  const out = fs.readFileSync(file, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  assert.match(out, /^OK 300$/m, 'every predict request answered 200');
  const stores = out.split('\n').filter((l) => /slot #\d+ (Define|Store)\w*/.test(l));
  // The TickObject literal's keyed defines must be there, or V8's print format changed and the
  // check below would prove nothing.
  assert.ok(stores.some((l) => l.includes('DefineKeyedOwnPropertyInLiteral')), `no store feedback found in:\n${out}`);
  const megamorphic = stores.filter((l) => l.includes('MEGAMORPHIC'));
  assert.deepEqual(megamorphic, [], 'process.nextTick has megamorphic stores');
});
