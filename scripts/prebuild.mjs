#!/usr/bin/env node
// npm run build:prebuild (not "prebuild": npm would run that before every `npm run build`): compiles the addon for this platform with cmake-js (Release; N-API 9 and the x86-64-v2
// baseline come from CMakeLists.txt) in build/ (the same tree as `npm run build:native`, so it is incremental), copies it to prebuilds/<platform>[musl]-<arch>.node,
// strips it (Linux only: stripping breaks the ad-hoc code signature on macOS), then checks it with
// scripts/check-prebuild.mjs (Linux only).
//
// Options: --arch <x64|arm64> (cmake-js --arch; also names the file), --libc <glibc|musl> (names the file when
// cross-building), --glibc-floor <x.y>, and anything after `--` is passed to cmake-js (e.g. a cross toolchain:
// -- --CDCMAKE_TOOLCHAIN_FILE=/path/aarch64.cmake). STRIP names the strip program (default: strip).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { familySync, MUSL } from 'detect-libc';

import { checkPrebuild, DEFAULT_GLIBC_FLOOR } from './check-prebuild.mjs';
import { cmakeJsBin, preflight } from './build-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    arch: { type: 'string', default: process.arch },
    libc: { type: 'string' },
    'glibc-floor': { type: 'string', default: process.env.KILN_GLIBC_FLOOR ?? DEFAULT_GLIBC_FLOOR },
  },
});

const platform = process.platform;
const musl = platform === 'linux' && (values.libc ? values.libc === 'musl' : familySync() === MUSL);
const target = `${platform}${musl ? 'musl' : ''}-${values.arch}`;
const outDir = path.join(root, 'build');
const dest = path.join(root, 'prebuilds', `${target}.node`);

preflight();
const args = [cmakeJsBin(), 'compile', '--config', 'Release', '--out', outDir, '--arch', values.arch, '-p', '2', ...positionals];
console.log(`prebuild: ${target}: node ${args.map((a) => path.relative(root, a) || a).join(' ')}`);
execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' });

mkdirSync(path.dirname(dest), { recursive: true });
copyFileSync(path.join(outDir, 'Release', 'kiln.node'), dest);
if (platform === 'linux') {
  execFileSync(process.env.STRIP || 'strip', ['--strip-unneeded', dest], { stdio: 'inherit' });
}
console.log(`prebuild: wrote ${path.relative(root, dest)} (${statSync(dest).size} bytes)`);

if (platform === 'linux') {
  const { ok, lines } = checkPrebuild(dest, { glibcFloor: values['glibc-floor'], arch: values.arch });
  console.log(`prebuild: check:\n  ${lines.join('\n  ')}`);
  if (!ok) process.exit(1);
}
