// What the predict routes (V2 infer, V1 predict, friendly predict) share: resolving the model
// version, the response cache, running a batch, the success answer with its metrics, and the
// record routes' body parser.

import type { FastifyReply, FastifyRequest } from 'fastify';

import { KilnError, isKilnError } from '../../errors.js';
import type { FeatureRecord } from '../../encode.js';
import type { Prediction } from '../../types.js';
import { ResponseCache } from '../cache.js';
import { JSON_TYPE, seconds, type KilnRequestState, type RecordBody, type ServerContext } from '../context.js';
import type { Batch, BatchResult } from '../marshal.js';
import type { ModelEntry } from '../repository.js';

/** True for the error of a model that is known but not loaded (readiness answers false). */
export const notReady = (error: unknown): boolean => isKilnError(error) && error.code === 'KILN_MODEL_UNAVAILABLE';

export function resolve(ctx: ServerContext, request: FastifyRequest, name: string, version: string | undefined): ModelEntry {
  const state: KilnRequestState = { entry: null, start: process.hrtime.bigint() };
  request.kiln = state;
  // The record routes' body parser may have resolved it already (for its cache lookup): the
  // request is then served by that version even if a reload happened since (models are immutable).
  const entry = request.recordBody?.entry ?? ctx.repository.get(name, version);
  state.entry = entry;
  return entry;
}

/** Answers a cache hit (the reply is then sent); otherwise returns the key to store under, if any. */
export function cached(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, entry: ModelEntry, kind: string): string | null {
  const pre = request.recordBody;
  let key: string | null;
  let hit: string | undefined;
  if (pre !== null) {
    ({ key, hit } = pre);
    if (key === null) return null;
  } else {
    if (!entry.cache || request.rawBody === undefined) return null;
    key = ResponseCache.key(kind, request.rawBody);
    hit = entry.cache.get(key);
  }
  const m = ctx.entryMetrics(entry);
  if (hit !== undefined) {
    m.hits.inc();
    m.success.inc();
    m.request.observe(seconds((request.kiln as KilnRequestState).start));
    void reply.code(200).type(JSON_TYPE).header('x-kiln-cache', 'hit').send(hit);
    return null;
  }
  m.misses.inc();
  return key;
}

/**
 * The success answer. `text` is the response body, written by response-text.ts with exactly the
 * response schema's fields and types (the schema serializer's text, without its per-call anyOf
 * validation or a generic JSON pass).
 */
export function finish(ctx: ServerContext, request: FastifyRequest, reply: FastifyReply, entry: ModelEntry, key: string | null, text: string, rows: number, computeSeconds: number): FastifyReply {
  reply.code(200);
  if (key !== null) entry.cache?.set(key, text);
  const m = ctx.entryMetrics(entry);
  m.success.inc();
  m.inferences.inc(rows);
  m.execs.inc();
  m.compute.observe(computeSeconds);
  m.request.observe(seconds((request.kiln as KilnRequestState).start));
  return reply.type(JSON_TYPE).header('x-kiln-model-version', entry.version).send(text);
}

/** Big batches run on the thread pool (asyncBatchRows), smaller ones on the event loop. */
export function offLoop(ctx: ServerContext, rows: number): boolean {
  return rows >= ctx.config.asyncBatchRows;
}

/** One engine call for a batch, on the event loop. */
export function runNow(entry: ModelEntry, batch: Batch): BatchResult {
  const model = entry.model;
  if (batch.kind === 'matrix') return { kind: 'raw', out: model.predictMatrixRaw(batch.data, batch.rows), rows: batch.rows };
  return { kind: 'predictions', predictions: model.predictBatch(batch.records), rows: batch.rows };
}

/** One engine call for a batch, on the thread pool. */
export async function runOffLoop(entry: ModelEntry, batch: Batch): Promise<BatchResult> {
  const model = entry.model;
  if (batch.kind === 'matrix') return { kind: 'raw', out: await model.predictMatrixRawAsync(batch.data, batch.rows), rows: batch.rows };
  return { kind: 'predictions', predictions: await model.predictBatchAsync(batch.records), rows: batch.rows };
}

/**
 * Predicts a batch of records and sends the answer (`text` writes the response body): on the event
 * loop and synchronously below asyncBatchRows (the handler then returns nothing: no promise, no
 * continuation per request), on the thread pool otherwise (a promise resolving once answered).
 * Throws the batch-size errors synchronously; Fastify sends a handler's sync throw like a rejection.
 */
