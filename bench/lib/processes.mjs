// Child processes of a bench run: started, awaited until they answer, and always stopped by their
// own pid (process group) when the run ends, even on a failure.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const READY_TIMEOUT_MS = 90_000; // a gunicorn worker importing sklearn+pandas cold can take this long
const started = new Set();

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts a long-running process in its own process group; its output goes to `log` (an array). */
export function startServer(command, args, { env, cwd } = {}) {
  const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  const keep = (chunk) => {
    log.push(chunk.toString());
    if (log.length > 200) log.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  started.add(child);
  child.on('exit', () => started.delete(child));
  return { child, log };
}

export async function waitReady(server, url, what) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) throw new Error(`${what} exited (${server.child.exitCode}): ${server.log.join('').slice(-600)}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not answer ${url} within ${READY_TIMEOUT_MS / 1000} s`);
}

export async function stopServer(server) {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise((r) => server.child.once('exit', r));
  try {
    process.kill(-server.child.pid, 'SIGTERM');
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-server.child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }, 5000);
  await exited;
  clearTimeout(timer);
}

export async function stopAll() {
  await Promise.all([...started].map((child) => stopServer({ child })));
}

/** Runs a command to completion; resolves with stdout; progress lines on stderr pass through. */
export function run(command, args, { env, cwd, timeoutMs, passStderr = true } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', passStderr ? 'inherit' : 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr?.on('data', (c) => (err += c));
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : null;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.slice(0, 3).join(' ')}... ${signal ? `killed (${signal}${timer ? ', time limit' : ''})` : `exit ${code}`}${err ? `: ${err.trim().split('\n').slice(-3).join(' | ')}` : ''}`));
    });
  });
}

export function onPath(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim() || null;
}

/** The resident set of each child of `pid` (the cluster's workers), in MiB. */
export function childrenRssMiB(pid) {
  const ps = spawnSync('ps', ['-o', 'rss=', '--ppid', String(pid)], { encoding: 'utf8' });
  return ps.stdout.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0).map((kb) => Math.round((kb / 1024) * 10) / 10);
}

const CLK_TCK = 100; // /proc/<pid>/stat times are in clock ticks of 1/100 s (USER_HZ on Linux)

/**
 * CPU and scheduler snapshot of a server: `pid` and its children (a cluster's primary and workers).
 * cpuMs: utime+stime of all of them (/proc/<pid>/stat, 10 ms ticks); waitMs: time their main
 * threads spent runnable but waiting for a core (/proc/<pid>/schedstat, field 2, ns). null where
 * /proc is not there (not Linux).
 */
export function cpuSnapshot(pid) {
  let kids = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return null;
  }
  let cpuMs = 0;
  let waitMs = 0;
  for (const p of [pid, ...kids]) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'latin1').split(') ').pop().split(' ');
      cpuMs += ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // utime, stime (fields 14, 15)
      waitMs += Number(readFileSync(`/proc/${p}/schedstat`, 'latin1').split(' ')[1]) / 1e6;
    } catch {
      // exited between the listing and the read
    }
  }
  return { cpuMs, waitMs, at: performance.now() };
}

/** Per second of wall time between two cpuSnapshot()s: { cpuMsPerS, waitMsPerS }, or null. */
export function cpuRate(a, b) {
  if (!a || !b) return null;
  const s = (b.at - a.at) / 1000;
  return { cpuMsPerS: (b.cpuMs - a.cpuMs) / s, waitMsPerS: (b.waitMs - a.waitMs) / s };
}
