// Running the server: in this process (workers = 0), or as a node:cluster primary that forks
// `workers` processes sharing the listening socket, restarts dead ones with backoff, relays
// repository admin actions between workers, aggregates their metrics, and shuts them down
// gracefully on SIGTERM/SIGINT.

import cluster, { type Worker } from 'node:cluster';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { AggregatorRegistry } from 'prom-client';

import { KilnError } from '../errors.js';
import { createServer, type KilnServer } from './app.js';
import { freezeConfig, type ServerConfig } from './config.js';

/** Messages between the primary and its workers (all carry `kiln`). */
type Message =
  | { kiln: 'config'; config: ServerConfig }
  | { kiln: 'listening'; port: number; url: string }
  | { kiln: 'admin'; action: 'load' | 'unload'; name: string; at: number }
  | { kiln: 'metrics-request'; id: number }
  | { kiln: 'metrics-response'; id: number; text?: string; error?: string }
  | { kiln: 'shutdown' };

function isMessage(value: unknown): value is Message {
  return typeof value === 'object' && value !== null && typeof (value as { kiln?: unknown }).kiln === 'string';
}

/** Minimal pino-compatible line for the primary, which has no Fastify logger. */
function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const levels = { info: 30, warn: 40, error: 50 };
  process.stdout.write(`${JSON.stringify({ level: levels[level], time: Date.now(), pid: process.pid, role: 'primary', ...fields, msg })}\n`);
}

export interface RunningServer {
  /** Resolves when the server has stopped, with the exit code. */
  readonly done: Promise<number>;
  /** The bound address once listening. */
  readonly address: Promise<{ port: number; url: string }>;
  /** Graceful stop (what SIGTERM does). */
  stop(): void;
}

/** Serves in this process: listens, and on SIGTERM/SIGINT finishes in-flight requests and stops. */
export async function runInProcess(config: ServerConfig, onSignals = true): Promise<RunningServer & { server: KilnServer }> {
  const server = await createServer(config);
  const address = await server.listen();
  server.log.info({ url: address.url, models: server.repository.entries().length, workers: 0 }, `kiln listening on ${address.url}`);
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => {
      server.log.error(`shutdown took longer than ${config.shutdownTimeoutMs} ms; exiting`);
      resolveDone(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    server.close().then(
      () => {
        clearTimeout(timer);
        resolveDone(0);
      },
      () => resolveDone(1),
    );
  };
  if (onSignals) {
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
  return { server, done, address: Promise.resolve(address), stop };
}

/** Cluster worker body: receives nothing but the config from the environment, serves, obeys the primary. */
async function runWorker(config: ServerConfig): Promise<void> {
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let nextId = 0;
  let server: KilnServer | null = null;
  const send = (message: Message): void => {
    if (process.connected) process.send?.(message);
  };
  const clusterMetrics = (): Promise<string> =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('metrics aggregation timed out'));
      }, 5000);
      pending.set(id, {
        resolve: (text) => {
          clearTimeout(timer);
          resolve(text);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      send({ kiln: 'metrics-request', id });
    });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), config.shutdownTimeoutMs);
    timer.unref();
    const closed = server ? server.close() : Promise.resolve();
    closed.then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };

  process.on('message', (message: unknown) => {
    if (!isMessage(message)) return;
    if (message.kiln === 'metrics-response') {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      if (waiter) {
        if (message.text !== undefined) waiter.resolve(message.text);
        else waiter.reject(new Error(message.error ?? 'metrics aggregation failed'));
      }
    } else if (message.kiln === 'admin' && server) {
      const repository = server.repository;
      const log = server.log;
      if (message.action === 'unload') {
        try {
          repository.unload(message.name, message.at);
        } catch (error) {
          log.warn({ model: message.name }, `replaying unload: ${(error as Error).message}`);
        }
      } else {
        repository.load(message.name, message.at).catch((error: Error) => log.warn({ model: message.name }, `replaying load: ${error.message}`));
      }
    } else if (message.kiln === 'shutdown') {
      stop();
    }
  });
  // SIGINT from a terminal reaches every process of the group: the primary coordinates.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);

  const workerRegistry = new AggregatorRegistry(); // installs prom-client's worker-side listener
  void workerRegistry;
  server = await createServer(config, {
    onAdminAction: (action, name, at) => send({ kiln: 'admin', action, name, at }),
    clusterMetrics,
  });
  AggregatorRegistry.setRegistries([server.metrics.registry]);
  const address = await server.listen();
  send({ kiln: 'listening', port: address.port, url: address.url });
}

