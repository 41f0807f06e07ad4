// What an update changes, as object paths (spec.replicas, spec.template.spec.containers[0].image),
// and whether a rule's `fields` patterns cover a path. Server-managed fields are not changes an
// agent makes, so they are left out.

/** Paths the API server or controllers own, and Tether's own annotations. */
const SERVER_MANAGED = new Set([
  'status',
  'metadata.resourceVersion',
  'metadata.generation',
  'metadata.managedFields',
  'metadata.uid',
  'metadata.creationTimestamp',
  'metadata.selfLink',
  'metadata.annotations.kubectl.kubernetes.io/last-applied-configuration',
  'metadata.annotations.deployment.kubernetes.io/revision',
]);

/** Tether's own annotations: what it writes on objects is not a change an agent makes. */
const TETHER_ANNOTATIONS = 'tether.dev/';

/** Server-managed paths are at most three segments deep, under metadata or status. */
function isServerManaged(segs: readonly string[]): boolean {
  const top = segs[0];
  if (top === 'status') return segs.length === 1;
  if (top !== 'metadata' || segs.length > 3) return false;
  if (segs.length === 3 && segs[1] === 'annotations' && (segs[2] as string).startsWith(TETHER_ANNOTATIONS)) return true;
  return SERVER_MANAGED.has(segs.join('.'));
}

/**
 * Whether a `fields` pattern names only paths that are never reported as changes (server-managed ones,
 * or below them), so it can never match. Read as written: an annotation key keeps its dots.
 */
export function namesOnlyServerManaged(pattern: string): boolean {
  const under = (path: string) => pattern === path || pattern.startsWith(`${path}.`) || pattern.startsWith(`${path}[`);
  return pattern.startsWith(`metadata.annotations.${TETHER_ANNOTATIONS}`) || [...SERVER_MANAGED].some(under);
}

/**
 * Whether a `fields` pattern goes below a label or annotation key. Their values are strings, so nothing
 * is there; it is how a key with dots (app.kubernetes.io/name) reads once the pattern splits at every dot.
 * Such an entry never matches: `metadata.labels.*` or `metadata.labels` names those keys.
 */
export function namesBelowAMapKey(pattern: string): boolean {
  const segs = segments(pattern);
  return segs[0] === 'metadata' && (segs[1] === 'labels' || segs[1] === 'annotations') && segs.length > 3;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Renders segments as a path: spec, containers, [0], image → spec.containers[0].image. */
function render(segs: readonly string[]): string {
  let out = '';
  for (const s of segs) out += s.startsWith('[') ? s : out ? `.${s}` : s;
  return out;
}

/**
 * The first changed path (depth first, keys in order) that `allowed` does not accept, or undefined.
 * Paths travel as segments and become strings only where they are reported or looked up.
 */
export function firstChange(
  before: unknown,
  after: unknown,
  allowed: (segs: readonly string[]) => boolean,
  segs: string[] = [],
): string | undefined {
  if (before === after) return undefined;
  if (segs.length > 0 && segs.length <= 3 && isServerManaged(segs)) return undefined;
  // A map that appears or disappears changes each of its keys (metadata.labels.* covers a first label).
  if (before === undefined && isRecord(after)) before = {};
  if (after === undefined && isRecord(before)) after = {};
  if (isRecord(before) && isRecord(after)) {
    for (const k in before) {
      segs.push(k);
      const found = firstChange(before[k], after[k], allowed, segs);
      segs.pop();
      if (found !== undefined) return found;
    }
    for (const k in after) {
      if (k in before) continue;
      segs.push(k);
      const found = firstChange(undefined, after[k], allowed, segs);
      segs.pop();
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    for (let i = 0; i < before.length; i++) {
      segs.push(`[${i}]`);
      const found = firstChange(before[i], after[i], allowed, segs);
      segs.pop();
      if (found !== undefined) return found;
    }
    return undefined;
  }
  // A scalar, a type change, or a list that grew or shrank: this whole path changed.
  return allowed(segs) ? undefined : render(segs) || '(the whole object)';
}

/** Splits a path into segments: spec.containers[0].image → spec, containers, [0], image. */
function segments(path: string): string[] {
  const out: string[] = [];
  for (const part of path.split('.')) {
    const m = /^(.*?)((\[[^\]]*\])*)$/.exec(part);
    const head = m?.[1] ?? part;
    if (head !== '') out.push(head);
    for (const idx of (m?.[2] ?? '').match(/\[[^\]]*\]/g) ?? []) out.push(idx);
  }
  return out;
}

/** A pattern's segments cover a changed path's: `[*]` any list index, `*` any key; the path may go deeper. */
function segmentsCover(p: readonly string[], c: readonly string[]): boolean {
  if (c.length < p.length) return false;
  for (let i = 0; i < p.length; i++) {
    const ps = p[i] as string;
    const cs = c[i] as string;
    if (ps === cs) continue;
    if (ps === '[*]' && cs.startsWith('[')) continue;
    if (ps === '*' && !cs.startsWith('[')) continue;
    return false;
  }
  return true;
}

/** Whether a pattern covers a changed path (spec.template covers everything below it). */
export function patternCovers(pattern: string, path: string): boolean {
  return segmentsCover(segments(pattern), segments(path));
}

// Compiled patterns per fields list (policy objects are immutable).
const compiled = new WeakMap<readonly string[], readonly (readonly string[])[]>();

/** The first path the update changes outside the patterns; undefined when every change is covered. */
export function firstChangeOutside(before: unknown, after: unknown, patterns: readonly string[]): string | undefined {
  let ps = compiled.get(patterns);
  if (!ps) {
    ps = patterns.map(segments);
    compiled.set(patterns, ps);
  }
  const list = ps;
  return firstChange(before, after, (segs) => list.some((p) => segmentsCover(p, segs)));
}

/** Deep equality of two JSON values, without serialising either. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], bb[i])) return false;
    return true;
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let n = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue;
    n++;
    if (!sameJson(ra[k], rb[k])) return false;
  }
  for (const k in rb) if (rb[k] !== undefined) n--;
  return n === 0;
}
