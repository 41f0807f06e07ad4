// Every ledger leaf is built here: one constructor per kind, each ending in seal(). Writers (the
// governor, the store's jobs, the audit recorder, the MCP gateway, the drift detector) pass facts
// and get a leaf; none assembles one by hand. So "no value from a Secret's data or stringData
// reaches a leaf" is enforced in one function and tested once for every kind
// (test/ledger/leaves.test.ts), and a new kind is a new constructor here.
import { digestOf } from '../common/digest.ts';
import type { Action, ChainContext, Intent, Target, ToolCall } from '../engine/action.ts';
import type { AgentRef, BreakerScope, Decision, Outcome } from '../engine/decision.ts';
import { actionAndObjectDigests, actionDigest, stableObject } from '../engine/digest.ts';
import type { BreakerState } from '../engine/state.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { AuthorityClass } from '../policy/schema.ts';
import type { LedgerLeaf } from './leaf.ts';

/** Values that must not appear in a leaf: the strings a Secret in play carries. */
export type SecretValues = ReadonlySet<string>;
export const NO_SECRETS: SecretValues = new Set();

/** Shorter values would mangle ordinary text if scrubbed; a secret that short protects nothing. */
const MIN_SCRUBBED = 4;
const REDACTED = '[redacted]';

/** Targets whose objects carry credentials: Secrets, service account tokens, token reviews. */
export function carriesCredentials(t: Target): boolean {
  return (
    (t.group === '' && t.resource === 'secrets') ||
    t.subresource === 'token' ||
    (t.group === 'authentication.k8s.io' && t.resource === 'tokenreviews')
  );
}

/** Every value of a Secret's `data` (raw and base64-decoded) and `stringData`, for the objects that are Secrets (a ConfigMap's data is no secret). */
export function secretValuesOf(...objects: unknown[]): Set<string> {
  return payloadValues(objects.filter((o) => (o as { kind?: unknown } | null)?.kind === 'Secret'));
}

/** The `data` and `stringData` values of objects already known to carry credentials, whatever their kind says. */
function payloadValues(objects: readonly unknown[]): Set<string> {
  const out = new Set<string>();
  for (const o of objects) {
    const s = o as { data?: unknown; stringData?: unknown } | null;
    if (typeof s !== 'object' || s === null) continue;
    for (const [field, encoded] of [
      ['data', true],
      ['stringData', false],
    ] as const) {
      const values = s[field];
      if (typeof values !== 'object' || values === null) continue;
      for (const v of Object.values(values)) {
        if (typeof v !== 'string') continue;
        out.add(v);
        if (encoded) out.add(Buffer.from(v, 'base64').toString('utf8'));
      }
    }
  }
  return new Set([...out].filter((v) => v.length >= MIN_SCRUBBED));
}

function scrub(text: string, secrets: SecretValues): string {
  let out = text;
  for (const v of secrets) if (out.includes(v)) out = out.split(v).join(REDACTED);
  return out;
}

function scrubDeep(value: unknown, secrets: SecretValues): unknown {
  if (typeof value === 'string') return scrub(value, secrets);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, secrets));
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, secrets)]));
  return value;
}

/**
 * The last step of every constructor: drops undefined fields and replaces any Secret value in
 * the leaf's text (message, intent, tool, chain, detail: everything a value could be quoted
 * into) with "[redacted]". Names, kinds and times are structure, never values.
 */
export function seal(leaf: LedgerLeaf, secrets: SecretValues = NO_SECRETS): LedgerLeaf {
  const defined = Object.fromEntries(Object.entries(leaf).filter(([, v]) => v !== undefined)) as unknown as LedgerLeaf;
  if (secrets.size === 0) return defined;
  const { v, time, kind, index, ...rest } = defined;
  return {
    v,
    time,
    kind,
    ...(index === undefined ? {} : { index }),
    ...(scrubDeep(rest, secrets) as object),
  } as LedgerLeaf;
}

const at = (now: number) => new Date(now).toISOString();
/** The agent a leaf is about, as its indexed columns read it (absent fields drop out in seal). */
const whose = (a: Partial<Pick<AgentRef, 'name' | 'owner' | 'authorityClass'>> | undefined) => ({
  agent: a?.name,
  owner: a?.owner,
  authorityClass: a?.authorityClass,
});
const intentOf = (i: Intent | undefined) =>
  i && { summary: i.summary, trigger: i.trigger, goal: i.goal, targets: i.targets };

