// kiln bench: runs the benchmark harness of a source checkout (bench/lib/run.mjs) — the engine
// alone, the addon from JS, HTTP, and the peers — and writes the report. See docs/benchmarks.md.

import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { InvalidArgumentError, type Command } from 'commander';

import { CliError, EXIT_OK, UsageError } from './errors.js';
import { packageRoot } from './paths.js';

const PEERS = ['onnxruntime-node', 'sklearn', 'tl2cgen', 'xgboost', 'lightgbm', 'lleaves', 'fastify-noop', 'flask-gunicorn'];
const SECTIONS = ['engine', 'addon', 'peers', 'http'];

interface BenchOptions {
  quick?: boolean;
  models?: string[];
  peers?: string[];
  sections?: string[];
  duration?: number;
  rounds?: number;
  timeMs?: number;
  out?: string;
  cache?: string;
  python?: string;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

function listOf(allowed: readonly string[] | null) {
  return (value: string): string[] => {
    const items = value.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list');
    const unknown = allowed ? items.filter((s) => !allowed.includes(s)) : [];
    if (unknown.length) throw new InvalidArgumentError(`unknown: ${unknown.join(', ')} (known: ${allowed!.join(', ')})`);
    return items;
  };
}

/**
 * --python takes the interpreter, or a virtualenv directory (its bin/python, Scripts\\python.exe on
 * Windows). Anything else is a usage error naming the expected form, before any work starts.
 */
export function resolvePython(given: string): string {
  const expected = 'expected a Python executable or a virtualenv directory (e.g. --python .venv/sklearn-latest or --python .venv/sklearn-latest/bin/python)';
  if (!existsSync(given)) throw new UsageError(`--python ${given}: no such file or directory; ${expected}`);
  let python = given;
  if (statSync(given).isDirectory()) {
    python = process.platform === 'win32' ? path.join(given, 'Scripts', 'python.exe') : path.join(given, 'bin', 'python');
    if (!existsSync(python)) throw new UsageError(`--python ${given}: a directory without ${path.relative(given, python)}; ${expected}`);
  }
  try {
    accessSync(python, constants.X_OK);
  } catch {
    throw new UsageError(`--python ${given}: ${python} is not executable; ${expected}`);
  }
  return path.resolve(python);
}

async function runBenchCommand(options: BenchOptions): Promise<number> {
  if (options.python !== undefined) options = { ...options, python: resolvePython(options.python) };
  const harness = path.join(packageRoot, 'bench', 'lib', 'run.mjs');
  if (!existsSync(harness)) throw new CliError('kiln bench runs from a source checkout of Kiln (bench/ is not in the installed package)');
  const { runBench } = (await import(pathToFileURL(harness).href)) as { runBench: (o: object) => Promise<{ files: { md: string } }> };
  const { files } = await runBench({ ...options, command: ['kiln', ...process.argv.slice(2)].join(' ') });
  process.stdout.write(`${files.md}\n`);
  return EXIT_OK;
}

export function addBenchCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('bench')
    .description('benchmark Kiln against its peers on this machine (engine alone, addon from JS, HTTP); writes bench/results/<date>-<host>.{md,json,png}')
    .option('--quick', 'short runs and a scaled-down large model, for a smoke test (well under 2 minutes); not for quoting')
    .option('--models <ids>', 'comma-separated model ids (default: all; see bench/py/models.py)', listOf(null))
    .option('--peers <names>', `comma-separated peers to run (default: all): ${PEERS.join(', ')}`, listOf(PEERS))
    .option('--sections <names>', `comma-separated sections (default: all): ${SECTIONS.join(', ')}`, listOf(SECTIONS))
    .option('--duration <s>', 'seconds per HTTP load run (default: 5; --quick 1)', positiveNumber)
    .option('--rounds <n>', 'alternated HTTP rounds; figures are medians over them (default: 3; --quick 1)', positiveNumber)
    .option('--time-ms <ms>', 'measuring time per in-process figure, split over 5 (quick: 3) repeats (default: 1500; --quick 120)', positiveNumber)
    .option('--out <dir>', 'where the report goes (default: bench/results)')
    .option('--cache <dir>', 'fitted models, rows and compiled peers (default: bench/.cache)')
    .option('--python <path>', 'Python (executable or virtualenv directory) for the models and the Python peers (default: .venv/bench, else .venv/sklearn-latest)')
    .addHelpText(
      'after',
      [
        '',
        'Sections: engine = native/bench/kiln_bench (C++, built on demand with CMake); addon = the addon from JS',
        '(predict, predictMatrixRaw sync/async, predictBatch); peers = onnxruntime-node and the Python peers;',
        "http = kiln serve (2 workers) vs no-op Fastify routes (JSON parsed / raw body) and the seed's",
        'Flask+gevent+Gunicorn stack, with wrk (else autocannon), plus p99 at half of Kiln\'s peak rate',
        '(open loop, latency from each request\'s due time: native/bench/kiln_paced, C++, built on demand with',
        'CMake; else bench/lib/paced.mjs, or with KILN_BENCH_PACED=node), Kiln and the no-op route.',
        'Peers come from: bash scripts/setup-python.sh bench (requirements/bench.txt) and npm install',
        '(onnxruntime-node, autocannon). A peer that is missing is reported absent, with why.',
        'Progress goes to stderr; the report\'s path to stdout. Run it nice\'d on a shared machine.',
        '',
        'Examples:',
        '  kiln bench --quick',
        '  nice kiln bench --models breast_cancer_rf --peers onnxruntime-node,sklearn --sections addon,peers',
      ].join('\n'),
    )
    .action(async (options: BenchOptions) => setExit(await runBenchCommand(options)));
}
