#!/usr/bin/env node
// npm run build:native: builds the addon from source into build/Release/kiln.node with cmake-js, after a
// preflight that names what is missing (CMake >= 3.18, a C++17 compiler, the cmake-js / node-addon-api
// packages) and how to get it, instead of cmake-js's own "CMake executable is not found".
// Users of the npm package need none of this: prebuilds/ holds a binary for their platform (see docs/install.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

/** The directory of an installed package, found as Node would (hoisted or not), or null. */
export function packageDir(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    return null;
  }
}

/** The cmake-js command line script. */
export function cmakeJsBin() {
  return path.join(packageDir('cmake-js') ?? path.join(root, 'node_modules', 'cmake-js'), 'bin', 'cmake-js');
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.error || r.status !== 0 ? null : `${r.stdout}${r.stderr}`;
}

/** Throws nothing; prints every problem found and exits 1 if there is one. */
export function preflight() {
  const problems = [];
  const hint = process.platform === 'darwin' ? 'xcode-select --install; brew install cmake'
    : process.platform === 'win32' ? 'install Visual Studio Build Tools (C++ workload) and CMake (winget install Kitware.CMake)'
    : existsSync('/etc/alpine-release') ? 'apk add build-base cmake'
    : existsSync('/etc/redhat-release') ? 'dnf install gcc-c++ make cmake'
    : 'apt-get install cmake g++ make  (Debian/Ubuntu)';

  const cmake = process.env.CMAKE || 'cmake';
  const cmakeOut = run(cmake, ['--version']);
  const cmakeVersion = cmakeOut && /cmake version (\d+)\.(\d+)/.exec(cmakeOut);
  if (!cmakeOut) problems.push(`CMake was not found on PATH (looked for \`${cmake}\`).`);
  else if (!cmakeVersion || Number(cmakeVersion[1]) * 1000 + Number(cmakeVersion[2]) < 3018) {
    problems.push(`CMake >= 3.18 is needed; found: ${cmakeOut.split('\n')[0]}.`);
  }

  if (process.platform !== 'win32') {
    const candidates = process.env.CXX ? [process.env.CXX] : ['c++', 'g++', 'clang++'];
    if (!candidates.some((cxx) => run(cxx, ['--version']))) {
      problems.push(`No C++17 compiler was found on PATH (looked for ${candidates.map((c) => `\`${c}\``).join(', ')}; set CXX to use another).`);
    }
    if (!run('make', ['--version']) && !run('ninja', ['--version'])) {
      problems.push('Neither make nor ninja was found on PATH (CMake needs one to build).');
    }
  }

  for (const pkg of ['cmake-js', 'node-addon-api']) {
    if (!packageDir(pkg)) {
      problems.push(`The ${pkg} package is not installed here (run \`npm install\` in a checkout, or \`npm install --no-save cmake-js@8.0.0\` in an installed package).`);
    }
  }

  if (problems.length > 0) {
    console.error([
      'kiln: cannot build the native addon from source:',
      ...problems.map((p) => `  - ${p}`),
      `To fix: ${hint}.`,
      'You may not need a source build: the npm package ships prebuilt binaries for linux/linuxmusl x64/arm64,',
      'darwin x64/arm64 and win32 x64/arm64 (see docs/install.md).',
    ].join('\n'));
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  preflight();
  execFileSync(process.execPath, [cmakeJsBin(), 'compile', '-p', '2', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
}
