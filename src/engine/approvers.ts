// Who may lift a refusal: approve a pending action or boundary expansion, or reset a breaker.
// Pure policy; the server only asks.
import type { CompiledAgent, CompiledPolicy } from '../policy/compile.ts';
import { personDeactivated } from './rules/accountability.ts';

export interface Approvers {
  readonly people: readonly string[];
  readonly minApprovals: number;
}

export function approversFor(agent: CompiledAgent, policy: CompiledPolicy): Approvers {
  const people = new Set<string>([
    agent.spec.owner.id,
    ...(agent.spec.approvers ?? []),
    ...(policy.governance.spec.approvals?.administrators ?? []),
  ]);
  let minApprovals = 1;
  for (const r of policy.governance.spec.approvals?.rules ?? []) {
    const applies =
      (!r.agents || r.agents.includes(agent.name)) && (!r.classes || r.classes.includes(agent.authorityClass));
    if (!applies) continue;
    for (const p of r.approvers) people.add(p);
    minApprovals = Math.max(minApprovals, r.minApprovals ?? 1);
  }
  return { people: [...people], minApprovals };
}

/** True when `person` is, or speaks for, any registered agent: agents never approve or reset. */
export function isAgentIdentity(person: string, policy: CompiledPolicy): boolean {
  if (policy.agents.has(person)) return true;
  if (policy.bySpecificIdentity.has(`user:${person}`) || policy.bySpecificIdentity.has(`mcp:${person}`)) return true;
  return false;
}

export type Verdict = { readonly ok: true } | { readonly ok: false; readonly why: string };

export function mayApprove(person: string, agent: CompiledAgent, policy: CompiledPolicy): Verdict {
  if (isAgentIdentity(person, policy) || agent.usernames.has(person) || person === agent.name) {
    return {
      ok: false,
      why: `${person} is an agent identity: agents may never approve requests, their own or others'`,
    };
  }
  if (personDeactivated(person, policy))
    return { ok: false, why: `${person} is deactivated in the directory: people who left approve nothing` };
  const { people } = approversFor(agent, policy);
  if (!people.includes(person))
    return { ok: false, why: `${person} may not approve for ${agent.name}; approvers are ${people.join(', ')}` };
  return { ok: true };
}

export function mayResetBreaker(person: string, agent: CompiledAgent | undefined, policy: CompiledPolicy): Verdict {
  if (isAgentIdentity(person, policy) || (agent && (agent.usernames.has(person) || person === agent.name))) {
    return { ok: false, why: `${person} is an agent identity: agents may never reset breakers` };
  }
  if (personDeactivated(person, policy))
    return { ok: false, why: `${person} is deactivated in the directory: people who left reset nothing` };
  const admins = policy.governance.spec.approvals?.administrators ?? [];
  if (admins.includes(person)) return { ok: true };
  if (!agent)
    return {
      ok: false,
      why: `only administrators (${admins.join(', ') || 'none configured'}) may reset chain breakers or the kill switch`,
    };
  const allowed = new Set([agent.spec.owner.id, ...(agent.spec.breaker?.resetBy ?? [])]);
  if (!allowed.has(person))
    return {
      ok: false,
      why: `${person} may not reset ${agent.name}'s breaker; allowed: ${[...allowed, ...admins].join(', ')}`,
    };
  return { ok: true };
}

/** Boundary expansions are approved by the owner's approvers or administrators, never by the owner alone if rules say so. */
export function mayApproveExpansion(person: string, agent: CompiledAgent, policy: CompiledPolicy): Verdict {
  return mayApprove(person, agent, policy);
}
