// The friendly routes: predict one record or an array of records, list and describe models.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { FeatureRecord } from '../../encode.js';
import { seconds, type ServerContext } from '../context.js';
import { predictionText, predictionsText } from '../response-text.js';
import * as S from '../schemas.js';
import { answerRecords, cached, finish, recordBodyParser, resolve } from './serving.js';

export async function registerPredictRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { repository } = ctx;
  // Not async: a record, or an array run on the event loop, is answered synchronously (a sync
  // throw takes the same error path as a rejection), which spares each request the handler's
  // promise and Fastify's thenable job for the returned reply. Arrays run on the thread pool
  // return a promise resolving to nothing once the reply is sent (serving.ts answerRecords).
  type PredictRequest = FastifyRequest<{ Params: { name: string; version?: string }; Body: FeatureRecord | FeatureRecord[] }>;
  const friendlyPredict = (request: PredictRequest, reply: FastifyReply): Promise<void> | undefined => {
    const entry = resolve(ctx, request, request.params.name, request.params.version);
    const key = cached(ctx, request, reply, entry, 'predict');
    if (reply.sent) return undefined;
    const pre = request.recordBody;
    if (pre?.prediction !== undefined) {
      // The body parser's native path predicted the record(s) already (serving.ts).
      finish(ctx, request, reply, entry, key, predictionText(pre.prediction), 1, pre.seconds);
      return undefined;
    }
    if (pre?.predictions !== undefined) {
      finish(ctx, request, reply, entry, key, predictionsText(pre.predictions), pre.predictions.length, pre.seconds);
      return undefined;
    }
    const body = request.body;
    if (Array.isArray(body)) return answerRecords(ctx, request, reply, entry, key, body, predictionsText);
    // One record: the model's one-row fast path (errors are the same, with row 0).
    const t0 = process.hrtime.bigint();
    const prediction = entry.model.predict(body);
    finish(ctx, request, reply, entry, key, predictionText(prediction), 1, seconds(t0));
    return undefined;
  };
  const friendlySchema = (params: object) => ({
    schema: { tags: ['predict'], summary: 'Predict one record or an array of records', params, body: S.predictRequest, response: { 200: S.predictResponse, ...S.errorResponses } },
  });
  // The byte-keeping body parser is scoped to the predict routes (encapsulated context).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, recordBodyParser(ctx, 'predict'));
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
}
