// What the audit sink records: agent actions the API server reports, lined up with Tether's
// own decisions by ledger index; agent changes that reached the cluster with no decision are
// flagged; field changes by anyone (an HPA, another agent) feed oscillation detection.
import type { AuditFact } from '../adapters/audit/events.ts';
import { isMutation, objectKey } from '../engine/action.ts';
import { resolveAgent } from '../engine/rules/accountability.ts';
import { fieldValue } from '../engine/rules/breaker.ts';
import { auditLeaf, secretValuesOf } from '../ledger/leaves.ts';
import type { CompiledPolicy } from '../policy/compile.ts';
import type { Store } from '../store/store.ts';

export interface AuditSummary {
  readonly recorded: number;
  readonly undecided: readonly { auditId: string; agent: string; verb: string; target: string }[];
  readonly fieldChanges: number;
}

/** Fields some agent's oscillation breaker watches: only those are worth keeping history for. */
function watchedFields(policy: CompiledPolicy): string[] {
  const out = new Set<string>();
  for (const a of policy.agents.values()) for (const f of a.spec.breaker?.oscillation?.fields ?? []) out.add(f);
  return [...out];
}

export async function recordAuditFacts(
  facts: readonly AuditFact[],
  policy: CompiledPolicy,
  store: Store,
  now: number,
): Promise<AuditSummary> {
  const fields = watchedFields(policy);
  const undecided: { auditId: string; agent: string; verb: string; target: string }[] = [];
  let recorded = 0;
  let fieldChanges = 0;
  for (const f of facts) {
    if (f.stage !== 'ResponseComplete' && f.stage !== 'Panic') continue;
    const ok = f.code === undefined || f.code < 400;
    const mutation = isMutation(f.action.verb);
    if (ok && mutation && fields.length && f.responseObject !== undefined) {
      // The scale subresource reports the parent object's replicas: key it like the engine does.
      for (const field of fields) {
        const value = fieldValue(f.responseObject, field);
        if (value === undefined) continue;
        await store.recordFieldChange({
          objectKey: objectKey(f.action.target),
          field,
          value,
          actor: f.action.subject.username,
          at: f.time ? Date.parse(f.time) : now,
        });
        fieldChanges++;
      }
    }
    const who = resolveAgent(f.action.subject, policy);
    if (who.kind !== 'agent' && who.kind !== 'unregistered') continue;
    const agent = who.kind === 'agent' ? who.agent : undefined;
    const reachedWithoutDecision = ok && mutation && !f.decidedByTether;
    const leaf = auditLeaf(
      {
        agent: agent && {
          name: agent.name,
          owner: agent.spec.owner.id,
          authorityClass: agent.authorityClass,
          mode: agent.mode,
        },
        username: f.action.subject.username,
        verb: f.action.verb,
        target: f.action.target,
        auditId: f.auditId,
        code: f.code,
        decisionIndex: f.ledgerIndex,
        decidedByTether: f.decidedByTether,
        undecided: reachedWithoutDecision,
      },
      now,
      secretValuesOf(f.responseObject),
    );
    await store.append(leaf);
    recorded++;
    if (reachedWithoutDecision)
      undecided.push({
        auditId: f.auditId,
        agent: agent?.name ?? f.action.subject.username,
        verb: f.action.verb,
        target: objectKey(f.action.target),
      });
  }
  return { recorded, undecided, fieldChanges };
}
