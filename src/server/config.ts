// The server's configuration: resolved once (flags > environment > defaults), validated, typed
// and frozen. Everything else in src/server reads a ServerConfig and never parses options again.

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

import { KilnError } from '../errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface CacheConfig {
  /** Whether responses are cached at all. */
  readonly enabled: boolean;
  /** Most responses kept per model version. */
  readonly maxEntries: number;
  /** Most bytes (keys + responses, as UTF-16 string sizes) kept per model version. */
  readonly maxBytes: number;
}

export interface PressureConfig {
  /** 503 when the event loop lags more than this (ms; 0 disables). */
  readonly maxEventLoopDelayMs: number;
  /** 503 when event loop utilisation is above this (0..1; 0 disables). */
  readonly maxEventLoopUtilization: number;
  /** 503 when the V8 heap uses more than this (bytes; 0 disables). */
  readonly maxHeapUsedBytes: number;
  /** 503 when the resident set is larger than this (bytes; 0 disables). */
  readonly maxRssBytes: number;
  /** Value of the Retry-After header on a 503 (seconds). */
  readonly retryAfterSeconds: number;
  /** How often the above are sampled (ms). */
  readonly sampleIntervalMs: number;
}

export interface ServerConfig {
  /** Absolute path of the model repository. */
  readonly modelsDir: string;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Worker processes (node:cluster); 0 serves from the calling process, without cluster. */
  readonly workers: number;
  /** Largest accepted request body (bytes). */
  readonly bodyLimit: number;
  /** Most rows (records, or tensor rows) in one request. */
  readonly maxBatchRows: number;
  /** Batches of at least this many rows are predicted off the event loop (thread pool). */
  readonly asyncBatchRows: number;
  /** Time allowed to receive a whole request (ms). */
  readonly requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this (ms). */
  readonly keepAliveTimeoutMs: number;
  /** On SIGTERM/SIGINT, in-flight requests get this long before the process exits anyway (ms). */
  readonly shutdownTimeoutMs: number;
  /** How often the repository is checked for changed model files (ms; 0: never). */
  readonly pollIntervalMs: number;
  /** Bearer token for the repository API (POST /v2/repository/...); null disables that API. */
  readonly adminToken: string | null;
  readonly cache: CacheConfig;
  readonly pressure: PressureConfig;
  readonly logLevel: LogLevel;
}

