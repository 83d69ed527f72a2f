// Makes process.nextTick hot before the server is built, so that V8 optimises it while its
// feedback is still clean.
//
// Why: Node's nextTick builds a TickObject literal (two symbol keys, then `callback`, `args`).
// When nextTick first gets hot during createServer (thousands of calls from avvio, streams and
// fs, in interpreted and baseline code), the define-property feedback for `callback` and `args`
// ends up MEGAMORPHIC (%DebugPrint(process.nextTick)), and every later call goes through the
// runtime: ~550-850 ns per call instead of ~150 (CPU, `KILN_BISECT_NEXTTICK=1 node
// bench/dev/bisect-server.mjs`). Node's HTTP and stream code calls nextTick ~6 times per request,
// so that cost ~10 µs of CPU per request of every route (bench/dev/README.md, "Where the
// per-request gap over the no-op lives"). Made hot first, nextTick stays monomorphic for the
// life of the process: the calls made while building the server no longer change its feedback.

/** Event-loop turns of the warm-up; nextTick must be optimised (run hot over several turns, not
 * one long burst) before createServer runs: 20 turns of 100 calls was not always enough, 50 of
 * 200 and 200 of 100 were in every trial. */
const WARMUP_TURNS = 200;
/** nextTick calls per turn (each turn drains them, as the request path does). */
const CALLS_PER_TURN = 100;

const noop = (): void => undefined;

/** Runs WARMUP_TURNS x CALLS_PER_TURN no-op nextTicks over as many loop turns (~50 ms of CPU, JIT included, once per process). */
export function warmNextTick(): Promise<void> {
  return new Promise((resolve) => {
    let turn = 0;
    const step = (): void => {
      for (let i = 0; i < CALLS_PER_TURN; i++) process.nextTick(noop);
      if (++turn < WARMUP_TURNS) setImmediate(step);
      else setImmediate(resolve);
    };
    step();
  });
}
