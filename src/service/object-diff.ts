// The change a pending action asks for, as a reviewer reads it: the object before and after
// (normalised as drift normalises, so server bookkeeping never shows as a change) and the
// fields that differ. Computed here, once; the console and the CLI only render it.
import { compareObjects } from '../analysis/drift/compare.ts';
import type { KubeObject } from '../analysis/drift/model.ts';
import { normalizeLive } from '../analysis/drift/normalize.ts';
import { escapePointerToken } from '../analysis/drift/paths.ts';
import type { RequestedObjects } from '../store/store.ts';

export type FieldChangeKind = 'changed' | 'added' | 'removed';

export interface FieldChange {
  /** `spec.template.spec.containers[name=app].image` */
  readonly path: string;
  readonly pointer: string;
  readonly change: FieldChangeKind;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** A field a reviewer should look at on a create: it decides identity, privilege, scale or what runs. */
export interface Highlight {
  readonly path: string;
  readonly pointer: string;
  readonly value: unknown;
  readonly why: string;
}

export interface ObjectDiff {
  /** update: both sides; create: the new object only; delete: the old one only; unknown: nothing was kept. */
  readonly kind: 'update' | 'create' | 'delete' | 'unknown';
  readonly before?: unknown;
  readonly after?: unknown;
  readonly changes: readonly FieldChange[];
  readonly highlights: readonly Highlight[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The carriers an approval does not bind (the approval id itself, the chain), shown as facts above
 * the diff. Everything the approval binds, tether.dev/intent and any other tether.dev/* included,
 * stays in the diff: the reviewer sees all of what they approve.
 */
const TETHER_ANNOTATION = /^tether\.dev\/(approval|chain)$/;

function withoutTetherAnnotations(o: KubeObject): KubeObject {
  const ann = o.metadata.annotations;
  if (!ann || !Object.keys(ann).some((k) => TETHER_ANNOTATION.test(k))) return o;
  const kept = Object.fromEntries(Object.entries(ann).filter(([k]) => !TETHER_ANNOTATION.test(k)));
  const { annotations: _all, ...md } = o.metadata;
  return { ...o, metadata: Object.keys(kept).length > 0 ? { ...md, annotations: kept } : md };
}

function normal(o: unknown): Obj | undefined {
  if (!isObj(o)) return undefined;
  const withMeta = isObj(o.metadata) ? o : { ...o, metadata: {} };
  return withoutTetherAnnotations(normalizeLive(withMeta as KubeObject)) as Obj;
}

/** Both directions of drift's apply-semantics compare: what `after` sets differently, and what it drops. */
export function fieldChanges(before: Obj, after: Obj): FieldChange[] {
  const forward = compareObjects(after, before).map(
    (d): FieldChange => ({
      path: d.display,
      pointer: d.pointer,
      change: d.kind === 'missing' ? 'added' : d.kind === 'unexpected' ? 'removed' : 'changed',
      before: d.live,
      after: d.desired,
    }),
  );
  const dropped = compareObjects(before, after)
    .filter((d) => d.kind === 'missing')
    .map((d): FieldChange => ({ path: d.display, pointer: d.pointer, change: 'removed', before: d.desired }));
  const seen = new Set(forward.map((c) => c.pointer));
  return [...forward, ...dropped.filter((c) => !seen.has(c.pointer))];
}

const WHY: readonly [RegExp, string][] = [
  [/(^|\.)replicas$/, 'scale'],
  [/(^|\.)serviceAccountName$|(^|\.)serviceAccount$/, 'runs as this service account'],
  [/(^|\.)automountServiceAccountToken$/, 'mounts an API token'],
  [/\.image$/, 'what runs'],
  [/(^|\.)(hostNetwork|hostPID|hostIPC)$/, 'shares the node'],
  [/\.hostPath\./, 'mounts a node path'],
  [/(^|\.)(privileged|allowPrivilegeEscalation|runAsUser|runAsNonRoot)$/, 'privilege'],
  [/\.capabilities\.add/, 'privilege'],
  [/^roleRef\./, 'grants a role'],
  [/^subjects/, 'who is granted'],
  [/^rules/, 'permissions'],
  [/^metadata\.(name|namespace)$/, 'identity'],
];

function walk(v: unknown, path: string, pointer: string, out: Highlight[]): void {
  if (Array.isArray(v)) {
    for (const [i, item] of v.entries()) walk(item, `${path}[${i}]`, `${pointer}/${i}`, out);
    return;
  }
  if (isObj(v)) {
    for (const [k, child] of Object.entries(v))
      walk(child, path ? `${path}.${k}` : k, `${pointer}/${escapePointerToken(k)}`, out);
    return;
  }
  const why = WHY.find(([re]) => re.test(path))?.[1];
  if (why) out.push({ path, pointer, value: v, why });
}

export function highlightsOf(obj: unknown): Highlight[] {
  const out: Highlight[] = [];
  walk(obj, '', '', out);
  return out;
}

export function objectDiff(requested: RequestedObjects | undefined): ObjectDiff {
  const before = normal(requested?.oldObject);
  const after = normal(requested?.object);
  if (before && after) return { kind: 'update', before, after, changes: fieldChanges(before, after), highlights: [] };
  if (after) return { kind: 'create', after, changes: [], highlights: highlightsOf(after) };
  if (before) return { kind: 'delete', before, changes: [], highlights: highlightsOf(before) };
  return { kind: 'unknown', changes: [], highlights: [] };
}