const CONFIG_ENV = 'KILN_SERVE_CONFIG';

/** Primary: forks the workers and supervises them. */
async function runPrimary(config: ServerConfig, onSignals: boolean): Promise<RunningServer> {
  const aggregator = new AggregatorRegistry();
  const env = { [CONFIG_ENV]: JSON.stringify(config) };
  // Workers run worker.js (not the caller's script), so a library caller can use cluster mode too.
  cluster.setupPrimary({ exec: path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js'), args: [] });
  let stopping = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let resolveAddress!: (a: { port: number; url: string }) => void;
  let rejectAddress!: (e: Error) => void;
  const address = new Promise<{ port: number; url: string }>((resolve, reject) => {
    resolveAddress = resolve;
    rejectAddress = reject;
  });
  address.catch(() => undefined);
  let listening = false;
  let consecutiveFailures = 0;
  const started = new Map<Worker, number>();

  const fork = (): void => {
    const worker = cluster.fork(env);
    started.set(worker, Date.now());
    worker.on('message', (message: unknown) => {
      if (!isMessage(message)) return;
      if (message.kiln === 'listening') {
        consecutiveFailures = 0;
        if (!listening) {
          listening = true;
          log('info', `kiln listening on ${message.url}`, { url: message.url, workers: config.workers, models: config.modelsDir });
          resolveAddress({ port: message.port, url: message.url });
        }
      } else if (message.kiln === 'admin') {
        for (const other of Object.values(cluster.workers ?? {})) {
          if (other && other !== worker && other.isConnected()) other.send(message);
        }
      } else if (message.kiln === 'metrics-request') {
        aggregator.clusterMetrics().then(
          (text) => worker.isConnected() && worker.send({ kiln: 'metrics-response', id: message.id, text }),
          (error: Error) => worker.isConnected() && worker.send({ kiln: 'metrics-response', id: message.id, error: error.message }),
        );
      }
    });
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (started.get(worker) ?? Date.now());
    started.delete(worker);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) resolveDone(0);
      return;
    }
    consecutiveFailures = lived > 30_000 ? 1 : consecutiveFailures + 1;
    if (!listening && consecutiveFailures >= 3) {
      log('error', 'workers exit before listening; giving up (see their log lines above)', { code, signal });
      rejectAddress(new Error('workers failed to start'));
      stopping = true;
      for (const w of Object.values(cluster.workers ?? {})) w?.kill();
      resolveDone(1);
      return;
    }
    const delay = Math.min(30_000, 100 * 2 ** Math.min(consecutiveFailures - 1, 9));
    log('warn', `worker ${worker.process.pid} died (${signal ?? `exit ${code}`}); restarting in ${delay} ms`, { code, signal, delay });
    setTimeout(() => {
      if (!stopping) fork();
    }, delay).unref();
  });

  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    log('info', 'shutting down: finishing in-flight requests');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) resolveDone(0);
    // A signal, not an IPC message: a worker still starting up has no message listener yet (and
    // dies of the signal, having no requests in flight); a running one closes gracefully.
    for (const w of workers) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      resolveDone(1);
    }, config.shutdownTimeoutMs + 2000).unref();
  };
  if (onSignals) {
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  }
  for (let i = 0; i < config.workers; i++) fork();
  return { done, address, stop };
}

/**
 * Runs the server per `config`: in-process when workers = 0, else as a cluster. In a cluster
 * worker process this serves with the primary's configuration and never returns.
 */
export async function runServer(config: ServerConfig, onSignals = true): Promise<RunningServer> {
  let isDirectory = false;
  try {
    isDirectory = statSync(config.modelsDir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory) throw new KilnError('KILN_CONFIG', `model repository ${config.modelsDir} is not a readable directory`);
  if (config.workers === 0) return runInProcess(config, onSignals);
  return runPrimary(config, onSignals);
}

/** Entry point of a forked worker: the frozen config travels in the environment. */
export async function runClusterWorker(): Promise<void> {
  const text = process.env[CONFIG_ENV];
  if (!cluster.isWorker || text === undefined) throw new Error('runClusterWorker: not a kiln cluster worker');
  delete process.env[CONFIG_ENV]; // holds the admin token: keep it out of anything the worker spawns
  const config = freezeConfig(JSON.parse(text) as ServerConfig);
  await runWorker(config);
}
