// Compares desired and live state and attributes every difference. Reads only.
import { digestOf } from '../../common/digest.ts';
import { gitopsOwnership } from '../../kube/gitops.ts';
import {
  type AttributionSources,
  attributeCreation,
  attributeDeletion,
  attributeField,
  gatherEvidence,
} from './attribute.ts';
import { compareObjects } from './compare.ts';
import { autoscalerRules, fieldIgnoredBecause, type IgnoreRule, objectIgnoredBy } from './ignore.ts';
import type { DesiredState } from './desired.ts';
import type { LiveState, Unreadable } from './live.ts';
import type {
  AttributedDrift,
  DesiredObject,
  DriftReport,
  FieldDrift,
  IgnoredDrift,
  InputProblem,
  KubeObject,
  ObjectFinding,
  ObjectId,
} from './model.ts';
import { normalizeDesired, normalizeLive } from './normalize.ts';
import { apiVersionOf, describeId, idKey, idOf } from './object-id.ts';

export interface DetectOptions {
  /** Namespace of namespaced objects that name none (default 'default'). */
  readonly namespace?: string;
  readonly ignore?: readonly IgnoreRule[];
  /** Leave the replica count of autoscaled workloads to their HorizontalPodAutoscaler (default true). */
  readonly respectAutoscalers?: boolean;
  /**
   * Which GitOps-labelled objects absent from Git count as extra. Default: those owned by the
   * same GitOps applications as the objects Git declares (or any, when none carries a mark).
   */
  readonly extraOwners?: readonly string[] | 'any' | 'none';
  readonly attribution?: AttributionSources;
  readonly now?: Date;
  readonly revision?: { readonly ref: string; readonly commit: string };
  readonly repo?: string;
  readonly path?: string;
  /** List the objects that match Git in the report (for PolicyReport passes). */
  readonly listInSync?: boolean;
}

export interface DetectInput {
  readonly desired: readonly DesiredObject[];
  readonly live: readonly KubeObject[];
  readonly problems?: readonly InputProblem[];
  readonly unreadable?: readonly Unreadable[];
  readonly notes?: readonly string[];
}

/** What a comparison takes from the repository's rendered state and the cluster's live one. */
export function detectInput(desired: DesiredState, live: LiveState): DetectInput {
  return {
    desired: desired.objects,
    live: live.objects,
    problems: [...desired.problems, ...live.problems],
    unreadable: live.unreadable,
    notes: desired.notes,
  };
}

function redactSecret(d: FieldDrift): FieldDrift {
  const hide = (v: unknown) => (v === undefined ? undefined : `(secret value ${digestOf(v).slice(0, 19)}…)`);
  return { ...d, desired: hide(d.desired), live: hide(d.live) };
}

function unreadableFor(unreadable: readonly Unreadable[], id: ObjectId): Unreadable | undefined {
  return unreadable.find(
    (u) =>
      u.apiVersion === apiVersionOf(id) &&
      u.kind === id.kind &&
      (u.namespace === undefined || u.namespace === id.namespace),
  );
}

function extraScope(
  option: DetectOptions['extraOwners'],
  matchedLive: readonly KubeObject[],
): ((app: string) => boolean) | undefined {
  if (option === 'none') return undefined;
  if (option === 'any') return () => true;
  if (option) return (app) => option.includes(app);
  const ours = new Set(matchedLive.map((o) => gitopsOwnership(o)?.app).filter((a): a is string => a !== undefined));
  return ours.size > 0 ? (app) => ours.has(app) : () => true;
}

async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** The engine already prevents this drift at admission; say how to switch it on. */
function preventionNote(
  byAgents: readonly ObjectFinding[],
  pending: readonly { id: ObjectId; live?: KubeObject }[],
): string {
  const agents = new Set<string>();
  for (const f of byAgents)
    for (const a of [...f.fields.map((x) => x.attribution.actor), ...(f.attribution ? [f.attribution.actor] : [])])
      if (a.class === 'agent') agents.add(a.name ?? '?');
  const marked = byAgents.filter(
    (f) => gitopsOwnership(pending.find((p) => idKey(p.id) === idKey(f.id))?.live) !== undefined,
  ).length;
  const how =
    marked === byAgents.length
      ? 'add boundary.protected: [{ gitopsManaged: true }] to their Agent'
      : `add boundary.protected to their Agent: gitopsManaged: true covers objects carrying Argo CD or Flux marks (${marked} of these ${byAgents.length} do); match or labels cover the rest`;
  return `prevention: agents ${[...agents].join(', ')} changed objects Git declares, outside Git; ${how}, and such changes arrive as proposals at admission instead of as drift`;
}

