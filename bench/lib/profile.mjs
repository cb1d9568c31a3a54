// Summarises a V8 .cpuprofile: where the process spent its CPU, by area of code
// (self time) and by function (self and inclusive time).
import { readFileSync } from 'node:fs';
import { ROOT } from './servers.mjs';

function area(url, functionName) {
  if (url === '') {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native: ${functionName}`;
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([a-z_]+)/.exec(url);
    return `node:${m?.[1] ?? 'internal'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `dependency: ${nm[1]}`;
  const ours = /dist\/src\/([^/]+)(\/[^/]+)?/.exec(url);
  if (ours) return `ours: src/${ours[1]}${ours[2]?.endsWith('.js') ? '' : ours[2] ?? ''}`;
  return url.replace(`file://${ROOT}`, '');
}

const shortUrl = (url) => url.replace(`file://${ROOT}`, '').replace(/^dist\//, '').replace(/^node_modules\//, '');

export function summariseProfile(file, { top = 25 } = {}) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;

  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(profile.samples[i]);
    if (node === undefined) continue;
    total += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const a = area(node.callFrame.url, node.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id));
      if (seen.has(kk)) continue;
      seen.add(kk);
      inclusive.set(kk, (inclusive.get(kk) ?? 0) + dt);
    }
  }
  const idle = areas.get('idle') ?? 0;
  const busy = total - idle;
  const pct = (x, of) => Math.round((x / of) * 1000) / 10;
  const rank = (map, filter = () => true, of = busy) =>
    [...map]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => ({ what: k, ms: Math.round(us / 1000), pctOfBusy: pct(us, of) }));
  return {
    file,
    wallMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    idlePct: pct(idle, total),
    byArea: rank(areas, (k) => k !== 'idle'),
    topSelf: rank(self, (k) => !k.startsWith('(idle)')),
    // Our own functions, inclusive of what they call: which request paths cost most.
    topInclusiveOurs: rank(inclusive, (k) => k.includes(' src/')),
  };
}
