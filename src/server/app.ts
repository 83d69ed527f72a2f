// The Fastify application: options, body parsing, error handling, protection, response metrics,
// shutdown; the routes are in routes/ (v2, v1, predict, repository, operations). One instance per
// process (a cluster worker, or the calling process when workers = 0).

import Fastify, { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyInstance, type onSendHookHandler } from 'fastify';
import swagger from '@fastify/swagger';
import { pino, type DestinationStream, type LoggerOptions } from 'pino';

import { KilnError, isKilnError, ERROR_CODES, type KilnErrorCode } from '../errors.js';
import type { ServerConfig } from './config.js';
import { JSON_TYPE, KILN_VERSION, entryMetricsOf, type AppHooks, type ServerContext } from './context.js';
import { ServerMetrics, type CountingChild } from './metrics.js';
import { startPressureCheck } from './pressure.js';
import { ModelRepository } from './repository.js';
import { registerOperationsRoutes } from './routes/operations.js';
import { registerPredictRoutes } from './routes/predict.js';
import { registerRepositoryRoutes } from './routes/repository.js';
import { registerV1Routes } from './routes/v1.js';
import { registerV2Routes } from './routes/v2.js';
import * as S from './schemas.js';
import { warmNextTick } from './tick-warmup.js';

export { KILN_VERSION, type AppHooks } from './context.js';

/** Longest path parameter the router hands to a route (model names are at most 128 characters). */
const MAX_PATH_PARAM_LENGTH = 1024;

export interface KilnServer {
  readonly app: FastifyInstance;
  readonly repository: ModelRepository;
  readonly metrics: ServerMetrics;
  readonly config: ServerConfig;
  /** The server's pino logger (Fastify's own logger is off: see createServer). */
  readonly log: FastifyBaseLogger;
  /** Starts listening; resolves with the bound address (host:port). */
  listen(): Promise<{ host: string; port: number; url: string }>;
  /** Stops accepting connections, finishes in-flight requests, stops the repository poller. */
  close(): Promise<void>;
}

/** pino options of the server's logger, and where it writes (default: stdout). */
export type LoggerSettings = LoggerOptions & { stream?: DestinationStream };