export async function detectDrift(input: DetectInput, options: DetectOptions = {}): Promise<DriftReport> {
  const ns = options.namespace ?? 'default';
  const sources = options.attribution ?? {};
  const problems: InputProblem[] = [...(input.problems ?? [])];
  const notes: string[] = [...(input.notes ?? [])];
  const unreadable = input.unreadable ?? [];
  for (const u of unreadable)
    problems.push({
      where: `${u.kind} ${u.namespace ?? '(cluster)'}`,
      message: `cannot be read (${u.why}): these objects are not compared`,
      severity: 'error',
    });

  const liveByKey = new Map<string, KubeObject>();
  for (const o of input.live) liveByKey.set(idKey(idOf(o, ns)), o);
  const rules: IgnoreRule[] = [...(options.ignore ?? [])];
  if (options.respectAutoscalers !== false)
    rules.push(...autoscalerRules([...input.live, ...input.desired.map((d) => d.object)], ns));

  type Pending = {
    id: ObjectId;
    desired?: DesiredObject;
    live?: KubeObject;
    drifts: FieldDrift[];
    ignored: IgnoredDrift[];
    state: ObjectFinding['state'];
    gitopsOwner?: string;
  };
  const pending: Pending[] = [];
  const declared = new Set<string>();
  const matchedLive: KubeObject[] = [];
  let compared = 0;
  let inSync = 0;
  const inSyncObjects: ObjectId[] = [];
  let ignoredObjects = 0;

  for (const d of input.desired) {
    const key = idKey(d.id);
    declared.add(key);
    if (unreadableFor(unreadable, d.id)) continue;
    if (objectIgnoredBy(rules, d.id)) {
      ignoredObjects++;
      continue;
    }
    compared++;
    const live = liveByKey.get(key);
    if (!live) {
      pending.push({ id: d.id, desired: d, drifts: [], ignored: [], state: 'missing' });
      continue;
    }
    matchedLive.push(live);
    const ignored: IgnoredDrift[] = [];
    const drifts: FieldDrift[] = [];
    for (const drift of compareObjects(normalizeDesired(d.object), live)) {
      const why = fieldIgnoredBecause(rules, d.id, drift, live);
      if (why) ignored.push({ display: drift.display, why });
      else drifts.push(d.id.kind === 'Secret' ? redactSecret(drift) : drift);
    }
    if (drifts.length > 0) pending.push({ id: d.id, desired: d, live, drifts, ignored, state: 'drifted' });
    else {
      inSync++;
      if (options.listInSync) inSyncObjects.push(d.id);
      if (ignored.length > 0) ignoredObjects++;
    }
  }

  const inScope = extraScope(options.extraOwners, matchedLive);
  if (inScope) {
    for (const live of input.live) {
      const id = idOf(live, ns);
      if (declared.has(idKey(id))) continue;
      const owner = gitopsOwnership(live);
      if (!owner || !inScope(owner.app)) continue;
      const refs = live.metadata.ownerReferences as { controller?: boolean }[] | undefined;
      if (refs?.some((r) => r.controller)) continue;
      if (objectIgnoredBy(rules, id)) continue;
      pending.push({ id, live, drifts: [], ignored: [], state: 'extra', gitopsOwner: owner.marker });
    }
  }

  const incomplete = problems.some((p) => p.severity === 'error');
  const findings = await inBatches(pending, 32, async (p): Promise<ObjectFinding> => {
    const ctx = await gatherEvidence(p.id, p.live, sources);
    const base = {
      id: p.id,
      state: p.state,
      ignored: p.ignored,
      ...(p.live ? { liveDigest: digestOf(normalizeLive(p.live)) } : {}),
      ...(p.desired ? { source: p.desired.source } : {}),
      ...(p.gitopsOwner ? { gitopsOwner: p.gitopsOwner } : {}),
    };
    if (p.state === 'drifted') {
      const fields: AttributedDrift[] = p.drifts.map((d) => ({ ...d, attribution: attributeField(ctx, d) }));
      return { ...base, fields };
    }
    if (p.state === 'missing') return { ...base, fields: [], attribution: attributeDeletion(ctx) };
    return {
      ...base,
      fields: [],
      attribution: attributeCreation(ctx),
      ...(incomplete
        ? {
            note: 'the desired state is incomplete (see problems): this object may be declared in a file that could not be rendered',
          }
        : {}),
    };
  });

  if (input.live.length > 0 && !input.live.some((o) => o.metadata.managedFields?.length)) {
    notes.push(
      'no live object carries managedFields: attribution rests on the ledger and audit events only (dump with `kubectl get -o yaml --show-managed-fields`)',
    );
  }
  const byAgents = findings.filter(
    (f) => f.fields.some((x) => x.attribution.actor.class === 'agent') || f.attribution?.actor.class === 'agent',
  );
  if (byAgents.length > 0) notes.push(preventionNote(byAgents, pending));
  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    ...(options.revision ? { revision: options.revision } : {}),
    ...(options.repo ? { repo: options.repo } : {}),
    ...(options.path ? { path: options.path } : {}),
    compared,
    inSync,
    ...(options.listInSync ? { inSyncObjects } : {}),
    findings: findings.sort((a, b) => describeId(a.id).localeCompare(describeId(b.id))),
    problems,
    ignoredObjects,
    notes,
  };
}
