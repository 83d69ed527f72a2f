// What the route modules share: the server's parts (one context per createServer), the per-entry
// metric children, and the request decorations the routes and the error handler read.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { FastifyBaseLogger } from 'fastify';

import type { Prediction } from '../types.js';
import type { ServerConfig } from './config.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelEntry, ModelRepository } from './repository.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KILN_VERSION = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

export const JSON_TYPE = 'application/json; charset=utf-8';

/** Per-request state. */
export interface KilnRequestState {
  entry: ModelEntry | null;
  start: bigint;
}

/**
 * What the record routes' body parser found (see recordBodyParser): the entry the body was read
 * for, its cache key (null: no cache), the cached response, if any, and what the native body
 * path predicted, if it did (with the seconds it took): the friendly route's one record
 * (`prediction`), or the records of an array or of V1 instances (`predictions`).
 */
export interface RecordBody {
  entry: ModelEntry;
  key: string | null;
  hit: string | undefined;
  prediction: Prediction | undefined;
  predictions: Prediction[] | undefined;
  seconds: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received: text (V2 route), bytes (record routes). */
    rawBody: string | Buffer | undefined;
    kiln: KilnRequestState | null;
    recordBody: RecordBody | null;
  }
}

/** Hooks for cluster mode: admin actions are applied here and announced to the other workers. */
export interface AppHooks {
  /** Called after this process applied a load/unload, to replay it in the other workers. */
  onAdminAction?(action: 'load' | 'unload', name: string, at: number): void;
  /** Returns the whole server's metrics text (cluster aggregation); default: this process's. */
  clusterMetrics?(): Promise<string>;
}

export interface EntryMetrics {
  success: { inc(n?: number): void };
  inferences: { inc(n?: number): void };
  execs: { inc(n?: number): void };
  hits: { inc(n?: number): void };
  misses: { inc(n?: number): void };
  request: { observe(v: number): void };
  compute: { observe(v: number): void };
}

/** The server's parts, created once in createServer and handed to every route module. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly repository: ModelRepository;
  readonly metrics: ServerMetrics;
  /** The server's logger (request lines carry the request's reqId themselves). */
  readonly log: FastifyBaseLogger;
  readonly hooks: AppHooks;
  /** The metric children of one model version (created on its first request, then reused). */
  readonly entryMetrics: (entry: ModelEntry) => EntryMetrics;
  /** Set when the server starts closing: readiness then answers 400. */
  closing: boolean;
}

/** Metric children per model version, held as long as the entry is. */
export function entryMetricsOf(metrics: ServerMetrics): (entry: ModelEntry) => EntryMetrics {
  const perEntry = new WeakMap<ModelEntry, EntryMetrics>();
  return (entry: ModelEntry): EntryMetrics => {
    let m = perEntry.get(entry);
    if (!m) {
      const labels = { model: entry.name, version: entry.version };
      m = {
        success: metrics.requestSuccess.child(labels),
        inferences: metrics.inferenceCount.child(labels),
        execs: metrics.execCount.child(labels),
        hits: metrics.cacheHits.child(labels),
        misses: metrics.cacheMisses.child(labels),
        request: metrics.requestDuration.child(labels),
        compute: metrics.computeDuration.child(labels),
      };
      perEntry.set(entry, m);
    }
    return m;
  };
}

export function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}
