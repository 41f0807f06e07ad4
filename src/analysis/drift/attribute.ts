// Who changed a drifted field, from three kinds of evidence, strongest first:
//  1. audit events (authenticated username, exact time, audit ID),
//  2. Tether's ledger (agent, owner, class, intent, approvals, recorded at admission),
//  3. managedFields (field manager and time; the manager name is chosen by the client).
// Each attribution says how sure it is and lists the evidence it used.
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import {
  type AgentDirectory,
  type AgentIdentity,
  classifyUsername,
  GITOPS_APPLIERS,
  guessFromManager,
  managerFromUserAgent,
} from './actors.ts';
import type { AuditEvent, AuditEvidence, EvidenceTarget, LedgerEvidence } from './evidence.ts';
import { describeEntry, managersUnder, ownersOf } from './managed-fields.ts';
import type { Actor, Attribution, Evidence, FieldDrift, KubeObject, ManagedFieldsEntry, ObjectId } from './model.ts';
import { resourceOfKind } from './object-id.ts';

export interface AttributionSources {
  readonly ledger?: LedgerEvidence;
  readonly audit?: AuditEvidence;
  readonly agents?: AgentDirectory;
  /** Field managers that apply Git (the GitOps tool or pipeline); their writes mean "pending sync". */
  readonly appliers?: readonly string[];
  /** How long before a write its ledger decision may have been recorded (default 5 s). */
  readonly windowMs?: number;
}

