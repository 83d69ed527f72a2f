// What autocannon's overallRate run of 2026-11-25 (breast_cancer_logreg: 4,046 req/s offered for
// 10 s, reported p50/p99/p99.9 2/378/514 ms) would report if Kiln answered every request in 1-7 ms
// and the only slow responses were the first one on each of the 32 connections, each charged with
// the part of autocannon's setup still to run after it was sent (client i waits for clients
// i+1..32 to be built: S * (32 - i) / 32 ms). Recorded as autocannon does:
// recordValueWithExpectedInterval(L, 1), i.e. L, L-1, ..., 1 ms.
//   node bench/dev/autocannon-model.mjs
function reported(setupMs, steadyMs, requests = 40_460, connections = 32) {
  const vals = [];
  const record = (latency) => {
    const v = Math.round(latency);
    vals.push(v);
    for (let m = v - 1; m >= 1; m--) vals.push(m);
  };
  for (let i = 0; i < requests - connections; i++) record(steadyMs());
  for (let i = 0; i < connections; i++) record((setupMs * (connections - i)) / connections);
  vals.sort((a, b) => a - b);
  const q = (p) => vals[Math.ceil(p * vals.length) - 1];
  return [q(0.5), q(0.99), q(0.999)];
}

let seed = 1;
const uniform = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const steady = () => 1 + (uniform() < 0.98 ? uniform() * 1.5 : 2 + uniform() * 4); // 1-2.5 ms, 2% at 3-7 ms
for (const setupMs of [0, 400, 500, 550, 600, 700]) console.log(`setup ${setupMs} ms: reported p50/p99/p99.9 ${reported(setupMs, steady).join(' / ')} ms`);
