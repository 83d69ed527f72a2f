// Top functions of a V8 .cpuprofile (node --cpu-prof): self and inclusive time, as µs per request
// when the request count is given (else % of samples), idle and GC shown apart.
//   node bench/dev/profile-top.mjs FILE.cpuprofile [requests] [top=40] [--inclusive]
import { readFileSync } from 'node:fs';

const [file, requestsArg, topArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const inclusive = process.argv.includes('--inclusive');
const profile = JSON.parse(readFileSync(file, 'utf8'));
const requests = Number(requestsArg ?? 0);
const top = Number(topArg ?? 40);

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// Sample weights: time deltas (µs) attributed to the sampled node.
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0));
}
const label = (n) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/dist\//, 'dist/');
  return `${f.functionName || '(anonymous)'} ${url}:${f.lineNumber + 1}`;
};
const self = new Map();
const incl = new Map();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  total += us;
  if (n.callFrame.functionName === '(idle)') idle += us;
  const l = label(n);
  self.set(l, (self.get(l) ?? 0) + us);
  // Inclusive: each distinct label on the stack once.
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const pl = label(nodes.get(p));
    if (seen.has(pl)) continue;
    seen.add(pl);
    incl.set(pl, (incl.get(pl) ?? 0) + us);
  }
}
const busy = total - idle;
const fmt = (us) => (requests > 0 ? `${(us / requests).toFixed(2)} µs/req` : `${((100 * us) / busy).toFixed(1)}%`);
console.log(`total ${(total / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s, busy ${(busy / 1e6).toFixed(2)} s${requests ? `, ${(busy / requests).toFixed(1)} µs busy/request` : ''}`);
const table = inclusive ? incl : self;
for (const [l, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us).padStart(14)}  ${l}`);
