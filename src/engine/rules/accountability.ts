import type { CompiledAgent, CompiledPolicy } from '../../policy/compile.ts';
import { parseServiceAccountUsername } from '../../kube/rbac-match.ts';
import type { Subject } from '../action.ts';
import { RULES, type Reason } from '../decision.ts';

export type Resolution =
  | { readonly kind: 'agent'; readonly agent: CompiledAgent }
  | { readonly kind: 'ambiguous'; readonly agents: readonly CompiledAgent[] }
  | { readonly kind: 'unregistered'; readonly why: string }
  | { readonly kind: 'not-an-agent' };

function union(into: CompiledAgent[], from: readonly CompiledAgent[] | undefined): void {
  if (!from) return;
  for (const a of from) if (!into.includes(a)) into.push(a);
}

/** Which Agent is acting. Specific identities (user, service account, OIDC, MCP client) win over group claims. */
export function resolveAgent(subject: Subject, policy: CompiledPolicy): Resolution {
  const specific: CompiledAgent[] = [];
  union(specific, policy.bySpecificIdentity.get(`user:${subject.username}`));
  if (subject.oidc) union(specific, policy.bySpecificIdentity.get(`oidc:${subject.oidc.issuer}\n${subject.oidc.subject}`));
  if (subject.mcpClientId !== undefined) union(specific, policy.bySpecificIdentity.get(`mcp:${subject.mcpClientId}`));
  if (specific.length === 1) return { kind: 'agent', agent: specific[0] as CompiledAgent };
  if (specific.length > 1) return { kind: 'ambiguous', agents: specific };
  const byGroup: CompiledAgent[] = [];
  for (const g of subject.groups) union(byGroup, policy.byGroup.get(g));
  if (byGroup.length === 1) return { kind: 'agent', agent: byGroup[0] as CompiledAgent };
  if (byGroup.length > 1) return { kind: 'ambiguous', agents: byGroup };
  const why = selectorMatch(subject, policy);
  return why ? { kind: 'unregistered', why } : { kind: 'not-an-agent' };
}

/** Says why the governance policy counts this subject as an agent, or undefined when it does not. */
export function selectorMatch(subject: Subject, policy: CompiledPolicy): string | undefined {
  const sel = policy.governance.spec.agentSelectors;
  if (subject.mcpClientId !== undefined && sel?.mcpClients !== false) return 'it calls tools as an MCP client';
  if (!sel) return undefined;
  if (sel.usernames?.includes(subject.username)) return `username ${subject.username} is listed as an agent`;
  const prefix = sel.usernamePrefixes?.find((p) => subject.username.startsWith(p));
  if (prefix !== undefined) return `username starts with ${prefix}`;
  const group = sel.groups?.find((g) => subject.groups.includes(g));
  if (group !== undefined) return `it is in group ${group}`;
  const sa = parseServiceAccountUsername(subject.username);
  if (sa && sel.serviceAccountNamespaces?.includes(sa.namespace)) return `it is a service account in namespace ${sa.namespace}`;
  return undefined;
}

/** "No owner, no access": an owner who left, is listed inactive or whose attestation lapsed disables the agent. */
export function ownerProblem(agent: CompiledAgent, policy: CompiledPolicy, now: number): Reason | undefined {
  const owner = agent.spec.owner;
  const how = `Name a live owner in spec.owner of Agent ${agent.name}.`;
  if (owner.active === false || policy.governance.spec.inactiveOwners?.includes(owner.id)) {
    return { rule: RULES.ownerInactive, message: `agent ${agent.name} has no live owner: ${owner.id} is inactive. ${how}` };
  }
  if (owner.attestedUntil !== undefined && Date.parse(owner.attestedUntil) <= now) {
    return {
      rule: RULES.ownerAttestationExpired,
      message: `agent ${agent.name}: ownership by ${owner.id} was attested until ${owner.attestedUntil} and has lapsed. ${owner.id} must re-attest (extend spec.owner.attestedUntil).`,
    };
  }
  return undefined;
}
