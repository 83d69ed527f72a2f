// oha (crates.io, Rust) as a constant-rate load generator, for comparison with bench/lib/paced.mjs
// (bench/dev/tail.mjs --methods paced,oha; KILN_OHA=path to the binary, e.g. from
// `cargo install oha --version 1.16.0 --locked --root DIR`). Its own figures, as it reports them
// with --latency-correction: in oha 1.16.0 that clock starts when its pacer task wakes for the
// request (tokio timer, 1 ms wheel), not at the request's due time, so the generator's own lag is
// not in them and there is no service/late split.
import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { runTimed } from './vegeta.mjs';

export async function ohaLoad({ binary, url, bodies, rate, seconds, connections, contentType = 'application/json' }) {
  const base = path.join(os.tmpdir(), `kiln-oha-${process.pid}-${Date.now()}`);
  const bodiesFile = `${base}.bodies`;
  const out = `${base}.json`;
  try {
    writeFileSync(bodiesFile, `${bodies.join('\n')}\n`);
    const r = await runTimed(
      [binary, '--no-tui', '-z', `${seconds}s`, '-q', String(rate), '-c', String(connections), '--latency-correction', '-w', '-m', 'POST', '-T', contentType, '-Z', bodiesFile, '--output-format', 'json', '-o', out, url],
      { timeoutMs: (seconds + 60) * 1000 },
    );
    if (r.code !== 0) throw new Error(`oha exit ${r.code}: ${r.stderr.slice(-300)}`);
    const j = JSON.parse((await import('node:fs')).readFileSync(out, 'utf8'));
    const ok = Number(j.statusCodeDistribution?.['200'] ?? 0);
    const all = Object.values(j.statusCodeDistribution ?? {}).reduce((a, n) => a + Number(n), 0) + Object.values(j.errorDistribution ?? {}).reduce((a, n) => a + Number(n), 0);
    const p = j.latencyPercentiles;
    return {
      n: ok,
      achieved: ok / seconds,
      p50: p.p50 * 1000,
      p99: p.p99 * 1000,
      p999: p['p99.9'] * 1000,
      max: j.summary.slowest * 1000,
      serviceP99: NaN,
      lateP99: NaN,
      lateMax: NaN,
      over10: NaN,
      errors: all - ok,
      generatorCpuUsPerRequest: r.cpuUs / Math.max(1, all),
    };
  } finally {
    rmSync(bodiesFile, { force: true });
    rmSync(out, { force: true });
  }
}
