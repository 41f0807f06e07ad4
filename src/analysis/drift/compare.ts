// The diff with apply semantics: only what Git sets is compared. A field Git leaves out is the
// cluster's business (defaults, controllers, other tools); a field Git sets must hold Git's value.
// Keyed lists are matched by merge key, so order noise and server-side defaults in list items
// never show as drift.
import type { FieldDrift, PathSegment } from './model.ts';
import { displayPath, escapePointerToken } from './paths.ts';
import { quantitiesEqual } from './quantity.ts';
import { isQuantityField, type ListStrategy, listStrategy } from './schema-hints.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: unknown): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0);
}

interface Walk {
  readonly path: PathSegment[];
  readonly pointer: string[];
  /** Field names along the path, for schema hints. */
  readonly fields: (string | undefined)[];
  readonly out: FieldDrift[];
}

function emit(w: Walk, kind: FieldDrift['kind'], desired: unknown, live: unknown): void {
  w.out.push({
    path: [...w.path],
    display: displayPath(w.path),
    pointer: w.pointer.map((t) => `/${escapePointerToken(t)}`).join(''),
    kind,
    desired,
    live,
  });
}

function step<T>(w: Walk, seg: PathSegment, token: string, field: string | undefined, fn: () => T): T {
  w.path.push(seg);
  w.pointer.push(token);
  w.fields.push(field);
  try {
    return fn();
  } finally {
    w.path.pop();
    w.pointer.pop();
    w.fields.pop();
  }
}

function scalarEqual(w: Walk, desired: unknown, live: unknown): boolean {
  if (desired === live) return true;
  const field = w.fields[w.fields.length - 1];
  const parent = w.fields[w.fields.length - 2];
  return isQuantityField(field, parent) && quantitiesEqual(desired, live);
}

function keyOf(
  item: Obj,
  s: Extract<ListStrategy, { type: 'keyed' }>,
): Record<string, string | number | boolean> | undefined {
  const key: Record<string, string | number | boolean> = {};
  for (const k of s.keys) {
    const v = item[k] ?? s.defaults?.[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') key[k] = v;
  }
  return Object.keys(key).length > 0 ? key : undefined;
}

function sameKey(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return Object.keys(a).every((k) => a[k] === b[k]);
}

function compareList(w: Walk, desired: unknown[], live: unknown): void {
  if (!Array.isArray(live)) {
    if (live === undefined && desired.length === 0) return;
    emit(w, live === undefined ? 'missing' : 'changed', desired, live);
    return;
  }
  const strategy = listStrategy(w.fields, desired);
  if (strategy.type === 'set') {
    for (const member of desired) {
      if (live.some((l) => l === member)) continue;
      const seg = { member: member as string };
      step(w, seg, String(desired.indexOf(member)), undefined, () => emit(w, 'missing', member, undefined));
    }
    return;
  }
  if (strategy.type === 'keyed') {
    desired.forEach((item, i) => {
      const key = keyOf(item as Obj, strategy);
      if (!key) {
        step(w, { index: i }, String(i), undefined, () => compareValue(w, item, live[i]));
        return;
      }
      const at = live.findIndex((l) => isObj(l) && sameKey(key, keyOf(l, strategy) ?? {}));
      step(w, { key }, String(at >= 0 ? at : i), undefined, () => {
        if (at < 0) emit(w, 'missing', item, undefined);
        else compareValue(w, item, live[at]);
      });
    });
    return;
  }
  // Atomic: apply replaces the whole list, so its length must match; items still compare with
  // apply semantics, since the server defaults fields inside them (e.g. NetworkPolicy port protocol).
  if (desired.length !== live.length) {
    emit(w, 'changed', desired, live);
    return;
  }
  // A list of scalars (command, args, capabilities) is one value: report it whole.
  if (desired.every((d) => typeof d !== 'object' || d === null)) {
    if (desired.some((d, i) => d !== live[i])) emit(w, 'changed', desired, live);
    return;
  }
  desired.forEach((item, i) => {
    step(w, { index: i }, String(i), undefined, () => compareValue(w, item, live[i]));
  });
}

function compareMap(w: Walk, desired: Obj, live: unknown): void {
  if (!isObj(live)) {
    if (live === undefined && isEmpty(desired)) return;
    emit(w, live === undefined ? 'missing' : 'changed', desired, live);
    return;
  }
  for (const [k, dv] of Object.entries(desired)) {
    step(w, { field: k }, k, k, () => compareValue(w, dv, live[k]));
  }
}

function compareValue(w: Walk, desired: unknown, live: unknown): void {
  if (desired === undefined) return;
  if (desired === null) {
    if (live !== undefined && live !== null) emit(w, 'unexpected', null, live);
    return;
  }
  if (Array.isArray(desired)) compareList(w, desired, live);
  else if (isObj(desired)) compareMap(w, desired, live);
  else if (live === undefined) emit(w, 'missing', desired, undefined);
  else if (!scalarEqual(w, desired, live)) emit(w, 'changed', desired, live);
}

/**
 * Every path Git sets whose live value differs. Both objects should be normalised first
 * (normalizeDesired / normalizeLive); apiVersion and kind are identity, not compared.
 */
export function compareObjects(desired: Obj, live: Obj): FieldDrift[] {
  const w: Walk = { path: [], pointer: [], fields: [], out: [] };
  for (const [k, dv] of Object.entries(desired)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status') continue;
    step(w, { field: k }, k, k, () => compareValue(w, dv, live[k]));
  }
  return w.out;
}