/** Everything optional; strings are accepted where a CLI flag or an environment variable gives one. */
export interface ServerConfigInput {
  modelsDir?: string | undefined;
  host?: string | undefined;
  port?: number | string | undefined;
  workers?: number | string | undefined;
  bodyLimit?: number | string | undefined;
  maxBatchRows?: number | string | undefined;
  asyncBatchRows?: number | string | undefined;
  requestTimeoutMs?: number | string | undefined;
  keepAliveTimeoutMs?: number | string | undefined;
  shutdownTimeoutMs?: number | string | undefined;
  pollIntervalMs?: number | string | undefined;
  adminToken?: string | null | undefined;
  /** A file holding the admin token (its first line); an alternative to adminToken. */
  adminTokenFile?: string | undefined;
  cache?: boolean | string | undefined;
  cacheMaxEntries?: number | string | undefined;
  cacheMaxBytes?: number | string | undefined;
  maxEventLoopDelayMs?: number | string | undefined;
  maxEventLoopUtilization?: number | string | undefined;
  maxHeapUsedBytes?: number | string | undefined;
  maxRssBytes?: number | string | undefined;
  retryAfterSeconds?: number | string | undefined;
  pressureSampleIntervalMs?: number | string | undefined;
  logLevel?: string | undefined;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The bundled models of this checkout / package. */
export const DEFAULT_MODELS_DIR = path.join(packageRoot, 'models');

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Environment variables read when the corresponding input is not given. */
export const ENVIRONMENT = {
  adminToken: 'KILN_ADMIN_TOKEN',
  modelsDir: 'KILN_MODELS',
  logLevel: 'KILN_LOG_LEVEL',
} as const;

function fail(message: string): never {
  throw new KilnError('KILN_CONFIG', `invalid server configuration: ${message}`);
}

function integer(name: string, value: number | string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) {
    fail(`${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  }
  return n;
}

function fraction(name: string, value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || n > 1) fail(`${name} must be a number in [0, 1], got ${JSON.stringify(value)}`);
  return n;
}

function bool(name: string, value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (/^(1|true|on|yes)$/i.test(value)) return true;
  if (/^(0|false|off|no)$/i.test(value)) return false;
  return fail(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

function token(input: ServerConfigInput, env: NodeJS.ProcessEnv): string | null {
  let raw: string | null | undefined = input.adminToken;
  if (input.adminTokenFile !== undefined) {
    if (raw !== undefined && raw !== null) fail('give adminToken or adminTokenFile, not both');
    try {
      raw = (readFileSync(input.adminTokenFile, 'utf8').split(/\r?\n/)[0] ?? '').trim();
    } catch (error) {
      fail(`cannot read adminTokenFile ${input.adminTokenFile}: ${(error as Error).message}`);
    }
  }
  if (raw === undefined) raw = env[ENVIRONMENT.adminToken] ?? null;
  if (raw === null || raw === '') return null;
  if (raw.length < 16 || raw.length > 4096 || !/^[\x21-\x7e]+$/.test(raw)) {
    fail('the admin token must be 16 to 4096 printable ASCII characters without spaces');
  }
  return raw;
}

/**
 * Resolves the configuration: `input` (flags) first, then the environment, then defaults.
 * Throws KilnError KILN_CONFIG naming the offending setting. The result is deeply frozen.
 */
export function resolveConfig(input: ServerConfigInput = {}, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const modelsDir = path.resolve(input.modelsDir ?? env[ENVIRONMENT.modelsDir] ?? DEFAULT_MODELS_DIR);
  const host = input.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host.length === 0 || host.length > 255 || /[\s/]/.test(host)) fail(`host must be a host name or address, got ${JSON.stringify(host)}`);
  const cores = Math.max(1, os.availableParallelism());
  const logLevel = (input.logLevel ?? env[ENVIRONMENT.logLevel] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) fail(`logLevel must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);

  const maxBatchRows = integer('maxBatchRows', input.maxBatchRows, 1000, 1, 1_000_000);
  const config: ServerConfig = {
    modelsDir,
    host,
    port: integer('port', input.port, 8080, 0, 65535),
    workers: integer('workers', input.workers, cores, 0, 256),
    bodyLimit: integer('bodyLimit', input.bodyLimit, 1024 * 1024, 1024, 1024 * 1024 * 1024),
    maxBatchRows,
    asyncBatchRows: integer('asyncBatchRows', input.asyncBatchRows, 256, 1, 1_000_000_000),
    requestTimeoutMs: integer('requestTimeoutMs', input.requestTimeoutMs, 30_000, 1, 3_600_000),
    keepAliveTimeoutMs: integer('keepAliveTimeoutMs', input.keepAliveTimeoutMs, 72_000, 1, 3_600_000),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', input.shutdownTimeoutMs, 10_000, 1, 3_600_000),
    pollIntervalMs: integer('pollIntervalMs', input.pollIntervalMs, 2_000, 0, 3_600_000),
    adminToken: token(input, env),
    cache: {
      enabled: bool('cache', input.cache, true),
      maxEntries: integer('cacheMaxEntries', input.cacheMaxEntries, 10_000, 1, 100_000_000),
      maxBytes: integer('cacheMaxBytes', input.cacheMaxBytes, 64 * 1024 * 1024, 1024, 64 * 1024 * 1024 * 1024),
    },
    pressure: {
      maxEventLoopDelayMs: integer('maxEventLoopDelayMs', input.maxEventLoopDelayMs, 1_000, 0, 3_600_000),
      maxEventLoopUtilization: fraction('maxEventLoopUtilization', input.maxEventLoopUtilization, 0),
      maxHeapUsedBytes: integer('maxHeapUsedBytes', input.maxHeapUsedBytes, 0, 0, Number.MAX_SAFE_INTEGER),
      maxRssBytes: integer('maxRssBytes', input.maxRssBytes, 0, 0, Number.MAX_SAFE_INTEGER),
      retryAfterSeconds: integer('retryAfterSeconds', input.retryAfterSeconds, 1, 0, 3600),
      sampleIntervalMs: integer('pressureSampleIntervalMs', input.pressureSampleIntervalMs, 1_000, 5, 60_000),
    },
    logLevel,
  };
  if (config.cache.maxBytes < 1024) fail('cacheMaxBytes must be at least 1024');
  return deepFreeze(config);
}

/** Deep-freezes a configuration received from elsewhere (a cluster worker's copy). */
export function freezeConfig(config: ServerConfig): ServerConfig {
  return deepFreeze(config);
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) if (child !== null && typeof child === 'object') deepFreeze(child as object);
  return Object.freeze(value);
}
