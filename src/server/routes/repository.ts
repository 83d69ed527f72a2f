// The Triton model repository API (index, load, unload), behind a bearer token.

import { timingSafeEqual } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { KilnError } from '../../errors.js';
import { JSON_TYPE, type ServerContext } from '../context.js';
import * as S from '../schemas.js';

export function registerRepositoryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { config, repository, hooks, log } = ctx;
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
    log.info({ reqId: request.id, model: name, action }, `model ${action} through the repository API`);
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
}
