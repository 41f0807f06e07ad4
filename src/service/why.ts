// "Who is answerable for this change?" — every governed change to one object, from the ledger:
// the agent, its owner at that moment, class, intent, the approval and who gave it, the policy
// version, the audit event that lines up and any drift finding, each entry proven against the
// latest signed checkpoint. Reads only (it may sign a checkpoint so recent entries are covered).
import { resourceOfKind } from '../analysis/drift/object-id.ts';
import { isMutation, objectKey } from '../engine/action.ts';
import { resolveResourceArg, WELL_KNOWN_RESOURCES } from '../kube/well-known-resources.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { LedgerEntry, Store } from '../store/store.ts';
import { type CheckpointInfo, EvidenceProver, type ProvenEntry } from './evidence.ts';

/** The most entries about one object an answer reads; older ones are named as left out. */
const MAX_ENTRIES = 5000;

export interface ApprovalEvidence {
  readonly id: string;
  readonly request?: ProvenEntry;
  readonly verdicts: readonly ProvenEntry[];
}

export interface AnsweredChange {
  readonly change: ProvenEntry;
  readonly agent?: string;
  readonly owner?: string;
  readonly authorityClass?: string;
  readonly verb?: string;
  readonly intent?: unknown;
  readonly policyVersion?: string;
  readonly approvals: readonly ApprovalEvidence[];
  readonly audit: readonly ProvenEntry[];
  readonly drift: readonly ProvenEntry[];
}

export interface WhyAnswer {
  readonly object: string;
  readonly at?: string;
  readonly checkpoint?: CheckpointInfo;
  readonly changes: readonly AnsweredChange[];
  /** Refused, pending or proposed attempts on the object (what was asked and not done). */
  readonly attempts: readonly ProvenEntry[];
  /** Drift findings not following any governed change (someone else changed it). */
  readonly unattributedDrift: readonly ProvenEntry[];
  readonly truncated: boolean;
}

const isChange = (e: LedgerEntry) =>
  e.leaf.kind === 'decision' &&
  e.leaf.decision === 'allow' &&
  isMutation(e.leaf.verb ?? 'get') &&
  (e.leaf.detail as { dryRun?: boolean } | undefined)?.dryRun !== true;

async function approvalEvidence(store: Store, prover: EvidenceProver, id: string): Promise<ApprovalEvidence> {
  const a = await store.approval(id);
  if (!a) return { id, verdicts: [] };
  const indexes = [a.requestIndex, ...a.verdicts.map((v) => v.index)];
  const entries = await Promise.all(indexes.map(async (i) => (await store.entries(i, i + 1))[0]));
  const proven = entries.filter((e): e is LedgerEntry => e !== undefined).map((e) => prover.prove(e));
  return {
    id,
    request: proven.find((p) => p.index === a.requestIndex),
    verdicts: proven.filter((p) => p.index !== a.requestIndex),
  };
}

/** The audit entries that line up with a decision: the same API request (auditID), or pointing back at it. */
function auditFor(change: LedgerEntry, audits: readonly LedgerEntry[]): LedgerEntry[] {
  return audits.filter(
    (a) =>
      (change.leaf.auditId !== undefined && a.leaf.auditId === change.leaf.auditId) ||
      (a.leaf.detail as { decisionIndex?: number } | undefined)?.decisionIndex === change.index,
  );
}

export async function answerWhy(store: Store, ledger: Ledger, object: string, at?: number): Promise<WhyAnswer> {
  const entries = await store.queryLedger({
    object,
    ...(at !== undefined ? { until: at + 1 } : {}),
    limit: MAX_ENTRIES + 1,
  });
  const truncated = entries.length > MAX_ENTRIES;
  const used = entries.slice(0, MAX_ENTRIES);
  const base = { object, ...(at !== undefined ? { at: new Date(at).toISOString() } : {}), truncated };
  if (used.length === 0) return { ...base, changes: [], attempts: [], unattributedDrift: [] };
  const prover = await EvidenceProver.covering(ledger, used.at(-1)?.index ?? 0);
  const changes = used.filter(isChange);
  const audits = used.filter((e) => e.leaf.kind === 'audit');
  const drifts = used.filter((e) => e.leaf.kind === 'drift');
  const attributed = new Set<number>();
  const answered: AnsweredChange[] = [];
  for (const [i, c] of changes.entries()) {
    const next = changes[i + 1]?.index ?? Number.POSITIVE_INFINITY;
    const drift = drifts.filter(
      (d) => d.index > c.index && d.index < next && (d.leaf.agent === undefined || d.leaf.agent === c.leaf.agent),
    );
    for (const d of drift) attributed.add(d.index);
    answered.push({
      change: prover.prove(c),
      agent: c.leaf.agent,
      owner: c.leaf.owner,
      authorityClass: c.leaf.authorityClass,
      verb: c.leaf.verb,
      intent: c.leaf.intent,
      policyVersion: c.leaf.policyVersion,
      approvals: await Promise.all((c.leaf.approvals ?? []).map((id) => approvalEvidence(store, prover, id))),
      audit: auditFor(c, audits).map((a) => prover.prove(a)),
      drift: drift.map((d) => prover.prove(d)),
    });
  }
  const attempts = used.filter(
    (e) =>
      (e.leaf.kind === 'decision' || e.leaf.kind === 'proposal') && !isChange(e) && isMutation(e.leaf.verb ?? 'get'),
  );
  return {
    ...base,
    checkpoint: prover.info(),
    changes: answered,
    attempts: attempts.map((e) => prover.prove(e)),
    unattributedDrift: drifts.filter((d) => !attributed.has(d.index)).map((d) => prover.prove(d)),
  };
}

/**
 * `<kind>/<namespace>/<name>` (or `<kind>/<name>` for cluster-scoped objects) as the ledger keys
 * objects: `deployment/shop/web`, `Deployment/shop/web`, `deployments.apps/shop/web`,
 * `clusterrole/admin`. Kinds and kubectl short names resolve through the built-in table.
 */
export function objectKeyOf(ref: string): string | undefined {
  const parts = ref.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' && parts.length === 2)) return undefined;
  const [kind, namespace, name] = parts.length === 3 ? parts : [parts[0], '', parts[1]];
  if (!kind || !name) return undefined;
  const lowered = kind.toLowerCase();
  const direct = resolveResourceArg(lowered);
  const known = WELL_KNOWN_RESOURCES.some((r) => r.resource === direct.resource && r.group === direct.group);
  const r = known || lowered.includes('.') ? direct : resolveResourceArg(resourceOfKind(kind).toLowerCase());
  return objectKey({ group: r.group, version: '', resource: r.resource, namespace: namespace || undefined, name });
}