export function answerRecords(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  entry: ModelEntry,
  key: string | null,
  records: FeatureRecord[],
  text: (predictions: Prediction[]) => string,
): Promise<void> | undefined {
  const { maxBatchRows } = ctx.config;
  if (records.length > maxBatchRows) {
    throw new KilnError('KILN_REQUEST_LIMIT', `the request has ${records.length} rows; this server takes at most ${maxBatchRows} per request`);
  }
  if (records.length === 0) throw new KilnError('KILN_REQUEST_INVALID', 'the request has no rows');
  const t0 = process.hrtime.bigint();
  const model = entry.model;
  if (offLoop(ctx, records.length)) {
    return model.predictBatchAsync(records).then((predictions) => {
      finish(ctx, request, reply, entry, key, text(predictions), predictions.length, seconds(t0));
    });
  }
  const predictions = model.predictBatch(records);
  finish(ctx, request, reply, entry, key, text(predictions), predictions.length, seconds(t0));
  return undefined;
}

// Body parser of the record routes (friendly predict, KServe V1 predict): keeps the raw bytes
// and, when the model is there and its cache holds the answer, neither decodes nor parses them
// (the key is the bytes; only bodies that were answered 200 are in the cache, so a hit body is
// valid and the placeholder handed to the schema stands for it). On a miss, the friendly route
// first hands the bytes to the model's native body path (Model.predictBody: one plain record
// scanned and predicted in one addon call, kiln/record_scanner.h; predictBodyRows: an array of
// them, or V1's instances); the prediction(s) wait in request.recordBody for the handler, and
// the placeholder again stands for the (valid) body.
// Anything it declines is parsed with JSON.parse as before, and the schema and the encoder
// answer with the same errors. (A native parse built on nlohmann/json's SAX was slower than
// JSON.parse plus the compiled JS encoder; this scanner is faster: bench/dev/README.md.)
const PLACEHOLDER_RECORD = Object.freeze({});
const PLACEHOLDER_INSTANCES = Object.freeze({ instances: Object.freeze([]) });
export const recordBodyParser = (ctx: ServerContext, kind: 'predict' | 'v1') => (request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: unknown) => void) => {
  request.rawBody = body;
  if (body.length === 0) {
    done(null, undefined);
    return;
  }
  const params = request.params as { name?: string; version?: string };
  let entry: ModelEntry | null = null;
  try {
    if (typeof params.name === 'string') entry = ctx.repository.get(params.name, params.version);
  } catch {
    entry = null; // the handler resolves again and answers the error
  }
  if (entry !== null) {
    // Kept also without a cache: the handler serves this entry without a second lookup.
    const key = entry.cache ? ResponseCache.key(kind, body) : null;
    const hit = key === null ? undefined : entry.cache?.get(key);
    const pre: RecordBody = { entry, key, hit, prediction: undefined, predictions: undefined, seconds: 0 };
    request.recordBody = pre;
    if (hit !== undefined) {
      done(null, kind === 'v1' ? PLACEHOLDER_INSTANCES : PLACEHOLDER_RECORD);
      return;
    }
    const t0 = process.hrtime.bigint();
    if (kind === 'predict') {
      const prediction = entry.model.predictBody(body);
      if (prediction !== undefined) {
        pre.prediction = prediction;
        pre.seconds = seconds(t0);
        done(null, PLACEHOLDER_RECORD);
        return;
      }
    }
    // Several records: at most the request's row limit, and fewer than go to the thread pool
    // (those keep answerRecords' thread-pool path, so a big batch never blocks the event loop here).
    const { maxBatchRows, asyncBatchRows } = ctx.config;
    const predictions = entry.model.predictBodyRows(body, kind === 'v1', Math.min(maxBatchRows, asyncBatchRows - 1));
    if (predictions !== undefined) {
      pre.predictions = predictions;
      pre.seconds = seconds(t0);
      done(null, kind === 'v1' ? PLACEHOLDER_INSTANCES : PLACEHOLDER_RECORD);
      return;
    }
  }
  try {
    done(null, JSON.parse(body.toString('utf8')));
  } catch (error) {
    done(new KilnError('KILN_REQUEST_INVALID', `the body is not valid JSON: ${(error as Error).message}`), undefined);
  }
};
