// kiln validate: loads a model (the engine checks it and replays its verification rows) and
// reports what it found.

import { loadModel } from '../model.js';
import { EXIT_OK } from './errors.js';

export interface ValidateOptions {
  json?: boolean;
}

export function runValidate(modelPath: string, options: ValidateOptions, stdout: NodeJS.WritableStream = process.stdout): number {
  const model = loadModel(modelPath);
  const summary = {
    ok: true,
    name: model.name,
    task: model.task,
    inputs: model.inputs.length,
    classes: model.classes,
    verification: model.verification,
  };
  if (options.json) {
    stdout.write(`${JSON.stringify(summary)}\n`);
    return EXIT_OK;
  }
  const lines = [
    `${modelPath}: OK`,
    `  name:         ${model.name}`,
    `  task:         ${model.task}`,
    `  inputs:       ${model.inputs.length}`,
  ];
  if (model.classes) lines.push(`  classes:      ${model.classes.map((c) => JSON.stringify(c)).join(', ')}`);
  lines.push(
    `  verification: ${model.verification.rowsChecked} rows checked, max abs error ${model.verification.maxAbsError.toExponential(3)}`,
  );
  stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}