/** Only what names the object. A digest of a Secret's data could be brute-forced when the secret is weak. */
function identifiersOnly(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null) return null;
  const o = obj as {
    apiVersion?: unknown;
    kind?: unknown;
    metadata?: { name?: unknown; namespace?: unknown; uid?: unknown; generateName?: unknown };
  };
  const md = o.metadata ?? {};
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: md.name, namespace: md.namespace, uid: md.uid, generateName: md.generateName },
  };
}

/** A decision leaf's digests of the action and of its object (the new one, else the old one). */
function leafDigests(
  action: Action,
  decision: Decision,
  credentials: boolean,
): { actionDigest: string; objectDigest?: string } {
  const object = action.object ?? action.oldObject;
  if (credentials)
    return {
      actionDigest: actionDigest({ ...action, object: identifiersOnly(action.object), oldObject: undefined }),
      objectDigest: object === undefined ? undefined : digestOf(identifiersOnly(object)),
    };
  if (decision.actionDigest === undefined && typeof action.object === 'object' && action.object !== null) {
    const both = actionAndObjectDigests(action as Action & { object: object });
    return { actionDigest: both.action, objectDigest: both.object };
  }
  return {
    actionDigest: decision.actionDigest ?? actionDigest(action),
    objectDigest: object === undefined ? undefined : digestOf(stableObject(object)),
  };
}

/** kind 'decision' (or 'proposal' for an advisory agent's refused mutation): what was asked, what Tether said, why. */
export function decisionLeaf(action: Action, decision: Decision, now: number): LedgerLeaf {
  const credentials = carriesCredentials(action.target);
  const agent = 'agent' in decision ? decision.agent : undefined;
  const used = decision.effects.flatMap((e) => (e.kind === 'approval.consume' ? [e.approvalId] : []));
  const intent = action.intent;
  const leaf: LedgerLeaf = {
    v: 1,
    time: at(now),
    kind: decision.outcome === 'deny' && decision.proposal ? 'proposal' : 'decision',
    ...whose(agent),
    source: action.source,
    verb: action.verb,
    target: action.target,
    tool: action.tool,
    ...leafDigests(action, decision, credentials),
    intent: intentOf(intent),
    intentDigest: intent && digestOf(intent),
    chain: action.chain,
    decision: decision.outcome,
    rules: decision.reasons.map((r) => r.rule),
    message: decision.reasons.map((r) => r.message).join(' ') || undefined,
    policyVersion: decision.policyVersion,
    approvals: used.length > 0 ? used : undefined,
    auditId: action.requestId,
    detail: {
      subject: action.subject.username,
      governed: decision.governed,
      mode: agent?.mode,
      warnings: decision.warnings.length > 0 ? decision.warnings.map((w) => w.rule) : undefined,
      dryRun: action.dryRun || undefined,
      credentialsRedacted: credentials || undefined,
    },
  };
  return seal(leaf, credentials ? payloadValues([action.object, action.oldObject]) : NO_SECRETS);
}

/** kind 'approval': one person's verdict on an approval request. */
export function approvalVerdictLeaf(
  v: {
    readonly agent: string;
    readonly approvalId: string;
    readonly by: string;
    readonly verdict: 'approved' | 'denied';
    readonly reason: string;
    readonly status: string;
    readonly approvedBy: readonly string[];
    readonly minApprovals: number;
    readonly requestIndex: number;
  },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  const { agent, approvalId, by, reason, ...detail } = v;
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'approval',
      agent,
      actor: by,
      approvals: [approvalId],
      message: reason,
      detail: { approvalId, ...detail },
    },
    secrets,
  );
}

