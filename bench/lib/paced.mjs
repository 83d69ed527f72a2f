// An open-loop load generator for tail latency at a constant offered rate: request k is due at
// start + k/rate whatever happened to the earlier ones, and its latency is measured from that due
// time, not from when a connection was free to send it. A caller's request that waits because the
// server (or the client pool) is behind waits in this figure too, so a stall shows up as the
// latency of every request it delayed (no coordinated omission), and a quick server is not
// charged for the load generator's own bursts.
//
// Requests go over a pool of keep-alive HTTP/1.1 connections, one request in flight on each (as a
// client pool does), raw sockets and prebuilt request bytes to keep the generator's own CPU low:
// it shares the cores with the server. A request due while every connection is busy waits in a
// FIFO for the first free one.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';

/** What the report names as the half-peak load generator. */
export const PACED_GENERATOR = { name: 'bench/lib/paced.mjs', kind: 'open loop, Node (raw sockets, a worker-thread clock), latency from each request\'s due time' };

const DRAIN_MS = 10_000; // after the last due time, how long outstanding requests may take to finish

// The schedule's clock. Node's timers fire on whole milliseconds, so a request due between two
// timer turns would be sent up to ~1 ms late, and that lateness (the generator's, not the
// server's) would be charged to the latency: a fifth of a 2 ms p99 budget at 4,000 req/s. The
// thread clock sleeps in a worker thread on Atomics.wait (a futex, sub-millisecond) until each
// due time and wakes the main thread with a message unless it is awake and has sent the request
// already; it sleeps, so it takes no core from the server. 'timer' (setTimeout) is kept for
// comparison.
const CLOCK_THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const issued = new Int32Array(workerData.issued); // requests the main thread has issued so far
const cell = new Int32Array(new SharedArrayBuffer(4));
parentPort.once('message', ({ startNs, intervalNs, total }) => {
  // process.hrtime is CLOCK_MONOTONIC, one clock for every thread of the process.
  for (let k = 0; k < total; k++) {
    const waitMs = Number(BigInt(startNs) + BigInt(Math.round(k * intervalNs)) - process.hrtime.bigint()) / 1e6;
    if (waitMs > 0.02) Atomics.wait(cell, 0, 0, waitMs);
    // A main thread awake for a response has sent what was due already: no wake-up needed.
    if (Atomics.load(issued, 0) <= k) parentPort.postMessage(k);
  }
});
parentPort.postMessage('ready');
`;
const HEADER_END = Buffer.from('\r\n\r\n');

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/**
 * The figures every open-loop generator reports (paced.mjs and the wrappers in bench/dev), from
 * per-request milliseconds: `latency` runs from each request's due time (so generator lag counts),
 * `service` from its actual send, `late` is send minus due. `elapsed` in seconds,
 * `generatorCpuUs` the generator's own CPU over `issued` requests.
 */
export function latencySummary({ latency, service, late, errors, elapsed, generatorCpuUs, issued }) {
  const sort = (a) => Float64Array.from(a).sort();
  const lat = sort(latency);
  const srv = sort(service);
  const lt = sort(late);
  let over10 = 0;
  for (const v of lat) if (v > 10) over10++;
  return {
    n: lat.length,
    achieved: lat.length / elapsed,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    p999: percentile(lat, 99.9),
    max: lat[lat.length - 1],
    serviceP99: percentile(srv, 99),
    lateP99: percentile(lt, 99),
    lateMax: lt[lt.length - 1],
    over10,
    errors,
    generatorCpuUsPerRequest: generatorCpuUs / Math.max(1, issued),
  };
}

/** Bytes of one POST per body, for `url`. */
function requestBuffers(url, bodies, contentType) {
  const u = new URL(url);
  return bodies.map((body) => {
    const b = Buffer.from(body);
    const head = `POST ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${contentType}\r\nContent-Length: ${b.length}\r\n\r\n`;
    return Buffer.concat([Buffer.from(head, 'latin1'), b]);
  });
}

/** End (exclusive) of a chunked body that starts at `from`, or -1 while it is incomplete. */
function chunkedEnd(buf, from) {
  let at = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', at, 'latin1');
    if (eol < 0) return -1;
    const size = parseInt(buf.toString('latin1', at, eol), 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size');
    if (size === 0) {
      const end = buf.indexOf(HEADER_END, eol, 'latin1'); // no trailers expected: "0\r\n\r\n"
      return end === eol ? end + 4 : -1;
    }
    at = eol + 2 + size + 2;
    if (at > buf.length) return -1;
  }
}

/**
 * Reads HTTP/1.1 responses off one socket (Content-Length or chunked framing). Calls
 * onResponse(status) per complete response.
 */
function responseReader(onResponse, onError) {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    try {
      for (;;) {
        const end = buf.indexOf(HEADER_END);
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const status = Number(head.slice(9, 12));
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        let total;
        if (length) total = end + 4 + Number(length[1]);
        else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) total = chunkedEnd(buf, end + 4);
        else throw new Error(`response without a length: ${head.slice(0, 80)}`);
        if (total < 0 || buf.length < total) return;
        buf = buf.subarray(total);
        onResponse(status);
      }
    } catch (error) {
      buf = Buffer.alloc(0);
      onError(error);
    }
  };
}

/**
 * @param {object} o
 * @param {string} o.url  POST target
 * @param {string[]} o.bodies  request bodies, cycled
 * @param {number} o.rate  offered requests per second
 * @param {number} o.seconds  how long requests are offered
 * @param {number} o.connections  pool size (keep-alive sockets)
 * @param {string} [o.contentType]
 * @returns {Promise<{n:number, achieved:number, p50:number, p99:number, p999:number, max:number,
 *   serviceP99:number, lateP99:number, lateMax:number, over10:number, errors:number,
 *   generatorCpuUsPerRequest:number}>} ms (the last: µs of the generator's CPU per request)
 */
export async function pacedLoad({ url, bodies, rate, seconds, connections, contentType = 'application/json', clock = 'thread' }) {
  const u = new URL(url);
  const reqs = requestBuffers(url, bodies, contentType);
  const total = Math.max(1, Math.round(rate * seconds));
  const interval = 1000 / rate;
  const latency = new Float64Array(total); // due time -> response, ms
  const service = new Float64Array(total); // sent -> response, ms
  const late = new Float64Array(total); // due time -> sent, ms
  let done = 0;
  let errors = 0;
  let issued = 0;
  const backlog = []; // indices due but not yet sent (every connection busy)
  // Free connections, least recently used first: requests rotate over the whole pool, as the
  // independent callers of a service would, and so over both cluster workers (the primary hands
  // out connections round-robin). Most-recently-used first would keep reusing one or two
  // sockets at low rates, possibly on one worker, and queue there while the other idles.
  const idle = [];
  let start = 0;
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));

  const send = (conn, k) => {
    const now = performance.now();
    conn.k = k;
    conn.sentAt = now;
    late[k] = now - (start + k * interval);
    conn.socket.write(reqs[k % reqs.length]);
  };
  const complete = (conn, status) => {
    const now = performance.now();
    const k = conn.k;
    conn.k = -1;
    if (status === 200) {
      latency[k] = now - (start + k * interval);
      service[k] = now - conn.sentAt;
      done++;
    } else errors++;
    if (done + errors === total) finish();
    else if (backlog.length > 0) send(conn, backlog.shift());
    else idle.push(conn);
    if (start > 0) sendDue(-1);
  };

  const pool = await Promise.all(
    Array.from({ length: connections }, () =>
      new Promise((resolve, reject) => {
        const socket = net.connect(Number(u.port), u.hostname);
        socket.setNoDelay(true);
        const conn = { socket, k: -1, sentAt: 0 };
        socket.on('data', responseReader((status) => complete(conn, status), () => socket.destroy()));
        socket.once('connect', () => resolve(conn));
        socket.once('error', reject);
      }),
    ),
  );
  for (const conn of pool) {
    conn.socket.on('error', () => undefined);
    conn.socket.on('close', () => {
      if (conn.k >= 0) {
        errors++;
        conn.k = -1;
        if (done + errors === total) finish();
      }
    });
    idle.push(conn);
  }

  // Sends every request due by now (or, from the clock thread, up to request `upTo`, which it
  // says is due): on a free connection, else into the backlog. Also called on every response,
  // so a busy generator sends on time without the clock thread waking it.
  let issuedCell = null;
  const sendDue = (upTo = -1) => {
    const now = performance.now();
    while (issued < total && (issued <= upTo || start + issued * interval <= now)) {
      const conn = idle.shift();
      if (conn) send(conn, issued);
      else backlog.push(issued);
      issued++;
    }
    if (issuedCell) Atomics.store(issuedCell, 0, issued);
  };
  let ticker = null;
  if (clock === 'thread') {
    issuedCell = new Int32Array(new SharedArrayBuffer(4));
    ticker = new Worker(CLOCK_THREAD_SOURCE, { eval: true, workerData: { issued: issuedCell.buffer } });
    await new Promise((resolve, reject) => {
      ticker.once('message', resolve);
      ticker.once('error', reject);
    });
    start = performance.now() + 1;
    const startNs = process.hrtime.bigint() + 1_000_000n;
    ticker.on('message', sendDue);
    ticker.postMessage({ startNs: String(startNs), intervalNs: interval * 1e6, total });
  } else {
    start = performance.now() + 1;
    const tick = () => {
      sendDue(-1);
      if (issued < total) setTimeout(tick, Math.max(0, start + issued * interval - performance.now()));
    };
    setTimeout(tick, 1);
  }
  const cpu0 = process.cpuUsage(); // the generator's own CPU (both threads), reported per request
  const drain = new Promise((resolve) => setTimeout(resolve, seconds * 1000 + DRAIN_MS).unref());
  await Promise.race([finished, drain]);
  const elapsed = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (ticker) await ticker.terminate();
  for (const conn of pool) conn.socket.destroy();
  errors = total - done; // anything not answered 200 in time

  return latencySummary({
    latency: done === total ? latency : latency.filter((v) => v > 0),
    service: service.subarray(0, issued),
    late: late.subarray(0, issued),
    errors,
    elapsed,
    generatorCpuUs: cpu.user + cpu.system,
    issued,
  });
}

// As a process of its own (what the bench does, so that the generator's heap and GC are its own,
// not the bench's): node bench/lib/paced.mjs '<JSON of pacedLoad's options>' -> one JSON line.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()) && process.argv[2]) {
  const o = JSON.parse(process.argv[2]);
  const bodies = o.bodiesFile ? (await import('node:fs')).readFileSync(o.bodiesFile, 'utf8').split('\n').filter(Boolean).slice(0, o.maxBodies ?? Infinity) : o.bodies;
  const r = await pacedLoad({ ...o, bodies });
  process.stdout.write(`${JSON.stringify(r)}\n`);
}
