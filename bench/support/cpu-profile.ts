// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package, so a
// bench run can say where the server's time went. Usage: node bench/support/cpu-profile.ts FILE [N]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Cost {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** Where a frame's code lives: a package name, a project folder, node internals, or V8's own work. */
function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  if (url.startsWith('node:')) return url;
  const src = /\/(src|bench|test)\/(.+)\//.exec(url);
  return src ? `${src[1]}/${src[2]}` : url;
}

function frameKey(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^.*\/(node_modules|src)\//, '$1/');
  return url ? `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}` : functionName;
}

/** Time with the function anywhere on the stack (counted once per sample), idle excluded. */
export function inclusiveTimes(profile: Profile): Cost[] {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const leaf = nodes.get(id);
    if (!leaf || leaf.callFrame.functionName === '(idle)') return;
    busy += dt;
    const keys = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const n = nodes.get(at);
      if (n && n.callFrame.functionName !== '(root)') keys.add(frameKey(n));
    }
    for (const k of keys) incl.set(k, (incl.get(k) ?? 0) + dt);
  });
  return [...incl].map(([name, ms]) => ({ name, ms, share: ms / busy })).sort((x, y) => y.ms - x.ms);
}

export function selfTimes(profile: Profile): { total: number; byFunction: Cost[]; byArea: Cost[] } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, number>();
  const ar = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const n = nodes.get(id);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    if (!n) return;
    total += dt;
    const { functionName, url } = n.callFrame;
    const key = frameKey(n);
    fn.set(key, (fn.get(key) ?? 0) + dt);
    const a = area(url, functionName);
    ar.set(a, (ar.get(a) ?? 0) + dt);
  });
  const sorted = (m: Map<string, number>) =>
    [...m].map(([name, ms]) => ({ name, ms, share: ms / total })).sort((x, y) => y.ms - x.ms);
  return { total, byFunction: sorted(fn), byArea: sorted(ar) };
}

if (import.meta.main) {
  const [file, top = '25'] = process.argv.slice(2);
  if (!file) throw new Error('usage: cpu-profile.ts FILE.cpuprofile [N]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const { total, byFunction, byArea } = selfTimes(profile);
  const line = (c: Cost) =>
    `  ${(c.share * 100).toFixed(1).padStart(5)}%  ${c.ms.toFixed(0).padStart(7)} ms  ${c.name}`;
  console.log(`profile ${file}: ${total.toFixed(0)} ms sampled\nby area (self time):`);
  for (const c of byArea.slice(0, Number(top))) console.log(line(c));
  console.log('by function (self time):');
  for (const c of byFunction.slice(0, Number(top))) console.log(line(c));
  console.log('by function (inclusive, share of busy time):');
  for (const c of inclusiveTimes(profile).slice(0, Number(top))) console.log(line(c));
}
