// Operations routes: Prometheus metrics (the whole cluster's when a hook aggregates them) and the
// OpenAPI document.

import type { FastifyInstance } from 'fastify';

import type { ServerContext } from '../context.js';

export function registerOperationsRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { metrics, hooks } = ctx;
  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics' } }, async (_request, reply) => {
    const text = hooks.clusterMetrics ? await hooks.clusterMetrics() : await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/docs/json', { schema: { hide: true } }, async () => app.swagger());
}
