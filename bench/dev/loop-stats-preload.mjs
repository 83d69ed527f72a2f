// Preloaded into the servers by `cpu.mjs --loop-stats` (node --import): on SIGUSR2 writes this
// process's event-loop and GC counters to $KILN_LOOP_STATS_DIR/<pid>.json, so cpu.mjs can report
// per round: loop turns per request (libuv's loop count), events per turn, scavenges and
// mark-compacts per 1,000 requests and GC pause time per request.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import v8 from 'node:v8';

const dir = process.env.KILN_LOOP_STATS_DIR;
const gc = { minor: 0, major: 0, incremental: 0, weak: 0, ms: 0 };
const KIND = { [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor', [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental', [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak' };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const k = KIND[e.detail?.kind];
    if (k) gc[k]++;
    gc.ms += e.duration;
  }
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  const { loopCount, events } = performance.nodeTiming.uvMetricsInfo;
  const m = process.memoryUsage();
  const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
  writeFileSync(path.join(dir, `${process.pid}.json`), JSON.stringify({ loopCount, events, gc, heapUsed: m.heapUsed, newSpace, external: m.external, arrayBuffers: m.arrayBuffers }));
});
