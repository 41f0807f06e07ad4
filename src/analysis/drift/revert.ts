// The 'revert' response: Git's values are re-applied, with server-side apply, for drift an agent
// caused and nothing else (a human's or a controller's change is reported, never overwritten).
// Only the drifted fields are applied, so Tether takes ownership of exactly those. When a field
// keeps coming back after a revert, something is fighting Tether (usually a controller acting
// for the agent): Tether stops and says who, rather than flapping with it.
import { guessFromManager } from './actors.ts';
import { ownersOf } from './managed-fields.ts';
import type {
  AttributedDrift,
  Attribution,
  Confidence,
  DesiredObject,
  DriftReport,
  FieldPath,
  KubeObject,
} from './model.ts';
import { normalizeDesired } from './normalize.ts';
import { apiVersionOf, describeId, idKey } from './object-id.ts';

/** What revert needs from a cluster (KubeClient provides it). */
export interface Applier {
  apply(obj: KubeObject, fieldManager: string, force: boolean): Promise<KubeObject>;
  get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<KubeObject | undefined>;
}

/** Remembers reverts across runs (the watcher keeps one; the CLI starts empty). */
export interface FlapGuard {
  count(key: string, sinceMs: number): number;
  record(key: string, atMs: number): void;
}

export function memoryFlapGuard(): FlapGuard {
  const times = new Map<string, number[]>();
  return {
    count: (key, since) => (times.get(key) ?? []).filter((t) => t >= since).length,
    record: (key, at) => times.set(key, [...(times.get(key) ?? []), at]),
  };
}

export interface RevertOptions {
  readonly applier: Applier;
  /** Git's objects (from loadDesiredState): the values to restore. */
  readonly desired: readonly DesiredObject[];
  readonly fieldManager?: string;
  readonly minConfidence?: Confidence;
  readonly guard?: FlapGuard;
  /** Reverts of one field allowed within `windowMs` before Tether calls it flapping (default 2 in 30 min). */
  readonly maxReverts?: number;
  readonly windowMs?: number;
  /** Wait this long after applying, then re-read to catch an immediate fight (default 0: no re-read). */
  readonly settleMs?: number;
  readonly dryRun?: boolean;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface RevertResult {
  readonly reverted: readonly { readonly object: string; readonly paths: readonly string[] }[];
  readonly skipped: readonly { readonly object: string; readonly path: string; readonly why: string }[];
  readonly flapping: readonly { readonly object: string; readonly path: string; readonly against: string }[];
}

const RANK: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

function matchesKey(item: unknown, key: Readonly<Record<string, unknown>>): boolean {
  if (typeof item !== 'object' || item === null) return false;
  const o = item as Record<string, unknown>;
  return Object.entries(key).every(([k, v]) => o[k] === v || (o[k] === undefined && k === 'protocol' && v === 'TCP'));
}

/**
 * Copies the value at `path` of `from` into `into`, creating the structure on the way. Keyed list
 * items carry their merge key; an atomic list (reached by index) is copied whole, as apply needs.
 */
function copyPath(from: Record<string, unknown>, into: Record<string, unknown>, path: FieldPath): boolean {
  let src: unknown = from;
  let dst: Record<string, unknown> | unknown[] = into;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as FieldPath[number];
    const next = path[i + 1];
    const last = i === path.length - 1;
    if ('field' in seg) {
      const value = (src as Record<string, unknown> | undefined)?.[seg.field];
      if (value === undefined) return false;
      const container = dst as Record<string, unknown>;
      if (last || (next && 'index' in next)) {
        container[seg.field] = structuredClone(value);
        return true;
      }
      container[seg.field] ??= Array.isArray(value) ? [] : {};
      src = value;
      dst = container[seg.field] as Record<string, unknown> | unknown[];
    } else if ('key' in seg) {
      const item = Array.isArray(src) ? src.find((x) => matchesKey(x, seg.key)) : undefined;
      if (item === undefined) return false;
      const list = dst as unknown[];
      let target = list.find((x) => matchesKey(x, seg.key)) as Record<string, unknown> | undefined;
      if (!target) {
        target = { ...seg.key };
        list.push(target);
      }
      if (last) Object.assign(target, structuredClone(item));
      src = item;
      dst = target;
    } else if ('member' in seg) {
      (dst as unknown[]).push(seg.member);
      return true;
    } else return false;
  }
  return true;
}

function patchFor(
  d: DesiredObject,
  fields: readonly AttributedDrift[],
): { patch: KubeObject; missed: AttributedDrift[] } {
  const git = normalizeDesired(d.object) as unknown as Record<string, unknown>;
  const patch: KubeObject = {
    apiVersion: d.object.apiVersion,
    kind: d.object.kind,
    metadata: { name: d.id.name, ...(d.id.namespace ? { namespace: d.id.namespace } : {}) },
  };
  const missed = fields.filter((f) => !copyPath(git, patch as unknown as Record<string, unknown>, f.path));
  return { patch, missed };
}

/** Git's whole object, placed where kubectl apply would have put it. */
function wholeObject(d: DesiredObject): KubeObject {
  const o = normalizeDesired(d.object);
  return {
    ...o,
    metadata: { ...o.metadata, name: d.id.name, ...(d.id.namespace ? { namespace: d.id.namespace } : {}) },
  };
}

