// The one place ledger leaves about ownership are made (kind 'owner'): a directory change that
// took an agent's owner away or gave it back, and an owner's attestation.
import type { LedgerLeaf } from '../ledger/leaf.ts';
import type { CompiledPolicy } from '../policy/compile.ts';

export type OwnerEvent =
  | { readonly event: 'owner-inactive'; readonly why: string }
  | { readonly event: 'owner-restored' }
  | { readonly event: 'attested'; readonly by: string; readonly until: number; readonly reason: string };

export function ownerLeaf(policy: CompiledPolicy, agentName: string, e: OwnerEvent, now: number): LedgerLeaf {
  const a = policy.agents.get(agentName);
  const owner = a?.spec.owner.id;
  const base = {
    v: 1 as const,
    time: new Date(now).toISOString(),
    kind: 'owner' as const,
    agent: agentName,
    owner,
    authorityClass: a?.authorityClass,
    policyVersion: policy.version,
  };
  switch (e.event) {
    case 'owner-inactive':
      return {
        ...base,
        actor: 'scim',
        source: 'directory',
        message: `agent ${agentName} has no live owner: ${e.why}; it may not act until an administrator re-assigns spec.owner or the owner is reactivated`,
        detail: { event: e.event, why: e.why },
      };
    case 'owner-restored':
      return { ...base, actor: 'scim', source: 'directory', message: `agent ${agentName}: owner ${owner} is live again in the directory`, detail: { event: e.event } };
    case 'attested':
      return { ...base, actor: e.by, message: e.reason, detail: { event: e.event, until: new Date(e.until).toISOString() } };
  }
}
