// The timing method every runner shares (the engine binary and bench/py/timing.py do the same):
// median over `repeats` runs of (elapsed / rows), each run calling the step until its time slice
// is used, after a short warm-up. A burst of noise from other processes moves one run, not the median.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const sliceNs = (timeMs, repeats) => BigInt(Math.round((timeMs * 1e6) / repeats));
const STEPS_PER_CLOCK_READ = 8; // sync steps can be sub-microsecond: amortise process.hrtime

export function medianNsPerRow(step, rowsPerStep, timeMs, repeats) {
  for (let i = 0; i < 3; i++) step();
  const slice = sliceNs(timeMs, repeats);
  const oneRun = () => {
    const start = process.hrtime.bigint();
    let steps = 0;
    let elapsed = 0n;
    while (elapsed < slice) {
      for (let k = 0; k < STEPS_PER_CLOCK_READ; k++) step();
      steps += STEPS_PER_CLOCK_READ;
      elapsed = process.hrtime.bigint() - start;
    }
    return Number(elapsed) / (steps * rowsPerStep);
  };
  return median(Array.from({ length: repeats }, oneRun));
}

/** Same, for a step that returns a promise (awaited one at a time: the latency of each call). */
export async function medianNsPerRowAsync(step, rowsPerStep, timeMs, repeats) {
  for (let i = 0; i < 3; i++) await step();
  const slice = sliceNs(timeMs, repeats);
  const runs = [];
  while (runs.length < repeats) {
    const start = process.hrtime.bigint();
    let steps = 0;
    for (let elapsed = 0n; elapsed < slice; elapsed = process.hrtime.bigint() - start) {
      await step();
      steps++;
    }
    runs.push(Number(process.hrtime.bigint() - start) / (steps * rowsPerStep));
  }
  return median(runs);
}

export function maxAbsDiff(a, b, n) {
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
