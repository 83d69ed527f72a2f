// Shared by test/prebuild.test.mjs and test/package.test.mjs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { prebuildTarget } from '../dist/native.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const TARGET = prebuildTarget();
export const PREBUILD = join(ROOT, 'prebuilds', `${TARGET}.node`);

/** Builds prebuilds/<target>.node if it is missing (incremental on top of `npm install`'s build). */
export function ensurePrebuild() {
  if (existsSync(PREBUILD)) return PREBUILD;
  const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'prebuild.mjs')], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
  assert.equal(run.status, 0, `npm run build:prebuild failed:\n${run.stdout}\n${run.stderr}`);
  return PREBUILD;
}
