// The npm package as a user gets it: `npm pack` (with this platform's prebuild), installed from the tarball into
// an empty folder by an npm whose PATH holds node and npm and nothing else (no cmake, c++, g++, cc, make), then
// a bundled model loaded and predicted in a child process, and the `kiln` bin run. The registry is reachable,
// but npm is told to prefer its cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ensurePrebuild, ROOT, TARGET } from './prebuild-helpers.mjs';

const tmp = mkdtempSync(join(tmpdir(), 'kiln-package-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** A bin folder with only node and npm in it. */
function bareBin() {
  const bin = join(tmp, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const npmOnPath = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  assert.ok(npmOnPath, 'npm is not on PATH');
  symlinkSync(realpathSync(npmOnPath), join(bin, 'npm'));
  return bin;
}

function run(cmd, args, options) {
  const result = spawnSync(cmd, args, { encoding: 'utf8', timeout: 180_000, ...options });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

test('npm pack, install the tarball with no compiler on PATH, load a bundled model and predict', { timeout: 300_000 }, () => {
  ensurePrebuild();
  assert.ok(existsSync(join(ROOT, 'dist', 'index.js')), 'dist/ is missing: run npm run build:ts');

  // Pack (scripts off: `prepare` would rebuild what is already built).
  const packDir = join(tmp, 'pack');
  mkdirSync(packDir);
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], { cwd: ROOT });
  assert.equal(pack.status, 0, pack.stderr);
  const [info] = JSON.parse(pack.stdout);
  const files = info.files.map((f) => f.path);
  assert.ok(files.includes(`prebuilds/${TARGET}.node`), `the tarball lacks prebuilds/${TARGET}.node`);
  assert.ok(files.includes('models/iris_logreg.json'));
  assert.ok(!files.some((f) => f.startsWith('build/')), 'the tarball must not carry build/');
  const tarball = join(packDir, info.filename);

  // Install into an empty folder with only node and npm on PATH.
  const bin = bareBin();
  const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false' };
  for (const key of ['KILN_NATIVE_PATH', 'KILN_NATIVE_TARGET', 'CXX', 'CC']) delete env[key];
  for (const tool of ['cmake', 'c++', 'g++', 'cc', 'gcc', 'clang++', 'make', 'ninja']) {
    const found = run('sh', ['-c', `command -v ${tool}`], { env });
    assert.notEqual(found.status, 0, `${tool} is on the test PATH: ${found.stdout}`);
  }
  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'kiln-package-test', version: '1.0.0', private: true, type: 'module' }));
  const install = run(join(bin, 'npm'), ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, env });
  assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
  const installed = join(app, 'node_modules', 'kiln');
  assert.ok(!existsSync(join(installed, 'build')), 'an install must not compile anything');
  assert.ok(readdirSync(join(installed, 'prebuilds')).includes(`${TARGET}.node`));

  // Load a bundled model from the installed package and predict, in a child process.
  const script = `
    import { loadModel } from 'kiln';
    const rf = loadModel('node_modules/kiln/models/breast_cancer_rf.json');
    const iris = loadModel('node_modules/kiln/models/iris_logreg.json');
    const out = iris.predict({ 'sepal length (cm)': 5.1, 'sepal width (cm)': 3.5, 'petal length (cm)': 1.4, 'petal width (cm)': 0.2 });
    console.log(JSON.stringify({ label: out.label, rf: rf.name, rows: rf.verification.rowsChecked }));`;
  const predict = run(join(bin, 'node'), ['--input-type=module', '-e', script], { cwd: app, env });
  assert.equal(predict.status, 0, predict.stderr);
  const answer = JSON.parse(predict.stdout);
  assert.equal(answer.label, 'setosa');
  assert.equal(answer.rf, 'breast_cancer_rf');
  assert.ok(answer.rows > 0, 'the random forest replayed its verification rows');

  // The bin.
  const validate = run(join(app, 'node_modules', '.bin', 'kiln'), ['validate', 'node_modules/kiln/models/iris_logreg.json'], { cwd: app, env });
  assert.equal(validate.status, 0, validate.stderr);
  assert.match(validate.stdout, /iris_logreg\.json: OK/);

  // A source build from the installed package stops at the preflight, naming what is missing.
  const source = run(join(bin, 'node'), [join(installed, 'scripts', 'build-native.mjs')], { cwd: installed, env });
  assert.equal(source.status, 1, source.stdout + source.stderr);
  assert.match(source.stderr, /CMake was not found on PATH/);
  assert.match(source.stderr, /The cmake-js package is not installed here/);

  // A platform with no prebuild: the loader's one error (this text is quoted in README "Troubleshooting").
  const forced = run(join(bin, 'node'), ['--input-type=module', '-e', `import { loadModel } from 'kiln'; loadModel('node_modules/kiln/models/iris_logreg.json');`],
    { cwd: app, env: { ...env, KILN_NATIVE_TARGET: 'linuxmusl-riscv64' } });
  assert.notEqual(forced.status, 0);
  assert.match(forced.stderr, /Kiln could not load its native addon for linuxmusl-riscv64/);
  assert.match(forced.stderr, /prebuilds\/linuxmusl-riscv64\.node\n\s+no such file/);
  assert.match(forced.stderr, /No prebuilt binary ships for linuxmusl-riscv64/);
  if (process.env.KILN_SHOW_LOADER_ERROR) console.log(forced.stderr);
});
