// Findings as ledger leaves of kind 'drift' (built by driftLeaf, src/ledger/leaves.ts). The caller
// appends them. Values never enter the ledger: each side of a drifted field is recorded as a digest.
import { digestOf } from '../../common/digest.ts';
import type { LedgerLeaf } from '../../ledger/leaf.ts';
import { driftLeaf } from '../../ledger/leaves.ts';
import type { Attribution, DriftReport, ObjectFinding } from './model.ts';
import { resourceOfKind } from './object-id.ts';

function valueDigest(v: unknown): string | null {
  return v === undefined ? null : digestOf(v);
}

function who(a: Attribution): Record<string, unknown> {
  return {
    class: a.actor.class,
    ...(a.actor.name ? { name: a.actor.name } : {}),
    ...(a.actor.username ? { username: a.actor.username } : {}),
    ...(a.actor.owner ? { owner: a.actor.owner } : {}),
    ...(a.manager ? { manager: a.manager } : {}),
    ...(a.time ? { time: a.time } : {}),
    ...(a.auditId ? { auditId: a.auditId } : {}),
    ...(a.pendingSync ? { pendingSync: true } : {}),
    confidence: a.confidence,
    evidence: [...new Set(a.evidence.map((e) => e.source))],
  };
}

function attributionsOf(f: ObjectFinding): Attribution[] {
  return f.state === 'drifted' ? f.fields.map((d) => d.attribution) : f.attribution ? [f.attribution] : [];
}

export function driftLeaves(report: DriftReport): LedgerLeaf[] {
  return report.findings.map((f): LedgerLeaf => {
    const attributions = attributionsOf(f);
    const agentCause = attributions.find((a) => a.actor.class === 'agent');
    const actor = agentCause?.actor;
    const auditId = attributions.find((a) => a.auditId)?.auditId;
    const paths = f.fields.map((d) => d.display);
    const what =
      f.state === 'drifted'
        ? `differs from Git at ${paths.join(', ')}`
        : f.state === 'missing'
          ? 'is declared in Git but missing from the cluster'
          : 'carries GitOps ownership but is absent from Git';
    return driftLeaf({
      time: report.generatedAt,
      agent: actor && {
        name: actor.name,
        owner: actor.owner,
        authorityClass: actor.authorityClass,
        intent: actor.intent,
        approvals: actor.approvals,
      },
      target: {
        group: f.id.group,
        version: f.id.version,
        resource: resourceOfKind(f.id.kind),
        ...(f.id.namespace ? { namespace: f.id.namespace } : {}),
        name: f.id.name,
      },
      liveDigest: f.liveDigest || undefined,
      auditId,
      message: `${f.id.kind} ${f.id.namespace ? `${f.id.namespace}/` : ''}${f.id.name} ${what}${actor ? ` (agent ${actor.name ?? '?'})` : ''}`,
      detail: {
        state: f.state,
        ...(report.revision ? { revision: report.revision.commit } : {}),
        ...(f.source ? { source: f.source.file } : {}),
        ...(f.gitopsOwner ? { gitopsOwner: f.gitopsOwner } : {}),
        ...(f.state === 'drifted'
          ? {
              fields: f.fields.map((d) => ({
                path: d.display,
                pointer: d.pointer,
                change: d.kind,
                desiredDigest: valueDigest(d.desired),
                liveDigest: valueDigest(d.live),
                actor: who(d.attribution),
              })),
            }
          : f.attribution
            ? { actor: who(f.attribution) }
            : {}),
      },
    });
  });
}
