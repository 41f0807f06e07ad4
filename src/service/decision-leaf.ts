// What the ledger keeps of a decision: enough to say who did what, why, and what Tether said,
// committed by digests where the content itself must stay out (objects, Secret payloads).
import { digestOf } from '../common/digest.ts';
import type { Action, Target } from '../engine/action.ts';
import type { Decision } from '../engine/decision.ts';
import { actionDigest, stableObject } from '../engine/digest.ts';
import type { LedgerLeaf } from '../ledger/leaf.ts';

/** Targets whose objects carry credentials: Secrets, service account tokens, token reviews. */
export function carriesCredentials(t: Target): boolean {
  return (t.group === '' && t.resource === 'secrets') || t.subresource === 'token' || (t.group === 'authentication.k8s.io' && t.resource === 'tokenreviews');
}

/** Only what names the object. A digest of a Secret's data could be brute-forced when the secret is weak. */
function identifiersOnly(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null) return null;
  const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown; uid?: unknown; generateName?: unknown } };
  const md = o.metadata ?? {};
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name: md.name, namespace: md.namespace, uid: md.uid, generateName: md.generateName } };
}

export function decisionLeaf(action: Action, decision: Decision, now: number): LedgerLeaf {
  const credentials = carriesCredentials(action.target);
  const object = action.object ?? action.oldObject;
  const agent = 'agent' in decision ? decision.agent : undefined;
  const used = decision.effects.flatMap((e) => (e.kind === 'approval.consume' ? [e.approvalId] : []));
  const intent = action.intent;
  return {
    v: 1,
    time: new Date(now).toISOString(),
    kind: decision.outcome === 'deny' && decision.proposal ? 'proposal' : 'decision',
    agent: agent?.name,
    owner: agent?.owner,
    authorityClass: agent?.authorityClass,
    source: action.source,
    verb: action.verb,
    target: action.target,
    tool: action.tool,
    actionDigest: credentials ? actionDigest({ ...action, object: identifiersOnly(action.object), oldObject: undefined }) : (decision.actionDigest ?? actionDigest(action)),
    objectDigest: object === undefined ? undefined : digestOf(credentials ? identifiersOnly(object) : stableObject(object)),
    intent: intent && { summary: intent.summary, trigger: intent.trigger, goal: intent.goal, targets: intent.targets },
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
}
