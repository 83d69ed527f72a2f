// Entry point of a cluster worker process (forked by runServer; see cluster.ts).

import { runClusterWorker } from './cluster.js';

runClusterWorker().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`${JSON.stringify({ level: 60, time: Date.now(), pid: process.pid, msg: `worker failed to start: ${message}` })}\n`);
  process.exit(1);
});
