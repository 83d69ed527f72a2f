"""The timing method every Python peer shares, the same as the engine binary's and the JS runners':
median over `repeats` runs of (elapsed / rows), each run calling the step until its time slice is
used, after a short warm-up."""

import time


def median_ns_per_row(step, rows_per_step, time_ms, repeats):
    for _ in range(3):
        step()
    slice_ns = time_ms * 1e6 / repeats
    runs = []
    for _ in range(repeats):
        steps = 0
        start = time.perf_counter_ns()
        now = start
        while now - start < slice_ns:
            step()
            steps += 1
            now = time.perf_counter_ns()
        runs.append((now - start) / (steps * rows_per_step))
    runs.sort()
    return runs[len(runs) // 2]