/** kind 'breaker': a breaker moved (tripped by a decision, reset by a person, closed after probation). */
export function breakerLeaf(
  m: {
    readonly scope: BreakerScope;
    readonly key: string;
    readonly from: BreakerState;
    readonly to: BreakerState;
    /** A person, or 'tether' when a decision moved it. */
    readonly by: string;
    readonly reason?: string;
    readonly rule?: string;
    /** The decision entry that moved it. */
    readonly cause?: { readonly index: number; readonly agent?: string; readonly owner?: string };
  },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'breaker',
      agent: m.scope === 'agent' ? m.key : m.cause?.agent,
      owner: m.cause?.owner,
      actor: m.by === 'tether' ? undefined : m.by,
      rules: m.rule ? [m.rule] : undefined,
      message: m.reason,
      detail: { scope: m.scope, key: m.key, from: m.from, to: m.to, cause: m.cause?.index },
    },
    secrets,
  );
}

/** kind 'breaker': the global kill switch engaged or released by a person. */
export function killSwitchLeaf(
  k: { readonly engaged: boolean; readonly by: string; readonly reason: string },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'breaker',
      actor: k.by,
      message: k.reason,
      detail: { killSwitch: k.engaged ? 'engaged' : 'released' },
    },
    secrets,
  );
}

/** kind 'boundary': a widening asked for, waiting for a human. */
export function expansionRequestLeaf(
  r: {
    readonly agent: string;
    readonly expansionId: string;
    readonly by: string;
    readonly summary?: string;
    readonly specDigest: string;
    readonly diffDigest: string;
  },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'boundary',
      agent: r.agent,
      actor: r.by,
      message: r.summary,
      detail: { expansionId: r.expansionId, status: 'pending', specDigest: r.specDigest, diffDigest: r.diffDigest },
    },
    secrets,
  );
}

/** kind 'boundary': a human's verdict on a widening. */
export function expansionVerdictLeaf(
  r: {
    readonly agent: string;
    readonly expansionId: string;
    readonly by: string;
    readonly verdict: 'approved' | 'denied';
    readonly reason: string;
    readonly specDigest: string;
    readonly diffDigest: string;
    readonly requestIndex: number;
  },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  const { agent, by, reason, ...detail } = r;
  return seal({ v: 1, time: at(now), kind: 'boundary', agent, actor: by, message: reason, detail }, secrets);
}

/** kind 'boundary': a spec enforced without review (a first registration, a narrowing, an inherited boundary). */
export function specEnforcedLeaf(
  e: { readonly agent: string; readonly by: string; readonly reason: string; readonly specDigest: string },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'boundary',
      agent: e.agent,
      actor: e.by,
      message: e.reason,
      detail: { enforced: e.specDigest },
    },
    secrets,
  );
}

/** kind 'intent': an agent's standing intent for writes that cannot carry the annotation. */
export function intentLeaf(
  i: { readonly agent: AgentRef; readonly username: string; readonly intent: Intent; readonly expiresAt: number },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'intent',
      ...whose(i.agent),
      intent: i.intent,
      intentDigest: digestOf(i.intent),
      detail: { username: i.username, expiresAt: at(i.expiresAt) },
    },
    secrets,
  );
}

/** kind 'audit': what the API server's audit log saw an agent do (and whether Tether decided it). */
export function auditLeaf(
  a: {
    readonly agent?: AgentRef;
    readonly username: string;
    readonly verb: string;
    readonly target: Target;
    readonly auditId: string;
    readonly code?: number;
    readonly decisionIndex?: number;
    readonly decidedByTether: boolean;
    readonly undecided: boolean;
  },
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'audit',
      ...whose(a.agent),
      source: 'audit',
      verb: a.verb,
      target: a.target,
      auditId: a.auditId,
      detail: {
        username: a.username,
        code: a.code ?? null,
        decisionIndex: a.decisionIndex ?? null,
        seenBy: a.decidedByTether ? 'tether-and-audit' : 'audit-only',
        undecided: a.undecided,
        registered: a.agent !== undefined,
      },
    },
    secrets,
  );
}

const MAX_ERROR_TEXT = 300;
const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** What a tool call's decisions said, known before it is forwarded (the gateway's CallRecord). */
export interface ToolCallFacts {
  readonly agent?: AgentRef;
  readonly tool: ToolCall;
  /** The name the agent called it by (namespaced when several servers offer the same name). */
  readonly exposedName: string;
  readonly intent?: Intent;
  readonly chain?: ChainContext;
  readonly outcome?: Outcome;
  readonly rules: readonly string[];
  readonly decisionIndexes: readonly number[];
  readonly approvals: readonly string[];
  readonly policyVersion?: string;
  readonly requestId: string;
}

