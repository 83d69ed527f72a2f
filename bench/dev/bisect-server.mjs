// Kiln's server as `kiln serve --workers 0 --no-cache --log-level warn` builds it (resolveConfig +
// runInProcess, so createServer with every plugin, hook, timer and the addon), plus the no-op
// routes of bench/peers/noop-fastify.mjs inside that same app, and switches that turn Kiln's
// features off one at a time: the bisection of bench/dev/README.md ("Where the per-request gap
// over the no-op lives"). Run by cpu.mjs (`--kiln-server bench/dev/bisect-server.mjs`, targets
// app-parsed / app-raw for the no-op routes), or by hand:
//   KILN_BISECT_OFF=swagger,pressure node bench/dev/bisect-server.mjs serve --port 8080 ...
// It takes `kiln serve`'s argument list (what cpu.mjs passes) and reads only --port and --models.
// KILN_BISECT_ROOT: a checkout whose dist/ is served (default: this one).
// KILN_BISECT_OFF, comma-separated (each names what it removes):
//   swagger          @fastify/swagger not registered (/docs/json then fails; not timed)
//   pressure         @fastify/under-pressure not registered (maxEventLoopDelayMs 0)
//   poller           the repository poller (pollIntervalMs 0)
//   default-metrics  prom-client's collectDefaultMetrics (its event-loop-lag monitor, GC observer)
//   logger           Fastify logger: false instead of pino (Kiln's app has it off itself now and
//                    writes its own lines: this matters only for an older KILN_BISECT_ROOT)
//   timeouts         Fastify's requestTimeout / keepAliveTimeout options left at Fastify's defaults
//   ctype-hook       Kiln's global onRequest hook (content type of untyped bodies; since the req
//                    branch it also holds the overload check, which this then removes too)
//   status-hook      Kiln's per-route status-counting hook (the onRoute hook; onSend now,
//                    onResponse in older builds)
//   cold-nexttick    process.nextTick is made hot (300,000 calls, optimised with monomorphic
//                    feedback) before the app is built, instead of first getting hot during
//                    createServer, whose mix leaves its TickObject literal's stores megamorphic
//   record-parser    the record routes' Buffer body parser scope: predict routes parse with the
//                    root string parser (JSON.parse; rawBody a string; the cache key path then
//                    uses the text; cache is off in these runs anyway)
import { register } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(process.env.KILN_BISECT_ROOT ?? path.join(HERE, '..', '..'));
const OFF = new Set((process.env.KILN_BISECT_OFF ?? '').split(',').filter(Boolean));
const KNOWN = ['cold-nexttick', 'swagger', 'pressure', 'poller', 'default-metrics', 'logger', 'timeouts', 'ctype-hook', 'status-hook', 'record-parser'];
for (const o of OFF) if (!KNOWN.includes(o)) throw new Error(`KILN_BISECT_OFF: unknown switch ${o} (known: ${KNOWN.join(', ')})`);

// The app module imports 'fastify' and metrics.js imports 'prom-client': both are redirected to
// the wrappers below (only for those two importers), so the app is built unmodified otherwise.
const appUrl = pathToFileURL(path.join(ROOT, 'dist', 'server', 'app.js')).href;
const metricsUrl = pathToFileURL(path.join(ROOT, 'dist', 'server', 'metrics.js')).href;
const wrapFastify = `data:text/javascript,${encodeURIComponent(`
import Fastify from 'fastify';
export * from 'fastify';
export default function wrapped(options) {
  const app = Fastify(globalThis.__kilnBisect.options(options));
  globalThis.__kilnBisect.app(app);
  return app;
}`)}`;
const wrapProm = `data:text/javascript,${encodeURIComponent(`
export * from 'prom-client';
import * as prom from 'prom-client';
export function collectDefaultMetrics(...a) { if (!globalThis.__kilnBisect.off.has('default-metrics')) prom.collectDefaultMetrics(...a); }`)}`;
register(
  `data:text/javascript,${encodeURIComponent(`
export async function resolve(specifier, context, next) {
  if (specifier === 'fastify' && context.parentURL === ${JSON.stringify(appUrl)}) return { url: ${JSON.stringify(wrapFastify)}, shortCircuit: true };
  if (specifier === 'prom-client' && context.parentURL === ${JSON.stringify(metricsUrl)}) return { url: ${JSON.stringify(wrapProm)}, shortCircuit: true };
  if ((specifier === 'fastify' || specifier === 'prom-client') && context.parentURL?.startsWith('data:')) return next(specifier, { ...context, parentURL: ${JSON.stringify(appUrl)} });
  return next(specifier, context);
}`)}`,
);

