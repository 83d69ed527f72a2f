// The machine a run measured: CPU model, cores, the SIMD flags that matter to the kernels, memory.
import { readFileSync } from 'node:fs';
import os from 'node:os';

const FLAGS_OF_INTEREST = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'bmi2', 'neon', 'asimd'];

export function machine() {
  let flags = [];
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    const all = new Set((line?.split(':')[1] ?? '').trim().split(/\s+/));
    flags = FLAGS_OF_INTEREST.filter((f) => all.has(f));
    const model = info.split('\n').find((l) => /^model name\s*:/.test(l));
    if (model) cpu = model.split(':')[1].trim();
  } catch {
    // not Linux: os.cpus() is all there is
  }
  return {
    cpu,
    cores: os.cpus().length,
    flags,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
