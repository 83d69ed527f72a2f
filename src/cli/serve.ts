// kiln serve: the HTTP service. Flags override the environment (KILN_MODELS, KILN_ADMIN_TOKEN,
// KILN_LOG_LEVEL), which overrides the defaults; the result is validated once (src/server/config.ts).

import type { Command } from 'commander';

import { KilnError } from '../errors.js';
import { resolveConfig, type ServerConfigInput } from '../server/config.js';
import { runServer } from '../server/cluster.js';
import { EXIT_FAILURE, UsageError } from './errors.js';

export interface ServeOptions {
  models?: string;
  host?: string;
  port?: string;
  workers?: string;
  adminTokenFile?: string;
  bodyLimit?: string;
  maxBatchRows?: string;
  asyncBatchRows?: string;
  requestTimeout?: string;
  shutdownTimeout?: string;
  poll?: string;
  cache?: boolean;
  cacheMaxEntries?: string;
  cacheMaxBytes?: string;
  maxEventLoopDelay?: string;
  logLevel?: string;
}

export function toConfigInput(options: ServeOptions): ServerConfigInput {
  return {
    modelsDir: options.models,
    host: options.host,
    port: options.port,
    workers: options.workers === 'auto' ? undefined : options.workers,
    adminTokenFile: options.adminTokenFile,
    bodyLimit: options.bodyLimit,
    maxBatchRows: options.maxBatchRows,
    asyncBatchRows: options.asyncBatchRows,
    requestTimeoutMs: options.requestTimeout,
    shutdownTimeoutMs: options.shutdownTimeout,
    pollIntervalMs: options.poll,
    cache: options.cache,
    cacheMaxEntries: options.cacheMaxEntries,
    cacheMaxBytes: options.cacheMaxBytes,
    maxEventLoopDelayMs: options.maxEventLoopDelay,
    logLevel: options.logLevel,
  };
}

/** Serves until SIGTERM/SIGINT; resolves with the exit code. */
export async function runServe(options: ServeOptions): Promise<number> {
  let running;
  try {
    running = await runServer(resolveConfig(toConfigInput(options)));
  } catch (error) {
    if (error instanceof KilnError && error.code === 'KILN_CONFIG') throw new UsageError(error.message);
    throw error;
  }
  try {
    await running.address;
  } catch {
    return EXIT_FAILURE;
  }
  return running.done;
}

export function addServeCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('serve')
    .description('serve the models of a directory over HTTP (KServe V2 / Open Inference Protocol, V1 predict, /models/<name>/predict)')
    .option('-m, --models <dir>', 'model repository: <name>.json and/or <name>/<version>/model.json (default: $KILN_MODELS, then the bundled models/)')
    .option('-H, --host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port (0 picks a free one)', '8080')
    .option('-w, --workers <n>', 'worker processes (node:cluster); 0 serves from this process; default: one per core')
    .option('--admin-token-file <file>', 'file holding the bearer token of the repository API (default: $KILN_ADMIN_TOKEN; none disables the API)')
    .option('--body-limit <bytes>', 'largest request body', String(1024 * 1024))
    .option('--max-batch-rows <n>', 'most rows in one request', '1000')
    .option('--async-batch-rows <n>', 'batches of at least this many rows are predicted off the event loop', '256')
    .option('--request-timeout <ms>', 'time allowed to receive a request', '30000')
    .option('--shutdown-timeout <ms>', 'time in-flight requests get on SIGTERM/SIGINT', '10000')
    .option('--poll <ms>', 'check the repository for changed model files this often (0: never)', '2000')
    .option('--no-cache', 'disable the response cache')
    .option('--cache-max-entries <n>', 'most cached responses per model version', '10000')
    .option('--cache-max-bytes <bytes>', 'most cached bytes per model version', String(64 * 1024 * 1024))
    .option('--max-event-loop-delay <ms>', 'answer 503 while the event loop lags more than this (0: off)', '1000')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default: $KILN_LOG_LEVEL, then info)')
    .addHelpText(
      'after',
      '\nExamples:\n  kiln serve                              # bundled models, 127.0.0.1:8080, one worker per core\n  kiln serve --models ./models --port 9000 --workers 2\n  KILN_ADMIN_TOKEN=$(cat token) kiln serve  # enables POST /v2/repository/...',
    )
    .action(async (options: ServeOptions) => setExit(await runServe(options)));
}