const { values: opt } = parseArgs({ options: { port: { type: 'string' }, models: { type: 'string' } }, strict: false, allowPositionals: true });

/** The no-op routes, answered like bench/peers/noop-fastify.mjs (a fixed reply of Kiln's size). */
const REPLY = '{"label":1,"probabilities":[0.0123456789012345,0.987654321098765]}';
function addNoopRoutes(app, register) {
  app.post('/noop/parsed', async (_request, res) => res.type('application/json').send(REPLY));
  register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    raw.post('/noop/raw', async (_request, res) => res.type('application/json').send(REPLY));
  });
}

globalThis.__kilnBisect = {
  off: OFF,
  options(options) {
    const o = { ...options };
    if (OFF.has('logger')) {
      o.logger = false;
      delete o.childLoggerFactory;
    }
    if (OFF.has('timeouts')) {
      delete o.requestTimeout;
      delete o.keepAliveTimeout;
    }
    return o;
  },
  app(app) {
    const plainRegister = app.register.bind(app);
    const register = plainRegister;
    app.register = (plugin, opts) => {
      const name = plugin?.[Symbol.for('plugin-meta')]?.name ?? plugin?.[Symbol.for('fastify.display-name')];
      if (OFF.has('swagger') && name === '@fastify/swagger') return app;
      return register(plugin, opts);
    };
    const addHook = app.addHook.bind(app);
    let hooksSeen = 0;
    app.addHook = (name, fn) => {
      // Kiln's first onRequest hook: content type and (req branch on) the overload check.
      if (name === 'onRequest' && hooksSeen++ === 0 && OFF.has('ctype-hook')) return app;
      if (name === 'onRoute' && OFF.has('status-hook')) return app;
      return addHook(name, fn);
    };
    if (OFF.has('record-parser')) {
      // Scopes whose first act is removeAllContentTypeParsers then a Buffer parser: keep the root's parser.
      const origRegister = app.register;
      app.register = (plugin, opts) =>
        plugin?.[Symbol.for('skip-override')] ? origRegister(plugin, opts) : origRegister(async (scope, o) => {
          scope.removeAllContentTypeParsers = () => scope;
          const add = scope.addContentTypeParser.bind(scope);
          scope.addContentTypeParser = (type, o2, fn) => (o2?.parseAs === 'buffer' && type === 'application/json' ? scope : add(type, o2, fn));
          return plugin(scope, o);
        }, opts);
    }
    // After Kiln's global hooks, parsers, plugins and its onRoute hook, just before its not-found handler.
    const setNotFoundHandler = app.setNotFoundHandler.bind(app);
    app.setNotFoundHandler = (...a) => {
      addNoopRoutes(app, plainRegister);
      return setNotFoundHandler(...a);
    };
  },
};

if (OFF.has('cold-nexttick')) {
  const noop = () => {};
  await new Promise((resolve) => {
    let n = 0;
    const step = () => {
      for (let i = 0; i < 100; i++) process.nextTick(noop);
      if (++n < 3000) setImmediate(step);
      else resolve();
    };
    step();
  });
}
const { resolveConfig } = await import(pathToFileURL(path.join(ROOT, 'dist', 'server', 'config.js')).href);
const { runInProcess } = await import(pathToFileURL(path.join(ROOT, 'dist', 'server', 'cluster.js')).href);
const config = resolveConfig({
  modelsDir: opt.models,
  port: opt.port,
  workers: 0,
  cache: false,
  logLevel: 'warn',
  ...(OFF.has('pressure') ? { maxEventLoopDelayMs: 0 } : {}),
  ...(OFF.has('poller') ? { pollIntervalMs: 0 } : {}),
});
await runInProcess(config);
process.stderr.write(`bisect-server on ${config.port}, off: ${[...OFF].join(',') || 'none'}\n`);

// KILN_BISECT_NEXTTICK=1: instead of serving, time process.nextTick (CPU ns per call, scheduled
// and run, 4 rounds of 2,000,000) in this process as built, then exit.
if (process.env.KILN_BISECT_NEXTTICK) {
  const noop = () => {};
  for (let r = 0; r < 4; r++) {
    const ns = await new Promise((resolve) => {
      let n = 0;
      const t0 = process.cpuUsage();
      const step = () => {
        for (let i = 0; i < 100; i++) process.nextTick(noop);
        if (++n < 20000) setImmediate(step);
        else {
          const d = process.cpuUsage(t0);
          resolve(((d.user + d.system) * 1000) / 2e6);
        }
      };
      step();
    });
    process.stdout.write(`nextTick ${ns.toFixed(0)} ns/call (off: ${[...OFF].join(',') || 'none'})\n`);
  }
  process.exit(0);
}
