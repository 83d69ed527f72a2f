// Finds a Python interpreter that can import scikit-learn, for `kiln export`.
// Order: --python, else $KILN_PYTHON, else python3, then python. An explicit choice is the only
// candidate: if it lacks sklearn, that is the error (never silently another interpreter).

import { spawnSync } from 'node:child_process';

import { CliError } from './errors.js';

// Importing sklearn cold (numpy, scipy) can take several seconds on a slow disk.
const PROBE_TIMEOUT_MS = 60_000;

export interface PythonChoice {
  readonly command: string;
  readonly sklearnVersion: string;
}

type Probe = { ok: true; version: string } | { ok: false; detail: string };

function probe(command: string): Probe {
  const run = spawnSync(command, ['-c', 'import sklearn; print(sklearn.__version__)'], {
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (run.error) {
    const code = (run.error as NodeJS.ErrnoException).code;
    return { ok: false, detail: code === 'ENOENT' ? 'not found' : run.error.message };
  }
  if (run.status !== 0) {
    const lines = run.stderr.trim().split('\n');
    return { ok: false, detail: `cannot import sklearn (${lines[lines.length - 1] ?? `exit ${run.status}`})` };
  }
  return { ok: true, version: run.stdout.trim() || '?' };
}

export function findPython(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): PythonChoice {
  const fromEnv = env['KILN_PYTHON'];
  const candidates = explicit ? [explicit] : fromEnv ? [fromEnv] : ['python3', 'python'];
  const source = explicit ? '--python' : fromEnv ? 'KILN_PYTHON' : 'PATH';
  const tried: string[] = [];
  for (const command of candidates) {
    const result = probe(command);
    if (result.ok) return { command, sklearnVersion: result.version };
    tried.push(`  ${command} (from ${source}): ${result.detail}`);
  }
  throw new CliError(
    [
      'kiln export needs a Python with scikit-learn installed. Tried:',
      ...tried,
      'Point at one with --python /path/to/venv/bin/python (or set KILN_PYTHON).',
    ].join('\n'),
  );
}
