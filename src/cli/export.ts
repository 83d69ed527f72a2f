// kiln export: runs the Python exporter (python -m kiln_export) with a Python that has sklearn.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './errors.js';
import { exporterSourceDir } from './paths.js';
import { findPython } from './python.js';

export interface ExportOptions {
  output: string;
  python?: string;
  rows?: string;
  name?: string;
  featureNames?: string[];
  expr?: string[];      // NAME=EXPRESSION, passed through in order
  checkRows?: string;
}

export async function runExport(modelPath: string, options: ExportOptions): Promise<number> {
  if (!existsSync(modelPath)) throw new CliError(`cannot read ${modelPath}: no such file`);
  if (options.rows !== undefined && !existsSync(options.rows)) throw new CliError(`cannot read ${options.rows}: no such file`);
  if (options.checkRows !== undefined && !existsSync(options.checkRows)) throw new CliError(`cannot read ${options.checkRows}: no such file`);
  for (const e of options.expr ?? []) {
    if (!/^[^=]+=.*\S/.test(e)) throw new CliError(`--expr ${JSON.stringify(e)}: expected NAME=EXPRESSION`, EXIT_USAGE);
  }
  if (!existsSync(path.join(exporterSourceDir, 'kiln_export'))) {
    throw new CliError(`the exporter package is missing from this installation (expected ${path.join(exporterSourceDir, 'kiln_export')})`);
  }
  const python = findPython(options.python);

  const args = ['-m', 'kiln_export', modelPath, '-o', options.output];
  if (options.name !== undefined) args.push('--name', options.name);
  if (options.rows !== undefined) args.push('--rows', options.rows);
  if (options.featureNames !== undefined && options.featureNames.length > 0) args.push('--feature-names', ...options.featureNames);
  // --expr=VALUE keeps an expression starting with '-' from being read as an option.
  for (const e of options.expr ?? []) args.push(`--expr=${e}`);
  if (options.checkRows !== undefined) args.push('--check-rows', options.checkRows);

  const pythonPath = [exporterSourceDir, process.env['PYTHONPATH']].filter(Boolean).join(path.delimiter);
  // The exporter's own output and diagnostics go straight through to the user.
  const child = spawn(python.command, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, PYTHONPATH: pythonPath } });
  const status = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : EXIT_FAILURE)));
  });
  if (status === 0) return EXIT_OK;
  // The exporter's argparse usage errors stay usage errors; everything else is a failure
  // (the exporter has already explained it on stderr).
  return status === EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE;
}