/** Everything known about one object, fetched once and shared by its drifted paths. */
export interface ObjectEvidence {
  readonly id: ObjectId;
  readonly live?: KubeObject;
  readonly leaves: readonly LedgerLeaf[];
  readonly events: readonly AuditEvent[];
  readonly ledgerConsulted: boolean;
  readonly auditConsulted: boolean;
  readonly sources: AttributionSources;
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

export function evidenceTarget(id: ObjectId): EvidenceTarget {
  return {
    group: id.group,
    resource: resourceOfKind(id.kind),
    ...(id.namespace ? { namespace: id.namespace } : {}),
    name: id.name,
  };
}

/** Leaves recording a mutation an agent was allowed to make (or made, as the audit sink saw it). */
function agentWrites(leaves: readonly LedgerLeaf[]): LedgerLeaf[] {
  return leaves.filter(
    (l) =>
      (l.kind === 'decision' || l.kind === 'audit') &&
      l.agent !== undefined &&
      l.verb !== undefined &&
      !READ_VERBS.has(l.verb) &&
      (l.decision === undefined || l.decision === 'allow'),
  );
}

export async function gatherEvidence(
  id: ObjectId,
  live: KubeObject | undefined,
  sources: AttributionSources,
): Promise<ObjectEvidence> {
  const target = evidenceTarget(id);
  const [leaves, events] = await Promise.all([
    sources.ledger?.decisionsFor(target) ?? [],
    sources.audit?.eventsFor(target) ?? [],
  ]);
  return {
    id,
    ...(live ? { live } : {}),
    leaves: agentWrites(leaves),
    events,
    ledgerConsulted: sources.ledger !== undefined,
    auditConsulted: sources.audit !== undefined,
    sources,
  };
}

/** A write to the object, as one kind of evidence describes it. */
interface Write {
  readonly manager?: string;
  readonly operation?: string;
  readonly subresource?: string;
  readonly time?: string;
  readonly verbs: ReadonlySet<string>;
}

const FIELD_WRITE_VERBS = new Set(['create', 'update', 'patch', 'apply']);

function ms(t: string | undefined): number | undefined {
  if (!t) return undefined;
  const v = Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
}

function fieldManagerOfRequest(e: AuditEvent): string | undefined {
  try {
    return (
      new URL(e.requestURI, 'https://apiserver').searchParams.get('fieldManager') ?? managerFromUserAgent(e.userAgent)
    );
  } catch {
    return managerFromUserAgent(e.userAgent);
  }
}

// managedFields times are truncated to the second and written while the request is served.
function auditMatchesTime(e: AuditEvent, t: number, slackMs: number): boolean {
  const start = ms(e.requestReceivedTimestamp) ?? ms(e.stageTimestamp);
  const end = ms(e.stageTimestamp) ?? start;
  if (start === undefined || end === undefined) return false;
  return t >= Math.floor(start / 1000) * 1000 - slackMs && t <= end + slackMs;
}

function matchAudit(ctx: ObjectEvidence, w: Write): AuditEvent | undefined {
  const t = ms(w.time);
  const candidates = ctx.events.filter((e) => {
    if (!w.verbs.has(e.verb)) return false;
    if ((e.objectRef?.subresource ?? '') !== (w.subresource ?? '')) return false;
    if (w.manager !== undefined && fieldManagerOfRequest(e) !== w.manager) return false;
    return t === undefined || auditMatchesTime(e, t, 1000);
  });
  return candidates.sort((a, b) => (ms(b.stageTimestamp) ?? 0) - (ms(a.stageTimestamp) ?? 0))[0];
}

type LeafMatch = { readonly leaf: LedgerLeaf; readonly how: 'auditId' | 'time' | 'latest' };

const HOW: Record<LeafMatch['how'], string> = {
  auditId: 'matched by audit ID',
  time: 'matched by time',
  latest: 'the latest such decision: no write time to compare it with',
};

function byAuditId(ctx: ObjectEvidence, event: AuditEvent): LeafMatch | undefined {
  const leaf = ctx.leaves.find((l) => l.auditId !== undefined && l.auditId === event.auditID);
  return leaf ? { leaf, how: 'auditId' } : undefined;
}

/** The agent decision behind a write: recorded at admission, just before the write lands. */
function byTime(ctx: ObjectEvidence, w: Write, at: string | undefined, agent?: string): LeafMatch | undefined {
  const before = ctx.sources.windowMs ?? 5_000;
  const candidates = ctx.leaves
    .filter(
      (l) => l.verb !== undefined && w.verbs.has(l.verb) && (l.target?.subresource ?? '') === (w.subresource ?? ''),
    )
    .filter((l) => agent === undefined || l.agent === agent)
    .sort((a, b) => (ms(b.time) ?? 0) - (ms(a.time) ?? 0));
  const t = ms(at);
  if (t === undefined) {
    const latest = candidates[0];
    return latest ? { leaf: latest, how: 'latest' } : undefined;
  }
  // managedFields times are truncated to the second: the write happened in [t, t + 1s).
  const leaf = candidates.find((l) => {
    const lt = ms(l.time);
    return lt !== undefined && lt >= t - before && lt < t + 1_500;
  });
  return leaf ? { leaf, how: 'time' } : undefined;
}

function agentActor(leaf: LedgerLeaf, username?: string): Actor {
  return {
    class: 'agent',
    ...(leaf.agent ? { name: leaf.agent } : {}),
    ...(username ? { username } : {}),
    ...(leaf.owner ? { owner: leaf.owner } : {}),
    ...(leaf.authorityClass ? { authorityClass: leaf.authorityClass } : {}),
    ...(leaf.intent
      ? {
          intent: {
            summary: leaf.intent.summary,
            ...(leaf.intent.trigger ? { trigger: leaf.intent.trigger } : {}),
            ...(leaf.intent.goal ? { goal: leaf.intent.goal } : {}),
          },
        }
      : {}),
    ...(leaf.approvals?.length ? { approvals: leaf.approvals } : {}),
  };
}

function describeLeaf(leaf: LedgerLeaf): string {
  const t = leaf.target;
  const on = t
    ? `${t.resource}${t.subresource ? `/${t.subresource}` : ''} ${t.namespace ?? ''}/${t.name ?? ''}`
    : 'the object';
  const intent = leaf.intent ? `, intent "${leaf.intent.summary}"` : '';
  const approvals = leaf.approvals?.length ? `, approvals ${leaf.approvals.join(', ')}` : '';
  return `ledger: ${leaf.decision ?? 'recorded'} ${leaf.verb ?? ''} on ${on} by agent ${leaf.agent} (owner ${leaf.owner ?? '?'}, class ${leaf.authorityClass ?? '?'}) at ${leaf.time}${intent}${approvals}`;
}

function describeEvent(e: AuditEvent): string {
  const sub = e.objectRef?.subresource ? `/${e.objectRef.subresource}` : '';
  return `audit ${e.auditID}: ${e.user.username ?? '?'} ${e.verb} ${e.objectRef?.resource ?? ''}${sub} at ${e.stageTimestamp ?? e.requestReceivedTimestamp ?? '?'} (user agent ${e.userAgent ?? '?'})`;
}

function writeFacts(w: Write): Pick<Attribution, 'manager' | 'operation' | 'subresource' | 'time'> {
  return {
    ...(w.manager ? { manager: w.manager } : {}),
    ...(w.operation ? { operation: w.operation } : {}),
    ...(w.subresource ? { subresource: w.subresource } : {}),
    ...(w.time ? { time: w.time } : {}),
  };
}

function agentFromDirectory(agent: AgentIdentity, username?: string): Actor {
  return {
    class: 'agent',
    name: agent.name,
    ...(username ? { username } : {}),
    ...(agent.owner ? { owner: agent.owner } : {}),
    ...(agent.authorityClass ? { authorityClass: agent.authorityClass } : {}),
  };
}

/** Attributes one write, described by managedFields and/or the verbs it may have used. */
function attributeWrite(ctx: ObjectEvidence, w: Write, evidence: Evidence[]): Attribution {
  const facts = writeFacts(w);
  const done = (
    a: Omit<Attribution, 'evidence' | 'time'>,
    extra: { time?: string | undefined; auditId?: string } = {},
  ): Attribution => {
    const time = w.time ?? extra.time;
    return { ...a, ...(time ? { time } : {}), ...(extra.auditId ? { auditId: extra.auditId } : {}), evidence };
  };
  const noteLeaf = (m: LeafMatch) =>
    evidence.push({ source: 'ledger', detail: `${describeLeaf(m.leaf)} (${HOW[m.how]})` });

  const event = matchAudit(ctx, w);
  if (event) {
    evidence.push({ source: 'audit', detail: describeEvent(event) });
    const username = event.user.username ?? '';
    const at = { time: event.stageTimestamp, auditId: event.auditID };
    const linked = byAuditId(ctx, event);
    if (linked) {
      noteLeaf(linked);
      return done({ actor: agentActor(linked.leaf, username), confidence: 'high', ...facts }, at);
    }
    const agent = ctx.sources.agents?.agentForUser(username, event.user.groups ?? []);
    if (agent) {
      evidence.push({ source: 'audit', detail: `${username} is an identity of agent ${agent.name}` });
      const decided = byTime(ctx, w, event.stageTimestamp, agent.name);
      if (decided) noteLeaf(decided);
      return done(
        {
          actor: decided ? agentActor(decided.leaf, username) : agentFromDirectory(agent, username),
          confidence: 'high',
          ...facts,
        },
        at,
      );
    }
    const c = classifyUsername(username);
    evidence.push({ source: 'audit', detail: c.why });
    const pendingSync = w.manager !== undefined && isApplier(ctx, w.manager);
    return done(
      {
        actor: { class: c.class, name: username, username },
        confidence: 'high',
        ...facts,
        ...(pendingSync ? { pendingSync } : {}),
      },
      at,
    );
  }

  const decided = byTime(ctx, w, w.time);
  if (decided) {
    noteLeaf(decided);
    return done(
      { actor: agentActor(decided.leaf), confidence: decided.how === 'time' ? 'high' : 'medium', ...facts },
      { time: decided.leaf.time },
    );
  }
  if (!w.manager) {
    evidence.push({
      source: 'heuristic',
      detail: 'no field manager, ledger decision or audit event names who made this change',
    });
    return done({ actor: { class: 'unknown' }, confidence: 'low', ...facts });
  }
  const declared = ctx.sources.agents?.agentForManager?.(w.manager);
  if (declared) {
    evidence.push({
      source: 'heuristic',
      detail: `field manager ${w.manager} is the declared manager of agent ${declared.name}`,
    });
    return done({ actor: agentFromDirectory(declared), confidence: 'medium', ...facts });
  }
  if (isApplier(ctx, w.manager)) {
    evidence.push({
      source: 'heuristic',
      detail: `${w.manager} applies Git: Git changed after the last sync, the cluster waits for the next one`,
    });
    return done({ actor: { class: 'controller', name: w.manager }, confidence: 'medium', pendingSync: true, ...facts });
  }
  const guess = guessFromManager(w.manager);
  evidence.push({ source: 'heuristic', detail: guess.why });
  if (guess.clientTool) {
    // Tether records every agent mutation at admission: a client-tool write with no agent
    // decision around it was most likely typed by a person.
    const provable = ctx.ledgerConsulted && w.time !== undefined;
    evidence.push({
      source: 'heuristic',
      detail: provable
        ? `the ledger holds no agent decision on this object around ${w.time}`
        : ctx.ledgerConsulted
          ? 'the ledger holds no agent decision on this object that could match (no time to compare)'
          : 'no ledger consulted to rule out an agent',
    });
    return done({ actor: { class: 'human' }, confidence: provable ? 'medium' : 'low', ...facts });
  }
  return done({
    actor: { class: guess.class, ...(guess.class === 'controller' ? { name: w.manager } : {}) },
    confidence: guess.class === 'unknown' ? 'low' : 'medium',
    ...facts,
  });
}

function isApplier(ctx: ObjectEvidence, manager: string): boolean {
  return (ctx.sources.appliers ?? GITOPS_APPLIERS).includes(manager);
}

function newest(entries: readonly ManagedFieldsEntry[]): ManagedFieldsEntry | undefined {
  return [...entries].sort((a, b) => (ms(b.time) ?? -1) - (ms(a.time) ?? -1))[0];
}

function entryWrite(e: ManagedFieldsEntry, verbs: ReadonlySet<string>): Write {
  return {
    ...(e.manager ? { manager: e.manager } : {}),
    ...(e.operation ? { operation: e.operation } : {}),
    ...(e.subresource ? { subresource: e.subresource } : {}),
    ...(e.time ? { time: e.time } : {}),
    verbs,
  };
}

/** Who set (or removed) one drifted field. */
export function attributeField(ctx: ObjectEvidence, drift: FieldDrift): Attribution {
  const evidence: Evidence[] = [];
  const entries = ctx.live?.metadata.managedFields;
  if (!entries?.length) {
    evidence.push({
      source: 'managedFields',
      detail: 'the live object carries no managedFields (a dump taken without --show-managed-fields?)',
    });
    return attributeWrite(ctx, { verbs: FIELD_WRITE_VERBS }, evidence);
  }
  if (drift.kind === 'missing') {
    // A removed field leaves no owner behind; whoever still writes the surrounding object is a lead.
    const parent = drift.path.slice(0, -1);
    const near = newest(managersUnder(entries, parent, ctx.live).filter((e) => !isApplier(ctx, e.manager ?? '')));
    evidence.push({
      source: 'managedFields',
      detail: `no manager owns ${drift.display} any more: it was removed${near ? `; latest other writer nearby: ${describeEntry(near)}` : ''}`,
    });
    // Without the request bodies, the latest write to the object is only a lead: never better than low.
    const latest = attributeWrite(ctx, { verbs: FIELD_WRITE_VERBS }, evidence);
    if (latest.actor.class !== 'unknown' || !near) return { ...latest, confidence: 'low' };
    return { ...attributeWrite(ctx, entryWrite(near, FIELD_WRITE_VERBS), evidence), confidence: 'low' };
  }
  const owners = ownersOf(entries, drift.path, ctx.live);
  const changers = owners.filter((o) => !isApplier(ctx, o.entry.manager ?? ''));
  const chosen = newest((changers.length ? changers : owners).map((o) => o.entry));
  if (!chosen) {
    evidence.push({ source: 'managedFields', detail: `no manager owns ${drift.display}` });
    return attributeWrite(ctx, { verbs: FIELD_WRITE_VERBS }, evidence);
  }
  const exact = owners.find((o) => o.entry === chosen)?.exact ?? true;
  const others = owners.filter((o) => o.entry !== chosen).map((o) => describeEntry(o.entry));
  evidence.push({
    source: 'managedFields',
    detail: `${describeEntry(chosen)} owns ${exact ? drift.display : `an atomic ancestor of ${drift.display}`}${others.length ? `; also owned by ${others.join(', ')}` : ''}`,
  });
  return attributeWrite(ctx, entryWrite(chosen, FIELD_WRITE_VERBS), evidence);
}

/** Who created an object Git does not know (state 'extra'). */
export function attributeCreation(ctx: ObjectEvidence): Attribution {
  const evidence: Evidence[] = [];
  const entries = ctx.live?.metadata.managedFields ?? [];
  const created = ctx.live?.metadata.creationTimestamp as string | undefined;
  const creator =
    entries.find((e) => e.time === created && !e.subresource) ??
    [...entries].filter((e) => !e.subresource).sort((a, b) => (ms(a.time) ?? 0) - (ms(b.time) ?? 0))[0];
  if (creator) {
    evidence.push({
      source: 'managedFields',
      detail: `${describeEntry(creator)} wrote the object first (created ${created ?? '?'})`,
    });
    return attributeWrite(ctx, entryWrite(creator, new Set(['create', 'update', 'patch'])), evidence);
  }
  return attributeWrite(ctx, { verbs: new Set(['create']) }, evidence);
}

/** Who deleted an object Git declares (state 'missing'): only the ledger and audit events can say. */
export function attributeDeletion(ctx: ObjectEvidence): Attribution {
  const evidence: Evidence[] = [
    {
      source: 'heuristic',
      detail:
        'the object is gone, and managedFields with it: only the ledger and audit events can tell who deleted it, or whether it was never applied',
    },
  ];
  return attributeWrite(ctx, { verbs: new Set(['delete']) }, evidence);
}
