#!/usr/bin/env node
// kiln: command-line interface. Exit codes: 0 ok, 1 failure, 2 usage.

import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';

import { KilnError } from './errors.js';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './cli/errors.js';
import { runExport, type ExportOptions } from './cli/export.js';
import { packageVersion } from './cli/paths.js';
import { runPredict } from './cli/predict.js';
import { addBenchCommand } from './cli/bench.js';
import { addServeCommand } from './cli/serve.js';
import { runValidate, type ValidateOptions } from './cli/validate.js';

const DEFAULT_BATCH_SIZE = 1024;

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('kiln')
    .description('Serve exported scikit-learn pipelines: export, validate and predict with Kiln models.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit codes: 0 ok, 1 failure, 2 usage.\nRun "kiln help <command>" for a command\'s options.');

  program
    .command('export')
    .description('export a pickled/joblib scikit-learn model to a Kiln model file (runs Python)')
    .argument('<model>', 'fitted estimator or pipeline, .pkl or .joblib')
    .requiredOption('-o, --output <file>', 'model file to write (.json)')
    .option('--python <path>', 'Python interpreter with scikit-learn (default: $KILN_PYTHON, then python3, python)')
    .option('--rows <file>', 'JSON rows (array of objects) to use as verification rows')
    .option('--name <name>', 'model name (default: derived from the file name)')
    .option('--feature-names <names...>', 'input names, for models fitted without column names')
    .option('--expr <name=expression>', 'Kiln expression for one output column of a FunctionTransformer with a custom function (repeat, in the function\'s column order; docs/expressions.md)', collectExpr, [])
    .option('--check-rows <file>', 'more rows (e.g. the training sample) on which the expressions are checked against the Python function')
    .addHelpText('after', "\nExamples:\n  kiln export pipeline.joblib -o churn.json --rows sample.json --python .venv/bin/python\n  kiln export pipeline.joblib -o churn.json --expr ratio='debt / max(income, 1)' --check-rows train.csv")
    .action(async (model: string, options: ExportOptions) => setExit(await runExport(model, options)));

  program
    .command('predict')
    .description('predict records; prints one JSON object per line ({"label", "probabilities"} or {"value"})')
    .argument('<model>', 'Kiln model file (.json)')
    .requiredOption('-i, --input <file>', 'records: a JSON array of objects, or JSON Lines; "-" reads stdin')
    .addOption(new Option('--batch-size <n>', 'records per engine call').argParser(positiveInteger).default(DEFAULT_BATCH_SIZE))
    .addHelpText('after', '\nA missing value is null (or an absent key).\nExample:\n  kiln predict churn.json --input rows.jsonl > predictions.jsonl')
    .action(async (model: string, options: { input: string; batchSize: number }) => setExit(await runPredict(model, options)));

  program
    .command('validate')
    .description('load a model file, replay its verification rows and report')
    .argument('<model>', 'Kiln model file (.json)')
    .option('--json', 'print the report as one JSON object')
    .action((model: string, options: ValidateOptions) => setExit(runValidate(model, options)));

  addServeCommand(program, setExit);
  addBenchCommand(program, setExit);

  return program;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed help, the version, or the usage error already.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof KilnError) {
    process.stderr.write(`kiln: ${error.code}: ${error.message}\n`);
    return EXIT_FAILURE;
  }
  if (error instanceof CliError) {
    process.stderr.write(`kiln: ${error.message}\n`);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stderr.write(`kiln: unexpected error: ${message}\n`);
  return EXIT_FAILURE;
}

function collectExpr(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  let exitCode = EXIT_OK;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    return report(error);
  }
  return exitCode;
}

// A closed pipe (`kiln predict ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(EXIT_OK);
  throw error;
});

process.exitCode = await main();
