// The HTTP ceilings Kiln's predict route is compared with: a Fastify app (same Fastify as Kiln)
// whose routes do no work, in N cluster workers like `kiln serve --workers N`.
//   POST /noop/parsed  Fastify's JSON parser parses the body; answers a constant JSON prediction
//   POST /noop/raw     the body is taken as a string and not parsed; the same constant answer
//   node bench/dev/noop-server.mjs [port=8090] [workers=2]
import cluster from 'node:cluster';

import Fastify from 'fastify';

const port = Number(process.argv[2] ?? 8090);
const workers = Number(process.argv[3] ?? 2);
const ANSWER = '{"label":1,"probabilities":[0.01,0.99]}';

if (cluster.isPrimary && workers > 0) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const parsed = Fastify({ logger: false });
  parsed.post('/noop/parsed', async (_request, reply) => reply.type('application/json; charset=utf-8').send(ANSWER));
  parsed.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    raw.post('/noop/raw', async (_request, reply) => reply.type('application/json; charset=utf-8').send(ANSWER));
  });
  await parsed.listen({ host: '127.0.0.1', port });
  // A clean exit on a signal, so `node --cpu-prof` writes its profile.
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
}
