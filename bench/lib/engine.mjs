// Section (a): the engine alone. Builds native/bench/kiln_bench with CMake (KILN_BUILD_BENCH, in
// build/bench, Release, the same flags as the addon) on demand, and runs it per model.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { onPath, run } from './processes.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_DIR = path.join(ROOT, 'build', 'bench');
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** Builds (or brings up to date) the binary; returns its path, or throws with why it cannot. */
export async function buildEngineBench() {
  if (!onPath('cmake')) throw new Error('cmake is not on PATH');
  process.stderr.write('bench: building native/bench/kiln_bench (cmake, build/bench)\n');
  await run('cmake', ['-S', ROOT, '-B', BUILD_DIR, '-DKILN_BUILD_BENCH=ON', '-DCMAKE_BUILD_TYPE=Release'], { timeoutMs: BUILD_TIMEOUT_MS, passStderr: false });
  await run('cmake', ['--build', BUILD_DIR, '--target', 'kiln_bench', '-j2'], { timeoutMs: BUILD_TIMEOUT_MS, passStderr: false });
  const binary = path.join(BUILD_DIR, 'kiln_bench');
  if (!existsSync(binary)) throw new Error(`cmake built no ${binary}`);
  return binary;
}

export async function runEngineBench(binary, { cacheDir, entry, kilnFile, timeMs, repeats }) {
  const out = await run(binary, [kilnFile, path.join(cacheDir, entry.id, 'rows.f64'), String(entry.features.length), '--time-ms', String(timeMs), '--repeats', String(repeats), '--batches', '1,100,10000', '--threads', '2'], {
    timeoutMs: 60_000 + timeMs * 20,
    passStderr: false,
  });
  return JSON.parse(out);
}
