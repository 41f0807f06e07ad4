// Reads metadata.managedFields: which field manager owns a path. FieldsV1 is a trie whose keys
// are `f:<field>`, `k:<json of the merge key>` (keyed list item), `v:<json value>` (set member),
// `i:<index>` (list position) and `.` (the node itself).
import type { FieldPath, ManagedFieldsEntry, PathSegment } from './model.ts';

type Trie = Record<string, unknown>;

export interface FieldOwner {
  readonly entry: ManagedFieldsEntry;
  /** false when the manager owns an ancestor as a whole (an atomic list or map), not the path itself. */
  readonly exact: boolean;
}

function isTrie(v: unknown): v is Trie {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const parsedKeys = new Map<string, Record<string, unknown> | undefined>();

function parseKey(token: string): Record<string, unknown> | undefined {
  if (parsedKeys.has(token)) return parsedKeys.get(token);
  let parsed: Record<string, unknown> | undefined;
  try {
    const v = JSON.parse(token.slice(2)) as unknown;
    parsed = isTrie(v) ? v : undefined;
  } catch {
    parsed = undefined;
  }
  if (parsedKeys.size > 10_000) parsedKeys.clear();
  parsedKeys.set(token, parsed);
  return parsed;
}

function liveItemFor(list: unknown, key: Readonly<Record<string, unknown>>): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  return list.find(
    (i): i is Record<string, unknown> =>
      isTrie(i) &&
      Object.entries(key).every(([k, v]) => i[k] === v || (i[k] === undefined && k === 'protocol' && v === 'TCP')),
  );
}

function keyedChild(
  node: Trie,
  item: Record<string, unknown> | undefined,
  key: Readonly<Record<string, unknown>>,
): unknown {
  const probe = item ?? key;
  for (const [token, child] of Object.entries(node)) {
    if (!token.startsWith('k:')) continue;
    const k = parseKey(token);
    if (
      k &&
      Object.entries(k).every(([f, v]) => probe[f] === v || (probe[f] === undefined && f === 'protocol' && v === 'TCP'))
    )
      return child;
  }
  return undefined;
}

function childOf(node: Trie, seg: PathSegment, live: unknown): { child: unknown; live: unknown } {
  if ('field' in seg) return { child: node[`f:${seg.field}`], live: isTrie(live) ? live[seg.field] : undefined };
  if ('key' in seg) {
    const item = liveItemFor(live, seg.key);
    return { child: keyedChild(node, item, seg.key), live: item };
  }
  if ('index' in seg) return { child: node[`i:${seg.index}`], live: Array.isArray(live) ? live[seg.index] : undefined };
  return { child: node[`v:${JSON.stringify(seg.member)}`], live: seg.member };
}

function ownership(entry: ManagedFieldsEntry, path: FieldPath, live: unknown): FieldOwner | undefined {
  let node: unknown = entry.fieldsV1;
  let cursor = live;
  for (const seg of path) {
    if (!isTrie(node)) return undefined;
    const { child, live: next } = childOf(node, seg, cursor);
    if (child === undefined) {
      // A leaf (empty trie) on the way owns everything below it: an atomic list or map.
      return Object.keys(node).length === 0 && node !== entry.fieldsV1 ? { entry, exact: false } : undefined;
    }
    node = child;
    cursor = next;
  }
  return isTrie(node) ? { entry, exact: true } : undefined;
}

/** The managers owning `path` in the live object (whose managedFields are `entries`). */
export function ownersOf(
  entries: readonly ManagedFieldsEntry[] | undefined,
  path: FieldPath,
  live: unknown,
): FieldOwner[] {
  const out: FieldOwner[] = [];
  for (const e of entries ?? []) {
    const o = ownership(e, path, live);
    if (o) out.push(o);
  }
  return out;
}

/** Managers that own something under `path` (used when the path itself was removed). */
export function managersUnder(
  entries: readonly ManagedFieldsEntry[] | undefined,
  path: FieldPath,
  live: unknown,
): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const e of entries ?? []) {
    let node: unknown = e.fieldsV1;
    let cursor = live;
    let reached = true;
    for (const seg of path) {
      if (!isTrie(node)) {
        reached = false;
        break;
      }
      const { child, live: next } = childOf(node, seg, cursor);
      if (child === undefined) {
        reached = false;
        break;
      }
      node = child;
      cursor = next;
    }
    if (reached && isTrie(node) && Object.keys(node).some((k) => k !== '.')) out.push(e);
  }
  return out;
}

/** Human name of an entry: `kubectl-scale (Update, subresource scale, 2025-01-01T10:00:00Z)`. */
export function describeEntry(e: ManagedFieldsEntry): string {
  const parts = [e.operation ?? 'Update'];
  if (e.subresource) parts.push(`subresource ${e.subresource}`);
  if (e.time) parts.push(e.time);
  return `${e.manager ?? '(no manager)'} (${parts.join(', ')})`;
}
