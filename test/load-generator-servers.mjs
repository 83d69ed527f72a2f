// Small local HTTP servers for the load generators' tests (test/bench-paced.test.mjs,
// test/bench-kiln-paced.test.mjs): each request's body is read to the end before `handler` runs.
import http from 'node:http';

export function serve(handler) {
  return new Promise((resolve) => {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => handler(req, res));
    });
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** A small JSON answer with its length. */
export function answer(res, status = 200) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end('{"ok":true}');
}

/** A server that holds every answer until `holdMs` after its first request arrives, then answers all. */
export function stallingServer(holdMs) {
  let releaseAt = 0;
  return serve((_req, res) => {
    if (releaseAt === 0) releaseAt = Date.now() + holdMs;
    setTimeout(() => answer(res), Math.max(0, releaseAt - Date.now()));
  });
}
