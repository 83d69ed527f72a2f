// Overload protection: @fastify/under-pressure samples the event loop delay and utilisation, heap
// and RSS on a timer; Kiln checks the samples in its own onRequest hook (app.ts) and answers 503.
// The plugin's own onRequest hook reads `request.routeOptions` on every request (Fastify builds a
// 12-field object on each read) to look for a per-route handler Kiln never sets: registered in a
// scope of its own, that hook is attached to no route, and only the sampler is used.

import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import underPressure from '@fastify/under-pressure';

import type { PressureConfig } from './config.js';
import { JSON_TYPE } from './context.js';

export interface PressureCheck {
  /** True while a sampled value is over its limit (a few compares, no allocation). */
  readonly overloaded: () => boolean;
  /** Answers the 503 (Retry-After, the limit that was exceeded) and logs it. */
  refuse(request: FastifyRequest, reply: FastifyReply): void;
}

/** Starts the sampler; null when no limit is set (nothing to check per request). */
export async function startPressureCheck(app: FastifyInstance, c: PressureConfig, log: FastifyBaseLogger): Promise<PressureCheck | null> {
  if (!(c.maxEventLoopDelayMs > 0 || c.maxEventLoopUtilization > 0 || c.maxHeapUsedBytes > 0 || c.maxRssBytes > 0)) return null;
  let sampler: Pick<FastifyInstance, 'isUnderPressure' | 'memoryUsage'> | null = null;
  await app.register(async (scope) => {
    await scope.register(underPressure, {
      maxEventLoopDelay: c.maxEventLoopDelayMs,
      maxEventLoopUtilization: c.maxEventLoopUtilization,
      maxHeapUsedBytes: c.maxHeapUsedBytes,
      maxRssBytes: c.maxRssBytes,
      sampleInterval: c.sampleIntervalMs,
      retryAfter: c.retryAfterSeconds,
    });
    sampler = { isUnderPressure: scope.isUnderPressure, memoryUsage: scope.memoryUsage };
  });
  const s = sampler as Pick<FastifyInstance, 'isUnderPressure' | 'memoryUsage'> | null;
  if (s === null) throw new Error('@fastify/under-pressure did not start');
  const retryAfter = String(c.retryAfterSeconds);
  return {
    overloaded: s.isUnderPressure,
    refuse(request, reply) {
      // The same limits in the same order as the plugin's isUnderPressure.
      const u = s.memoryUsage();
      const [type, value] =
        c.maxEventLoopDelayMs > 0 && u.eventLoopDelay > c.maxEventLoopDelayMs
          ? ['eventLoopDelay', u.eventLoopDelay]
          : c.maxHeapUsedBytes > 0 && u.heapUsed > c.maxHeapUsedBytes
            ? ['heapUsedBytes', u.heapUsed]
            : c.maxRssBytes > 0 && u.rssBytes > c.maxRssBytes
              ? ['rssBytes', u.rssBytes]
              : ['eventLoopUtilization', u.eventLoopUtilized];
      log.warn({ reqId: request.id, code: 'KILN_OVERLOADED', pressure: type, value }, 'request refused: server under pressure');
      void reply
        .code(503)
        .header('retry-after', retryAfter)
        .type(JSON_TYPE)
        .send(JSON.stringify({ error: `the server is overloaded (${type}); retry later`, code: 'KILN_OVERLOADED' }));
    },
  };
}