/** Builds the server (models loaded, routes registered) without listening. */
export async function createServer(config: ServerConfig, hooks: AppHooks = {}, loggerSettings?: LoggerSettings): Promise<KilnServer> {
  // First, before building anything: a nextTick that first gets hot while the server is built
  // stays megamorphic and costs ~10 µs of CPU per request (tick-warmup.ts).
  await warmNextTick();
  const metrics = new ServerMetrics();
  // Kiln writes its log lines itself (model loads, one line per error with the request's reqId)
  // and Fastify's logger stays off. With a logger, Fastify does per-request work even though no
  // successful request is logged: a child logger (a bindings object, the factory call, a check of
  // seven methods), and response listeners ('finish' and 'error' added and removed, two clock
  // reads, a completion callback). The status-counting hook below is an onSend hook for the same
  // reason: an onResponse hook also turns those response listeners on. Measured: the no-op route
  // inside Kiln's app cost ~30 µs of CPU per request more than in a bare Fastify app, ~5 after this
  // (bench/dev/README.md, "Where the per-request gap over the no-op lives", part 4).
  const { stream, ...logOptions } = loggerSettings ?? { level: config.logLevel };
  const log: FastifyBaseLogger = pino({ ...logOptions, serializers: { err: pino.stdSerializers.err, ...logOptions.serializers } }, stream ?? pino.destination(1));
  const app = Fastify({
    logger: false,
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Names are up to 128 characters: longer path parameters must reach validation (a 400 naming
    // the pattern) instead of find-my-way's default limit of 100 and its own 414.
    routerOptions: { maxParamLength: MAX_PATH_PARAM_LENGTH },
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
      log.info({ model: entry.name, version: entry.version, generation: entry.generation, file: entry.file, replaced: replaced?.generation ?? null }, replaced ? 'model reloaded' : 'model loaded');
    },
    onRefuse(name, version, file, error, kept) {
      metrics.modelLoads.inc({ model: name, version, outcome: 'refused' });
      const code = isKilnError(error) ? error.code : 'KILN_INTERNAL';
      log.error({ model: name, version, file, code, keptGeneration: kept?.generation ?? null }, `model refused: ${error.message}`);
    },
    onRemove(name, version) {
      log.info({ model: name, version }, 'model version removed');
    },
    onScanError(name, message) {
      log.error({ model: name, code: 'KILN_MODEL_IO' }, `repository scan: ${message}; loaded models keep serving`);
    },
    onScanRecovered(name) {
      log.info({ model: name }, name === null ? 'repository scan: the repository is readable again' : `repository scan: model directory ${name} is readable again`);
    },
  });

  // The one onRequest hook of every route (each hook is a call and a callback per request, so the
  // two checks share it): refuse while overloaded (pressure.ts), and read a body without a declared
  // type as JSON. Triton's own HTTP client sends JSON infer bodies with no Content-Type; a declared
  // non-JSON type is still 415.
  const pressure = await startPressureCheck(app, config.pressure, log);
  app.addHook('onRequest', function kilnOnRequest(request, reply, done) {
    if (pressure !== null && pressure.overloaded()) {
      pressure.refuse(request, reply);
      return;
    }
    const h = request.headers;
    if (h['content-type'] === undefined && (h['content-length'] !== undefined || h['transfer-encoding'] !== undefined)) {
      h['content-type'] = 'application/json';
    }
    done();
  });

  // Body parsing: JSON only (anything else is 415), kept as text for the response cache. The record
  // routes replace it in their own scope with a byte parser (routes/serving.ts recordBodyParser).
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

  const ctx: ServerContext = { config, repository, metrics, log, hooks, entryMetrics: entryMetricsOf(metrics), closing: false };

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

  // Errors: {"error": message}, a status from the error catalogue, one log line, no stack.
  const fail = (request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string, cause?: unknown): void => {
    const state = request.kiln;
    if (state?.entry) metrics.requestFailure.inc({ model: state.entry.name, version: state.entry.version, code });
    const line = { reqId: request.id, code, status, method: request.method, url: request.url.slice(0, 256) };
    if (status >= 500) log.error({ ...line, err: cause }, message);
    else log.warn(line, message);
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

  // Responses counted per (method, route pattern, status), when the response is sent: each route
  // gets its own onSend hook bound to its pattern (a global hook would read request.routeOptions,
  // which builds a 12-field object on every read; an onResponse hook would make Fastify add and
  // remove response listeners on every request, see the logger above); requests no route matched
  // count when the 404 is sent (the not-found handler takes no route hooks). Requests refused by
  // the router (bad URL) are not counted.
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
    const onSend: onSendHookHandler = (request, reply, payload, done) => {
      if (count !== null) count(reply.statusCode);
      else {
        let c = byMethod.get(request.method);
        if (c === undefined) byMethod.set(request.method, (c = statusCounter(request.method, route.url)));
        c(reply.statusCode);
      }
      done(null, payload);
    };
    const existing = route.onSend;
    route.onSend = existing === undefined ? [onSend] : [...(Array.isArray(existing) ? existing : [existing]), onSend];
  });
  const unmatched = new Map<string, (status: number) => void>();
  app.setNotFoundHandler((request, reply) => {
    let count = unmatched.get(request.method);
    if (count === undefined) unmatched.set(request.method, (count = statusCounter(request.method, 'unmatched')));
    count(404);
    fail(request, reply, 404, 'KILN_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]?.slice(0, 200)}`);
  });

  // Routes, in the order of the OpenAPI document.
  registerV2Routes(app, ctx);
  await registerV1Routes(app, ctx);
  await registerPredictRoutes(app, ctx);
  registerRepositoryRoutes(app, ctx);
  registerOperationsRoutes(app, ctx);

  app.addHook('onClose', async () => {
    repository.stop();
    await repository.settled();
  });
  app.addHook('preClose', async () => {
    ctx.closing = true;
  });

  await repository.start();
  await app.ready();

  return {
    app,
    repository,
    metrics,
    config,
    log,
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