function stillDrifted(live: KubeObject | undefined, d: DesiredObject, path: FieldPath): boolean {
  if (!live) return true;
  const probe: KubeObject = { apiVersion: d.object.apiVersion, kind: d.object.kind, metadata: { name: d.id.name } };
  if (
    !copyPath(
      normalizeDesired(d.object) as unknown as Record<string, unknown>,
      probe as unknown as Record<string, unknown>,
      path,
    )
  )
    return false;
  const want = JSON.stringify(pick(probe, path));
  return want !== JSON.stringify(pick(live, path));
}

function pick(obj: unknown, path: FieldPath): unknown {
  let cur = obj;
  for (const seg of path) {
    if ('field' in seg) cur = (cur as Record<string, unknown> | undefined)?.[seg.field];
    else if (!Array.isArray(cur)) return undefined;
    else if ('key' in seg) cur = cur.find((x) => matchesKey(x, seg.key));
    else if ('index' in seg) return cur;
    else return cur.includes(seg.member);
  }
  return cur;
}

function eligible(a: Attribution, min: number): string | undefined {
  if (a.actor.class !== 'agent')
    return `changed by ${a.actor.class}${a.actor.name ? ` ${a.actor.name}` : ''}: Tether reverts only agent-caused drift`;
  if (RANK[a.confidence] < min) return `attribution to agent ${a.actor.name ?? '?'} is only ${a.confidence} confidence`;
  if (a.pendingSync) return 'Git changed this value; the GitOps tool will sync it';
  return undefined;
}

export async function revert(report: DriftReport, opts: RevertOptions): Promise<RevertResult> {
  const fieldManager = opts.fieldManager ?? 'tether-drift-revert';
  const min = RANK[opts.minConfidence ?? 'medium'];
  const now = opts.now ?? Date.now;
  const guard = opts.guard ?? memoryFlapGuard();
  const windowMs = opts.windowMs ?? 30 * 60_000;
  const maxReverts = opts.maxReverts ?? 2;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const desiredByKey = new Map(opts.desired.map((d) => [idKey(d.id), d]));
  const reverted: { object: string; paths: string[] }[] = [];
  const skipped: { object: string; path: string; why: string }[] = [];
  const flapping: { object: string; path: string; against: string }[] = [];

  for (const f of report.findings) {
    const object = describeId(f.id);
    const desired = desiredByKey.get(idKey(f.id));
    if (f.state === 'extra') {
      if (f.attribution?.actor.class === 'agent')
        skipped.push({
          object,
          path: '(object)',
          why: 'created by an agent outside Git: Tether does not delete; remove it or codify it by hand',
        });
      continue;
    }
    if (!desired) continue;
    let fields: AttributedDrift[] = [];
    if (f.state === 'missing') {
      const why = f.attribution ? eligible(f.attribution, min) : 'no attribution';
      if (why) {
        skipped.push({ object, path: '(object)', why });
        continue;
      }
    } else {
      for (const d of f.fields) {
        const why = eligible(d.attribution, min);
        const key = `${idKey(f.id)}#${d.pointer}`;
        if (why) skipped.push({ object, path: d.display, why });
        else if (guard.count(key, now() - windowMs) >= maxReverts) {
          flapping.push({
            object,
            path: d.display,
            against: `${d.attribution.manager ?? d.attribution.actor.name ?? 'another writer'} (reverted ${maxReverts} times within ${windowMs / 60_000} min; it keeps coming back)`,
          });
        } else fields.push(d);
      }
      if (fields.length === 0) continue;
    }

    const { patch, missed } =
      f.state === 'missing' ? { patch: wholeObject(desired), missed: [] } : patchFor(desired, fields);
    for (const m of missed) skipped.push({ object, path: m.display, why: 'Git no longer holds this path' });
    fields = fields.filter((x) => !missed.includes(x));
    if (f.state === 'drifted' && fields.length === 0) continue;
    if (!opts.dryRun) await opts.applier.apply(patch, fieldManager, true);
    for (const d of fields) guard.record(`${idKey(f.id)}#${d.pointer}`, now());
    reverted.push({ object, paths: f.state === 'missing' ? ['(object re-created)'] : fields.map((d) => d.display) });

    if (!opts.dryRun && opts.settleMs && f.state === 'drifted') {
      await sleep(opts.settleMs);
      const live = await opts.applier.get(apiVersionOf(f.id), f.id.kind, f.id.name, f.id.namespace);
      for (const d of fields) {
        if (!stillDrifted(live, desired, d.path)) continue;
        const owner = ownersOf(live?.metadata.managedFields, d.path, live).find((o) => o.entry.manager !== fieldManager)
          ?.entry.manager;
        const what = owner
          ? `${owner}${guessFromManager(owner).class === 'controller' ? ' (a controller)' : ''}`
          : 'another writer';
        flapping.push({ object, path: d.display, against: `${what} changed it back right after the revert` });
        for (let i = 0; i < maxReverts; i++) guard.record(`${idKey(f.id)}#${d.pointer}`, now());
      }
    }
  }
  return { reverted, skipped, flapping };
}
