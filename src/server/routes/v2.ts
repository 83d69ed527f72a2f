// KServe V2 / Open Inference Protocol REST: health, server metadata, model metadata and
// readiness, inference.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { KILN_VERSION, seconds, type ServerContext } from '../context.js';
import type { BatchResult, V2InferRequest } from '../marshal.js';
import type { ModelEntry } from '../repository.js';
import { v2ResponseText } from '../response-text.js';
import * as S from '../schemas.js';
import { cached, finish, notReady, offLoop, resolve, runNow, runOffLoop } from './serving.js';

export function registerV2Routes(app: FastifyInstance, ctx: ServerContext): void {
  const { config, repository } = ctx;
  const v2 = { tags: ['v2'] };
  app.get('/v2/health/live', { schema: { ...v2, summary: 'Server live', response: { 200: S.liveResponse } } }, async () => ({ live: true }));

  app.get('/v2/health/ready', { schema: { ...v2, summary: 'Server ready (400 when not)', response: { 200: S.readyResponse, 400: S.readyResponse } } }, async (_request, reply) => {
    const health = repository.health();
    const ready = health.ready && !ctx.closing;
    if (ctx.closing) health.details.unshift('the server is shutting down');
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

  type InferRequest = FastifyRequest<{ Params: { name: string; version?: string }; Body: V2InferRequest }>;
  const answer = (request: InferRequest, reply: FastifyReply, entry: ModelEntry, key: string | null, wanted: readonly string[], result: BatchResult, t0: bigint): void => {
    const text = v2ResponseText(entry.plan.v2Head, request.body.id, entry.plan.toV2Outputs(result, wanted));
    finish(ctx, request, reply, entry, key, text, result.rows, seconds(t0));
  };
  // Not async, like the friendly route (routes/predict.ts): a batch run on the event loop is
  // answered synchronously; one run on the thread pool resolves to nothing once answered.
  const infer = (request: InferRequest, reply: FastifyReply): Promise<void> | undefined => {
    const entry = resolve(ctx, request, request.params.name, request.params.version);
    const key = cached(ctx, request, reply, entry, 'v2');
    if (reply.sent) return undefined;
    const plan = entry.plan;
    const wanted = plan.requestedOutputs(request.body);
    const t0 = process.hrtime.bigint();
    const batch = plan.fromV2(request.body, config.maxBatchRows);
    if (offLoop(ctx, batch.rows)) return runOffLoop(entry, batch).then((result) => answer(request, reply, entry, key, wanted, result, t0));
    answer(request, reply, entry, key, wanted, runNow(entry, batch), t0);
    return undefined;
  };
  const inferSchema = (params: object) => ({
    schema: { ...v2, summary: 'Inference', params, body: S.inferRequest, response: { 200: S.inferResponse, ...S.errorResponses } },
  });
  app.post('/v2/models/:name/infer', inferSchema(S.nameParams), infer);
  app.post('/v2/models/:name/versions/:version/infer', inferSchema(S.nameVersionParams), infer);
}