/** What became of the call. */
export interface ToolCallOutcome {
  readonly status: string;
  readonly latencyMs: number;
  readonly upstreamMs?: number;
  readonly error?: string;
}

/** kind 'tool-result': what became of one MCP tools/call after its Actions were decided. Never tool output. */
export function toolResultLeaf(
  r: ToolCallFacts & ToolCallOutcome,
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  return seal(
    {
      v: 1,
      time: at(now),
      kind: 'tool-result',
      ...whose(r.agent),
      source: 'mcp',
      tool: r.tool,
      intent: intentOf(r.intent),
      intentDigest: r.intent && digestOf(r.intent),
      chain: r.chain,
      decision: r.outcome,
      rules: r.rules.length > 0 ? r.rules : undefined,
      policyVersion: r.policyVersion,
      approvals: r.approvals.length > 0 ? r.approvals : undefined,
      auditId: r.requestId,
      detail: {
        status: r.status,
        exposedName: r.exposedName,
        decisions: r.decisionIndexes,
        latencyMs: round(r.latencyMs),
        upstreamMs: r.upstreamMs === undefined ? undefined : round(r.upstreamMs),
        error: r.error === undefined ? undefined : r.error.slice(0, MAX_ERROR_TEXT),
      },
    },
    secrets,
  );
}

/** kind 'drift': one object that differs from Git, with who changed it. Field values enter only as digests. */
export function driftLeaf(
  d: {
    readonly time: string;
    readonly agent?: {
      readonly name?: string;
      readonly owner?: string;
      readonly authorityClass?: AuthorityClass;
      readonly intent?: LedgerLeaf['intent'];
      readonly approvals?: readonly string[];
    };
    readonly target: Target;
    readonly liveDigest?: string;
    readonly auditId?: string;
    readonly message: string;
    readonly detail: Readonly<Record<string, unknown>>;
  },
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  const a = d.agent;
  return seal(
    {
      v: 1,
      time: d.time,
      kind: 'drift',
      ...whose(a),
      source: 'drift-detector',
      target: d.target,
      objectDigest: d.liveDigest,
      intent: a?.intent,
      intentDigest: a?.intent ? digestOf(a.intent) : undefined,
      approvals: a?.approvals?.length ? a.approvals : undefined,
      auditId: d.auditId,
      message: d.message,
      detail: d.detail,
    },
    secrets,
  );
}

/** What happened to an agent's accountable owner. */
export type OwnerEvent =
  | { readonly event: 'owner-inactive'; readonly why: string }
  | { readonly event: 'owner-restored' }
  | { readonly event: 'attested'; readonly by: string; readonly until: number; readonly reason: string };

/** kind 'owner': a directory change that took an agent's owner away or gave it back, or an owner's attestation. */
export function ownerLeaf(
  policy: CompiledPolicy,
  agentName: string,
  e: OwnerEvent,
  now: number,
  secrets: SecretValues = NO_SECRETS,
): LedgerLeaf {
  const a = policy.agents.get(agentName);
  const owner = a?.spec.owner.id;
  const base = {
    v: 1 as const,
    time: at(now),
    kind: 'owner' as const,
    agent: agentName,
    owner,
    authorityClass: a?.authorityClass,
    policyVersion: policy.version,
  };
  switch (e.event) {
    case 'owner-inactive':
      return seal(
        {
          ...base,
          actor: 'scim',
          source: 'directory',
          message: `agent ${agentName} has no live owner: ${e.why}; it may not act until an administrator re-assigns spec.owner or the owner is reactivated`,
          detail: { event: e.event, why: e.why },
        },
        secrets,
      );
    case 'owner-restored':
      return seal(
        {
          ...base,
          actor: 'scim',
          source: 'directory',
          message: `agent ${agentName}: owner ${owner} is live again in the directory`,
          detail: { event: e.event },
        },
        secrets,
      );
    case 'attested':
      return seal({ ...base, actor: e.by, message: e.reason, detail: { event: e.event, until: at(e.until) } }, secrets);
  }
}
