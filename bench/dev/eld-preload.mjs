// Preloaded into server processes (NODE_OPTIONS="--import <this file>") by tail.mjs: writes, once a
// second, one JSON line per process to $KILN_ELD_LOG with the event loop's delay over that second
// (perf_hooks.monitorEventLoopDelay, 1 ms resolution), every stall over STALL_MS with its wall
// time, length and how much of it the thread spent runnable but waiting for a core,
// and every GC pause (PerformanceObserver 'gc') with its kind and duration. Tells a server stall
// (the loop did not run) from a load-generator or scheduler artefact (the loop ran on time).
import cluster from 'node:cluster';
import v8 from 'node:v8';
import { appendFileSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';

const FILE = process.env.KILN_ELD_LOG;
const STALL_MS = 10; // a timer late by more than this is a stall worth a line: 5x the p99 target's budget
const TICK_MS = 2; // the stall detector's timer period

if (FILE && !cluster.isPrimary) {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let stalls = [];
  let gcs = [];
  // The main thread's time waiting on a run queue (ns, /proc schedstat field 2): a stall the
  // scheduler explains (the thread was runnable but another process had the core) shows as
  // run-queue wait; one the process caused itself (GC, synchronous work) does not.
  const schedFile = `/proc/self/task/${process.pid}/schedstat`;
  const runDelay = () => {
    try {
      return Number(readFileSync(schedFile, 'latin1').split(' ')[1]) / 1e6;
    } catch {
      return 0;
    }
  };
  let last = performance.now();
  let lastWait = runDelay();
  setInterval(() => {
    const now = performance.now();
    const wait = runDelay();
    const late = now - last - TICK_MS;
    if (late > STALL_MS) stalls.push([Math.round(performance.timeOrigin + now), Math.round(late), Math.round(wait - lastWait)]);
    last = now;
    lastWait = wait;
  }, TICK_MS).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push([Math.round(performance.timeOrigin + e.startTime), +e.duration.toFixed(2), e.detail?.kind ?? e.kind]);
  }).observe({ entryTypes: ['gc'] });
  let secondWait = runDelay();
  let secondCpu = process.cpuUsage();
  setInterval(() => {
    const wait = runDelay();
    const cpu = process.cpuUsage(secondCpu);
    const waitMs = wait - secondWait; // this second's run-queue wait, ms
    secondWait = wait;
    secondCpu = process.cpuUsage();
    const newSpace = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
    const line = { pid: process.pid, t: Date.now(), waitMs: Math.round(waitMs), cpuMs: Math.round((cpu.user + cpu.system) / 1000), newSpaceMiB: newSpace / 2 ** 20, n: h.count, p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6, stalls, gcs };
    appendFileSync(FILE, `${JSON.stringify(line)}\n`);
    h.reset();
    stalls = [];
    gcs = [];
  }, 1000).unref();
}
