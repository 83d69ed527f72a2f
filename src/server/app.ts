// The Fastify application: routes, error handling, protection, metrics. One instance per process
// (a cluster worker, or the calling process when workers = 0).

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Fastify, { LogController, type onResponseHookHandler, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import underPressure from '@fastify/under-pressure';

import { KilnError, isKilnError, ERROR_CODES, type KilnErrorCode } from '../errors.js';
import type { FeatureRecord } from '../encode.js';
import type { Prediction } from '../types.js';
import { ResponseCache } from './cache.js';
import type { ServerConfig } from './config.js';
import type { Batch, BatchResult, V2InferRequest } from './marshal.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';
import { ServerMetrics, type CountingChild } from './metrics.js';
import { ModelRepository, isValidModelName, type ModelEntry } from './repository.js';
import * as S from './schemas.js';
import { warmNextTick } from './tick-warmup.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KILN_VERSION = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

const JSON_TYPE = 'application/json; charset=utf-8';
/** Longest path parameter the router hands to a route (model names are at most 128 characters). */
const MAX_PATH_PARAM_LENGTH = 1024;

/** Per-request state. */
interface KilnRequestState {
  entry: ModelEntry | null;
  start: bigint;
}

/**
 * What the record routes' body parser found (see recordBodyParser): the entry the body was read
 * for, its cache key (null: no cache) and the cached response, if any.
 */
interface RecordBody {
  entry: ModelEntry;
  key: string | null;
  hit: string | undefined;
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

export interface KilnServer {
  readonly app: FastifyInstance;
  readonly repository: ModelRepository;
  readonly metrics: ServerMetrics;
  readonly config: ServerConfig;
  /** Starts listening; resolves with the bound address (host:port). */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting connections, finishes in-flight requests, stops the repository poller. */
  close(): Promise<void>;
}

interface EntryMetrics {
  success: { inc(n?: number): void };
  inferences: { inc(n?: number): void };
  execs: { inc(n?: number): void };
  hits: { inc(n?: number): void };
  misses: { inc(n?: number): void };
  request: { observe(v: number): void };
  compute: { observe(v: number): void };
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

/** Builds the server (models loaded, routes registered) without listening. */
export async function createServer(config: ServerConfig, hooks: AppHooks = {}, loggerOverride?: FastifyServerOptions['logger']): Promise<KilnServer> {
  // First, before building anything: a nextTick that first gets hot while the server is built
  // stays megamorphic and costs ~10 µs of CPU per request (tick-warmup.ts).
  await warmNextTick();
  const metrics = new ServerMetrics();
  const perEntry = new WeakMap<ModelEntry, EntryMetrics>();
  const entryMetrics = (entry: ModelEntry): EntryMetrics => {
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

  const app = Fastify({
    logger: loggerOverride ?? { level: config.logLevel },
    // One log line per error (written by fail() below), none per successful request.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Names are up to 128 characters: longer path parameters must reach validation (a 400 naming
    // the pattern) instead of find-my-way's default limit of 100 and its own 414.
    maxParamLength: MAX_PATH_PARAM_LENGTH,
    // Bad percent-encoding and over-long parameters are refused by the router before any route:
    // answer them like every other error ({"error", "code"}, one log line).
    frameworkErrors: (error, request, reply) => {
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `a path parameter is longer than ${MAX_PATH_PARAM_LENGTH} characters` : `invalid URL: ${error.message}`;
      fail(request, reply, 400, 'KILN_REQUEST_INVALID', message);
    },
    ajv: { customOptions: { allowUnionTypes: true, coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    schemaErrorFormatter: (errors, dataVar) => {
      const e = errors[0];
      if (!e) return new KilnError('KILN_REQUEST_INVALID', `invalid ${dataVar}`);
      const where = `${dataVar}${e.instancePath.replace(/\//g, '.')}`;
      let what = e.message ?? 'is invalid';
      const params = e.params as Record<string, unknown>;
      if (e.keyword === 'additionalProperties') what = `has an unknown property ${JSON.stringify(params['additionalProperty'])}`;
      else if (e.keyword === 'enum') what = `must be one of ${(params['allowedValues'] as unknown[]).join(', ')}`;
      else if (e.keyword === 'type' && e.instancePath === '' && dataVar === 'body') what = `must be ${String(params['type'])} (is the body empty or not JSON?)`;
      return new KilnError('KILN_REQUEST_INVALID', `invalid request: ${where} ${what}`);
    },
  });

  const repository = new ModelRepository(config, {
    onLoad(entry, replaced) {
      metrics.modelLoads.inc({ model: entry.name, version: entry.version, outcome: 'loaded' });
      app.log.info({ model: entry.name, version: entry.version, generation: entry.generation, file: entry.file, replaced: replaced?.generation ?? null }, replaced ? 'model reloaded' : 'model loaded');
    },
    onRefuse(name, version, file, error, kept) {
      metrics.modelLoads.inc({ model: name, version, outcome: 'refused' });
      const code = isKilnError(error) ? error.code : 'KILN_INTERNAL';
      app.log.error({ model: name, version, file, code, keptGeneration: kept?.generation ?? null }, `model refused: ${error.message}`);
    },
    onRemove(name, version) {
      app.log.info({ model: name, version }, 'model version removed');
    },
    onScanError(name, message) {
      app.log.error({ model: name, code: 'KILN_MODEL_IO' }, `repository scan: ${message}; loaded models keep serving`);
    },
    onScanRecovered(name) {
      app.log.info({ model: name }, name === null ? 'repository scan: the repository is readable again' : `repository scan: model directory ${name} is readable again`);
    },
  });

  // Triton's own HTTP client sends JSON infer bodies with no Content-Type. V2 bodies are JSON, so
  // a body without a declared type is read as JSON; a declared non-JSON type is still 415.
  app.addHook('onRequest', (request, _reply, done) => {
    const h = request.headers;
    if (h['content-type'] === undefined && (h['content-length'] !== undefined || h['transfer-encoding'] !== undefined)) {
      h['content-type'] = 'application/json';
    }
    done();
  });

  // Body parsing: JSON only (anything else is 415), kept as text for the response cache.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    request.rawBody = text;
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new KilnError('KILN_REQUEST_INVALID', `the body is not valid JSON: ${(error as Error).message}`), undefined);
    }
  });
  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('kiln', null);
  app.decorateRequest('recordBody', null);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kiln',
        version: KILN_VERSION,
        description: 'Serves exported scikit-learn pipelines: Open Inference Protocol (KServe V2) REST, KServe V1 predict, a friendly predict route, Triton repository API, Prometheus metrics.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    // @fastify/swagger marks every request body required; the repository API's bodies are
    // optional (Triton's clients send none), as their schemas say by allowing null.
    transformObject: (document) => {
      if (!('openapiObject' in document)) return document.swaggerObject;
      const openapiObject = document.openapiObject;
      for (const operations of Object.values(openapiObject.paths ?? {})) {
        for (const operation of Object.values(operations as Record<string, { requestBody?: { required?: boolean; content?: Record<string, { schema?: { nullable?: boolean } }> } }>)) {
          const body = operation.requestBody;
          if (body?.content?.['application/json']?.schema?.nullable === true) body.required = false;
        }
      }
      return openapiObject;
    },
  });
  app.addSchema(S.errorSchema);

  if (config.pressure.maxEventLoopDelayMs > 0 || config.pressure.maxEventLoopUtilization > 0 || config.pressure.maxHeapUsedBytes > 0 || config.pressure.maxRssBytes > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: config.pressure.maxEventLoopDelayMs,
      maxEventLoopUtilization: config.pressure.maxEventLoopUtilization,
      maxHeapUsedBytes: config.pressure.maxHeapUsedBytes,
      maxRssBytes: config.pressure.maxRssBytes,
      sampleInterval: config.pressure.sampleIntervalMs,
      retryAfter: config.pressure.retryAfterSeconds,
      pressureHandler: (request, reply, type, value) => {
        request.log.warn({ code: 'KILN_OVERLOADED', pressure: type, value }, 'request refused: server under pressure');
        void reply
          .code(503)
          .header('retry-after', String(config.pressure.retryAfterSeconds))
          .type(JSON_TYPE)
          .send(JSON.stringify({ error: `the server is overloaded (${type}); retry later`, code: 'KILN_OVERLOADED' }));
      },
    });
  }

  // Errors: {"error": message}, a status from the error catalogue, one log line, no stack.
  const fail = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string, cause?: unknown): void => {
    const state = request.kiln;
    if (state?.entry) metrics.requestFailure.inc({ model: state.entry.name, version: state.entry.version, code });
    const line = { code, status, method: request.method, url: request.url.slice(0, 256) };
    if (status >= 500) request.log.error({ ...line, err: cause }, message);
    else request.log.warn(line, message);
    void reply.code(status).type(JSON_TYPE).send(JSON.stringify({ error: message, code }));
  };

  app.setErrorHandler((error: Error & { code?: string; statusCode?: number; validation?: unknown }, request, reply) => {
    if (isKilnError(error)) {
      // Name the row of a batch when the model API's message does not.
      const message = error.row !== undefined && !/\brow\b/.test(error.message) ? `row ${error.row}: ${error.message}` : error.message;
      return fail(request, reply, error.status, error.code, message, error.status >= 500 ? error : undefined);
    }
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return fail(request, reply, 413, 'KILN_REQUEST_TOO_LARGE', `the request body is larger than the limit of ${config.bodyLimit} bytes`);
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return fail(request, reply, 415, 'KILN_REQUEST_MEDIA_TYPE', `unsupported content type ${JSON.stringify(request.headers['content-type'] ?? '')}; send application/json`);
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return fail(request, reply, 400, 'KILN_REQUEST_INVALID', 'the request body is empty');
      default:
        break;
    }
    const status = error.statusCode;
    if (status !== undefined && status >= 400 && status < 500) return fail(request, reply, status, 'KILN_REQUEST_INVALID', error.message);
    return fail(request, reply, 500, 'KILN_INTERNAL', 'internal server error', error);
  });

  // Responses counted per (method, route pattern, status). Each route gets its own onResponse hook
  // bound to its pattern (a global hook would read request.routeOptions, which builds a 12-field
  // object on every read); requests no route matched count when the 404 is sent (the not-found
  // handler takes no onResponse hook). Requests refused by the router (bad URL) are not counted.
  const statusCounter = (method: string, route: string) => {
    const byStatus = new Map<number, CountingChild>();
    return (status: number): void => {
      let counter = byStatus.get(status);
      if (counter === undefined) {
        counter = metrics.httpResponses.child({ method, route, status: String(status) });
        byStatus.set(status, counter);
      }
      counter.inc();
    };
  };
  app.addHook('onRoute', (route) => {
    const count = typeof route.method === 'string' ? statusCounter(route.method, route.url) : null;
    const byMethod = new Map<string, (status: number) => void>();
    const onResponse: onResponseHookHandler = (request, reply, done) => {
      if (count !== null) count(reply.statusCode);
      else {
        let c = byMethod.get(request.method);
        if (c === undefined) byMethod.set(request.method, (c = statusCounter(request.method, route.url)));
        c(reply.statusCode);
      }
      done();
    };
    const existing = route.onResponse;
    route.onResponse = existing === undefined ? [onResponse] : [...(Array.isArray(existing) ? existing : [existing]), onResponse];
  });
  const unmatched = new Map<string, (status: number) => void>();
  app.setNotFoundHandler((request, reply) => {
    let count = unmatched.get(request.method);
    if (count === undefined) unmatched.set(request.method, (count = statusCounter(request.method, 'unmatched')));
    count(404);
    fail(request, reply, 404, 'KILN_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`);
  });

  // ---------- helpers of the predict routes ----------

  const resolve = (request: FastifyRequest, name: string, version: string | undefined): ModelEntry => {
    const state: KilnRequestState = { entry: null, start: process.hrtime.bigint() };
    request.kiln = state;
    // The record routes' body parser may have resolved it already (for its cache lookup): the
    // request is then served by that version even if a reload happened since (models are immutable).
    const entry = request.recordBody?.entry ?? repository.get(name, version);
    state.entry = entry;
    return entry;
  };

  const cached = (request: FastifyRequest, reply: FastifyReply, entry: ModelEntry, kind: string): string | null => {
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
    const m = entryMetrics(entry);
    if (hit !== undefined) {
      m.hits.inc();
      m.success.inc();
      m.request.observe(seconds((request.kiln as KilnRequestState).start));
      void reply.code(200).type(JSON_TYPE).header('x-kiln-cache', 'hit').send(hit);
      return null;
    }
    m.misses.inc();
    return key;
  };

  const finish = (request: FastifyRequest, reply: FastifyReply, entry: ModelEntry, key: string | null, payload: unknown, rows: number, computeSeconds: number): FastifyReply => {
    // Payloads are built here with exactly the response schema's fields and types, so V8's native
    // JSON.stringify gives the schema serializer's text without its per-call anyOf validation.
    const text = JSON.stringify(payload);
    reply.code(200);
    if (key !== null) entry.cache?.set(key, text);
    const m = entryMetrics(entry);
    m.success.inc();
    m.inferences.inc(rows);
    m.execs.inc();
    m.compute.observe(computeSeconds);
    m.request.observe(seconds((request.kiln as KilnRequestState).start));
    return reply.type(JSON_TYPE).header('x-kiln-model-version', entry.version).send(text);
  };

  const run = async (entry: ModelEntry, batch: Batch): Promise<BatchResult> => {
    const model = entry.model;
    const offLoop = batch.rows >= config.asyncBatchRows;
    if (batch.kind === 'matrix') {
      const out = offLoop ? await model.predictMatrixRawAsync(batch.data, batch.rows) : model.predictMatrixRaw(batch.data, batch.rows);
      return { kind: 'raw', out, rows: batch.rows };
    }
    const predictions = offLoop ? await model.predictBatchAsync(batch.records) : model.predictBatch(batch.records);
    return { kind: 'predictions', predictions, rows: batch.rows };
  };

  const predictRecords = async (entry: ModelEntry, records: FeatureRecord[]): Promise<{ predictions: Prediction[]; seconds: number }> => {
    if (records.length > config.maxBatchRows) {
      throw new KilnError('KILN_REQUEST_LIMIT', `the request has ${records.length} rows; this server takes at most ${config.maxBatchRows} per request`);
    }
    if (records.length === 0) throw new KilnError('KILN_REQUEST_INVALID', 'the request has no rows');
    const t0 = process.hrtime.bigint();
    const model = entry.model;
    const predictions = records.length >= config.asyncBatchRows ? await model.predictBatchAsync(records) : model.predictBatch(records);
    return { predictions, seconds: seconds(t0) };
  };

  // Body parser of the record routes (friendly predict, KServe V1 predict): keeps the raw bytes
  // and, when the model is there and its cache holds the answer, neither decodes nor parses them
  // (the key is the bytes; only bodies that were answered 200 are in the cache, so a hit body is
  // valid and the placeholder handed to the schema stands for it). Otherwise the body is parsed
  // with JSON.parse as before, and the schema and the encoder answer with the same errors.
  // (A native parse of the bytes into encoded rows was tried and measured slower than JSON.parse
  // plus the compiled JS encoder: bench/dev/README.md.)
  const PLACEHOLDER_RECORD = Object.freeze({});
  const PLACEHOLDER_INSTANCES = Object.freeze({ instances: Object.freeze([]) });
  const recordBodyParser = (kind: 'predict' | 'v1') => (request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: unknown) => void) => {
    request.rawBody = body;
    if (body.length === 0) {
      done(null, undefined);
      return;
    }
    const params = request.params as { name?: string; version?: string };
    let entry: ModelEntry | null = null;
    try {
      if (typeof params.name === 'string') entry = repository.get(params.name, params.version);
    } catch {
      entry = null; // the handler resolves again and answers the error
    }
    if (entry !== null) {
      // Kept also without a cache: the handler serves this entry without a second lookup.
      const key = entry.cache ? ResponseCache.key(kind, body) : null;
      const hit = key === null ? undefined : entry.cache?.get(key);
      request.recordBody = { entry, key, hit };
      if (hit !== undefined) {
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

  const notReady = (error: unknown): boolean => isKilnError(error) && error.code === 'KILN_MODEL_UNAVAILABLE';

  // ---------- KServe V2 / Open Inference Protocol ----------

  const v2 = { tags: ['v2'] };
  app.get('/v2/health/live', { schema: { ...v2, summary: 'Server live', response: { 200: S.liveResponse } } }, async () => ({ live: true }));

  app.get('/v2/health/ready', { schema: { ...v2, summary: 'Server ready (400 when not)', response: { 200: S.readyResponse, 400: S.readyResponse } } }, async (_request, reply) => {
    const health = repository.health();
    const ready = health.ready && !closing;
    if (closing) health.details.unshift('the server is shutting down');
    return reply.code(ready ? 200 : 400).send(health.details.length > 0 ? { ready, details: health.details } : { ready });
  });

  app.get('/v2', { schema: { ...v2, summary: 'Server metadata', response: { 200: S.serverMetadataResponse } } }, async () => ({
    name: 'kiln',
    version: KILN_VERSION,
    extensions: config.adminToken ? ['model_repository'] : [],
  }));

  const modelMetadata = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>) => {
    const { name, version } = request.params;
    const entry = repository.get(name, version);
    return {
      name,
      versions: repository.versions(name),
      platform: 'kiln_modelv1',
      inputs: entry.plan.metadataInputs,
      outputs: entry.plan.metadataOutputs,
      parameters: { task: entry.model.task, version: entry.version },
    };
  };
  const metadataSchema = (params: object) => ({ schema: { ...v2, summary: 'Model metadata', params, response: { 200: S.modelMetadataResponse, ...S.errorResponses } } });
  app.get('/v2/models/:name', metadataSchema(S.nameParams), modelMetadata);
  app.get('/v2/models/:name/versions/:version', metadataSchema(S.nameVersionParams), modelMetadata);

  const modelReady = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>, reply: FastifyReply) => {
    const { name, version } = request.params;
    try {
      repository.get(name, version);
      return reply.send({ name, ready: true });
    } catch (error) {
      if (notReady(error)) return reply.code(400).send({ name, ready: false });
      throw error;
    }
  };
  const readySchema = (params: object) => ({
    schema: { ...v2, summary: 'Model ready (400 when not)', params, response: { 200: S.modelReadyResponse, 400: S.modelReadyResponse, 404: S.errorSchema } },
  });
  app.get('/v2/models/:name/ready', readySchema(S.nameParams), modelReady);
  app.get('/v2/models/:name/versions/:version/ready', readySchema(S.nameVersionParams), modelReady);

  const infer = async (request: FastifyRequest<{ Params: { name: string; version?: string }; Body: V2InferRequest }>, reply: FastifyReply) => {
    const entry = resolve(request, request.params.name, request.params.version);
    const key = cached(request, reply, entry, 'v2');
    if (reply.sent) return reply;
    const body = request.body;
    const plan = entry.plan;
    const wanted = plan.requestedOutputs(body);
    const t0 = process.hrtime.bigint();
    const batch = plan.fromV2(body, config.maxBatchRows);
    const result = await run(entry, batch);
    const payload: Record<string, unknown> = { model_name: entry.name, model_version: entry.version };
    if (body.id !== undefined) payload['id'] = body.id;
    payload['outputs'] = plan.toV2Outputs(result, wanted);
    return finish(request, reply, entry, key, payload, batch.rows, seconds(t0));
  };
  const inferSchema = (params: object) => ({
    schema: { ...v2, summary: 'Inference', params, body: S.inferRequest, response: { 200: S.inferResponse, ...S.errorResponses } },
  });
  app.post('/v2/models/:name/infer', inferSchema(S.nameParams), infer);
  app.post('/v2/models/:name/versions/:version/infer', inferSchema(S.nameVersionParams), infer);

  // ---------- KServe V1 / TF Serving row format ----------

  // find-my-way: a regex parameter followed by a literal ':' ("::" escapes it). The regex sees the
  // decoded segment, so it takes anything ("..%2F" is "../"): checkName answers 400, not a 404.
  const v1Name = ':name(^.+)';
  const v1Version = ':version(^.+)';
  const checkName = (name: string, version?: string): void => {
    if (!isValidModelName(name)) throw new KilnError('KILN_REQUEST_INVALID', `invalid model name ${JSON.stringify(name.slice(0, 200))}`);
    if (version !== undefined && !/^[0-9]{1,18}$/.test(version)) throw new KilnError('KILN_REQUEST_INVALID', `invalid model version ${JSON.stringify(version.slice(0, 200))}`);
  };
  const v1Predict = async (request: FastifyRequest<{ Params: { name: string; version?: string }; Body: { instances: FeatureRecord[] } }>, reply: FastifyReply) => {
    checkName(request.params.name, request.params.version);
    const entry = resolve(request, request.params.name, request.params.version);
    const key = cached(request, reply, entry, 'v1');
    if (reply.sent) return reply;
    const { predictions, seconds: s } = await predictRecords(entry, request.body.instances);
    return finish(request, reply, entry, key, { predictions }, predictions.length, s);
  };
  const v1Schema = (params: object) => ({
    schema: { tags: ['v1'], summary: 'Predict (KServe V1 / TF Serving row format)', params, body: S.v1Request, response: { 200: S.v1Response, ...S.errorResponses } },
  });
  const v1Params = { type: 'object', properties: { name: { type: 'string' } } };
  const v1VersionParams = { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } };
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, recordBodyParser('v1'));
    scope.post(`/v1/models/${v1Name}::predict`, v1Schema(v1Params), v1Predict);
    scope.post(`/v1/models/:name/versions/${v1Version}::predict`, v1Schema(v1VersionParams), v1Predict);
  });
  app.get('/v1/models/:name', { schema: { tags: ['v1'], summary: 'Model status (KServe V1)', params: S.nameParams, response: { 200: S.v1StatusResponse, ...S.errorResponses } } }, async (request) => {
    const { name } = request.params as { name: string };
    try {
      repository.get(name);
      return { name, ready: true };
    } catch (error) {
      if (notReady(error)) return { name, ready: false };
      throw error;
    }
  });

  // ---------- Friendly routes ----------

  const friendlyPredict = async (request: FastifyRequest<{ Params: { name: string; version?: string }; Body: FeatureRecord | FeatureRecord[] }>, reply: FastifyReply) => {
    const entry = resolve(request, request.params.name, request.params.version);
    const key = cached(request, reply, entry, 'predict');
    if (reply.sent) return reply;
    const body = request.body;
    if (!Array.isArray(body)) {
      // One record: the model's one-row fast path (errors are the same, with row 0).
      const t0 = process.hrtime.bigint();
      const prediction = entry.model.predict(body);
      return finish(request, reply, entry, key, prediction, 1, seconds(t0));
    }
    const { predictions, seconds: s } = await predictRecords(entry, body);
    return finish(request, reply, entry, key, predictions, predictions.length, s);
  };
  const friendlySchema = (params: object) => ({
    schema: { tags: ['predict'], summary: 'Predict one record or an array of records', params, body: S.predictRequest, response: { 200: S.predictResponse, ...S.errorResponses } },
  });
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, recordBodyParser('predict'));
    scope.post('/models/:name/predict', friendlySchema(S.nameParams), friendlyPredict);
    scope.post('/models/:name/versions/:version/predict', friendlySchema(S.nameVersionParams), friendlyPredict);
  });

  app.get('/models', { schema: { tags: ['predict'], summary: 'Models being served', response: { 200: S.modelListResponse } } }, async () => {
    const names = [...new Set(repository.entries().map((e) => e.name))].sort();
    return { models: names.map((name) => ({ name, versions: repository.versions(name), task: repository.get(name).model.task })) };
  });

  const friendlyModel = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>) => {
    const entry = repository.get(request.params.name, request.params.version);
    const model = entry.model;
    return {
      name: entry.name,
      version: entry.version,
      versions: repository.versions(entry.name),
      task: model.task,
      ...(model.classes ? { classes: model.classes } : {}),
      inputs: model.inputs,
    };
  };
  app.get('/models/:name', { schema: { tags: ['predict'], summary: 'Model description', params: S.nameParams, response: { 200: S.friendlyModelResponse, ...S.errorResponses } } }, friendlyModel);
  app.get(
    '/models/:name/versions/:version',
    { schema: { tags: ['predict'], summary: 'Model version description', params: S.nameVersionParams, response: { 200: S.friendlyModelResponse, ...S.errorResponses } } },
    friendlyModel,
  );

  // ---------- Triton model repository API (bearer token) ----------

  const expected = config.adminToken === null ? null : Buffer.from(config.adminToken);
  const authorize = async (request: FastifyRequest): Promise<void> => {
    if (expected === null) throw new KilnError('KILN_FORBIDDEN', 'the repository API is disabled: no admin token is configured (KILN_ADMIN_TOKEN or --admin-token-file)');
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match) throw new KilnError('KILN_UNAUTHORIZED', 'the repository API needs an Authorization: Bearer <token> header');
    const given = Buffer.from(match[1] as string);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new KilnError('KILN_FORBIDDEN', 'wrong admin token');
  };
  const admin = { tags: ['repository'], security: [{ bearer: [] }] };
  app.post(
    '/v2/repository/index',
    { onRequest: authorize, schema: { ...admin, summary: 'Repository index (Triton)', body: S.repositoryIndexRequest, response: { 200: S.repositoryIndexResponse, ...S.errorResponses } } },
    async (request) => repository.index((request.body as { ready?: boolean } | undefined)?.ready === true),
  );
  const adminAction = (action: 'load' | 'unload') => async (request: FastifyRequest<{ Params: { name: string } }>, reply: FastifyReply) => {
    const { name } = request.params;
    const at = Date.now(); // orders this call against replays of other workers' calls
    if (action === 'load') await repository.load(name, at);
    else repository.unload(name, at);
    request.log.info({ model: name, action }, `model ${action} through the repository API`);
    hooks.onAdminAction?.(action, name, at);
    return reply.code(200).type(JSON_TYPE).send('{}');
  };
  for (const action of ['load', 'unload'] as const) {
    app.post<{ Params: { name: string } }>(
      `/v2/repository/models/:name/${action}`,
      {
        onRequest: authorize,
        schema: { ...admin, summary: `${action === 'load' ? 'Load (or reload)' : 'Unload'} a model (Triton)`, params: S.nameParams, body: S.repositoryActionRequest, response: { 200: { type: 'object' }, ...S.errorResponses } },
      },
      adminAction(action),
    );
  }

  // ---------- Operations ----------

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    const text = hooks.clusterMetrics ? await hooks.clusterMetrics() : await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());

  let closing = false;
  app.addHook('onClose', async () => {
    repository.stop();
    await repository.settled();
  });
  app.addHook('preClose', async () => {
    closing = true;
  });

  await repository.start();
  await app.ready();

  return {
    app,
    repository,
    metrics,
    config,
    async listen() {
      const address = await app.listen({ host: config.host, port: config.port });
      const bound = app.server.address();
      const port = typeof bound === 'object' && bound !== null ? bound.port : config.port;
      return { host: config.host, port, url: address };
    },
    async close() {
      await app.close();
    },
  };
}

/** HTTP status of a catalogue code (for callers outside Fastify). */
export function statusOf(code: KilnErrorCode): number {
  return ERROR_CODES[code].status;
}
