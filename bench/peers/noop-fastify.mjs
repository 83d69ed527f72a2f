// The HTTP ceiling: two no-op Fastify routes on the body Kiln's route gets, served by 2 workers
// (node:cluster) like `kiln serve --workers 2`.
//   POST /noop/parsed  Fastify parses the JSON body (its default parser), the handler ignores it.
//   POST /noop/raw     the body is taken as a Buffer and never parsed: the cost of HTTP alone.
// Both answer the same fixed JSON text, as long as Kiln's answer to the same model.
//   node bench/peers/noop-fastify.mjs <port> <reply-json-file> [workers]
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';

import Fastify from 'fastify';

const [port, replyFile, workersArg] = process.argv.slice(2);
const workers = Number(workersArg ?? 2);

if (cluster.isPrimary && workers > 0) {
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const reply = readFileSync(replyFile, 'utf8');
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.post('/noop/parsed', async (_request, res) => res.type('application/json').send(reply));
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    raw.post('/noop/raw', async (_request, res) => res.type('application/json').send(reply));
  });
  app.get('/health', async () => 'ok');
  await app.listen({ host: '127.0.0.1', port: Number(port) });
}
