// The half-peak run's load generator in C++ (native/bench/kiln_paced.cc): paced.mjs's schedule and
// figures at a fraction of its CPU per request, so that the generator takes less of the 2 cores the
// server is measured on. Built with CMake on demand (KILN_BUILD_BENCH, build/bench, as the engine
// section's kiln_bench; no download); where it cannot be built, the bench uses paced.mjs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { onPath, run } from './processes.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_DIR = path.join(ROOT, 'build', 'bench');
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** What the report names as the half-peak load generator when this one runs. */
export const NATIVE_PACED_GENERATOR = {
  name: 'native/bench/kiln_paced',
  kind: 'C++, one thread (on Linux woken by the schedule only, each response timed by the kernel\'s receive stamp)',
};

/** Builds (or brings up to date) build/bench/kiln_paced; returns its path, or throws with why it cannot. */
export async function buildPacedGenerator() {
  if (process.platform === 'win32') throw new Error('POSIX sockets only');
  if (!onPath('cmake')) throw new Error('cmake is not on PATH');
  await run('cmake', ['-S', ROOT, '-B', BUILD_DIR, '-DKILN_BUILD_BENCH=ON', '-DCMAKE_BUILD_TYPE=Release'], { timeoutMs: BUILD_TIMEOUT_MS, passStderr: false });
  await run('cmake', ['--build', BUILD_DIR, '--target', 'kiln_paced', '-j2'], { timeoutMs: BUILD_TIMEOUT_MS, passStderr: false });
  const binary = path.join(BUILD_DIR, 'kiln_paced');
  if (!existsSync(binary)) throw new Error(`cmake built no ${binary}`);
  return binary;
}

/**
 * One run: the same options and result fields as paced.mjs's pacedLoad (ms; generatorCpuUsPerRequest
 * in µs: the generator's CPU over the run, per request issued).
 */
export async function nativePacedLoad(binary, { url, bodiesFile, rate, seconds, connections, contentType = 'application/json', wake }) {
  const args = ['--url', url, '--bodies', bodiesFile, '--rate', String(rate), '--seconds', String(seconds), '--connections', String(connections), '--content-type', contentType];
  if (wake) args.push('--wake', wake);
  const out = await run(binary, args, { timeoutMs: (seconds + 60) * 1000, passStderr: false });
  const r = JSON.parse(out.trim().split('\n').pop());
  for (const k of ['p50', 'p99', 'p999', 'max', 'serviceP99', 'lateP99', 'lateMax']) if (r[k] === null) r[k] = NaN;
  return r;
}
