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

function isServerManaged(path: string): boolean {
  return SERVER_MANAGED.has(path) || path.startsWith('metadata.annotations.tether.dev/');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first changed path (depth first, keys in order), or undefined when nothing an agent owns changed. */
export function firstChange(before: unknown, after: unknown, allowed: (path: string) => boolean, path = ''): string | undefined {
  if (path !== '' && isServerManaged(path)) return undefined;
  if (before === after) return undefined;
  // A map that appears or disappears changes each of its keys (metadata.labels.* covers a first label).
  if (before === undefined && isRecord(after)) before = {};
  if (after === undefined && isRecord(before)) after = {};
  if (isRecord(before) && isRecord(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of keys) {
      const found = firstChange(before[k], after[k], allowed, path ? `${path}.${k}` : k);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    for (let i = 0; i < before.length; i++) {
      const found = firstChange(before[i], after[i], allowed, `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  // A scalar, a type change, or a list that grew or shrank: this whole path changed.
  return allowed(path) ? undefined : path || '(the whole object)';
}

/** Splits a concrete path into segments: spec.containers[0].image → spec, containers, [0], image. */
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

/**
 * Whether a pattern covers a changed path: every pattern segment matches (`[*]` any list index,
 * `*` any key), and the path may go deeper than the pattern (spec.template covers all below it).
 */
export function patternCovers(pattern: string, path: string): boolean {
  const p = segments(pattern);
  const c = segments(path);
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

/** The first path the update changes outside the patterns; undefined when every change is covered. */
export function firstChangeOutside(before: unknown, after: unknown, patterns: readonly string[]): string | undefined {
  return firstChange(before, after, (path) => patterns.some((p) => patternCovers(p, path)));
}
