#!/usr/bin/env node
// Checks a Linux prebuilt addon with readelf (binutils reads ELF files of any architecture):
//   * NEEDED lists only the C library: libc, libm, libpthread, libdl and the dynamic loader (glibc), or
//     libc.musl-* / ld-musl-* (musl); no libstdc++ or libgcc_s (they are linked statically);
//   * no GLIBCXX_ / CXXABI_ / GCC_ symbol versions (same reason);
//   * the highest GLIBC_ symbol version is at or below the floor (--glibc-floor, default 2.36: the
//     glibc of Debian 12, where the linux-x64 prebuild is built; a build on Rocky Linux 8 gives 2.28);
//   * the ELF machine matches --arch (x64 or arm64), when given.
// Usage: node scripts/check-prebuild.mjs prebuilds/linux-x64.node [--glibc-floor 2.36] [--arch x64]
// Prints one line per check; exits 1 if any fails.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const DEFAULT_GLIBC_FLOOR = '2.36';

const ALLOWED_NEEDED = [
  /^libc\.so\.6$/, /^libm\.so\.6$/, /^libpthread\.so\.0$/, /^libdl\.so\.2$/,
  /^ld-linux-(x86-64|aarch64)\.so\.[12]$/, /^libc\.musl-[\w]+\.so\.1$/, /^ld-musl-[\w]+\.so\.1$/,
];
const MACHINES = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };

function compareVersions(a, b) {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Returns { ok, lines, needed, maxGlibc } for one file. */
export function checkPrebuild(file, { glibcFloor = DEFAULT_GLIBC_FLOOR, arch } = {}) {
  const readelf = (...args) => execFileSync('readelf', [...args, file], { encoding: 'utf8' });
  const lines = [];
  let ok = true;
  const report = (pass, text) => {
    lines.push(`${pass ? 'ok  ' : 'FAIL'} ${text}`);
    if (!pass) ok = false;
  };

  const needed = [...readelf('-d', '--wide').matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const extra = needed.filter((lib) => !ALLOWED_NEEDED.some((re) => re.test(lib)));
  report(extra.length === 0, `NEEDED: ${needed.join(', ')}${extra.length ? ` (not allowed: ${extra.join(', ')})` : ''}`);

  const versions = new Set(readelf('-V', '--wide').match(/\b(GLIBC|GLIBCXX|CXXABI|GCC)_[0-9][0-9.]*\b/g) ?? []);
  const cxx = [...versions].filter((v) => !v.startsWith('GLIBC_'));
  report(cxx.length === 0, `no libstdc++/libgcc symbol versions${cxx.length ? ` (found: ${cxx.join(', ')})` : ''}`);

  const glibc = [...versions].filter((v) => v.startsWith('GLIBC_')).map((v) => v.slice('GLIBC_'.length)).sort(compareVersions);
  const maxGlibc = glibc.at(-1) ?? null;
  report(maxGlibc === null || compareVersions(maxGlibc, glibcFloor) <= 0,
    `highest GLIBC_ symbol version ${maxGlibc ?? '(none: musl or static)'} <= floor ${glibcFloor}`);

  if (arch) {
    const machine = /Machine:\s+(.+)/.exec(readelf('-h'))?.[1]?.trim();
    report(machine === MACHINES[arch], `ELF machine ${machine} is ${arch}`);
  }
  return { ok, lines, needed, maxGlibc };
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'glibc-floor': { type: 'string', default: process.env.KILN_GLIBC_FLOOR ?? DEFAULT_GLIBC_FLOOR }, arch: { type: 'string' } },
  });
  if (positionals.length === 0) {
    console.error('usage: node scripts/check-prebuild.mjs <file.node>... [--glibc-floor 2.36] [--arch x64|arm64]');
    process.exit(2);
  }
  let allOk = true;
  for (const file of positionals) {
    const { ok, lines } = checkPrebuild(file, { glibcFloor: values['glibc-floor'], arch: values.arch });
    console.log(`${file}:\n  ${lines.join('\n  ')}`);
    allOk &&= ok;
  }
  process.exit(allOk ? 0 : 1);
}
