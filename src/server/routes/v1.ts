// KServe V1 / TF Serving row format: predict and model status.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { KilnError } from '../../errors.js';
import type { FeatureRecord } from '../../encode.js';
import type { ServerContext } from '../context.js';
import { isValidModelName } from '../repository.js';
import { v1ResponseText } from '../response-text.js';
import * as S from '../schemas.js';
import { answerRecords, cached, finish, notReady, recordBodyParser, resolve } from './serving.js';

// find-my-way: a regex parameter followed by a literal ':' ("::" escapes it). The regex sees the
// decoded segment, so it takes anything ("..%2F" is "../"): checkName answers 400, not a 404.
const v1Name = ':name(^.+)';
const v1Version = ':version(^.+)';
const checkName = (name: string, version?: string): void => {
  if (!isValidModelName(name)) throw new KilnError('KILN_REQUEST_INVALID', `invalid model name ${JSON.stringify(name.slice(0, 200))}`);
  if (version !== undefined && !/^[0-9]{1,18}$/.test(version)) throw new KilnError('KILN_REQUEST_INVALID', `invalid model version ${JSON.stringify(version.slice(0, 200))}`);
};
const v1Params = { type: 'object', properties: { name: { type: 'string' } } };
const v1VersionParams = { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } };

export async function registerV1Routes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { repository } = ctx;
  // Not async, like the friendly route (routes/predict.ts; serving.ts answerRecords).
  const v1Predict = (request: FastifyRequest<{ Params: { name: string; version?: string }; Body: { instances: FeatureRecord[] } }>, reply: FastifyReply): Promise<void> | undefined => {
    checkName(request.params.name, request.params.version);
    const entry = resolve(ctx, request, request.params.name, request.params.version);
    const key = cached(ctx, request, reply, entry, 'v1');
    if (reply.sent) return undefined;
    const pre = request.recordBody; // the body parser's native path may have predicted already (serving.ts)
    if (pre?.predictions !== undefined) {
      finish(ctx, request, reply, entry, key, v1ResponseText(pre.predictions), pre.predictions.length, pre.seconds);
      return undefined;
    }
    return answerRecords(ctx, request, reply, entry, key, request.body.instances, v1ResponseText);
  };
  const v1Schema = (params: object) => ({
    schema: { tags: ['v1'], summary: 'Predict (KServe V1 / TF Serving row format)', params, body: S.v1Request, response: { 200: S.v1Response, ...S.errorResponses } },
  });
  // The byte-keeping body parser is scoped to the predict routes (encapsulated context).
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, recordBodyParser(ctx, 'v1'));
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
}
