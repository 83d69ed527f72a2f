// The prebuilt addon for this platform (npm run build:prebuild), the loader's choice and its error message,
// and the source-build preflight. Loading happens in child processes, from a copy of dist/ that has no
// build/Release next to it, as in an installed package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { checkPrebuild } from '../scripts/check-prebuild.mjs';
import { ensurePrebuild, PREBUILD, ROOT, TARGET } from './prebuild-helpers.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'kiln-prebuild-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A package-shaped folder: dist/, package.json, node_modules (linked), prebuilds/ if asked; no build/. */
function fakePackage(name, { withPrebuild }) {
  const dir = join(tmp, name);
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  if (withPrebuild) {
    mkdirSync(join(dir, 'prebuilds'));
    cpSync(ensurePrebuild(), join(dir, 'prebuilds', `${TARGET}.node`));
  }
  return dir;
}

function loadIn(dir, env = {}) {
  const script = `
    const { loadModel } = await import(${JSON.stringify(join(dir, 'dist', 'index.js'))});
    const m = loadModel(${JSON.stringify(join(ROOT, 'models', 'iris_logreg.json'))});
    const out = m.predict({ 'sepal length (cm)': 5.1, 'sepal width (cm)': 3.5, 'petal length (cm)': 1.4, 'petal width (cm)': 0.2 });
    console.log(JSON.stringify(out));`;
  const environment = { ...process.env, ...env };
  for (const key of ['KILN_NATIVE_PATH', 'KILN_NATIVE_TARGET']) if (!(key in env)) delete environment[key];
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: environment, timeout: 60_000 });
}

test('the prebuild for this platform needs only libc and stays under the glibc floor', { skip: process.platform !== 'linux' }, () => {
  const { ok, lines } = checkPrebuild(ensurePrebuild(), { arch: process.arch });
  assert.ok(ok, lines.join('\n'));
});

test('loader: with no build/Release, the prebuild for this platform loads and predicts', () => {
  const dir = fakePackage('with-prebuild', { withPrebuild: true });
  const run = loadIn(dir);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).label, 'setosa');
});

test('loader: KILN_NATIVE_PATH comes first, and a bad one falls through to the next candidate', () => {
  const dir = fakePackage('explicit', { withPrebuild: true });
  const bad = join(tmp, 'not-an-addon.node');
  writeFileSync(bad, 'this is not a shared object\n'.repeat(100));
  assert.equal(loadIn(dir, { KILN_NATIVE_PATH: bad }).status, 0);
  assert.equal(loadIn(dir, { KILN_NATIVE_PATH: PREBUILD, KILN_NATIVE_TARGET: 'linux-sparc64' }).status, 0);
});

test('loader: with nothing loadable, one error lists every path tried, its real error, and what to do', () => {
  const dir = fakePackage('no-prebuild', { withPrebuild: false });
  const bad = join(tmp, 'bad.node');
  writeFileSync(bad, 'this is not a shared object\n'.repeat(100));
  const run = loadIn(dir, { KILN_NATIVE_PATH: bad, KILN_NATIVE_TARGET: 'linux-sparc64' });
  assert.notEqual(run.status, 0);
  const message = run.stderr;
  assert.match(message, /KILN_INTERNAL|KilnError/);
  assert.match(message, /Kiln could not load its native addon for linux-sparc64/);
  assert.match(message, new RegExp(`${bad}\\n\\s+.*(invalid ELF header|file too short|not a valid)`));
  assert.match(message, new RegExp(`${join(dir, 'build', 'Release', 'kiln.node')}\\n\\s+no such file`));
  assert.match(message, new RegExp(`${join(dir, 'prebuilds', 'linux-sparc64.node')}\\n\\s+no such file`));
  assert.match(message, /No prebuilt binary ships for linux-sparc64/);
  assert.match(message, /npm run build:native/);
  assert.match(message, /KILN_NATIVE_PATH/);
});

test('build:native preflight names a missing CMake and compiler instead of failing inside cmake-js', () => {
  const emptyBin = join(tmp, 'empty-bin');
  mkdirSync(emptyBin);
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, PATH: emptyBin, CXX: '' },
    timeout: 60_000,
  });
  assert.equal(run.status, 1, run.stdout + run.stderr);
  assert.match(run.stderr, /cannot build the native addon from source/);
  assert.match(run.stderr, /CMake was not found on PATH/);
  assert.match(run.stderr, /No C\+\+17 compiler was found on PATH/);
  assert.match(run.stderr, /To fix: /);
});

test('loader message for a glibc that is too old quotes the version the binary needs', async () => {
  const { loadFailureMessage } = await import('../dist/native.js');
  const reason = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.36' not found (required by /app/node_modules/kiln/prebuilds/linux-x64.node)";
  const message = loadFailureMessage([
    { candidate: '/app/node_modules/kiln/build/Release/kiln.node', reason: 'no such file' },
    { candidate: '/app/node_modules/kiln/prebuilds/linux-x64.node', reason },
  ]);
  assert.match(message, /too old for the prebuilt binary: it needs GLIBC_2\.36/);
  assert.match(message, /Update the OS/);
  assert.ok(message.includes(reason), 'the real loader error is listed');
});
